//! Messages: what was said, by whom, through which channel, and whether it got there.

use serde::{Deserialize, Serialize};

use crate::ids::{AgentId, ChannelId, ContactId, ConversationId, IdempotencyKey, MessageId};
use crate::string_newtype::string_newtype;
use crate::text::{TextError, TextRule};
use crate::time::Timestamp;

/// Which way a message travelled, seen from Replyline.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    Inbound,
    Outbound,
}

/// Who wrote a message. Serialised like [`crate::Actor`]: `{"kind":"agent","id":"alice"}`,
/// `{"kind":"contact"}` or `{"kind":"automation"}`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", content = "id", rename_all = "lowercase")]
pub enum Sender {
    Contact,
    Agent(AgentId),
    Automation,
}

impl Sender {
    /// Whether a human agent wrote it: some channel tags (HUMAN_AGENT) are only for them.
    pub fn is_human(&self) -> bool {
        matches!(self, Sender::Agent(_))
    }
}

const TEMPLATE_NAME: TextRule = TextRule {
    what: "template name",
    min: 1,
    max: 512,
    allowed: |c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_',
    rule: "a template name may only use lowercase letters a-z, digits and '_'",
};

const TEMPLATE_LANGUAGE: TextRule = TextRule {
    what: "template language",
    min: 2,
    max: 15,
    allowed: |c| c.is_ascii_alphabetic() || c == '_' || c == '-',
    rule: "a template language is a code such as en_US or es, of letters, '_' and '-'",
};

/// A pre-approved message template (WhatsApp's rules for names), the way to reach a
/// contact outside a channel's messaging window.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "TemplateInput")]
pub struct Template {
    name: String,
    language: String,
    parameters: Vec<String>,
}

