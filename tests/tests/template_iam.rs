//! Least privilege, measured: every route of every function runs against a real DynamoDB
//! API (moto) through an SDK interceptor that records the IAM action each request needs
//! (TransactWriteItems needs the action of each item it holds: PutItem, UpdateItem,
//! DeleteItem, ConditionCheckItem). Each function's DynamoDB actions in `template.yaml` must
//! be exactly that set: a missing one would fail in AWS, an extra one is a privilege no code
//! uses.
//!
//! Needs moto: `scripts/moto.sh start` and
//! `export REPLYLINE_DYNAMODB_ENDPOINT=http://127.0.0.1:5055` (`./scripts/test.sh` does both).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex};

use aws_sdk_dynamodb::config::{Intercept, RuntimeComponents};
use aws_sdk_dynamodb::operation::query::QueryInput;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsInput;
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::BeforeSerializationInterceptorContextRef;
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_types::config_bag::ConfigBag;
use axum::body::Body;
use axum::http::Request;
use axum::Router;
use replyline_api::{AppState, Auth};
use replyline_config::Config;
use replyline_domain::SystemClock;
use replyline_store::dynamo::{
    configure, create_table, local_config_builder, DynamoStore, Timeouts,
};
use replyline_store::Faults;
use replyline_tests::{at, intrinsic, maybe, template, text, FUNCTIONS};
use serde_json::{json, Value as Json};
use serde_norway::Value;
use tower::ServiceExt;
use wiremock::matchers::{method, path_regex};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// The IAM actions a function's requests needed, and whether any read an index.
type Used = (BTreeSet<String>, bool);

/// What the requests of the function being exercised need, by function.
#[derive(Clone, Debug, Default)]
struct Needs {
    current: Arc<Mutex<String>>,
    /// function -> IAM actions, and whether any request read an index.
    seen: Arc<Mutex<BTreeMap<String, Used>>>,
}

impl Needs {
    fn now_running(&self, function: &str) {
        *self.current.lock().unwrap() = function.to_owned();
    }

    fn record(&self, actions: impl IntoIterator<Item = String>, index: bool) {
        let function = self.current.lock().unwrap().clone();
        let mut seen = self.seen.lock().unwrap();
        let entry = seen.entry(function).or_default();
        entry.0.extend(actions);
        entry.1 |= index;
    }
}

impl Intercept for Needs {
    fn name(&self) -> &'static str {
        "IamActionRecorder"
    }

    fn read_before_serialization(
        &self,
        context: &BeforeSerializationInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let operation = cfg
            .load::<Metadata>()
            .map_or_else(|| "Unknown".to_owned(), |m| m.name().to_owned());
        let input = context.input();
        if let Some(tx) = input.downcast_ref::<TransactWriteItemsInput>() {
            // No IAM action is named TransactWriteItems: each item is authorised alone.
            let actions = tx.transact_items().iter().map(|item| {
                if item.put().is_some() {
                    "PutItem"
                } else if item.update().is_some() {
                    "UpdateItem"
                } else if item.delete().is_some() {
                    "DeleteItem"
                } else {
                    "ConditionCheckItem"
                }
                .to_owned()
            });
            self.record(actions.collect::<Vec<_>>(), false);
        } else {
            let index = input
                .downcast_ref::<QueryInput>()
                .is_some_and(|q| q.index_name().is_some());
            self.record([operation], index);
        }
        Ok(())
    }
}

const AGENT_TOKEN: &str = "iam-test-agent-token";
const TG_SECRET: &str = "iam-test-secret";
const WA_SECRET: &str = "iam-test-wa-app-secret";

fn config(table: &str, provider: &str) -> Config {
    Config::from_toml(&format!(
        r#"
[store]
kind = "dynamodb"
table = "{table}"

[[agents]]
id = "alice"
token = "{AGENT_TOKEN}"

[[channels]]
id = "tg"
kind = "telegram"
bot_token = "42:bot"
secret_token = "{TG_SECRET}"
api_base = "{provider}"

[[channels]]
id = "wa"
kind = "whatsapp"
app_secret = "{WA_SECRET}"
verify_token = "wa-verify-token"
access_token = "wa-access-token"
phone_number_id = "5550001"
api_base = "{provider}"
"#
    ))
    .unwrap()
}

