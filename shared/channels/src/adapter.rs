//! One configured channel's adapter, chosen by kind.

use replyline_config::{ChannelConfig, ChannelSettings};
use replyline_domain::ChannelKind;

use crate::outbound::{Delivered, OutboundMessage, SendError};
use crate::telegram::Telegram;
use crate::twilio::Twilio;
use crate::webchat::Webchat;
use crate::webhook::{WebhookError, WebhookOutcome, WebhookRequest};

/// A channel's protocol: verify and parse its webhooks, deliver through its API.
#[derive(Debug, Clone)]
pub enum Adapter {
    Telegram(Telegram),
    Webchat(Webchat),
    Twilio(Twilio),
    /// A kind whose protocol is not built yet: its webhooks are refused (so a provider
    /// never gets a false 200) and sends fail as unsupported.
    NotYetSupported(ChannelKind),
}

impl Adapter {
    /// The adapter for a configured channel, sharing one HTTP client.
    pub fn for_channel(config: &ChannelConfig, http: reqwest::Client) -> Adapter {
        match &config.settings {
            ChannelSettings::Telegram(s) => {
                Adapter::Telegram(Telegram::new(s.clone(), config.api_base.clone(), http))
            }
            ChannelSettings::Webchat(s) => Adapter::Webchat(Webchat::new(s.clone(), http)),
            ChannelSettings::Sms(s) => {
                Adapter::Twilio(Twilio::new(s.clone(), config.api_base.clone(), http))
            }
            _ => Adapter::NotYetSupported(config.kind),
        }
    }

    /// Verifies over the raw bytes first, then parses.
    pub fn handle_webhook(&self, req: &WebhookRequest) -> Result<WebhookOutcome, WebhookError> {
        match self {
            Adapter::Telegram(a) => a.handle_webhook(req),
            Adapter::Webchat(a) => a.handle_webhook(req),
            Adapter::Twilio(a) => a.handle_webhook(req),
            Adapter::NotYetSupported(_) => Err(WebhookError::Unauthorized(
                "this channel kind's webhooks are not supported yet",
            )),
        }
    }

    /// Delivers one message through the provider's API.
    pub async fn send(&self, msg: &OutboundMessage<'_>) -> Result<Delivered, SendError> {
        match self {
            Adapter::Telegram(a) => a.send(msg).await,
            Adapter::Webchat(a) => a.send(msg).await,
            Adapter::Twilio(a) => a.send(msg).await,
            Adapter::NotYetSupported(kind) => Err(SendError::Unsupported(format!(
                "sending on {} channels is not supported yet",
                kind.display_name()
            ))),
        }
    }
}
