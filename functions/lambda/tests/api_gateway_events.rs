//! The functions' routers behind `lambda_http`, fed API Gateway HTTP API (payload v2)
//! events: the same request objects the Lambda runtime builds, including a base64-encoded
//! form body (Twilio) that must be decoded to the exact signed bytes, and the JWT
//! authorizer's claims naming the agent.

use std::sync::Arc;

use axum::Router;
use lambda_http::request::from_str;
use replyline_api::{AppState, Auth};
use replyline_config::Config;
use replyline_domain::{FixedClock, Timestamp};
use replyline_store::sqlite::SqliteStore;
use replyline_store::Faults;
use tower::ServiceExt;

const PUBLIC_URL: &str = "https://abc123.execute-api.us-east-1.amazonaws.com";

/// The document's `public_url` is wrong on purpose: in Lambda the URL Twilio signed is
/// rebuilt from the domain in API Gateway's request context (`PUBLIC_URL`'s host).
fn state() -> AppState {
    let config = Config::from_toml(
        r#"
[server]
public_url = "http://127.0.0.1:9"
[store]
kind = "sqlite"
path = "unused.db"
[[channels]]
id = "tg"
kind = "telegram"
bot_token = "1:a"
secret_token = "tg-secret"
[[channels]]
id = "sms"
kind = "sms"
provider = "twilio"
account_sid = "AC123"
auth_token = "twilio-token"
from = "+15005550006"
"#,
    )
    .unwrap();
    let store = Arc::new(SqliteStore::open_in_memory(Faults::default()).unwrap());
    let clock = Arc::new(FixedClock::new(
        Timestamp::parse_rfc3339("2026-11-25T12:00:00Z").unwrap(),
    ));
    let http = replyline_channels::http_client().unwrap();
    AppState::new(
        config,
        store,
        http,
        clock,
        Auth::GatewayJwt {
            claim: "sub".to_owned(),
        },
    )
}

fn fixture(name: &str) -> String {
    std::fs::read_to_string(format!(
        "{}/tests/fixtures/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap()
}

async fn call(router: Router, event: &str) -> (u16, String) {
    let req = from_str(event).expect("a valid API Gateway v2 event");
    let resp = replyline_lambda::with_gateway_claims(router)
        .oneshot(req)
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let body = axum::body::to_bytes(resp.into_body(), 1 << 20)
        .await
        .unwrap();
    (status, String::from_utf8_lossy(&body).into_owned())
}

/// The Twilio signature of the fixture's form body, by Twilio's own SDK.
fn twilio_signature(url: &str, form: &str) -> String {
    let python = std::env::var("REPLYLINE_ORACLE_PYTHON")
        .expect("REPLYLINE_ORACLE_PYTHON is not set: run ./scripts/test.sh (it installs the providers' SDKs)");
    let params: serde_json::Map<String, serde_json::Value> =
        form_urlencoded::parse(form.as_bytes())
            .map(|(k, v)| (k.into_owned(), serde_json::Value::String(v.into_owned())))
            .collect();
    let out = std::process::Command::new(python)
        .arg(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../tests/oracles/twilio_sign.py"
        ))
        .arg("twilio-token")
        .arg(url)
        .arg(serde_json::Value::Object(params).to_string())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

#[tokio::test]
async fn a_base64_encoded_twilio_webhook_is_verified_on_the_decoded_bytes() {
    let state = state();
    let form = "MessageSid=SM0001&AccountSid=AC123&From=%2B14155550100&To=%2B15005550006&Body=Hello+from+Lambda&NumMedia=0";
    let signature = twilio_signature(&format!("{PUBLIC_URL}/webhooks/sms"), form);
    let event = fixture("sms-webhook-base64.json").replace("SIGNATURE", &signature);
    let (status, body) = call(replyline_api::webhook_function(state.clone()), &event).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body, "<Response/>");
    let page = state
        .store
        .list_inbox(&replyline_store::InboxQuery {
            agent: "alice".parse().unwrap(),
            view: replyline_domain::InboxView::All,
            status: replyline_domain::StatusFilter::All,
            search: Some(replyline_domain::SearchQuery::parse("415 555").unwrap()),
            sort: replyline_domain::SortOrder::Newest,
            limit: replyline_domain::PageSize::DEFAULT,
            cursor: None,
            now: state.clock.now(),
        })
        .await
        .unwrap();
    assert_eq!(page.items.len(), 1, "the SMS contact was recorded");

    // The same event with a signature for other bytes is refused.
    let forged =
        fixture("sms-webhook-base64.json").replace("SIGNATURE", "AAAAAAAAAAAAAAAAAAAAAAAAAAA=");
    let (status, _) = call(replyline_api::webhook_function(state), &forged).await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn a_telegram_webhook_event_is_recorded() {
    let state = state();
    let (status, body) = call(
        replyline_api::webhook_function(state.clone()),
        &fixture("telegram-webhook.json"),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let wrong = fixture("telegram-webhook.json").replace("tg-secret", "nope");
    let (status, _) = call(replyline_api::webhook_function(state), &wrong).await;
    assert_eq!(status, 401);
}

#[tokio::test]
async fn the_jwt_authorizer_claim_names_the_agent() {
    let state = state();
    let (status, body) = call(
        replyline_api::inbox_function(state.clone()),
        &fixture("inbox-jwt.json"),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let json: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(json["counts"]["all"], 0);
    let (status, body) = call(
        replyline_api::inbox_function(state),
        &fixture("inbox-no-claims.json"),
    )
    .await;
    assert_eq!(status, 401, "{body}");
}

/// `sam local generate-event apigateway http-api-proxy --method POST --path webhooks/tg
/// --stage '$default' --body '<a Telegram update>'` (aws-sam-cli 1.170.0, offline), checked
/// in as generated: a base64 body, cookies, query parameters, a client certificate and JWT
/// claims we do not use. Only the provider's secret header is added here.
#[tokio::test]
async fn an_event_generated_by_sam_cli_is_served() {
    let state = state();
    let mut event: serde_json::Value =
        serde_json::from_str(&fixture("sam-generated-telegram.json")).unwrap();
    event["headers"]["x-telegram-bot-api-secret-token"] = "tg-secret".into();
    event["headers"]["content-type"] = "application/json".into();
    let (status, body) = call(
        replyline_api::webhook_function(state.clone()),
        &event.to_string(),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let page = state
        .store
        .list_inbox(&replyline_store::InboxQuery {
            agent: "alice".parse().unwrap(),
            view: replyline_domain::InboxView::All,
            status: replyline_domain::StatusFilter::All,
            search: Some(replyline_domain::SearchQuery::parse("eva").unwrap()),
            sort: replyline_domain::SortOrder::Newest,
            limit: replyline_domain::PageSize::DEFAULT,
            cursor: None,
            now: state.clock.now(),
        })
        .await
        .unwrap();
    assert_eq!(page.items.len(), 1, "Eva's message was recorded");
}