struct Functions {
    webhook: Router,
    inbox: Router,
    send: Router,
    conversation: Router,
    store: DynamoStore,
    needs: Needs,
}

impl Functions {
    async fn call(
        &self,
        function: &str,
        method: &str,
        uri: &str,
        body: Option<Json>,
    ) -> (u16, Json) {
        self.call_allowing(function, method, uri, body, false).await
    }

    /// `refusal_expected`: a 4xx/5xx the flow provokes on purpose (a provider refusal).
    async fn call_allowing(
        &self,
        function: &str,
        method: &str,
        uri: &str,
        body: Option<Json>,
        refusal_expected: bool,
    ) -> (u16, Json) {
        self.needs.now_running(function);
        let router = match function {
            "webhook" => &self.webhook,
            "inbox" => &self.inbox,
            "send" => &self.send,
            "conversation" => &self.conversation,
            other => panic!("no function {other}"),
        };
        let mut req = Request::builder()
            .method(method)
            .uri(uri)
            .header("authorization", format!("Bearer {AGENT_TOKEN}"))
            .header("x-telegram-bot-api-secret-token", TG_SECRET);
        let body = match body {
            Some(b) => {
                let bytes = b.to_string().into_bytes();
                let mac = replyline_channels::signature::hmac_sha256(WA_SECRET.as_bytes(), &bytes);
                let hex: String = mac.iter().map(|b| format!("{b:02x}")).collect();
                req = req
                    .header("content-type", "application/json")
                    .header("x-hub-signature-256", format!("sha256={hex}"));
                Body::from(bytes)
            }
            None => Body::empty(),
        };
        let resp = router
            .clone()
            .oneshot(req.body(body).unwrap())
            .await
            .unwrap();
        let status = resp.status().as_u16();
        let bytes = axum::body::to_bytes(resp.into_body(), 1 << 20)
            .await
            .unwrap();
        let json = serde_json::from_slice(&bytes).unwrap_or(Json::Null);
        if !refusal_expected {
            assert!(status < 400, "{method} {uri}: {status} {json}");
        }
        (status, json)
    }
}

async fn functions() -> Functions {
    let endpoint = std::env::var("REPLYLINE_DYNAMODB_ENDPOINT").expect(
        "REPLYLINE_DYNAMODB_ENDPOINT is not set: run ./scripts/test.sh (it starts moto), \
         or scripts/moto.sh start and export it",
    );
    let needs = Needs::default();
    let client = aws_sdk_dynamodb::Client::from_conf(configure(
        local_config_builder(&endpoint).interceptor(needs.clone()),
        Timeouts::LOCAL,
    ));
    let table = format!(
        "iam-{}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    );
    needs.now_running("setup");
    create_table(&client, &table).await.unwrap();

    let provider = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path_regex("^/bot42:bot/sendMessage$"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "ok": true, "result": {"message_id": 777, "date": 1, "chat": {"id": 1001, "type": "private"}}
        })))
        .mount(&provider)
        .await;
    // WhatsApp: text containing REFUSE gets error 131047 (outside the window), text
    // containing BREAK a 500, anything else is accepted as wamid.OK.
    Mock::given(method("POST"))
        .and(path_regex("/5550001/messages$"))
        .and(wiremock::matchers::body_string_contains("REFUSE"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({
            "error": {"message": "Re-engagement message", "type": "OAuthException", "code": 131047,
                      "error_data": {"details": "More than 24 hours have passed"}}
        })))
        .mount(&provider)
        .await;
    Mock::given(method("POST"))
        .and(path_regex("/5550001/messages$"))
        .and(wiremock::matchers::body_string_contains("BREAK"))
        .respond_with(ResponseTemplate::new(500).set_body_string("upstream failure"))
        .mount(&provider)
        .await;
    Mock::given(method("POST"))
        .and(path_regex("/5550001/messages$"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "messaging_product": "whatsapp", "messages": [{"id": "wamid.OK"}]
        })))
        .mount(&provider)
        .await;
    // Kept alive for the test's duration by leaking: the routers hold its URI only.
    let provider_uri = provider.uri();
    std::mem::forget(provider);

    let cfg = config(&table, &provider_uri);
    let store = DynamoStore::new(client, &table, "default", Faults::default());
    let state = AppState::new(
        cfg,
        Arc::new(store.clone()),
        replyline_channels::http_client().unwrap(),
        Arc::new(SystemClock),
        Auth::DevTokens,
    );
    Functions {
        webhook: replyline_api::webhook_function(state.clone()),
        inbox: replyline_api::inbox_function(state.clone()),
        send: replyline_api::send_function(state.clone()),
        conversation: replyline_api::conversation_function(state),
        store,
        needs,
    }
}

