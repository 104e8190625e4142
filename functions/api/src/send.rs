//! The send function: send an outbound message, which reopens a closed contact.
//!
//! Order matters: the message is recorded as `pending` (with the policy re-checked inside
//! the store's atomic step) before the provider is called, and its outcome after. A retried
//! request with the same `Idempotency-Key` returns what was recorded and never sends again.

use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode};
use axum::routing::post;
use axum::Json;
use replyline_channels::{OutboundMessage, SendError};
use replyline_domain::{
    ChannelId, ChannelKind, Content, Direction, IdempotencyKey, Message, MessageTag, PageSize,
    Sender, Template,
};
use replyline_policy::{reply_status, SenderKind};
use replyline_store::{FlagChange, MessageKey, OutboundBegun, OutboundRequest, SendOutcome};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::auth::Agent;
use crate::error::ApiError;
use crate::extract::{json_object, JsonBody, PathParam};
use crate::inbox::contact_id;
use crate::routes::Route;
use crate::state::AppState;

/// `POST /v1/contacts/{id}/messages`.
pub(crate) fn routes() -> Vec<Route> {
    vec![Route::new(
        Method::POST,
        "/v1/contacts/{contact_id}/messages",
        post(send_message),
    )]
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SendBody {
    channel: String,
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    tag: Option<String>,
    #[serde(default)]
    template: Option<TemplateBody>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TemplateBody {
    name: String,
    language: String,
    #[serde(default)]
    parameters: Vec<String>,
}

fn invalid(message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "invalid_message", message)
}

fn content(body: &SendBody) -> Result<Content, ApiError> {
    let template = body
        .template
        .as_ref()
        .map(|t| Template::new(t.name.clone(), t.language.clone(), t.parameters.clone()))
        .transpose()
        .map_err(|e| invalid(format!("`template`: {e}")))?;
    let tag = body
        .tag
        .as_deref()
        .map(MessageTag::parse)
        .transpose()
        .map_err(|e| invalid(format!("`tag`: {e}")))?;
    Content::new(body.text.clone(), template, tag).map_err(|e| invalid(e.to_string()))
}

async fn send_message(
    State(state): State<AppState>,
    Agent(agent): Agent,
    PathParam(id): PathParam,
    headers: HeaderMap,
    body: JsonBody,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let body: SendBody = json_object(body)?;
    let contact_id = contact_id(&id)?;
    let content = content(&body)?;
    let (channel_config, adapter) = state
        .channel(&body.channel)
        .ok_or_else(|| invalid(format!("No channel has the id '{}'.", body.channel)))?;
    let idempotency_key = headers
        .get("idempotency-key")
        .map(|v| {
            v.to_str()
                .ok()
                .and_then(|s| IdempotencyKey::parse(s).ok())
                .ok_or_else(|| {
                    ApiError::bad_request(
                        "invalid_idempotency_key",
                        "The Idempotency-Key header must be 1 to 255 printable characters.",
                    )
                })
        })
        .transpose()?;
    let channel: ChannelId = channel_config.id.clone();
    let request = OutboundRequest {
        contact_id,
        channel: channel.clone(),
        sender: Sender::Agent(agent),
        content,
        idempotency_key,
        rules: channel_config.rules.clone(),
        assign: state.config.workspace.assign_on_outbound,
        now: state.clock.now(),
    };
    let begun = state.store.begin_outbound(&request).await?;
    if begun.replayed {
        // Sent (or tried) before: answer with what was recorded, never send again.
        return Ok((StatusCode::OK, Json(answer(&begun, &begun.message))));
    }

    let in_reply_to = match channel_config.kind {
        ChannelKind::Email => last_inbound_id(&state, &begun).await?,
        _ => None,
    };
    let outbound = OutboundMessage {
        id: &begun.message.id,
        to: &begun.identity.external_id,
        content: &begun.message.content,
        tag: begun.message.applied_tag.as_ref().map(|t| t.as_str()),
        in_reply_to: in_reply_to.as_deref(),
    };
    let key = MessageKey::of(&begun.message);
    let result = adapter.send(&outbound).await;
    let now = state.clock.now();
    match result {
        Ok(delivered) => {
            let outcome = SendOutcome::Sent {
                provider_message_id: delivered.provider_message_id,
            };
            let message = state.store.complete_outbound(&key, &outcome, now).await?;
            Ok((StatusCode::CREATED, Json(answer(&begun, &message))))
        }
        Err(err) => {
            let outcome = SendOutcome::Failed {
                code: err.code(),
                text: err.text(),
            };
            tracing::warn!(channel = %channel, code = %err.code(), "provider refused or failed");
            let message = state.store.complete_outbound(&key, &outcome, now).await?;
            if let SendError::Rejected {
                flag: Some(flag), ..
            } = &err
            {
                // The refusal revealed a hard stop: remember it so the policy says so next time.
                let change = FlagChange {
                    channel: channel.clone(),
                    external_id: begun.identity.external_id.clone(),
                    flag: *flag,
                    value: true,
                    at: now,
                };
                if let Err(e) = state.store.set_channel_flag(&change).await {
                    tracing::error!(error = %e, "could not record the provider's hard stop");
                }
            }
            if let SendError::OutsideWindow { quota, code, text } = &err {
                // The provider knows better than our clock: correct the window, then answer
                // like a policy refusal, with what is allowed now.
                state
                    .store
                    .record_provider_refusal(&begun.message.contact_id, &channel, now, *quota)
                    .await?;
                let details = state
                    .store
                    .get_contact(&begun.message.contact_id, now)
                    .await?;
                let reply = details
                    .channels
                    .iter()
                    .find(|c| c.identity.channel == channel)
                    .map(|c| reply_status(&channel_config.rules, &c.state, SenderKind::Human, now));
                let (api_code, what) = if *quota {
                    ("quota_exhausted", "the window's message quota is used up")
                } else {
                    ("window_closed", "the messaging window is closed")
                };
                let mut sentence = format!(
                    "The provider refused the message because {what} ({code}: {text}); it is kept as failed."
                );
                if let Some(r) = &reply {
                    sentence.push(' ');
                    sentence.push_str(&r.explain());
                }
                return Err(ApiError::new(StatusCode::CONFLICT, api_code, sentence)
                    .with("reply", serde_json::to_value(&reply).unwrap_or(Value::Null))
                    .with("message_record", json!(message)));
            }
            let (status, code) = match &err {
                SendError::Rejected { .. } | SendError::OutsideWindow { .. } => {
                    (StatusCode::BAD_GATEWAY, "provider_rejected")
                }
                SendError::Unavailable(_) => (StatusCode::BAD_GATEWAY, "provider_unavailable"),
                SendError::Unsupported(_) => {
                    (StatusCode::UNPROCESSABLE_ENTITY, "unsupported_message")
                }
            };
            let sentence = match &err {
                SendError::Rejected { code, text, .. } => {
                    format!(
                        "The provider refused the message ({code}: {text}). It is kept as failed."
                    )
                }
                SendError::Unavailable(why) => {
                    format!("The provider could not be reached ({why}). The message is kept as failed; send it again to retry.")
                }
                SendError::OutsideWindow { code, text, .. } => format!(
                    "The provider says the messaging window is closed ({code}: {text}). The message is kept as failed."
                ),
                SendError::Unsupported(why) => format!("{why}. The message is kept as failed."),
            };
            Err(ApiError::new(status, code, sentence).with("message_record", json!(message)))
        }
    }
}

/// The provider id (for email, the Message-ID) of the customer's latest message on this
/// channel, so a reply threads in their mail client. Looks at the newest page only: a
/// reply to a customer who last wrote pages ago starts a new thread, which is fine.
async fn last_inbound_id(
    state: &AppState,
    begun: &OutboundBegun,
) -> Result<Option<String>, ApiError> {
    let page = state
        .store
        .list_messages(&begun.message.contact_id, PageSize::DEFAULT, None)
        .await?;
    Ok(page
        .items
        .into_iter()
        .find(|m| m.direction == Direction::Inbound && m.channel == begun.message.channel)
        .and_then(|m| m.provider_message_id))
}

fn answer(begun: &OutboundBegun, message: &Message) -> Value {
    json!({
        "message": message,
        "conversation": begun.conversation,
        "conversation_opened": begun.conversation_opened,
        "assignee": begun.assignee,
    })
}
