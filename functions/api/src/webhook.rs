//! The webhook function: providers call `POST /webhooks/{channel_id}`; verification
//! handshakes use `GET`. Verify over the raw bytes before anything is stored; answer 2xx
//! only once the events are durably recorded, 5xx when the store fails so the provider
//! retries.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Extension;
use replyline_channels::{WebhookError, WebhookOutcome, WebhookReply, WebhookRequest};
use replyline_config::ChannelConfig;
use replyline_domain::Timestamp;
use replyline_policy::Opener;
use replyline_store::{FlagChange, InboundRecord, StoreError};

use crate::error::ApiError;
use crate::extract::{body_rejection, PathParam};
use crate::routes::Route;
use crate::state::AppState;

/// `POST` and `GET /webhooks/{channel_id}`.
pub(crate) fn routes() -> Vec<Route> {
    vec![
        Route::new(Method::POST, "/webhooks/{channel_id}", post(receive)),
        Route::new(Method::GET, "/webhooks/{channel_id}", get(receive)),
    ]
}

fn reply(r: WebhookReply) -> Response {
    let status = StatusCode::from_u16(r.status).unwrap_or(StatusCode::OK);
    (
        status,
        [(axum::http::header::CONTENT_TYPE, r.content_type)],
        r.body,
    )
        .into_response()
}

/// The base URL providers call, when the platform knows it better than the configuration:
/// in AWS, `https://` and the domain API Gateway was called on (its request context, not a
/// client header), so the stack needs no URL of its own and custom domains just work.
#[derive(Clone, Debug)]
pub struct PublicBase(pub String);

/// The URL the provider called, as it sees it (Twilio signs it).
fn public_url(state: &AppState, platform: Option<&PublicBase>, uri: &Uri) -> String {
    let base = match platform {
        Some(PublicBase(base)) => base.as_str(),
        None => state.config.server.public_url.as_str(),
    }
    .trim_end_matches('/');
    match uri.path_and_query() {
        Some(pq) => format!("{base}{pq}"),
        None => format!("{base}{}", uri.path()),
    }
}

async fn receive(
    State(state): State<AppState>,
    PathParam(channel_id): PathParam,
    method: Method,
    uri: Uri,
    platform: Option<Extension<PublicBase>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let Some((config, adapter)) = state.channel(&channel_id) else {
        return ApiError::not_found(format!("No channel has the id '{channel_id}'."))
            .into_response();
    };
    let body = match body {
        Ok(b) => b,
        Err(e) => return body_rejection(e).into_response(),
    };
    let request = WebhookRequest {
        method,
        public_url: public_url(&state, platform.as_ref().map(|Extension(p)| p), &uri),
        headers: headers
            .iter()
            .filter_map(|(k, v)| {
                Some((k.as_str().to_ascii_lowercase(), v.to_str().ok()?.to_owned()))
            })
            .collect(),
        query: uri
            .query()
            .map(|q| {
                form_urlencoded::parse(q.as_bytes())
                    .map(|(k, v)| (k.into_owned(), v.into_owned()))
                    .collect()
            })
            .unwrap_or_default(),
        body,
    };
    let outcome = match adapter.handle_webhook(&request) {
        Ok(o) => o,
        Err(WebhookError::Unauthorized(why)) => {
            tracing::warn!(channel = %channel_id, reason = why, "webhook refused: bad signature");
            return ApiError::unauthorized(format!(
                "The webhook signature is missing or wrong: {why}."
            ))
            .into_response();
        }
        Err(WebhookError::BadRequest(why)) => {
            return ApiError::bad_request("invalid_payload", why).into_response();
        }
        Err(WebhookError::Unparseable(why)) => {
            // A 4xx would make the provider retry forever (and Meta disables such hooks).
            tracing::warn!(channel = %channel_id, reason = %why, "verified webhook not understood; ignored");
            return reply(WebhookReply::ok_json());
        }
        Err(WebhookError::MethodNotAllowed) => {
            return ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "This webhook does not answer that method.",
            )
            .into_response();
        }
    };
    match outcome {
        WebhookOutcome::Handshake(r) => reply(r),
        WebhookOutcome::Events {
            events,
            ignored,
            failures,
            reply: r,
        } => {
            for what in &ignored {
                tracing::info!(channel = %channel_id, event = %what, "webhook event ignored");
            }
            for f in &failures {
                if let Err(e) = record_failure(&state, config, f).await {
                    tracing::error!(channel = %channel_id, error = %e, "delivery report not recorded; provider will retry");
                    return ApiError::new(
                        StatusCode::SERVICE_UNAVAILABLE,
                        "store_unavailable",
                        "The event could not be recorded; retry later.",
                    )
                    .into_response();
                }
            }
            for event in events {
                if let Err(e) = record_event(&state, config, event).await {
                    tracing::error!(channel = %channel_id, error = %e, "webhook not recorded; provider will retry");
                    return ApiError::new(
                        StatusCode::SERVICE_UNAVAILABLE,
                        "store_unavailable",
                        "The event could not be recorded; retry later.",
                    )
                    .into_response();
                }
            }
            reply(r)
        }
    }
}

/// Records one verified inbound event (and the hard stop it carries), as every webhook
/// does; also used by entry points that are not HTTP (SES mail arriving through SNS).
pub async fn record_event(
    state: &AppState,
    config: &ChannelConfig,
    event: replyline_channels::InboundEvent,
) -> Result<(), StoreError> {
    let now = state.clock.now();
    if event.opener.is_some() || event.content.is_some() {
        // The window opens at the provider's time; a clock ahead of ours is clamped.
        let occurred_at: Timestamp = event.occurred_at.map(|t| t.min(now)).unwrap_or(now);
        let record = InboundRecord {
            channel: config.id.clone(),
            kind: config.kind,
            external_id: event.external_id.clone(),
            provider_event_id: event.event_id.clone(),
            opener: event.opener.unwrap_or(Opener::Message),
            occurred_at,
            received_at: now,
            profile: event.profile.clone(),
            content: event.content.clone(),
            state_horizon: config.rules.state_horizon(),
        };
        let outcome = state.store.record_inbound(&record).await?;
        tracing::info!(
            channel = %config.id,
            contact = %outcome.contact_id,
            duplicate = outcome.duplicate,
            conversation_opened = outcome.conversation_opened,
            "inbound recorded"
        );
    }
    if let Some(signal) = event.flag {
        let change = FlagChange {
            channel: config.id.clone(),
            external_id: event.external_id,
            flag: signal.flag,
            value: signal.value,
            at: now,
        };
        match state.store.set_channel_flag(&change).await {
            Ok(()) | Err(StoreError::NotFound { .. }) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// A provider reports that one of our messages failed after it accepted it (WhatsApp
/// `statuses[]`): the message is marked failed, and a window error corrects the window.
async fn record_failure(
    state: &AppState,
    config: &ChannelConfig,
    f: &replyline_channels::DeliveryFailure,
) -> Result<(), StoreError> {
    let now = state.clock.now();
    let message = state
        .store
        .fail_by_provider_id(&config.id, &f.provider_message_id, &f.code, &f.text, now)
        .await?;
    match message {
        Some(m) => {
            tracing::warn!(channel = %config.id, contact = %m.contact_id, code = %f.code, "provider reports a failed delivery");
            if f.outside_window {
                state
                    .store
                    .record_provider_refusal(&m.contact_id, &config.id, now, false)
                    .await?;
            }
        }
        None => {
            tracing::info!(channel = %config.id, "failure report for a message we do not know; ignored");
        }
    }
    Ok(())
}
