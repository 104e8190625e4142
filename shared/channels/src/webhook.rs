//! A webhook request as a channel adapter sees it: the exact bytes, never re-serialised.

use std::collections::HashMap;

use bytes::Bytes;
use replyline_domain::{ChannelFlag, Content, ExternalId, ProfileFields, Timestamp};
use replyline_policy::Opener;
use serde::Serialize;

/// One provider callback, transport-neutral (axum, lambda_http and tests build it).
#[derive(Clone, Debug)]
pub struct WebhookRequest {
    pub method: http::Method,
    /// The URL the provider called, as it sees it: the configured public base URL plus
    /// the path and query (Twilio signs exactly this).
    pub public_url: String,
    /// Header names lower-cased (HTTP API v2 lower-cases them anyway).
    pub headers: HashMap<String, String>,
    pub query: Vec<(String, String)>,
    /// The body exactly as received (after API Gateway's base64 decoding).
    pub body: Bytes,
}

impl WebhookRequest {
    /// A header by name, case-insensitively.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .get(&name.to_ascii_lowercase())
            .map(String::as_str)
    }

    /// The first query parameter of that name.
    pub fn query_param(&self, name: &str) -> Option<&str> {
        self.query
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Builds the lower-cased header map from any (name, value) pairs.
    pub fn headers_from<'a>(
        pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> HashMap<String, String> {
        pairs
            .into_iter()
            .map(|(k, v)| (k.to_ascii_lowercase(), v.to_owned()))
            .collect()
    }
}

/// A channel-level flag change an inbound event carries (SMS STOP, bot blocked...).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FlagSignal {
    pub flag: ChannelFlag,
    pub value: bool,
}

/// One event of a verified webhook, ready for the store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InboundEvent {
    pub external_id: ExternalId,
    /// The provider's id for this event: the dedup key.
    pub event_id: String,
    /// What opened a window; `None` for events that open none (only a flag change).
    pub opener: Option<Opener>,
    /// The provider's timestamp, if it sent one (the caller clamps it to "now").
    pub occurred_at: Option<Timestamp>,
    pub profile: ProfileFields,
    pub content: Option<Content>,
    pub flag: Option<FlagSignal>,
}

/// A provider's delivery report about one of our outbound messages (WhatsApp
/// `statuses[]`): only failures matter, they mark the stored message failed.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeliveryFailure {
    /// The provider's id of our message (what `Delivered` returned).
    pub provider_message_id: String,
    pub code: String,
    pub text: String,
    /// The failure says the window was closed (WhatsApp 131047).
    pub outside_window: bool,
}

/// What a verified webhook amounts to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum WebhookOutcome {
    /// Events to record (maybe none); the provider gets `reply`.
    Events {
        events: Vec<InboundEvent>,
        /// Events not handled (receipts, typing...), for the log.
        ignored: Vec<String>,
        /// Failed deliveries of our messages that the provider reports.
        failures: Vec<DeliveryFailure>,
        reply: WebhookReply,
    },
    /// A verification handshake: answer it and record nothing.
    Handshake(WebhookReply),
}

/// The HTTP answer a provider expects.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct WebhookReply {
    pub status: u16,
    pub content_type: &'static str,
    pub body: String,
}

impl WebhookReply {
    pub fn ok_json() -> Self {
        WebhookReply {
            status: 200,
            content_type: "application/json",
            body: "{\"ok\":true}".to_owned(),
        }
    }
    pub fn text(status: u16, body: impl Into<String>) -> Self {
        WebhookReply {
            status,
            content_type: "text/plain; charset=utf-8",
            body: body.into(),
        }
    }
}

/// Why a webhook was not accepted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum WebhookError {
    /// Missing or wrong signature: 401, nothing stored.
    #[error("signature missing or invalid: {0}")]
    Unauthorized(&'static str),
    /// Verified but unusable, on a channel whose sender is a developer (our website chat):
    /// 400 with the reason.
    #[error("{0}")]
    BadRequest(String),
    /// Verified but unparseable provider payload: 200 so the provider does not retry
    /// (Meta disables failing webhooks), a warning in the log, nothing stored.
    #[error("unparseable payload: {0}")]
    Unparseable(String),
    /// The method is not one this channel's webhook answers.
    #[error("method not allowed")]
    MethodNotAllowed,
}
