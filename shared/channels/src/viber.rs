//! Viber REST bot API: `X-Viber-Content-Signature` (hex HMAC-SHA256 of the raw body under
//! the auth token), one callback per call, `send_message` answering HTTP 200 with a
//! `status`. (providers.md §3.7, §4.3; channel-rules.md §3 Viber.)

use replyline_config::{ExposeSecret, ViberSettings};
use replyline_domain::{ChannelFlag, Content, ExternalId, PersonName, ProfileFields, Timestamp};
use replyline_policy::Opener;
use serde::Deserialize;
use url::Url;

use crate::outbound::{plain_text, transport, Delivered, OutboundMessage, SendError};
use crate::signature::{hmac_sha256, verify_hex_sha256};
use crate::webhook::{
    FlagSignal, InboundEvent, WebhookError, WebhookOutcome, WebhookReply, WebhookRequest,
};

const SIGNATURE_HEADER: &str = "x-viber-content-signature";
const AUTH_HEADER: &str = "X-Viber-Auth-Token";
/// Viber refuses a `sender.name` longer than this.
const SENDER_NAME_MAX_CHARS: usize = 28;

/// `send_message` statuses that say the user cannot be messaged (a hard stop).
const RECEIVER_NOT_REGISTERED: i64 = 5;
const RECEIVER_NOT_SUBSCRIBED: i64 = 6;
/// Rate limited: retryable.
const TOO_MANY_REQUESTS: i64 = 12;

#[derive(Debug, Clone)]
pub struct Viber {
    settings: ViberSettings,
    api_base: Url,
    http: reqwest::Client,
}

/// One callback. `message_token` exceeds 2^53, so it is read as `u64` (serde_json keeps
/// integers exact; an `f64` would round it and break deduplication).
#[derive(Deserialize)]
struct Callback {
    event: String,
    #[serde(default)]
    timestamp: Option<i64>,
    #[serde(default)]
    message_token: Option<u64>,
    /// The author of a `message`.
    #[serde(default)]
    sender: Option<ViberUser>,
    /// The user of `subscribed`.
    #[serde(default)]
    user: Option<ViberUser>,
    /// The user of `unsubscribed` (just the id there).
    #[serde(default)]
    user_id: Option<String>,
    #[serde(default)]
    message: Option<ViberMessage>,
}

#[derive(Deserialize)]
struct ViberUser {
    id: String,
    #[serde(default)]
    name: Option<String>,
}

#[derive(Deserialize)]
struct ViberMessage {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    text: Option<String>,
    /// The link of a `url` message.
    #[serde(default)]
    media: Option<String>,
}

#[derive(Deserialize)]
struct SendAnswer {
    status: i64,
    #[serde(default)]
    status_message: Option<String>,
    #[serde(default)]
    message_token: Option<u64>,
}

/// The `X-Viber-Content-Signature` Viber sends with `body`.
pub fn signature(auth_token: &str, body: &[u8]) -> String {
    hex::encode(hmac_sha256(auth_token.as_bytes(), body))
}

impl Viber {
    pub fn new(settings: ViberSettings, api_base: Url, http: reqwest::Client) -> Self {
        Viber {
            settings,
            api_base,
            http,
        }
    }

    pub fn handle_webhook(&self, req: &WebhookRequest) -> Result<WebhookOutcome, WebhookError> {
        if req.method != http::Method::POST {
            return Err(WebhookError::MethodNotAllowed);
        }
        let given = req
            .header(SIGNATURE_HEADER)
            .ok_or(WebhookError::Unauthorized(
                "missing X-Viber-Content-Signature",
            ))?;
        if !verify_hex_sha256(
            self.settings.auth_token.expose_secret().as_bytes(),
            &req.body,
            given,
        ) {
            return Err(WebhookError::Unauthorized(
                "X-Viber-Content-Signature does not match",
            ));
        }
        let cb: Callback = serde_json::from_slice(&req.body)
            .map_err(|e| WebhookError::Unparseable(format!("not a Viber callback: {e}")))?;
        let one = |event: InboundEvent| WebhookOutcome::Events {
            events: vec![event],
            ignored: Vec::new(),
            failures: Vec::new(),
            reply: WebhookReply::ok_json(),
        };
        let occurred_at = cb.timestamp.and_then(|ms| Timestamp::from_millis(ms).ok());
        match cb.event.as_str() {
            // `set_webhook` fails unless this callback gets a 200.
            "webhook" => Ok(WebhookOutcome::Handshake(WebhookReply::ok_json())),
            "message" => {
                let sender = cb
                    .sender
                    .ok_or_else(|| unparseable("message without a sender"))?;
                let message = cb
                    .message
                    .ok_or_else(|| unparseable("message without a message"))?;
                let token = cb
                    .message_token
                    .ok_or_else(|| unparseable("message without a message_token"))?;
                let first_name = sender
                    .name
                    .as_deref()
                    .and_then(|n| PersonName::parse_optional(n).ok().flatten());
                Ok(one(InboundEvent {
                    external_id: external(&sender.id)?,
                    event_id: token.to_string(),
                    opener: Some(Opener::Message),
                    occurred_at,
                    // Viber gives one display name: all of it is the first name.
                    profile: ProfileFields {
                        first_name,
                        ..ProfileFields::default()
                    },
                    content: Some(message_content(message)?),
                    flag: None,
                }))
            }
            "subscribed" | "unsubscribed" => {
                let (user, value) = if cb.event == "subscribed" {
                    (cb.user.map(|u| u.id), false)
                } else {
                    (cb.user_id, true)
                };
                let user = user.ok_or_else(|| unparseable("subscription event without a user"))?;
                // Viber gives these a message_token too; without one, the event itself
                // (who, what, when) is the key.
                let event_id = match cb.message_token {
                    Some(t) => t.to_string(),
                    None => format!("{}:{user}:{}", cb.event, cb.timestamp.unwrap_or(0)),
                };
                Ok(one(InboundEvent {
                    external_id: external(&user)?,
                    event_id,
                    opener: None,
                    occurred_at,
                    profile: ProfileFields::default(),
                    content: None,
                    flag: Some(FlagSignal {
                        flag: ChannelFlag::Unsubscribed,
                        value,
                    }),
                }))
            }
            // Opening the chat screen neither subscribes the user nor says anything.
            other => Ok(WebhookOutcome::Events {
                events: Vec::new(),
                ignored: vec![format!("{other} callback")],
                failures: Vec::new(),
                reply: WebhookReply::ok_json(),
            }),
        }
    }

