//! Instagram messaging (Instagram Login): `object: "instagram"` webhooks with the same
//! `entry[].messaging[]` shape as Messenger (IGSID senders), and
//! `POST graph.instagram.com/v21.0/me/messages`. (providers.md §3.6; channel-rules.md §3
//! Messenger and Instagram.)

use replyline_config::MetaSettings;
use url::Url;

use crate::messenger::{handle_webhook, send, Product};
use crate::outbound::{Delivered, OutboundMessage, SendError};
use crate::webhook::{WebhookError, WebhookOutcome, WebhookRequest};

/// Instagram takes texts of less than 1000 characters.
const INSTAGRAM: Product = Product {
    name: "Instagram",
    object: "instagram",
    max_chars: 999,
};

#[derive(Debug, Clone)]
pub struct Instagram {
    settings: MetaSettings,
    api_base: Url,
    http: reqwest::Client,
}

impl Instagram {
    pub fn new(settings: MetaSettings, api_base: Url, http: reqwest::Client) -> Self {
        Instagram {
            settings,
            api_base,
            http,
        }
    }

    pub fn handle_webhook(&self, req: &WebhookRequest) -> Result<WebhookOutcome, WebhookError> {
        handle_webhook(&self.settings, req, &INSTAGRAM)
    }

    pub async fn send(&self, msg: &OutboundMessage<'_>) -> Result<Delivered, SendError> {
        send(&self.settings, &self.api_base, &self.http, msg, &INSTAGRAM).await
    }
}