fn telegram_message(update_id: i64, chat: i64, text: &str) -> Json {
    telegram_named(update_id, chat, "Ana", "Pérez", text)
}

fn telegram_named(update_id: i64, chat: i64, first: &str, last: &str, text: &str) -> Json {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    json!({
        "update_id": update_id,
        "message": {
            "message_id": update_id, "date": now, "text": text,
            "chat": {"id": chat, "type": "private", "first_name": first, "last_name": last},
            "from": {"id": chat, "is_bot": false, "first_name": first, "last_name": last}
        }
    })
}

fn whatsapp(value: Json) -> Json {
    json!({
        "object": "whatsapp_business_account",
        "entry": [{"id": "waba", "changes": [{"field": "messages", "value": value}]}]
    })
}

fn whatsapp_message(id: &str, from: &str, text: &str) -> Json {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    whatsapp(json!({
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550001", "phone_number_id": "5550001"},
        "contacts": [{"wa_id": from, "profile": {"name": "Bea Ruiz"}}],
        "messages": [{"id": id, "from": from, "timestamp": now.to_string(), "type": "text", "text": {"body": text}}]
    }))
}

fn telegram_member(update_id: i64, chat: i64, status: &str) -> Json {
    json!({
        "update_id": update_id,
        "my_chat_member": {
            "chat": {"id": chat, "type": "private"},
            "from": {"id": chat, "is_bot": false, "first_name": "Ana"},
            "date": 1_790_000_000,
            "old_chat_member": {"status": "member", "user": {"id": 42, "is_bot": true, "first_name": "bot"}},
            "new_chat_member": {"status": status, "user": {"id": 42, "is_bot": true, "first_name": "bot"}}
        }
    })
}

/// The DynamoDB actions and whether the index resource is granted, per template function.
fn granted(t: &Value, resource: &str) -> (BTreeSet<String>, bool) {
    let mut actions = BTreeSet::new();
    let mut index = false;
    let policies = at(t, &["Resources", resource, "Properties", "Policies"]);
    for policy in policies.as_sequence().expect("a list of policies") {
        let Some(statements) = maybe(policy, &["Statement"]).and_then(Value::as_sequence) else {
            continue; // the conditional SES policy (checked below)
        };
        for s in statements {
            let listed: Vec<&str> = match at(s, &["Action"]) {
                Value::String(a) => vec![a.as_str()],
                Value::Sequence(v) => v.iter().map(text).collect(),
                other => panic!("Action: {other:?}"),
            };
            let dynamo: Vec<&str> = listed
                .iter()
                .filter_map(|a| a.strip_prefix("dynamodb:"))
                .collect();
            if dynamo.is_empty() {
                continue;
            }
            actions.extend(dynamo.iter().map(|a| (*a).to_owned()));
            for r in at(s, &["Resource"]).as_sequence().expect("resources") {
                if let Some(("Sub", v)) = intrinsic(r).as_ref().map(|(t, v)| (t.as_str(), *v)) {
                    index |= text(v) == "${Table.Arn}/index/*";
                }
            }
        }
    }
    (actions, index)
}

