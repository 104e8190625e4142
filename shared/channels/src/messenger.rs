//! Facebook Messenger: `object: "page"` webhooks with `entry[].messaging[]`, and the Send
//! API `POST /v21.0/me/messages` with `messaging_type` RESPONSE or MESSAGE_TAG.
//! (providers.md §3.6; channel-rules.md §3 Messenger and Instagram.)
//!
//! Instagram messaging has the same shapes, so the parsing and sending here are shared
//! with [`crate::instagram`] through a [`Product`] description.

use replyline_config::MetaSettings;
use replyline_domain::{ChannelFlag, Content, ExternalId, ProfileFields, Timestamp};
use replyline_policy::Opener;
use serde::Deserialize;
use url::Url;

use crate::meta::{self, check_length, graph_post, graph_url, GraphError, Refusal, Verified};
use crate::outbound::{plain_text, Delivered, OutboundMessage, SendError};
use crate::webhook::{InboundEvent, WebhookError, WebhookOutcome, WebhookReply, WebhookRequest};

/// What differs between the Messenger-shaped products.
pub(crate) struct Product {
    pub name: &'static str,
    /// The webhook's `object`.
    pub object: &'static str,
    /// The longest text the Send API takes, in characters.
    pub max_chars: usize,
}

const MESSENGER: Product = Product {
    name: "Messenger",
    object: "page",
    max_chars: 2000,
};

/// Messenger's and Instagram's out-of-window subcodes (code 10).
const WINDOW_SUBCODES: [i64; 2] = [2_018_278, 2_534_022];

#[derive(Debug, Clone)]
pub struct Messenger {
    settings: MetaSettings,
    api_base: Url,
    http: reqwest::Client,
}

impl Messenger {
    pub fn new(settings: MetaSettings, api_base: Url, http: reqwest::Client) -> Self {
        Messenger {
            settings,
            api_base,
            http,
        }
    }

    pub fn handle_webhook(&self, req: &WebhookRequest) -> Result<WebhookOutcome, WebhookError> {
        handle_webhook(&self.settings, req, &MESSENGER)
    }

    pub async fn send(&self, msg: &OutboundMessage<'_>) -> Result<Delivered, SendError> {
        send(&self.settings, &self.api_base, &self.http, msg, &MESSENGER).await
    }
}

#[derive(Deserialize)]
pub(crate) struct Entry {
    #[serde(default)]
    messaging: Vec<Messaging>,
    /// Instagram comments and mentions arrive here; not conversations.
    #[serde(default)]
    changes: Vec<serde_json::Value>,
    /// Handover-protocol copies for apps not in control of the thread.
    #[serde(default)]
    standby: Vec<serde_json::Value>,
}

