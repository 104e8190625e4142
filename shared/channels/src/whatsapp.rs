//! WhatsApp Cloud API: `object: "whatsapp_business_account"` webhooks with
//! `entry[].changes[].value.{messages,statuses}[]`, and
//! `POST /v21.0/{phone_number_id}/messages` for text and templates. (providers.md §3.6,
//! §4.6; channel-rules.md §3 WhatsApp.)

use replyline_config::WhatsappSettings;
use replyline_domain::{
    Content, ExternalId, PersonName, Phone, ProfileFields, Template, Timestamp,
};
use replyline_policy::Opener;
use serde::Deserialize;
use url::Url;

use crate::meta::{self, check_length, graph_post, graph_url, GraphError, Refusal, Verified};
use crate::outbound::{Delivered, OutboundMessage, SendError};
use crate::webhook::{
    DeliveryFailure, InboundEvent, WebhookError, WebhookOutcome, WebhookReply, WebhookRequest,
};

/// The Cloud API's text body limit.
const MAX_TEXT_CHARS: usize = 4096;

/// "Re-engagement message" (more than 24 h since the customer wrote), and its legacy code.
const OUTSIDE_WINDOW: [i64; 2] = [131_047, 470];

#[derive(Debug, Clone)]
pub struct Whatsapp {
    settings: WhatsappSettings,
    api_base: Url,
    http: reqwest::Client,
}

#[derive(Deserialize)]
struct Entry {
    #[serde(default)]
    changes: Vec<Change>,
}

#[derive(Deserialize)]
struct Change {
    field: String,
    #[serde(default)]
    value: Value,
}

#[derive(Default, Deserialize)]
struct Value {
    #[serde(default)]
    contacts: Vec<Contact>,
    #[serde(default)]
    messages: Vec<WaMessage>,
    #[serde(default)]
    statuses: Vec<Status>,
}

#[derive(Deserialize)]
struct Contact {
    wa_id: String,
    #[serde(default)]
    profile: Option<Profile>,
}

#[derive(Deserialize)]
struct Profile {
    #[serde(default)]
    name: Option<String>,
}

#[derive(Deserialize)]
struct WaMessage {
    id: String,
    from: String,
    /// Unix seconds, as a string.
    #[serde(default)]
    timestamp: Option<String>,
    #[serde(default, rename = "type")]
    kind: Option<String>,
    #[serde(default)]
    text: Option<TextBody>,
    #[serde(default)]
    button: Option<ButtonReply>,
    #[serde(default)]
    interactive: Option<Interactive>,
    #[serde(default)]
    image: Option<Media>,
    #[serde(default)]
    video: Option<Media>,
    #[serde(default)]
    document: Option<Media>,
}

#[derive(Deserialize)]
struct TextBody {
    body: String,
}

/// A quick-reply button of a template.
#[derive(Deserialize)]
struct ButtonReply {
    #[serde(default)]
    text: Option<String>,
}

#[derive(Deserialize)]
struct Interactive {
    #[serde(default)]
    button_reply: Option<Choice>,
    #[serde(default)]
    list_reply: Option<Choice>,
}

#[derive(Deserialize)]
struct Choice {
    #[serde(default)]
    title: Option<String>,
}

#[derive(Deserialize)]
struct Media {
    #[serde(default)]
    caption: Option<String>,
}

#[derive(Deserialize)]
struct Status {
    id: String,
    status: String,
    #[serde(default)]
    errors: Vec<StatusError>,
}

#[derive(Deserialize)]
struct StatusError {
    code: i64,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    error_data: Option<meta::ErrorData>,
}

impl Whatsapp {
    pub fn new(settings: WhatsappSettings, api_base: Url, http: reqwest::Client) -> Self {
        Whatsapp {
            settings,
            api_base,
            http,
        }
    }

    pub fn handle_webhook(&self, req: &WebhookRequest) -> Result<WebhookOutcome, WebhookError> {
        if let Verified::Handshake(outcome) =
            meta::verify(req, &self.settings.app_secret, &self.settings.verify_token)?
        {
            return Ok(outcome);
        }
        let entries: Vec<Entry> = meta::envelope(&req.body, "whatsapp_business_account")?;
        let mut events = Vec::new();
        let mut ignored = Vec::new();
        let mut failures = Vec::new();
        for change in entries.into_iter().flat_map(|e| e.changes) {
            if change.field != "messages" {
                ignored.push(format!("change of field {}", change.field));
                continue;
            }
            let value = change.value;
            for m in value.messages {
                match message_event(m, &value.contacts)? {
                    Ok(e) => events.push(e),
                    Err(note) => ignored.push(note),
                }
            }
            for s in value.statuses {
                match failure(s) {
                    Ok(f) => failures.push(f),
                    Err(note) => ignored.push(note),
                }
            }
        }
        Ok(WebhookOutcome::Events {
            events,
            ignored,
            failures,
            reply: WebhookReply::ok_json(),
        })
    }

    pub async fn send(&self, msg: &OutboundMessage<'_>) -> Result<Delivered, SendError> {
        let mut body = serde_json::json!({
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": msg.to.as_str(),
        });
        // A template is what may be sent outside the window; any text beside it is the
        // agent's preview of it.
        if let Some(t) = msg.content.template() {
            body["type"] = "template".into();
            body["template"] = template(t);
        } else if let Some(text) = msg.content.text() {
            check_length(text, MAX_TEXT_CHARS, "WhatsApp")?;
            body["type"] = "text".into();
            body["text"] = serde_json::json!({ "body": text });
        } else {
            return Err(SendError::Unsupported("the message has no text".to_owned()));
        }
        let url = graph_url(
            &self.api_base,
            &format!("{}/messages", self.settings.phone_number_id),
        )?;
        let answer = graph_post(
            &self.http,
            url,
            &self.settings.access_token,
            &body,
            "WhatsApp",
            classify,
        )
        .await?;
        let id = answer
            .pointer("/messages/0/id")
            .and_then(|v| v.as_str())
            .ok_or_else(|| {
                SendError::Unavailable("WhatsApp answered without a message id".to_owned())
            })?;
        Ok(Delivered {
            provider_message_id: id.to_owned(),
        })
    }
}