#[tokio::test]
async fn each_function_is_granted_exactly_the_dynamodb_actions_its_code_uses() {
    let f = functions().await;

    // Init of every function: the warm-up call.
    for function in ["webhook", "inbox", "send", "conversation"] {
        f.needs.now_running(function);
        f.store.warm_up().await.unwrap();
    }

    // webhook: a new contact, a known contact, a duplicate, a block and an unblock, a
    // renamed contact (old search tokens deleted), and names so long that their search
    // tokens overflow one transaction (written in batches around it).
    let hook = "/webhooks/tg";
    let long = |seed: &str| seed.repeat(12);
    for (n, body) in [
        (1, telegram_message(1, 1001, "hola")),
        (2, telegram_message(2, 1001, "¿hay alguien?")),
        (2, telegram_message(2, 1001, "¿hay alguien?")),
        (3, telegram_member(3, 1001, "kicked")),
        (4, telegram_member(4, 1001, "member")),
        (5, telegram_named(5, 1001, "Ana", "Gómez", "me casé")),
        (
            6,
            telegram_named(6, 1002, &long("abcde"), &long("fghij"), "hi"),
        ),
        (
            7,
            telegram_named(7, 1002, &long("klmno"), &long("pqrst"), "again"),
        ),
    ] {
        let (status, json) = f.call("webhook", "POST", hook, Some(body)).await;
        assert_eq!(status, 200, "update {n}: {json}");
    }
    f.call_allowing("webhook", "GET", hook, None, true).await;
    let (status, json) = f
        .call(
            "webhook",
            "POST",
            "/webhooks/wa",
            Some(whatsapp_message("wamid.IN1", "34600111333", "hola")),
        )
        .await;
    assert_eq!(status, 200, "{json}");

    // inbox: every view and status, searches, the contact, its messages, the channels.
    f.call("inbox", "GET", "/v1/inbox?view=all&status=all", None)
        .await;
    let (_, page) = f.call("inbox", "GET", "/v1/inbox?q=ana", None).await;
    let contact = page["items"][0]["contact"]["id"]
        .as_str()
        .or_else(|| page["items"][0]["id"].as_str())
        .unwrap_or_else(|| panic!("a contact in {page}"))
        .to_owned();
    for query in [
        "view=mine&status=open",
        "view=unassigned&status=closed",
        "view=all&status=snoozed&sort=oldest",
        "q=ana",
        "q=p%C3%A9rez&limit=1",
        "q=ana%40example.com",
        "q=%2B34600",
    ] {
        f.call("inbox", "GET", &format!("/v1/inbox?{query}"), None)
            .await;
    }
    f.call("inbox", "GET", &format!("/v1/contacts/{contact}"), None)
        .await;
    f.call(
        "inbox",
        "GET",
        &format!("/v1/contacts/{contact}/messages"),
        None,
    )
    .await;
    f.call("inbox", "GET", "/v1/channels", None).await;

    // send: a reply inside the window.
    let (status, json) = f
        .call(
            "send",
            "POST",
            &format!("/v1/contacts/{contact}/messages"),
            Some(json!({"channel": "tg", "text": "Hola Ana, ¿en qué te ayudo?"})),
        )
        .await;
    assert_eq!(status, 201, "{json}");

    // send on WhatsApp: accepted, refused by the provider as outside the window (the
    // window is corrected), and a provider failure (the message is kept as failed).
    let (_, page) = f.call("inbox", "GET", "/v1/inbox?q=bea", None).await;
    let bea = page["items"][0]["contact"]["id"]
        .as_str()
        .or_else(|| page["items"][0]["id"].as_str())
        .unwrap_or_else(|| panic!("Bea in {page}"))
        .to_owned();
    let bea_messages = format!("/v1/contacts/{bea}/messages");
    let (status, json) = f
        .call(
            "send",
            "POST",
            &bea_messages,
            Some(json!({"channel": "wa", "text": "hola Bea"})),
        )
        .await;
    assert_eq!(status, 201, "{json}");
    let (status, json) = f
        .call_allowing(
            "send",
            "POST",
            &bea_messages,
            Some(json!({"channel": "wa", "text": "BREAK"})),
            true,
        )
        .await;
    assert!(
        status >= 500,
        "a provider failure is reported: {status} {json}"
    );
    let (status, json) = f
        .call_allowing(
            "send",
            "POST",
            &bea_messages,
            Some(json!({"channel": "wa", "text": "REFUSE"})),
            true,
        )
        .await;
    assert_eq!(status, 409, "{json}");
    // WhatsApp reports later that the accepted message failed (outside the window).
    let failed = whatsapp(json!({
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550001", "phone_number_id": "5550001"},
        "statuses": [{"id": "wamid.OK", "status": "failed", "recipient_id": "34600111333",
                      "errors": [{"code": 131047, "title": "Re-engagement message"}]}]
    }));
    let (status, json) = f
        .call("webhook", "POST", "/webhooks/wa", Some(failed))
        .await;
    assert_eq!(status, 200, "{json}");

    // conversation: every command.
    let base = format!("/v1/contacts/{contact}");
    for (verb, uri, body) in [
        (
            "PATCH",
            base.clone(),
            Some(
                json!({"first_name": "Ana María", "email": "ana@example.com", "phone": "+34600111222"}),
            ),
        ),
        (
            "PUT",
            format!("{base}/assignee"),
            Some(json!({"agent_id": "alice"})),
        ),
        (
            "POST",
            format!("{base}/snooze"),
            Some(json!({"until": "2099-01-01T00:00:00Z"})),
        ),
        ("POST", format!("{base}/open"), None),
        (
            "POST",
            format!("{base}/close"),
            Some(json!({"category": "resolved"})),
        ),
        ("POST", format!("{base}/block"), None),
        ("POST", format!("{base}/unblock"), None),
        (
            "PATCH",
            base.clone(),
            Some(json!({"email": "ana.maria@example.com", "phone": "+34600999888"})),
        ),
        (
            "PATCH",
            base.clone(),
            Some(json!({"first_name": long("uvwxy"), "last_name": long("zabcd")})),
        ),
        (
            "PATCH",
            base.clone(),
            Some(json!({"first_name": long("efghi"), "last_name": long("jklmn")})),
        ),
    ] {
        let (status, json) = f.call("conversation", verb, &uri, body).await;
        assert!(status < 400, "{verb} {uri}: {status} {json}");
    }

    let seen = f.needs.seen.lock().unwrap().clone();
    let t = template();
    let mut report = Vec::new();
    for (resource, function) in FUNCTIONS {
        // email-inbound records mail exactly as a webhook records a message.
        let used = if function == "email-inbound" {
            &seen["webhook"]
        } else {
            seen.get(function)
                .unwrap_or_else(|| panic!("no DynamoDB request was recorded for {function}"))
        };
        let (actions, index) = granted(&t, resource);
        if actions != used.0 {
            report.push(format!(
                "{resource}: template grants {actions:?}, code uses {:?}",
                used.0
            ));
        }
        if used.1 && !index {
            report.push(format!(
                "{resource}: queries an index but is not granted table/index/*"
            ));
        }
        if index && !used.1 {
            report.push(format!(
                "{resource}: is granted table/index/* but queries no index"
            ));
        }
    }
    assert!(report.is_empty(), "{}", report.join("\n"));
}

#[test]
fn only_the_send_function_may_send_mail_and_every_function_reads_only_its_secret() {
    let t = template();
    for (resource, function) in FUNCTIONS {
        let policies = at(&t, &["Resources", resource, "Properties", "Policies"]);
        let rendered = format!("{policies:?}");
        assert_eq!(
            rendered.contains("ses:SendEmail"),
            function == "send",
            "{resource}: ses:SendEmail"
        );
        let statements = policies.as_sequence().unwrap()[0]["Statement"]
            .as_sequence()
            .unwrap();
        let secret = statements
            .iter()
            .find(|s| s.get("Sid").and_then(Value::as_str) == Some("ReadConfiguration"))
            .unwrap_or_else(|| panic!("{resource} reads the configuration secret"));
        assert_eq!(text(&secret["Action"]), "secretsmanager:GetSecretValue");
        assert_eq!(
            replyline_tests::ref_target(&secret["Resource"]),
            Some("ConfigSecret"),
            "{resource}: only the configuration secret"
        );
    }
}