impl Template {
    pub fn new(
        name: impl Into<String>,
        language: impl Into<String>,
        parameters: Vec<String>,
    ) -> Result<Self, TextError> {
        let (name, language) = (name.into(), language.into());
        TEMPLATE_NAME.check(&name)?;
        TEMPLATE_LANGUAGE.check(&language)?;
        Ok(Template {
            name,
            language,
            parameters,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// As the provider spells it ("en_US", "es").
    pub fn language(&self) -> &str {
        &self.language
    }

    /// Values for the template's placeholders, in order.
    pub fn parameters(&self) -> &[String] {
        &self.parameters
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TemplateInput {
    name: String,
    language: String,
    #[serde(default)]
    parameters: Vec<String>,
}

impl TryFrom<TemplateInput> for Template {
    type Error = TextError;
    fn try_from(t: TemplateInput) -> Result<Self, Self::Error> {
        Template::new(t.name, t.language, t.parameters)
    }
}

const MESSAGE_TAG: TextRule = TextRule {
    what: "message tag",
    min: 1,
    max: 64,
    allowed: |c| c.is_ascii_uppercase() || c == '_',
    rule: "a message tag may only use uppercase letters A-Z and '_', as in HUMAN_AGENT",
};

string_newtype! {
    /// A provider's message tag (Messenger's HUMAN_AGENT, ACCOUNT_UPDATE...): permission
    /// to send outside the messaging window for a stated purpose.
    pub struct MessageTag;
    error = TextError;
    parse = |s: &str| MESSAGE_TAG.check(s).map(|()| s.to_owned());
}

/// Channels enforce their own, smaller limits; this one only bounds what we store.
const MAX_TEXT_CHARS: usize = 65_536;

/// What a message says: text, a template, or both, and the tag requested for sending it.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "ContentInput")]
pub struct Content {
    #[serde(skip_serializing_if = "Option::is_none")]
    text: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    template: Option<Template>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tag: Option<MessageTag>,
}

/// Why message content cannot be sent or stored.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ContentError {
    #[error("a message needs text or a template")]
    Empty,
    #[error("the message text is blank")]
    BlankText,
    #[error("the message text is {len} characters long; at most 65536 are allowed")]
    TextTooLong { len: usize },
}

impl Content {
    /// Text is kept as written (no trimming: leading spaces can be formatting), but must
    /// not be blank.
    pub fn new(
        text: Option<String>,
        template: Option<Template>,
        tag: Option<MessageTag>,
    ) -> Result<Self, ContentError> {
        if let Some(text) = &text {
            if text.trim().is_empty() {
                return Err(ContentError::BlankText);
            }
            let len = text.chars().count();
            if len > MAX_TEXT_CHARS {
                return Err(ContentError::TextTooLong { len });
            }
        } else if template.is_none() {
            return Err(ContentError::Empty);
        }
        Ok(Content {
            text,
            template,
            tag,
        })
    }

    /// Plain text, untagged: the common case.
    pub fn from_text(text: impl Into<String>) -> Result<Self, ContentError> {
        Self::new(Some(text.into()), None, None)
    }

    pub fn text(&self) -> Option<&str> {
        self.text.as_deref()
    }

    pub fn template(&self) -> Option<&Template> {
        self.template.as_ref()
    }

    /// The tag the sender asked for; the policy decides what is actually applied.
    pub fn tag(&self) -> Option<&MessageTag> {
        self.tag.as_ref()
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ContentInput {
    #[serde(default)]
    text: Option<String>,
    #[serde(default)]
    template: Option<Template>,
    #[serde(default)]
    tag: Option<MessageTag>,
}

impl TryFrom<ContentInput> for Content {
    type Error = ContentError;
    fn try_from(c: ContentInput) -> Result<Self, Self::Error> {
        Content::new(c.text, c.template, c.tag)
    }
}

/// Where an outbound message is in delivery. Serialised with a `state` tag:
/// `{"state":"pending"}`, `{"state":"sent","provider_message_id":"wamid.X"}`,
/// `{"state":"failed","code":"131047","text":"Re-engagement message"}`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "lowercase")]
pub enum MessageStatus {
    Pending,
    Sent {
        provider_message_id: String,
    },
    /// The provider's error code and message, kept verbatim for the agent and support.
    Failed {
        code: String,
        text: String,
    },
}

/// One message in a contact's thread.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Message {
    pub id: MessageId,
    pub contact_id: ContactId,
    /// `None` when the message is not part of a conversation.
    pub conversation_id: Option<ConversationId>,
    pub channel: ChannelId,
    pub direction: Direction,
    pub sender: Sender,
    pub content: Content,
    pub status: MessageStatus,
    /// Inbound: the provider's id for the message, so a redelivered webhook is stored once.
    pub provider_message_id: Option<String>,
    /// Outbound: the client's key, so a retried send is sent once.
    pub idempotency_key: Option<IdempotencyKey>,
    pub created_at: Timestamp,
    /// The tag the policy applied to an outbound message, which may differ from the one
    /// requested in `content`.
    pub applied_tag: Option<MessageTag>,
    /// Whether the provider bills this message (sent after the window as a paid message).
    pub paid: bool,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn template() -> Template {
        Template::new(
            "order_update_2",
            "en_US",
            vec!["Ana".into(), "#1234".into()],
        )
        .unwrap()
    }

    #[test]
    fn template_names_and_languages_follow_provider_rules() {
        assert_eq!(template().name(), "order_update_2");
        assert!(Template::new("x", "es", vec![]).is_ok());
        assert!(Template::new("x", "zh_Hant-TW", vec![]).is_ok());
        for (name, lang) in [
            ("", "en"),
            ("Order", "en"),
            ("order-update", "en"),
            ("order", "e"),
            ("order", "en US"),
            ("order", "en_US_POSIX_EXTRA"),
        ] {
            assert!(
                Template::new(name, lang, vec![]).is_err(),
                "{name:?} {lang:?}"
            );
        }
        assert!(Template::new("a".repeat(512), "en", vec![]).is_ok());
        assert!(Template::new("a".repeat(513), "en", vec![]).is_err());
        assert_eq!(
            Template::new("Order", "en", vec![]).unwrap_err().to_string(),
            "template name 'Order' contains 'O'; a template name may only use lowercase letters a-z, digits and '_'"
        );
    }

    #[test]
    fn tags_are_uppercase_tokens() {
        assert!(MessageTag::parse("HUMAN_AGENT").is_ok());
        for bad in ["", "human_agent", "HUMAN-AGENT", "TAG1", &"A".repeat(65)] {
            assert!(MessageTag::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn content_needs_text_or_template() {
        assert_eq!(Content::new(None, None, None), Err(ContentError::Empty));
        assert_eq!(Content::from_text(" \n "), Err(ContentError::BlankText));
        assert_eq!(
            Content::from_text("  indented").unwrap().text(),
            Some("  indented")
        );
        assert!(Content::from_text("é".repeat(65_536)).is_ok());
        assert_eq!(
            Content::from_text("x".repeat(65_537)),
            Err(ContentError::TextTooLong { len: 65_537 })
        );
        let t = Content::new(
            None,
            Some(template()),
            MessageTag::parse("ACCOUNT_UPDATE").ok(),
        )
        .unwrap();
        assert_eq!(t.template(), Some(&template()));
        assert_eq!(t.tag().map(MessageTag::as_str), Some("ACCOUNT_UPDATE"));
        assert!(Content::new(Some("hi".into()), Some(template()), None).is_ok());
    }

    #[test]
    fn content_deserialises_through_validation() {
        let c: Content = serde_json::from_str(
            r#"{"template":{"name":"welcome","language":"es"},"tag":"HUMAN_AGENT"}"#,
        )
        .unwrap();
        assert_eq!(c.template().map(Template::parameters), Some(&[][..]));
        let json = serde_json::to_string(&c).unwrap();
        assert_eq!(serde_json::from_str::<Content>(&json).unwrap(), c);
        for bad in [
            r#"{}"#,
            r#"{"text":"  "}"#,
            r#"{"text":"hi","tag":"human"}"#,
            r#"{"template":{"name":"Welcome","language":"es"}}"#,
            r#"{"text":"hi","colour":"red"}"#,
        ] {
            assert!(serde_json::from_str::<Content>(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn senders_and_statuses_serialise_tagged() {
        assert_eq!(
            serde_json::to_string(&Sender::Agent(AgentId::parse("alice").unwrap())).unwrap(),
            r#"{"kind":"agent","id":"alice"}"#
        );
        assert_eq!(
            serde_json::to_string(&Sender::Automation).unwrap(),
            r#"{"kind":"automation"}"#
        );
        assert!(Sender::Agent(AgentId::parse("a").unwrap()).is_human());
        assert!(!Sender::Automation.is_human() && !Sender::Contact.is_human());

        for (status, json) in [
            (MessageStatus::Pending, r#"{"state":"pending"}"#),
            (
                MessageStatus::Sent {
                    provider_message_id: "wamid.X".into(),
                },
                r#"{"state":"sent","provider_message_id":"wamid.X"}"#,
            ),
            (
                MessageStatus::Failed {
                    code: "131047".into(),
                    text: "Re-engagement message".into(),
                },
                r#"{"state":"failed","code":"131047","text":"Re-engagement message"}"#,
            ),
        ] {
            assert_eq!(serde_json::to_string(&status).unwrap(), json);
            assert_eq!(serde_json::from_str::<MessageStatus>(json).unwrap(), status);
        }
    }

    #[test]
    fn message_round_trips_through_serde() {
        let now = Timestamp::from_millis(1_764_064_800_000).unwrap();
        let message = Message {
            id: MessageId::generate(now),
            contact_id: ContactId::generate(now),
            conversation_id: Some(ConversationId::generate(now)),
            channel: ChannelId::parse("fb").unwrap(),
            direction: Direction::Outbound,
            sender: Sender::Agent(AgentId::parse("alice").unwrap()),
            content: Content::from_text("Your refund is on its way").unwrap(),
            status: MessageStatus::Pending,
            provider_message_id: None,
            idempotency_key: Some(IdempotencyKey::parse("req-1").unwrap()),
            created_at: now,
            applied_tag: Some(MessageTag::parse("HUMAN_AGENT").unwrap()),
            paid: false,
        };
        let json = serde_json::to_string(&message).unwrap();
        assert!(json.contains(r#""direction":"outbound""#));
        assert_eq!(serde_json::from_str::<Message>(&json).unwrap(), message);
    }
}
