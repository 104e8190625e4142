//! Website chat: our own server-to-server channel. The website's backend POSTs each visitor
//! message signed with `X-Replyline-Signature: sha256=<hex HMAC-SHA256(secret, body)>`;
//! agent replies are POSTed to the channel's `callback_url`, signed the same way.
//! (providers.md §3.3.)

use replyline_config::{ExposeSecret, WebchatSettings};
use replyline_domain::{Content, ExternalId, PersonName, ProfileFields, Timestamp};
use replyline_policy::Opener;
use serde::Deserialize;

use crate::outbound::{plain_text, transport, Delivered, OutboundMessage, SendError};
use crate::signature::{hmac_sha256, verify_hex_sha256};
use crate::webhook::{InboundEvent, WebhookError, WebhookOutcome, WebhookReply, WebhookRequest};

pub const SIGNATURE_HEADER: &str = "x-replyline-signature";

#[derive(Debug, Clone)]
pub struct Webchat {
    settings: WebchatSettings,
    http: reqwest::Client,
}

/// A visitor message as the website posts it.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct VisitorMessage {
    visitor_id: String,
    message_id: String,
    text: String,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    phone: Option<String>,
    /// RFC 3339; defaults to the time of receipt.
    #[serde(default)]
    timestamp: Option<String>,
}

/// The signature header value for `body`: what the website sends and what we send back.
pub fn sign(secret: &str, body: &[u8]) -> String {
    format!(
        "sha256={}",
        hex::encode(hmac_sha256(secret.as_bytes(), body))
    )
}

impl Webchat {
    pub fn new(settings: WebchatSettings, http: reqwest::Client) -> Self {
        Webchat { settings, http }
    }

    pub fn handle_webhook(&self, req: &WebhookRequest) -> Result<WebhookOutcome, WebhookError> {
        if req.method != http::Method::POST {
            return Err(WebhookError::MethodNotAllowed);
        }
        let given = req
            .header(SIGNATURE_HEADER)
            .ok_or(WebhookError::Unauthorized("missing X-Replyline-Signature"))?;
        let hex = given
            .strip_prefix("sha256=")
            .ok_or(WebhookError::Unauthorized(
                "X-Replyline-Signature must start with sha256=",
            ))?;
        if !verify_hex_sha256(
            self.settings.secret.expose_secret().as_bytes(),
            &req.body,
            hex,
        ) {
            return Err(WebhookError::Unauthorized(
                "X-Replyline-Signature does not match the body",
            ));
        }
        // Our own channel: its sender is a developer, so a bad body gets a 400 that says why.
        let m: VisitorMessage = serde_json::from_slice(&req.body).map_err(|e| {
            WebhookError::BadRequest(format!("the body is not a visitor message: {e}"))
        })?;
        let bad = |field: &str, e: String| WebhookError::BadRequest(format!("`{field}`: {e}"));
        let external_id =
            ExternalId::parse(&m.visitor_id).map_err(|e| bad("visitor_id", e.to_string()))?;
        if m.message_id.trim().is_empty() || m.message_id.len() > 256 {
            return Err(bad("message_id", "must be 1 to 256 characters".to_owned()));
        }
        let content = Content::from_text(m.text).map_err(|e| bad("text", e.to_string()))?;
        let (first, last) = match m.name.as_deref().map(str::trim) {
            Some(n) if !n.is_empty() => match n.split_once(' ') {
                Some((f, l)) => (Some(f), Some(l)),
                None => (Some(n), None),
            },
            _ => (None, None),
        };
        let profile = ProfileFields {
            first_name: first
                .map(PersonName::parse_optional)
                .transpose()
                .map_err(|e| bad("name", e.to_string()))?
                .flatten(),
            last_name: last
                .map(PersonName::parse_optional)
                .transpose()
                .map_err(|e| bad("name", e.to_string()))?
                .flatten(),
            ..ProfileFields::parse(None, None, m.email.as_deref(), m.phone.as_deref())
                .map_err(|e| WebhookError::BadRequest(e.to_string()))?
        };
        let occurred_at = m
            .timestamp
            .as_deref()
            .map(Timestamp::parse_rfc3339)
            .transpose()
            .map_err(|e| bad("timestamp", e.to_string()))?;
        Ok(WebhookOutcome::Events {
            events: vec![InboundEvent {
                external_id,
                event_id: m.message_id,
                opener: Some(Opener::Message),
                occurred_at,
                profile,
                content: Some(content),
                flag: None,
            }],
            ignored: Vec::new(),
            failures: Vec::new(),
            reply: WebhookReply::ok_json(),
        })
    }

    pub async fn send(&self, msg: &OutboundMessage<'_>) -> Result<Delivered, SendError> {
        let text = plain_text(msg.content, "Website chat")?;
        let body = serde_json::to_vec(&serde_json::json!({
            "visitor_id": msg.to.as_str(),
            "message_id": msg.id.as_str(),
            "text": text,
        }))
        .map_err(|e| SendError::Unsupported(e.to_string()))?;
        let signature = sign(self.settings.secret.expose_secret(), &body);
        let resp = self
            .http
            .post(self.settings.callback_url.clone())
            .header("content-type", "application/json")
            .header(SIGNATURE_HEADER, signature)
            .body(body)
            .send()
            .await
            .map_err(transport)?;
        let status = resp.status();
        if status.is_success() {
            // The website acknowledges our id; it is the delivery's id too.
            return Ok(Delivered {
                provider_message_id: msg.id.to_string(),
            });
        }
        let text: String = resp
            .text()
            .await
            .unwrap_or_default()
            .chars()
            .take(500)
            .collect();
        if status.is_server_error() || status.as_u16() == 429 {
            Err(SendError::Unavailable(format!("website answered {status}")))
        } else {
            Err(SendError::Rejected {
                code: status.as_u16().to_string(),
                text,
                flag: None,
            })
        }
    }
}
