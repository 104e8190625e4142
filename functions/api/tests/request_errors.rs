//! Malformed requests that schemathesis (`scripts/schemathesis.sh`) found answered wrongly,
//! kept as regression tests: every refusal is a documented status with a JSON error body,
//! and a body the schema refuses is refused by the server too.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Method, Request};
use axum::Router;
use replyline_api::{AppState, Auth};
use replyline_config::Config;
use replyline_domain::{FixedClock, InboxView, PageSize, SortOrder, StatusFilter, Timestamp};
use replyline_store::sqlite::SqliteStore;
use replyline_store::{Faults, InboxQuery};
use serde_json::{json, Value};
use tower::ServiceExt;

fn now() -> Timestamp {
    Timestamp::parse_rfc3339("2026-11-25T12:00:00Z").unwrap()
}

/// A router with one contact (written on Telegram), and that contact's id.
async fn app_with_contact() -> (Router, String) {
    let config = Config::from_toml(
        "[store]\nkind = \"sqlite\"\npath = \"unused.db\"\n[[agents]]\nid = \"alice\"\ntoken = \"token-alice\"\n[[agents]]\nid = \"bob\"\ntoken = \"token-bob\"\n[[channels]]\nid = \"tg\"\nkind = \"telegram\"\nbot_token = \"1:a\"\nsecret_token = \"hook-secret\"\n",
    )
    .unwrap();
    let store = Arc::new(SqliteStore::open_in_memory(Faults::default()).unwrap());
    let state = AppState::new(
        config,
        store,
        replyline_channels::http_client().unwrap(),
        Arc::new(FixedClock::new(now())),
        Auth::DevTokens,
    );
    let app = replyline_api::all(state.clone());
    let update = json!({
        "update_id": 1,
        "message": {"message_id": 1, "date": now().as_secs(), "chat": {"id": 9, "type": "private"},
                    "from": {"id": 9, "is_bot": false, "first_name": "Ola"}, "text": "hei"}
    });
    let req = Request::post("/webhooks/tg")
        .header("content-type", "application/json")
        .header("x-telegram-bot-api-secret-token", "hook-secret")
        .body(Body::from(update.to_string()))
        .unwrap();
    assert_eq!(app.clone().oneshot(req).await.unwrap().status(), 200);
    let page = state
        .store
        .list_inbox(&InboxQuery {
            agent: "alice".parse().unwrap(),
            view: InboxView::All,
            status: StatusFilter::All,
            search: None,
            sort: SortOrder::Newest,
            limit: PageSize::DEFAULT,
            cursor: None,
            now: now(),
        })
        .await
        .unwrap();
    (app, page.items[0].contact.id.to_string())
}

/// Sends a request as alice; answers (status, JSON body). Fails if the body is not JSON.
async fn call(
    app: &Router,
    method: Method,
    uri: &str,
    content_type: Option<&str>,
    body: impl Into<Body>,
) -> (u16, Value) {
    let mut req = Request::builder()
        .method(method)
        .uri(uri)
        .header("authorization", "Bearer token-alice");
    if let Some(ct) = content_type {
        req = req.header("content-type", ct);
    }
    let resp = app
        .clone()
        .oneshot(req.body(body.into()).unwrap())
        .await
        .unwrap();
    let status = resp.status().as_u16();
    let ct = resp
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_owned());
    let bytes = axum::body::to_bytes(resp.into_body(), 1 << 20)
        .await
        .unwrap();
    assert_eq!(
        ct.as_deref(),
        Some("application/json"),
        "{uri}: {status} {}",
        String::from_utf8_lossy(&bytes)
    );
    (status, serde_json::from_slice(&bytes).unwrap())
}

fn code(v: &Value) -> &str {
    v["error"]["code"].as_str().unwrap_or_default()
}