    pub async fn send(&self, msg: &OutboundMessage<'_>) -> Result<Delivered, SendError> {
        let text = plain_text(msg.content, "Viber")?;
        let url = format!(
            "{}/pa/send_message",
            self.api_base.as_str().trim_end_matches('/')
        );
        let sender: String = self
            .settings
            .sender_name
            .chars()
            .take(SENDER_NAME_MAX_CHARS)
            .collect();
        let resp = self
            .http
            .post(url)
            .header(AUTH_HEADER, self.settings.auth_token.expose_secret())
            .json(&serde_json::json!({
                "receiver": msg.to.as_str(),
                "min_api_version": 1,
                "sender": { "name": sender },
                "type": "text",
                "text": text,
            }))
            .send()
            .await
            .map_err(transport)?;
        let status = resp.status();
        if status.as_u16() == 429 || status.is_server_error() {
            return Err(SendError::Unavailable(format!("Viber answered {status}")));
        }
        if !status.is_success() {
            return Err(SendError::Rejected {
                code: status.as_u16().to_string(),
                text: status.to_string(),
                flag: None,
            });
        }
        // Viber answers 200 whatever happened: the verdict is in `status`.
        let answer: SendAnswer = resp.json().await.map_err(transport)?;
        let text = answer
            .status_message
            .unwrap_or_else(|| format!("status {}", answer.status));
        match answer.status {
            0 => answer
                .message_token
                .map(|t| Delivered {
                    provider_message_id: t.to_string(),
                })
                .ok_or_else(|| {
                    SendError::Unavailable("Viber answered without a message_token".to_owned())
                }),
            TOO_MANY_REQUESTS => Err(SendError::Unavailable(format!("Viber 12: {text}"))),
            code => Err(SendError::Rejected {
                code: code.to_string(),
                text,
                flag: matches!(code, RECEIVER_NOT_REGISTERED | RECEIVER_NOT_SUBSCRIBED)
                    .then_some(ChannelFlag::Unsubscribed),
            }),
        }
    }
}

fn unparseable(why: &str) -> WebhookError {
    WebhookError::Unparseable(why.to_owned())
}

fn external(id: &str) -> Result<ExternalId, WebhookError> {
    ExternalId::parse(id).map_err(|e| WebhookError::Unparseable(e.to_string()))
}

/// Text (or a picture's caption) as is; a link as its URL; other media as a marker such as
/// "(picture)".
fn message_content(m: ViberMessage) -> Result<Content, WebhookError> {
    let nonblank = |s: Option<String>| s.filter(|t| !t.trim().is_empty());
    let text = match nonblank(m.text) {
        Some(t) => t,
        None if m.kind == "url" => nonblank(m.media).unwrap_or_else(|| "(url)".to_owned()),
        None => format!("({})", m.kind),
    };
    Content::from_text(text).map_err(|e| WebhookError::Unparseable(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// viber-bot-python's `tests/api/test_api.py` vector (providers.md §4.3).
    #[test]
    fn viber_sdk_signature_vector() {
        let body =
            br#"{"event":"webhook","timestamp":4977069964384421269,"message_token":1478683725125}"#;
        assert_eq!(
            signature("44dafb7e0f40021e-61a47a1e6778d187-f2c5a676a07050b3", body),
            "d21b343448c8aee33b8e93768ef6ceb64a6ba6163099973a2b8bd028fea510ef"
        );
    }

    #[test]
    fn message_tokens_above_2_pow_53_keep_their_digits() {
        let cb: Callback = serde_json::from_str(
            r#"{"event":"message","timestamp":1457764197627,"message_token":4912661846655238145}"#,
        )
        .unwrap();
        assert_eq!(
            cb.message_token.map(|t| t.to_string()).as_deref(),
            Some("4912661846655238145")
        );
    }
}
