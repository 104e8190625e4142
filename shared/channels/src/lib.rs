//! # replyline-channels
//!
//! Each provider's protocol, behind one [`Adapter`]: verify a webhook over the exact raw
//! bytes (before anything is parsed or stored), turn it into [`InboundEvent`]s, and
//! deliver outbound messages through the provider's HTTP API with timeouts, mapping its
//! refusals to typed [`SendError`]s (a refusal that reveals a hard stop carries the flag).
//!
//! No storage and no policy decisions here: the webhook and send functions do that.

mod adapter;
pub mod email;
pub mod instagram;
pub mod line;
pub mod messenger;
mod meta;
mod outbound;
pub mod signature;
pub mod telegram;
pub mod twilio;
pub mod viber;
pub mod webchat;
mod webhook;
pub mod wechat;
pub mod whatsapp;

pub use adapter::Adapter;
pub use outbound::{http_client, Delivered, OutboundMessage, SendError};
/// The HTTP client adapters share (built by [`http_client`]).
pub use reqwest::Client as HttpClient;
pub use webhook::{
    DeliveryFailure, FlagSignal, InboundEvent, WebhookError, WebhookOutcome, WebhookReply,
    WebhookRequest,
};
