//! # replyline-api
//!
//! The HTTP side of Replyline as a library: one router per Lambda function (webhook,
//! inbox, send, conversation), each a plain axum [`Router`]. Every function's `main`
//! serves its router through `lambda_http`; the dev server mounts all of them in one
//! process ([`all`]). Handlers are thin: they parse, call the store and the channel
//! adapters, and map errors to `{"error":{"code","message"}}` answers.

mod auth;
mod conversation;
mod error;
mod inbox;
mod routes;
mod send;
mod state;
mod views;
mod webhook;

use axum::Router;

pub use auth::{Agent, GatewayClaims};
pub use error::ApiError;
pub use state::{AppState, Auth};
pub use webhook::record_event;

/// Unknown routes answer in the API's error shape.
async fn not_found() -> ApiError {
    ApiError::not_found("No such route.")
}

fn finish(router: Router<AppState>, state: AppState) -> Router {
    router.fallback(not_found).with_state(state)
}

/// The webhook function's router.
pub fn webhook_function(state: AppState) -> Router {
    finish(routes::router(webhook::routes()), state)
}

/// The inbox function's router.
pub fn inbox_function(state: AppState) -> Router {
    finish(routes::router(inbox::routes()), state)
}

/// The send function's router.
pub fn send_function(state: AppState) -> Router {
    finish(routes::router(send::routes()), state)
}

/// The conversation function's router.
pub fn conversation_function(state: AppState) -> Router {
    finish(routes::router(conversation::routes()), state)
}

fn every_route() -> Vec<routes::Route> {
    let mut all = webhook::routes();
    all.extend(inbox::routes());
    all.extend(send::routes());
    all.extend(conversation::routes());
    all
}

/// Every route in one router: the dev server.
pub fn all(state: AppState) -> Router {
    finish(routes::router(every_route()), state)
}

/// (method, path) of every route, as `openapi.yaml` must document them.
pub fn route_table() -> Vec<(String, &'static str)> {
    every_route()
        .into_iter()
        .map(|r| (r.method.to_string(), r.path))
        .collect()
}
