//! Telegram Bot API: `setWebhook` secret token, one `Update` per call, `sendMessage`.
//! (providers.md §3.1; channel-rules.md §3 Telegram.)

use replyline_config::{ExposeSecret, TelegramSettings};
use replyline_domain::{ChannelFlag, Content, ExternalId, PersonName, ProfileFields, Timestamp};
use replyline_policy::Opener;
use serde::Deserialize;
use url::Url;

use crate::outbound::{plain_text, transport, Delivered, OutboundMessage, SendError};
use crate::signature::secret_eq;
use crate::webhook::{
    FlagSignal, InboundEvent, WebhookError, WebhookOutcome, WebhookReply, WebhookRequest,
};

const SECRET_HEADER: &str = "x-telegram-bot-api-secret-token";

#[derive(Debug, Clone)]
pub struct Telegram {
    settings: TelegramSettings,
    api_base: Url,
    http: reqwest::Client,
}

#[derive(Deserialize)]
struct Update {
    update_id: i64,
    #[serde(default)]
    message: Option<TgMessage>,
    #[serde(default)]
    my_chat_member: Option<ChatMemberUpdated>,
}

#[derive(Deserialize)]
struct TgMessage {
    date: i64,
    chat: Chat,
    #[serde(default)]
    from: Option<User>,
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    caption: Option<String>,
}

#[derive(Deserialize)]
struct Chat {
    id: i64,
    #[serde(default, rename = "type")]
    kind: Option<String>,
}

#[derive(Deserialize)]
struct User {
    #[serde(default)]
    first_name: Option<String>,
    #[serde(default)]
    last_name: Option<String>,
}

#[derive(Deserialize)]
struct ChatMemberUpdated {
    chat: Chat,
    date: i64,
    new_chat_member: ChatMember,
}

#[derive(Deserialize)]
struct ChatMember {
    status: String,
}

#[derive(Deserialize)]
struct ApiAnswer {
    ok: bool,
    #[serde(default)]
    result: Option<serde_json::Value>,
    #[serde(default)]
    error_code: Option<i64>,
    #[serde(default)]
    description: Option<String>,
}

impl Telegram {
    pub fn new(settings: TelegramSettings, api_base: Url, http: reqwest::Client) -> Self {
        Telegram {
            settings,
            api_base,
            http,
        }
    }

    pub fn handle_webhook(&self, req: &WebhookRequest) -> Result<WebhookOutcome, WebhookError> {
        if req.method != http::Method::POST {
            return Err(WebhookError::MethodNotAllowed);
        }
        let given = req.header(SECRET_HEADER).ok_or(WebhookError::Unauthorized(
            "missing X-Telegram-Bot-Api-Secret-Token",
        ))?;
        if !secret_eq(given, self.settings.secret_token.expose_secret()) {
            return Err(WebhookError::Unauthorized(
                "wrong X-Telegram-Bot-Api-Secret-Token",
            ));
        }
        let update: Update = serde_json::from_slice(&req.body)
            .map_err(|e| WebhookError::Unparseable(format!("not a Telegram Update: {e}")))?;
        let event_id = update.update_id.to_string();
        let mut events = Vec::new();
        let mut ignored = Vec::new();
        if let Some(m) = update.message {
            if m.chat.kind.as_deref().is_some_and(|k| k != "private") {
                ignored.push(format!(
                    "message in a {} chat",
                    m.chat.kind.unwrap_or_default()
                ));
            } else {
                events.push(message_event(event_id, m)?);
            }
        } else if let Some(member) = update.my_chat_member {
            // The user blocked the bot ("kicked") or started it again ("member").
            let value = match member.new_chat_member.status.as_str() {
                "kicked" => Some(true),
                "member" => Some(false),
                _ => None,
            };
            match value {
                Some(value) => events.push(InboundEvent {
                    external_id: external(member.chat.id)?,
                    event_id,
                    opener: None,
                    occurred_at: Timestamp::from_secs(member.date).ok(),
                    profile: ProfileFields::default(),
                    content: None,
                    flag: Some(FlagSignal {
                        flag: ChannelFlag::Unsubscribed,
                        value,
                    }),
                }),
                None => ignored.push(format!("my_chat_member {}", member.new_chat_member.status)),
            }
        } else {
            ignored.push("update without a message".to_owned());
        }
        Ok(WebhookOutcome::Events {
            events,
            ignored,
            failures: Vec::new(),
            reply: WebhookReply::ok_json(),
        })
    }

    pub async fn send(&self, msg: &OutboundMessage<'_>) -> Result<Delivered, SendError> {
        let text = plain_text(msg.content, "Telegram")?;
        let chat_id: serde_json::Value = match msg.to.as_str().parse::<i64>() {
            Ok(n) => n.into(),
            Err(_) => msg.to.as_str().into(),
        };
        let url = format!(
            "{}/bot{}/sendMessage",
            self.api_base.as_str().trim_end_matches('/'),
            self.settings.bot_token.expose_secret()
        );
        let resp = self
            .http
            .post(url)
            .json(&serde_json::json!({ "chat_id": chat_id, "text": text }))
            .send()
            .await
            .map_err(transport)?;
        let status = resp.status();
        let answer: ApiAnswer = resp.json().await.map_err(transport)?;
        if answer.ok {
            let id = answer
                .result
                .as_ref()
                .and_then(|r| r.get("message_id"))
                .map(|v| v.to_string())
                .ok_or_else(|| {
                    SendError::Unavailable("Telegram answered without a message_id".to_owned())
                })?;
            return Ok(Delivered {
                provider_message_id: id,
            });
        }
        let code = answer.error_code.unwrap_or(i64::from(status.as_u16()));
        let text = answer.description.unwrap_or_else(|| status.to_string());
        if code == 429 || code >= 500 {
            return Err(SendError::Unavailable(format!("Telegram {code}: {text}")));
        }
        // 403: blocked by the user, deactivated, or never started the bot: a hard stop.
        let flag = (code == 403).then_some(ChannelFlag::Unsubscribed);
        Err(SendError::Rejected {
            code: code.to_string(),
            text,
            flag,
        })
    }
}

fn external(chat_id: i64) -> Result<ExternalId, WebhookError> {
    ExternalId::parse(&chat_id.to_string()).map_err(|e| WebhookError::Unparseable(e.to_string()))
}

fn message_event(event_id: String, m: TgMessage) -> Result<InboundEvent, WebhookError> {
    let name = |n: Option<String>| n.and_then(|s| PersonName::parse_optional(&s).ok().flatten());
    let (first_name, last_name) = match m.from {
        Some(u) => (name(u.first_name), name(u.last_name)),
        None => (None, None),
    };
    // Media without a caption still reaches the agent, as a marker.
    let text = m
        .text
        .or(m.caption)
        .filter(|t| !t.trim().is_empty())
        .unwrap_or_else(|| "(attachment)".to_owned());
    let content = Content::from_text(text).map_err(|e| WebhookError::Unparseable(e.to_string()))?;
    Ok(InboundEvent {
        external_id: external(m.chat.id)?,
        event_id,
        opener: Some(Opener::Message),
        occurred_at: Timestamp::from_secs(m.date).ok(),
        profile: ProfileFields {
            first_name,
            last_name,
            ..ProfileFields::default()
        },
        content: Some(content),
        flag: None,
    })
}