/// The `template` object: body parameters as text, no `components` when there are none.
fn template(t: &Template) -> serde_json::Value {
    let mut out = serde_json::json!({
        "name": t.name(),
        "language": { "code": t.language() },
    });
    if !t.parameters().is_empty() {
        let params: Vec<serde_json::Value> = t
            .parameters()
            .iter()
            .map(|p| serde_json::json!({ "type": "text", "text": p }))
            .collect();
        out["components"] = serde_json::json!([{ "type": "body", "parameters": params }]);
    }
    out
}

/// Cloud API error codes (channel-rules.md §3 WhatsApp; pywa's `errors.py` names them).
fn classify(e: &GraphError) -> Refusal {
    match e.code {
        Some(c) if OUTSIDE_WINDOW.contains(&c) => Refusal::OutsideWindow,
        // Throttling: API calls (4), rate limit issues (80007), rate limit hit (130429),
        // spam rate limit (131048), pair rate limit (131056).
        Some(4 | 80_007 | 130_429 | 131_048 | 131_056) => Refusal::Unavailable,
        // 131026 undeliverable, 190 token, and the rest: refused as is.
        _ => Refusal::Rejected(None),
    }
}

fn message_event(
    m: WaMessage,
    contacts: &[Contact],
) -> Result<Result<InboundEvent, String>, WebhookError> {
    let kind = m.kind.as_deref().unwrap_or("unknown");
    // An empty id is no dedup key: every such message would be "the same" one.
    if m.id.trim().is_empty() {
        return Ok(Err(format!("WhatsApp {kind} message without an id")));
    }
    let caption = |media: &Option<Media>| media.as_ref().and_then(|x| x.caption.clone());
    let text = match kind {
        "text" => m.text.map(|t| t.body),
        "button" => m.button.and_then(|b| b.text),
        "interactive" => m
            .interactive
            .and_then(|i| i.button_reply.or(i.list_reply))
            .and_then(|c| c.title),
        "image" => caption(&m.image),
        "video" => caption(&m.video),
        "document" => caption(&m.document),
        // Reactions are not messages here (as on Messenger); system notices neither.
        "reaction" | "system" => return Ok(Err(format!("WhatsApp {kind} message"))),
        _ => None,
    };
    let text = text
        .filter(|t| !t.trim().is_empty())
        .unwrap_or_else(|| format!("({kind})"));
    let unparseable = |e: String| WebhookError::Unparseable(e);
    let external_id = ExternalId::parse(&m.from).map_err(|e| unparseable(format!("from: {e}")))?;
    let name = contacts
        .iter()
        .find(|c| c.wa_id == m.from)
        .and_then(|c| c.profile.as_ref())
        .and_then(|p| p.name.as_deref())
        .and_then(|n| PersonName::parse_optional(n).ok().flatten());
    let occurred_at = m
        .timestamp
        .as_deref()
        .and_then(|t| t.trim().parse::<i64>().ok())
        .and_then(|t| Timestamp::from_secs(t).ok());
    Ok(Ok(InboundEvent {
        external_id,
        event_id: m.id,
        opener: Some(Opener::Message),
        occurred_at,
        profile: ProfileFields {
            // WhatsApp gives one display name: all of it goes in the first name.
            first_name: name,
            phone: Phone::parse(&format!("+{}", m.from)).ok(),
            ..ProfileFields::default()
        },
        content: Some(Content::from_text(text).map_err(|e| unparseable(e.to_string()))?),
        flag: None,
    }))
}

/// A `failed` status is a failure of our message; sent/delivered/read are only noted.
fn failure(s: Status) -> Result<DeliveryFailure, String> {
    if s.status != "failed" {
        return Err(format!("status {}", s.status));
    }
    let first = s.errors.into_iter().next();
    let (code, text) = match first {
        Some(e) => {
            let mut text = e
                .title
                .or(e.message)
                .unwrap_or_else(|| "delivery failed".to_owned());
            if let Some(details) = e.error_data.and_then(|d| d.details) {
                text = format!("{text}: {details}");
            }
            (Some(e.code), text)
        }
        None => (None, "delivery failed".to_owned()),
    };
    Ok(DeliveryFailure {
        provider_message_id: s.id,
        code: code.map_or_else(|| "failed".to_owned(), |c| c.to_string()),
        text,
        outside_window: code.is_some_and(|c| OUTSIDE_WINDOW.contains(&c)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Same class as the empty Twilio MessageSid found by fuzzing: a message with an empty
    /// id is no dedup key, so it is ignored rather than recorded.
    #[test]
    fn a_message_without_an_id_is_ignored() {
        let m: WaMessage = serde_json::from_value(serde_json::json!({
            "id": " ", "from": "972544401243", "timestamp": "1730231903",
            "type": "text", "text": {"body": "hi"}
        }))
        .unwrap();
        let note = message_event(m, &[]).unwrap().unwrap_err();
        assert!(note.contains("without an id"), "{note}");
    }
}
