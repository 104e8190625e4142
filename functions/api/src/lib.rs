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
mod extract;
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
pub use webhook::{record_event, PublicBase};

/// Unknown routes answer in the API's error shape.
async fn not_found() -> ApiError {
    ApiError::not_found("No such route.")
}

fn finish(router: Router<AppState>, state: AppState) -> Router {
    router
        .fallback(not_found)
        .layer(axum::middleware::from_fn(request_span))
        .with_state(state)
}

/// Every log line of a request carries its route and the channel or contact it is about
/// (from the path), inside the Lambda runtime's span that carries the request id.
async fn request_span(
    matched: Option<axum::extract::MatchedPath>,
    params: Result<axum::extract::RawPathParams, axum::extract::rejection::RawPathParamsRejection>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use tracing::Instrument;
    let span = tracing::info_span!(
        "request",
        method = %req.method(),
        route = matched.as_ref().map(|m| m.as_str()).unwrap_or("unmatched"),
        channel = tracing::field::Empty,
        contact = tracing::field::Empty,
    );
    for (name, value) in params.iter().flat_map(|p| p.iter()) {
        match name {
            "channel_id" => {
                span.record("channel", value);
            }
            "contact_id" => {
                span.record("contact", value);
            }
            _ => {}
        }
    }
    next.run(req).instrument(span).await
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

/// (function, method, path) of every route: which Lambda function serves it, as
/// `template.yaml`'s HTTP API events must declare them.
pub fn function_route_table() -> Vec<(&'static str, String, &'static str)> {
    let functions: [(&'static str, Vec<routes::Route>); 4] = [
        ("webhook", webhook::routes()),
        ("inbox", inbox::routes()),
        ("send", send::routes()),
        ("conversation", conversation::routes()),
    ];
    functions
        .into_iter()
        .flat_map(|(function, routes)| {
            routes
                .into_iter()
                .map(move |r| (function, r.method.to_string(), r.path))
        })
        .collect()
}

/// (method, path) of every route, as `openapi.yaml` must document them.
pub fn route_table() -> Vec<(String, &'static str)> {
    every_route()
        .into_iter()
        .map(|r| (r.method.to_string(), r.path))
        .collect()
}
