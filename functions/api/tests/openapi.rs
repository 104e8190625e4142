//! `openapi.yaml` documents exactly the routes the routers serve: a route without
//! documentation, or documentation without a route, fails this test.

use std::collections::BTreeSet;
use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use replyline_api::{route_table, AppState, Auth};
use replyline_config::Config;
use replyline_domain::{FixedClock, Timestamp};
use replyline_store::sqlite::SqliteStore;
use replyline_store::Faults;
use tower::ServiceExt;

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

fn documented() -> BTreeSet<(String, String)> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../openapi.yaml");
    let doc: serde_norway::Value =
        serde_norway::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    assert_eq!(doc["openapi"].as_str(), Some("3.1.0"));
    let mut out = BTreeSet::new();
    for (p, item) in doc["paths"].as_mapping().unwrap() {
        for m in METHODS {
            if item.get(m).is_some() {
                out.insert((m.to_uppercase(), p.as_str().unwrap().to_owned()));
            }
        }
    }
    out
}

#[test]
fn every_route_is_documented_and_every_documented_route_exists() {
    let served: BTreeSet<(String, String)> = route_table()
        .into_iter()
        .map(|(m, p)| (m, p.to_owned()))
        .collect();
    let doc = documented();
    let undocumented: Vec<_> = served.difference(&doc).collect();
    let unserved: Vec<_> = doc.difference(&served).collect();
    assert!(
        undocumented.is_empty(),
        "routes missing from openapi.yaml: {undocumented:?}"
    );
    assert!(
        unserved.is_empty(),
        "openapi.yaml documents routes that do not exist: {unserved:?}"
    );
}

/// The table is what the router really serves: every entry reaches a handler, not the
/// fallback.
#[tokio::test]
async fn every_table_route_reaches_a_handler() {
    let config = Config::from_toml(
        "[store]\nkind = \"sqlite\"\npath = \"unused.db\"\n[[agents]]\nid = \"alice\"\ntoken = \"token-alice\"\n[[channels]]\nid = \"tg\"\nkind = \"telegram\"\nbot_token = \"1:a\"\nsecret_token = \"s\"\n",
    )
    .unwrap();
    let store = Arc::new(SqliteStore::open_in_memory(Faults::default()).unwrap());
    let clock = Arc::new(FixedClock::new(Timestamp::EPOCH));
    let http = replyline_channels::http_client().unwrap();
    let app = replyline_api::all(AppState::new(config, store, http, clock, Auth::DevTokens));
    for (method, path) in route_table() {
        let uri = path
            .replace("{channel_id}", "tg")
            .replace("{contact_id}", "01ARZ3NDEKTSV4RRFFQ69G5FAV");
        let req = Request::builder()
            .method(method.as_str())
            .uri(&uri)
            .header("authorization", "Bearer token-alice")
            .body(Body::empty())
            .unwrap();
        let resp = app.clone().oneshot(req).await.unwrap();
        let status = resp.status();
        let body = axum::body::to_bytes(resp.into_body(), 1 << 20)
            .await
            .unwrap();
        // axum's own 405 (no handler for the method) has an empty body; ours explain.
        assert!(
            !(status == StatusCode::METHOD_NOT_ALLOWED && body.is_empty()),
            "{method} {uri} has no handler"
        );
        assert!(
            !String::from_utf8_lossy(&body).contains("No such route"),
            "{method} {uri} fell through to the fallback"
        );
    }
}
