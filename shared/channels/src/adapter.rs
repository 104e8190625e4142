//! One configured channel's adapter, chosen by kind.

use replyline_config::{ChannelConfig, ChannelSettings};
use replyline_domain::ChannelKind;

use crate::email::Email;
use crate::instagram::Instagram;
use crate::line::Line;
use crate::messenger::Messenger;
use crate::outbound::{Delivered, OutboundMessage, SendError};
use crate::telegram::Telegram;
use crate::twilio::Twilio;
use crate::viber::Viber;
use crate::webchat::Webchat;
use crate::webhook::{WebhookError, WebhookOutcome, WebhookRequest};
use crate::wechat::Wechat;
use crate::whatsapp::Whatsapp;

/// A channel's protocol: verify and parse its webhooks, deliver through its API.
#[derive(Debug, Clone)]
pub enum Adapter {
    Telegram(Telegram),
    Webchat(Webchat),
    Twilio(Twilio),
    Line(Line),
    Viber(Viber),
    Messenger(Messenger),
    Instagram(Instagram),
    Whatsapp(Whatsapp),
    Wechat(Wechat),
    Email(Email),
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
            ChannelSettings::Line(s) => {
                Adapter::Line(Line::new(s.clone(), config.api_base.clone(), http))
            }
            ChannelSettings::Viber(s) => {
                Adapter::Viber(Viber::new(s.clone(), config.api_base.clone(), http))
            }
            ChannelSettings::Messenger(s) => {
                Adapter::Messenger(Messenger::new(s.clone(), config.api_base.clone(), http))
            }
            ChannelSettings::Instagram(s) => {
                Adapter::Instagram(Instagram::new(s.clone(), config.api_base.clone(), http))
            }
            ChannelSettings::Wechat(s) => {
                Adapter::Wechat(Wechat::new(s.clone(), config.api_base.clone(), http))
            }
            ChannelSettings::Whatsapp(s) => {
                Adapter::Whatsapp(Whatsapp::new(s.clone(), config.api_base.clone(), http))
            }
            ChannelSettings::Email(s) => {
                Adapter::Email(Email::new(s.clone(), config.api_base.clone(), http))
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
            Adapter::Line(a) => a.handle_webhook(req),
            Adapter::Viber(a) => a.handle_webhook(req),
            Adapter::Messenger(a) => a.handle_webhook(req),
            Adapter::Instagram(a) => a.handle_webhook(req),
            Adapter::Whatsapp(a) => a.handle_webhook(req),
            Adapter::Wechat(a) => a.handle_webhook(req),
            Adapter::Email(a) => a.handle_webhook(req),
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
            Adapter::Line(a) => a.send(msg).await,
            Adapter::Viber(a) => a.send(msg).await,
            Adapter::Messenger(a) => a.send(msg).await,
            Adapter::Instagram(a) => a.send(msg).await,
            Adapter::Whatsapp(a) => a.send(msg).await,
            Adapter::Wechat(a) => a.send(msg).await,
            Adapter::Email(a) => a.send(msg).await,
            Adapter::NotYetSupported(kind) => Err(SendError::Unsupported(format!(
                "sending on {} channels is not supported yet",
                kind.display_name()
            ))),
        }
    }
}