#[tokio::test]
async fn a_body_must_be_a_json_object_not_an_array_of_its_fields() {
    let (app, id) = app_with_contact().await;
    let json = Some("application/json");
    // serde reads a struct from a sequence of its fields; the API does not.
    let cases = [
        (Method::PATCH, format!("/v1/contacts/{id}"), "[null, null]"),
        (Method::PATCH, format!("/v1/contacts/{id}"), "[\"Ola\"]"),
        (
            Method::POST,
            format!("/v1/contacts/{id}/messages"),
            "[\"tg\", \"hi\"]",
        ),
        (
            Method::POST,
            format!("/v1/contacts/{id}/close"),
            "[\"resolved\"]",
        ),
        (
            Method::POST,
            format!("/v1/contacts/{id}/snooze"),
            "[\"2030-01-01T00:00:00Z\"]",
        ),
        (
            Method::PUT,
            format!("/v1/contacts/{id}/assignee"),
            "[\"bob\"]",
        ),
        (Method::PUT, format!("/v1/contacts/{id}/assignee"), "null"),
    ];
    for (method, uri, body) in cases {
        let (status, v) = call(&app, method.clone(), &uri, json, body).await;
        assert_eq!(
            (status, code(&v)),
            (400, "invalid_json"),
            "{method} {uri} {body}"
        );
    }
    // And the same routes accept the object form.
    let (status, _) = call(
        &app,
        Method::PATCH,
        &format!("/v1/contacts/{id}"),
        json,
        "{}",
    )
    .await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn assigning_needs_agent_id_and_null_unassigns() {
    let (app, id) = app_with_contact().await;
    let uri = format!("/v1/contacts/{id}/assignee");
    let json = Some("application/json");
    let (status, v) = call(&app, Method::PUT, &uri, json, "{}").await;
    assert_eq!((status, code(&v)), (400, "invalid_json"));
    let (status, v) = call(&app, Method::PUT, &uri, json, r#"{"agent_id":"bob"}"#).await;
    assert_eq!((status, v["assignee"].as_str()), (200, Some("bob")));
    let (status, v) = call(&app, Method::PUT, &uri, json, r#"{"agent_id":null}"#).await;
    assert_eq!((status, v["assignee"].is_null()), (200, true));
}

#[tokio::test]
async fn a_path_id_that_is_not_utf8_is_a_json_404() {
    let (app, _) = app_with_contact().await;
    for (method, uri) in [
        (Method::GET, "/v1/contacts/%FF"),
        (Method::GET, "/v1/contacts/%C3%28/messages"),
        (Method::POST, "/v1/contacts/%FF/open"),
        (Method::POST, "/webhooks/%FF"),
        (Method::GET, "/webhooks/%FF"),
    ] {
        let (status, v) = call(&app, method.clone(), uri, None, Body::empty()).await;
        assert_eq!((status, code(&v)), (404, "not_found"), "{method} {uri}");
    }
}

#[tokio::test]
async fn an_oversized_body_is_a_json_413() {
    let (app, id) = app_with_contact().await;
    let big = format!(r#"{{"channel":"tg","text":"{}"}}"#, "a".repeat(3 << 20));
    let json = Some("application/json");
    for uri in [
        "/webhooks/tg".to_owned(),
        format!("/v1/contacts/{id}/messages"),
    ] {
        let (status, v) = call(&app, Method::POST, &uri, json, big.clone()).await;
        assert_eq!((status, code(&v)), (413, "payload_too_large"), "{uri}");
    }
    // Without a JSON Content-Type a body is not read: 400, as before.
    let (status, v) = call(
        &app,
        Method::PATCH,
        &format!("/v1/contacts/{id}"),
        None,
        "{}",
    )
    .await;
    assert_eq!((status, code(&v)), (400, "invalid_json"));
    // Closing needs no body at all.
    let (status, v) = call(
        &app,
        Method::POST,
        &format!("/v1/contacts/{id}/close"),
        None,
        Body::empty(),
    )
    .await;
    assert_eq!(
        (status, v["conversation"]["status"].as_str()),
        (200, Some("closed"))
    );
}

#[tokio::test]
async fn a_search_with_a_control_character_is_a_400_not_a_store_failure() {
    let (app, _) = app_with_contact().await;
    // A NUL reached SQLite's full-text query and failed it (503).
    for q in ["ab%00cd", "%00ola", "ola%01", "ola%7F"] {
        let uri = format!("/v1/inbox?q={q}");
        let (status, v) = call(&app, Method::GET, &uri, None, Body::empty()).await;
        assert_eq!((status, code(&v)), (400, "invalid_query"), "{uri}: {v}");
    }
    // Whitespace is only a separator.
    let (status, v) = call(
        &app,
        Method::GET,
        "/v1/inbox?q=%09ola%0A",
        None,
        Body::empty(),
    )
    .await;
    assert_eq!(
        (status, v["items"].as_array().map(Vec::len)),
        (200, Some(1)),
        "{v}"
    );
}
