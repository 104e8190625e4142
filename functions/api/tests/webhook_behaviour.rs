//! Webhook answers that decide whether a provider retries: a store failure is a 5xx (the
//! provider retries and nothing is half-written), a retry then records exactly once; a
//! provider clock ahead of ours is clamped; the channel list shows rules, never secrets.

use std::sync::Arc;

use axum::body::Body;
use axum::http::Request;
use axum::Router;
use replyline_api::{AppState, Auth};
use replyline_config::Config;
use replyline_domain::{ContactId, FixedClock, PageSize, Timestamp};
use replyline_store::sqlite::SqliteStore;
use replyline_store::{FaultPoint, Faults};
use tower::ServiceExt;

fn now() -> Timestamp {
    Timestamp::parse_rfc3339("2026-11-25T12:00:00Z").unwrap()
}

fn app() -> (Router, AppState, Faults) {
    let config = Config::from_toml(
        "[store]\nkind = \"sqlite\"\npath = \"unused.db\"\n[[agents]]\nid = \"alice\"\ntoken = \"token-alice\"\n[[channels]]\nid = \"tg\"\nkind = \"telegram\"\nbot_token = \"1:SECRET-BOT-TOKEN\"\nsecret_token = \"hook-secret\"\n",
    )
    .unwrap();
    let faults = Faults::default();
    let store = Arc::new(SqliteStore::open_in_memory(faults.clone()).unwrap());
    let state = AppState::new(
        config,
        store,
        replyline_channels::http_client().unwrap(),
        Arc::new(FixedClock::new(now())),
        Auth::DevTokens,
    );
    (replyline_api::all(state.clone()), state, faults)
}

fn update(date: i64) -> Request<Body> {
    let body = serde_json::json!({
        "update_id": 1,
        "message": {"message_id": 1, "date": date, "chat": {"id": 9, "type": "private"},
                    "from": {"id": 9, "is_bot": false, "first_name": "Ola"}, "text": "hei"}
    });
    Request::post("/webhooks/tg")
        .header("content-type", "application/json")
        .header("x-telegram-bot-api-secret-token", "hook-secret")
        .body(Body::from(body.to_string()))
        .unwrap()
}

async fn only_contact(state: &AppState) -> Option<ContactId> {
    use replyline_domain::{InboxView, SortOrder, StatusFilter};
    let page = state
        .store
        .list_inbox(&replyline_store::InboxQuery {
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
    assert!(page.items.len() <= 1);
    page.items.first().map(|i| i.contact.id.clone())
}

#[tokio::test]
async fn a_store_failure_is_a_5xx_and_the_retry_records_once() {
    let (app, state, faults) = app();
    faults.fail_next(FaultPoint::InboundCommit);
    let resp = app.clone().oneshot(update(now().as_secs())).await.unwrap();
    assert_eq!(resp.status().as_u16(), 503);
    assert_eq!(only_contact(&state).await, None, "nothing half-written");
    let resp = app.clone().oneshot(update(now().as_secs())).await.unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let resp = app.oneshot(update(now().as_secs())).await.unwrap();
    assert_eq!(resp.status().as_u16(), 200, "a redelivery is acknowledged");
    let id = only_contact(&state).await.expect("recorded");
    let t = state
        .store
        .list_messages(&id, PageSize::DEFAULT, None)
        .await
        .unwrap();
    assert_eq!(t.items.len(), 1);
}

#[tokio::test]
async fn a_provider_timestamp_in_the_future_is_clamped_to_receipt() {
    let (app, state, _) = app();
    let resp = app.oneshot(update(now().as_secs() + 3600)).await.unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let id = only_contact(&state).await.unwrap();
    let d = state.store.get_contact(&id, now()).await.unwrap();
    assert_eq!(d.channels[0].state.last_inbound_at, Some(now()));
}

#[tokio::test]
async fn the_channel_list_shows_rules_but_no_secrets() {
    let (app, _, _) = app();
    let req = Request::get("/v1/channels")
        .header("authorization", "Bearer token-alice")
        .body(Body::empty())
        .unwrap();
    let resp = app.oneshot(req).await.unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let body = axum::body::to_bytes(resp.into_body(), 1 << 20)
        .await
        .unwrap();
    let text = String::from_utf8_lossy(&body);
    assert!(
        !text.contains("SECRET") && !text.contains("hook-secret"),
        "{text}"
    );
    let json: serde_json::Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(json["items"][0]["kind"], "telegram");
    assert!(json["items"][0]["rules"].is_object());
}
