//! A stand-in for the providers' APIs, for the dev server only: the sample configuration
//! points Telegram, website chat and Twilio at it, so a newcomer's replies are "delivered"
//! without any account, and `GET /_sandbox/outbox` shows what would have gone out.

use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{StatusCode, Uri};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{json, Value};

#[derive(Clone, Default)]
struct Outbox(Arc<Mutex<Vec<Value>>>);

impl Outbox {
    fn push(&self, provider: &str, uri: &Uri, body: &Bytes) -> usize {
        let entry = json!({
            "provider": provider,
            "path": uri.path(),
            "body": String::from_utf8_lossy(body),
        });
        match self.0.lock() {
            Ok(mut v) => {
                v.push(entry);
                v.len()
            }
            Err(_) => 0,
        }
    }
}

/// `/_sandbox/...`: fake Telegram, Twilio and website-chat endpoints, and the outbox.
pub fn router() -> Router {
    let outbox = Outbox::default();
    Router::new()
        .route(
            "/_sandbox/telegram/{*rest}",
            post(
                |State(o): State<Outbox>, uri: Uri, body: Bytes| async move {
                    let n = o.push("telegram", &uri, &body);
                    Json(json!({"ok": true, "result": {"message_id": n}}))
                },
            ),
        )
        .route(
            "/_sandbox/twilio/{*rest}",
            post(
                |State(o): State<Outbox>, uri: Uri, body: Bytes| async move {
                    let n = o.push("twilio", &uri, &body);
                    (
                        StatusCode::CREATED,
                        Json(json!({"sid": format!("SMsandbox{n:024}")})),
                    )
                },
            ),
        )
        .route(
            "/_sandbox/webchat",
            post(
                |State(o): State<Outbox>, uri: Uri, body: Bytes| async move {
                    o.push("webchat", &uri, &body);
                    StatusCode::NO_CONTENT
                },
            ),
        )
        .route(
            "/_sandbox/outbox",
            get(|State(o): State<Outbox>| async move {
                let items = o.0.lock().map(|v| v.clone()).unwrap_or_default();
                Json(json!({ "items": items }))
            }),
        )
        .with_state(outbox)
}