#[derive(Deserialize)]
struct Messaging {
    sender: Party,
    /// Milliseconds.
    #[serde(default)]
    timestamp: Option<i64>,
    #[serde(default)]
    message: Option<Message>,
    #[serde(default)]
    postback: Option<Postback>,
    #[serde(default)]
    referral: Option<Referral>,
    #[serde(default)]
    delivery: Option<serde_json::Value>,
    #[serde(default)]
    read: Option<serde_json::Value>,
    #[serde(default)]
    reaction: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct Party {
    id: String,
}

#[derive(Deserialize)]
struct Message {
    mid: String,
    #[serde(default)]
    is_echo: bool,
    #[serde(default)]
    is_deleted: bool,
    #[serde(default)]
    is_unsupported: bool,
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    attachments: Vec<Attachment>,
    #[serde(default)]
    referral: Option<Referral>,
}

#[derive(Deserialize)]
struct Attachment {
    #[serde(default, rename = "type")]
    kind: Option<String>,
}

#[derive(Deserialize)]
struct Postback {
    #[serde(default)]
    mid: Option<String>,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    referral: Option<Referral>,
}

#[derive(Deserialize)]
struct Referral {
    #[serde(default)]
    source: Option<String>,
}

impl Referral {
    /// Only a Click-to-Messenger / Click-to-Direct ad extends the window (to 7 days);
    /// m.me links, shops and QR codes do not.
    fn is_ad(&self) -> bool {
        self.source
            .as_deref()
            .is_some_and(|s| s.eq_ignore_ascii_case("ADS"))
    }
}

fn opener_for(referral: Option<&Referral>) -> Opener {
    if referral.is_some_and(Referral::is_ad) {
        Opener::AdReferral
    } else {
        Opener::Message
    }
}

/// Verifies, then turns every `entry[].messaging[]` item into an event or an ignore note.
pub(crate) fn handle_webhook(
    settings: &MetaSettings,
    req: &WebhookRequest,
    product: &Product,
) -> Result<WebhookOutcome, WebhookError> {
    if let Verified::Handshake(outcome) =
        meta::verify(req, &settings.app_secret, &settings.verify_token)?
    {
        return Ok(outcome);
    }
    let entries: Vec<Entry> = meta::envelope(&req.body, product.object)?;
    let mut events = Vec::new();
    let mut ignored = Vec::new();
    for entry in entries {
        for item in entry.messaging {
            match event(item)? {
                Ok(e) => events.push(e),
                Err(note) => ignored.push(note),
            }
        }
        if !entry.changes.is_empty() {
            ignored.push(format!(
                "{} change(s) (comments, mentions)",
                entry.changes.len()
            ));
        }
        if !entry.standby.is_empty() {
            ignored.push(format!("{} standby item(s)", entry.standby.len()));
        }
    }
    Ok(WebhookOutcome::Events {
        events,
        ignored,
        failures: Vec::new(),
        reply: WebhookReply::ok_json(),
    })
}

/// One `messaging[]` item: `Ok(Ok(event))`, `Ok(Err(why it is ignored))`, or an error
/// when a field we rely on is unusable.
fn event(item: Messaging) -> Result<Result<InboundEvent, String>, WebhookError> {
    let unparseable = |e: String| WebhookError::Unparseable(e);
    let external_id =
        ExternalId::parse(&item.sender.id).map_err(|e| unparseable(format!("sender.id: {e}")))?;
    let occurred_at = item.timestamp.and_then(|t| Timestamp::from_millis(t).ok());
    let stamp = item.timestamp.unwrap_or_default();
    let (event_id, opener, text) = if let Some(m) = item.message {
        if m.is_echo {
            return Ok(Err("echo of a page message".to_owned()));
        }
        if m.is_deleted {
            return Ok(Err("message deleted by the sender".to_owned()));
        }
        // An empty mid is no dedup key: every such message would be "the same" one.
        if m.mid.trim().is_empty() {
            return Ok(Err("message without a mid".to_owned()));
        }
        let text = match m.text.filter(|t| !t.trim().is_empty()) {
            Some(t) => t,
            None if m.is_unsupported => "(unsupported message)".to_owned(),
            None => attachment_marker(&m.attachments),
        };
        (m.mid, opener_for(m.referral.as_ref()), Some(text))
    } else if let Some(p) = item.postback {
        // A button tap counts as user activity for the window, like a message.
        let text = p
            .title
            .filter(|t| !t.trim().is_empty())
            .unwrap_or_else(|| "(button)".to_owned());
        let id = p
            .mid
            .filter(|mid| !mid.trim().is_empty())
            .unwrap_or_else(|| format!("postback:{}:{stamp}", item.sender.id));
        (id, opener_for(p.referral.as_ref()), Some(text))
    } else if let Some(r) = item.referral {
        if !r.is_ad() {
            return Ok(Err(format!(
                "referral from {}",
                r.source.as_deref().unwrap_or("an unknown source")
            )));
        }
        // An ad click without a message yet: it opens the extended window.
        let id = format!("referral:{}:{stamp}", item.sender.id);
        (id, Opener::AdReferral, None)
    } else if item.delivery.is_some() {
        return Ok(Err("delivery receipt".to_owned()));
    } else if item.read.is_some() {
        return Ok(Err("read receipt".to_owned()));
    } else if let Some(r) = &item.reaction {
        // channel-rules.md §2: a reaction restarts the 24 h window like a message does,
        // but there is nothing to show the agent (no message, no conversation opened).
        if r.get("action").and_then(|a| a.as_str()) == Some("unreact") {
            return Ok(Err("reaction removed".to_owned()));
        }
        let on = r.get("mid").and_then(|m| m.as_str()).unwrap_or("-");
        let id = format!("reaction:{}:{on}:{stamp}", item.sender.id);
        (id, Opener::Message, None)
    } else {
        return Ok(Err("messaging item of an unhandled type".to_owned()));
    };
    let content = text
        .map(Content::from_text)
        .transpose()
        .map_err(|e| unparseable(e.to_string()))?;
    Ok(Ok(InboundEvent {
        external_id,
        event_id,
        opener: Some(opener),
        occurred_at,
        profile: ProfileFields::default(),
        content,
        flag: None,
    }))
}

/// "(image)", "(2 attachments)": media reaches the agent as a marker.
fn attachment_marker(attachments: &[Attachment]) -> String {
    match attachments {
        [one] => format!("({})", one.kind.as_deref().unwrap_or("attachment")),
        [] => "(attachment)".to_owned(),
        many => format!("({} attachments)", many.len()),
    }
}

/// `POST {api_base}/v21.0/me/messages`: RESPONSE inside the window, MESSAGE_TAG with the
/// policy's tag outside it.
pub(crate) async fn send(
    settings: &MetaSettings,
    api_base: &Url,
    http: &reqwest::Client,
    msg: &OutboundMessage<'_>,
    product: &Product,
) -> Result<Delivered, SendError> {
    let text = plain_text(msg.content, product.name)?;
    check_length(text, product.max_chars, product.name)?;
    let mut body = serde_json::json!({
        "recipient": { "id": msg.to.as_str() },
        "messaging_type": "RESPONSE",
        "message": { "text": text },
    });
    if let Some(tag) = msg.tag {
        body["messaging_type"] = "MESSAGE_TAG".into();
        body["tag"] = tag.into();
    }
    let url = graph_url(api_base, "me/messages")?;
    let answer = graph_post(
        http,
        url,
        &settings.access_token,
        &body,
        product.name,
        classify,
    )
    .await?;
    let id = answer
        .get("message_id")
        .and_then(|v| v.as_str())
        .ok_or_else(|| {
            SendError::Unavailable(format!("{} answered without a message_id", product.name))
        })?;
    Ok(Delivered {
        provider_message_id: id.to_owned(),
    })
}

/// Messenger and Instagram Send API error codes (channel-rules.md §3).
fn classify(e: &GraphError) -> Refusal {
    let outside = |e: &GraphError| {
        e.error_subcode
            .is_some_and(|s| WINDOW_SUBCODES.contains(&s))
            || e.message
                .as_deref()
                .is_some_and(|m| m.contains("outside of allowed window"))
    };
    match e.code {
        Some(10) if outside(e) => Refusal::OutsideWindow,
        // The person is not available (blocked the page, deleted the account...).
        Some(551) => Refusal::Rejected(Some(ChannelFlag::Unsubscribed)),
        // Rate limits, and Graph's "temporary issue" codes.
        Some(1 | 2 | 4 | 613 | 80006) => Refusal::Unavailable,
        _ => Refusal::Rejected(None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(code: i64, subcode: Option<i64>, message: &str) -> GraphError {
        GraphError {
            code: Some(code),
            error_subcode: subcode,
            message: Some(message.to_owned()),
            error_data: None,
        }
    }

    fn item(v: serde_json::Value) -> Messaging {
        serde_json::from_value(v).unwrap()
    }

    /// Same class as the empty Twilio MessageSid found by fuzzing: an empty `mid` is no
    /// dedup key. A message without one is ignored; a postback falls back to its own id.
    #[test]
    fn empty_mids_are_no_dedup_keys() {
        let m = item(serde_json::json!({
            "sender": {"id": "PSID1"}, "timestamp": 5, "message": {"mid": " ", "text": "hi"}
        }));
        assert_eq!(event(m).unwrap(), Err("message without a mid".to_owned()));
        let p = item(serde_json::json!({
            "sender": {"id": "PSID1"}, "timestamp": 5, "postback": {"mid": "", "title": "Go"}
        }));
        assert_eq!(event(p).unwrap().unwrap().event_id, "postback:PSID1:5");
    }

    #[test]
    fn graph_codes_are_classified() {
        assert!(matches!(
            classify(&err(10, Some(2_018_278), "x")),
            Refusal::OutsideWindow
        ));
        assert!(matches!(
            classify(&err(10, Some(2_534_022), "x")),
            Refusal::OutsideWindow
        ));
        assert!(matches!(
            classify(&err(
                10,
                None,
                "(#10) This message is sent outside of allowed window."
            )),
            Refusal::OutsideWindow
        ));
        assert!(matches!(
            classify(&err(10, None, "(#10) Permission denied")),
            Refusal::Rejected(None)
        ));
        assert!(matches!(
            classify(&err(551, None, "This person isn't available right now.")),
            Refusal::Rejected(Some(ChannelFlag::Unsubscribed))
        ));
        for code in [4, 613, 80006] {
            assert!(matches!(
                classify(&err(code, None, "x")),
                Refusal::Unavailable
            ));
        }
        assert!(matches!(
            classify(&err(190, None, "token expired")),
            Refusal::Rejected(None)
        ));
    }
}
