//! Items <-> domain values.
//!
//! Scalars are top-level attributes (strings, numbers, booleans) so items read well in the
//! console and conditions can name them; small nested values (the contact's current
//! conversation, its last message, closing notes) are maps; message content and event
//! actions, which have their own serde shape in the domain, are JSON strings. Absent
//! optional values are absent attributes, never empty strings.

use std::collections::HashMap;
use std::fmt::Display;
use std::str::FromStr;

use aws_sdk_dynamodb::types::AttributeValue;
use replyline_domain::{
    Actor, AgentId, ChannelId, ChannelIdentity, ChannelKind, ClosingNote, Contact, ContactId,
    Content, Conversation, ConversationId, ConversationStatus, Direction, Email, ExternalId,
    IdempotencyKey, Message, MessageId, MessageStatus, MessageTag, PersonName, Phone, Sender,
    Timestamp,
};
use replyline_policy::{ContactChannelState, MonthlyCount, Opener, OpenerEvent};

use super::keys::{self, activity_sk, Keys, EXPIRES_AT, GSI1PK, GSI1SK, GSI2PK, GSI2SK, PK, SK};
use crate::error::{StoreError, StoreResult};
use crate::model::{ContactChannel, ContactEvent, EventAction, MessageSummary};

pub type Item = HashMap<String, AttributeValue>;

pub fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

pub fn n(v: impl Display) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

pub fn b(v: bool) -> AttributeValue {
    AttributeValue::Bool(v)
}

pub fn ts(t: Timestamp) -> AttributeValue {
    n(t.as_millis())
}

/// A key of the base table.
pub fn key(pk: impl Into<String>, sk: impl Into<String>) -> Item {
    HashMap::from([(PK.to_owned(), s(pk)), (SK.to_owned(), s(sk))])
}

/// Builds an item attribute by attribute, skipping absent optional values.
#[derive(Debug, Default)]
pub struct ItemBuilder(Item);

impl ItemBuilder {
    pub fn new(pk: impl Into<String>, sk: impl Into<String>) -> Self {
        ItemBuilder(key(pk, sk))
    }

    pub fn map() -> Self {
        ItemBuilder(HashMap::new())
    }

    pub fn set(mut self, name: &str, value: AttributeValue) -> Self {
        self.0.insert(name.to_owned(), value);
        self
    }

    pub fn opt(self, name: &str, value: Option<AttributeValue>) -> Self {
        match value {
            Some(v) => self.set(name, v),
            None => self,
        }
    }

    pub fn build(self) -> Item {
        self.0
    }
}

/// Reads typed attributes of one item; every failure is [`StoreError::Corrupt`] naming
/// the item kind and attribute.
#[derive(Clone, Copy, Debug)]
pub struct Reader<'a> {
    item: &'a Item,
    what: &'static str,
}

impl<'a> Reader<'a> {
    pub fn new(item: &'a Item, what: &'static str) -> Self {
        Reader { item, what }
    }

    fn corrupt(&self, name: &str, why: impl Display) -> StoreError {
        StoreError::Corrupt(format!("{} attribute {name}: {why}", self.what))
    }

    pub fn has(&self, name: &str) -> bool {
        self.item.contains_key(name)
    }

    pub fn opt_str(&self, name: &str) -> StoreResult<Option<&'a str>> {
        match self.item.get(name) {
            None | Some(AttributeValue::Null(_)) => Ok(None),
            Some(AttributeValue::S(v)) => Ok(Some(v.as_str())),
            Some(_) => Err(self.corrupt(name, "not a string")),
        }
    }

    pub fn str(&self, name: &str) -> StoreResult<&'a str> {
        self.opt_str(name)?
            .ok_or_else(|| self.corrupt(name, "missing"))
    }

    pub fn opt_i64(&self, name: &str) -> StoreResult<Option<i64>> {
        match self.item.get(name) {
            None | Some(AttributeValue::Null(_)) => Ok(None),
            Some(AttributeValue::N(v)) => v
                .parse::<i64>()
                .map(Some)
                .map_err(|_| self.corrupt(name, "not an integer")),
            Some(_) => Err(self.corrupt(name, "not a number")),
        }
    }

    pub fn i64(&self, name: &str) -> StoreResult<i64> {
        self.opt_i64(name)?
            .ok_or_else(|| self.corrupt(name, "missing"))
    }

    /// A non-negative counter; absent reads as 0.
    pub fn count(&self, name: &str) -> StoreResult<u64> {
        let v = self.opt_i64(name)?.unwrap_or(0);
        u64::try_from(v).map_err(|_| self.corrupt(name, "negative"))
    }

    /// Absent reads as false.
    pub fn bool(&self, name: &str) -> StoreResult<bool> {
        match self.item.get(name) {
            None | Some(AttributeValue::Null(_)) => Ok(false),
            Some(AttributeValue::Bool(v)) => Ok(*v),
            Some(_) => Err(self.corrupt(name, "not a boolean")),
        }
    }

    pub fn opt_ts(&self, name: &str) -> StoreResult<Option<Timestamp>> {
        self.opt_i64(name)?
            .map(|v| Timestamp::from_millis(v).map_err(|e| self.corrupt(name, e)))
            .transpose()
    }

    pub fn ts(&self, name: &str) -> StoreResult<Timestamp> {
        self.opt_ts(name)?
            .ok_or_else(|| self.corrupt(name, "missing"))
    }

    pub fn opt_parse<T>(&self, name: &str) -> StoreResult<Option<T>>
    where
        T: FromStr,
        T::Err: Display,
    {
        self.opt_str(name)?
            .map(|v| v.parse::<T>().map_err(|e| self.corrupt(name, e)))
            .transpose()
    }

    pub fn parse<T>(&self, name: &str) -> StoreResult<T>
    where
        T: FromStr,
        T::Err: Display,
    {
        self.opt_parse(name)?
            .ok_or_else(|| self.corrupt(name, "missing"))
    }

    pub fn opt_json<T: serde::de::DeserializeOwned>(&self, name: &str) -> StoreResult<Option<T>> {
        self.opt_str(name)?
            .map(|v| serde_json::from_str(v).map_err(|e| self.corrupt(name, e)))
            .transpose()
    }

    pub fn json<T: serde::de::DeserializeOwned>(&self, name: &str) -> StoreResult<T> {
        self.opt_json(name)?
            .ok_or_else(|| self.corrupt(name, "missing"))
    }

    pub fn opt_map(&self, name: &str) -> StoreResult<Option<Reader<'a>>> {
        match self.item.get(name) {
            None | Some(AttributeValue::Null(_)) => Ok(None),
            Some(AttributeValue::M(m)) => Ok(Some(Reader::new(m, self.what))),
            Some(_) => Err(self.corrupt(name, "not a map")),
        }
    }

    pub fn str_list(&self, name: &str) -> StoreResult<Vec<&'a str>> {
        match self.item.get(name) {
            None | Some(AttributeValue::Null(_)) => Ok(Vec::new()),
            Some(AttributeValue::L(list)) => list
                .iter()
                .map(|v| match v {
                    AttributeValue::S(s) => Ok(s.as_str()),
                    _ => Err(self.corrupt(name, "not a list of strings")),
                })
                .collect(),
            Some(_) => Err(self.corrupt(name, "not a list")),
        }
    }
}

fn json(value: &impl serde::Serialize, what: &str) -> StoreResult<AttributeValue> {
    serde_json::to_string(value)
        .map(s)
        .map_err(|e| StoreError::Corrupt(format!("cannot encode {what}: {e}")))
}

/// Whether a TTL'd item has expired at `now_secs` (`expires_at <= now`). Items without
/// `expires_at` never expire.
pub fn expired(item: &Item, now_secs: i64) -> bool {
    matches!(item.get(EXPIRES_AT), Some(AttributeValue::N(v)) if v.parse::<i64>().is_ok_and(|e| e <= now_secs))
}

// ----------------------------------------------------------------------------------------
// Actors and senders: "contact", "system", "automation", "agent:{id}".
// ----------------------------------------------------------------------------------------

pub fn actor_str(actor: &Actor) -> String {
    match actor {
        Actor::Agent(a) => format!("agent:{a}"),
        Actor::Contact => "contact".to_owned(),
        Actor::System => "system".to_owned(),
    }
}

fn parse_actor(v: &str) -> Result<Actor, String> {
    match v {
        "contact" => Ok(Actor::Contact),
        "system" => Ok(Actor::System),
        _ => match v.strip_prefix("agent:") {
            Some(id) => AgentId::parse(id)
                .map(Actor::Agent)
                .map_err(|e| e.to_string()),
            None => Err(format!("unknown actor '{v}'")),
        },
    }
}

pub fn sender_str(sender: &Sender) -> String {
    match sender {
        Sender::Agent(a) => format!("agent:{a}"),
        Sender::Contact => "contact".to_owned(),
        Sender::Automation => "automation".to_owned(),
    }
}

fn parse_sender(v: &str) -> Result<Sender, String> {
    match v {
        "contact" => Ok(Sender::Contact),
        "automation" => Ok(Sender::Automation),
        _ => match v.strip_prefix("agent:") {
            Some(id) => AgentId::parse(id)
                .map(Sender::Agent)
                .map_err(|e| e.to_string()),
            None => Err(format!("unknown sender '{v}'")),
        },
    }
}

struct Wrapped<T>(T);

macro_rules! from_str_wrapper {
    ($t:ty, $f:ident) => {
        impl FromStr for Wrapped<$t> {
            type Err = String;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                $f(s).map(Wrapped)
            }
        }
    };
}
from_str_wrapper!(Actor, parse_actor);
from_str_wrapper!(Sender, parse_sender);
from_str_wrapper!(ConversationStatus, parse_status);
from_str_wrapper!(Direction, parse_direction);
from_str_wrapper!(Opener, parse_opener);

fn parse_status(v: &str) -> Result<ConversationStatus, String> {
    match v {
        "open" => Ok(ConversationStatus::Open),
        "snoozed" => Ok(ConversationStatus::Snoozed),
        "closed" => Ok(ConversationStatus::Closed),
        _ => Err(format!("unknown status '{v}'")),
    }
}

fn parse_direction(v: &str) -> Result<Direction, String> {
    match v {
        "inbound" => Ok(Direction::Inbound),
        "outbound" => Ok(Direction::Outbound),
        _ => Err(format!("unknown direction '{v}'")),
    }
}

fn direction_str(d: Direction) -> &'static str {
    match d {
        Direction::Inbound => "inbound",
        Direction::Outbound => "outbound",
    }
}

fn parse_opener(v: &str) -> Result<Opener, String> {
    Opener::ALL
        .into_iter()
        .find(|o| o.as_str() == v)
        .ok_or_else(|| format!("unknown opener '{v}'"))
}

// ----------------------------------------------------------------------------------------
// Conversations.
// ----------------------------------------------------------------------------------------

fn closing_note_av(note: &ClosingNote) -> AttributeValue {
    AttributeValue::M(
        ItemBuilder::map()
            .opt("category", note.category.clone().map(s))
            .opt("summary", note.summary.clone().map(s))
            .build(),
    )
}

/// The attributes of a conversation (its own item and the copy on the contact).
fn conversation_attrs(b: ItemBuilder, c: &Conversation) -> ItemBuilder {
    b.set("id", s(c.id.as_str()))
        .set("contact_id", s(c.contact_id.as_str()))
        .set("status", s(c.status.as_str()))
        .set("opened_at", ts(c.opened_at))
        .set("opened_by", s(actor_str(&c.opened_by)))
        .opt("closed_at", c.closed_at.map(ts))
        .opt("closed_by", c.closed_by.as_ref().map(|a| s(actor_str(a))))
        .opt("closing_note", c.closing_note.as_ref().map(closing_note_av))
        .opt("snoozed_until", c.snoozed_until.map(ts))
}

fn read_conversation(r: Reader<'_>) -> StoreResult<Conversation> {
    let closing_note = match r.opt_map("closing_note")? {
        Some(m) => Some(ClosingNote {
            category: m.opt_str("category")?.map(str::to_owned),
            summary: m.opt_str("summary")?.map(str::to_owned),
        }),
        None => None,
    };
    Ok(Conversation {
        id: r.parse("id")?,
        contact_id: r.parse("contact_id")?,
        status: r.parse::<Wrapped<ConversationStatus>>("status")?.0,
        opened_at: r.ts("opened_at")?,
        opened_by: r.parse::<Wrapped<Actor>>("opened_by")?.0,
        closed_at: r.opt_ts("closed_at")?,
        closed_by: r.opt_parse::<Wrapped<Actor>>("closed_by")?.map(|w| w.0),
        closing_note,
        snoozed_until: r.opt_ts("snoozed_until")?,
    })
}

pub fn conversation_item(keys: &Keys, c: &Conversation) -> Item {
    let b = ItemBuilder::new(keys.conversation(&c.id), keys::SK_CONVERSATION)
        .set("type", s("conversation"));
    conversation_attrs(b, c).build()
}

pub fn conversation_from_item(item: &Item) -> StoreResult<Conversation> {
    read_conversation(Reader::new(item, "conversation"))
}

// ----------------------------------------------------------------------------------------
// Contacts (the inbox row).
// ----------------------------------------------------------------------------------------

/// A contact item: the contact, its current conversation (a copy of the conversation item,
/// so reads need no second request), what the inbox row shows, and the version every
/// change is conditioned on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContactRecord {
    pub contact: Contact,
    /// The open or snoozed conversation, else the latest closed one.
    pub conversation: Option<Conversation>,
    pub last_activity_at: Timestamp,
    pub last_message: Option<MessageSummary>,
    /// The channels the contact has an identity on (sorted).
    pub channels: Vec<ChannelId>,
    /// Events recorded so far: the next event's sequence number.
    pub event_seq: u64,
    /// 0 before the first write.
    pub version: u64,
}

impl ContactRecord {
    /// The stored inbox status: the conversation's, or closed without one.
    pub fn bucket(&self) -> ConversationStatus {
        self.conversation
            .as_ref()
            .map_or(ConversationStatus::Closed, |c| c.status)
    }

    pub fn snoozed_until(&self) -> Option<Timestamp> {
        self.conversation
            .as_ref()
            .filter(|c| c.status == ConversationStatus::Snoozed)
            .and_then(|c| c.snoozed_until)
    }

    /// The conversation that is not closed, if any.
    pub fn open_conversation(&self) -> Option<&Conversation> {
        self.conversation
            .as_ref()
            .filter(|c| c.status != ConversationStatus::Closed)
    }

    pub fn effective_status(&self, now: Timestamp) -> ConversationStatus {
        crate::common::effective_status(self.bucket(), self.snoozed_until(), now)
    }

    /// Where the contact sits in the inbox indexes and counters.
    pub fn slot(&self) -> (Option<AgentId>, ConversationStatus) {
        (self.contact.assignee.clone(), self.bucket())
    }

    pub fn activity_sk(&self) -> String {
        activity_sk(self.last_activity_at.as_millis(), self.contact.id.as_str())
    }

    pub fn to_item(&self, keys: &Keys) -> Item {
        let c = &self.contact;
        let bucket = self.bucket();
        let assignee = c.assignee.as_ref();
        let sk = self.activity_sk();
        let conversation = self
            .conversation
            .as_ref()
            .map(|conv| AttributeValue::M(conversation_attrs(ItemBuilder::map(), conv).build()));
        let last_message = self.last_message.as_ref().map(|m| {
            AttributeValue::M(
                ItemBuilder::map()
                    .set("id", s(m.id.as_str()))
                    .set("channel", s(m.channel.as_str()))
                    .set("direction", s(direction_str(m.direction)))
                    .opt("preview", m.preview.clone().map(s))
                    .set("at", ts(m.at))
                    .build(),
            )
        });
        ItemBuilder::new(keys.contact(&c.id), keys::SK_PROFILE)
            .set("type", s("contact"))
            .set("id", s(c.id.as_str()))
            .opt("first_name", c.first_name.as_ref().map(|v| s(v.as_str())))
            .opt("last_name", c.last_name.as_ref().map(|v| s(v.as_str())))
            .opt("email", c.email.as_ref().map(|v| s(v.as_str())))
            .opt("phone", c.phone.as_ref().map(|v| s(v.to_string())))
            .set("blocked", b(c.blocked))
            .opt("assignee", assignee.map(|a| s(a.as_str())))
            .set("created_at", ts(c.created_at))
            .set("updated_at", ts(c.updated_at))
            .opt("conversation", conversation)
            .opt(
                "open_conversation_id",
                self.open_conversation().map(|c| s(c.id.as_str())),
            )
            .opt(
                "current_conversation_id",
                self.conversation.as_ref().map(|c| s(c.id.as_str())),
            )
            .set("inbox_status", s(bucket.as_str()))
            .opt("snoozed_until", self.snoozed_until().map(ts))
            .set("last_activity_at", ts(self.last_activity_at))
            .opt("last_message", last_message)
            .set(
                "channels",
                AttributeValue::L(self.channels.iter().map(|ch| s(ch.as_str())).collect()),
            )
            .set("event_seq", n(self.event_seq))
            .set("version", n(self.version))
            .set(GSI1PK, s(keys.gsi1pk(assignee, bucket)))
            .set(GSI1SK, s(sk.clone()))
            .set(GSI2PK, s(keys.gsi2pk(bucket)))
            .set(GSI2SK, s(sk))
            .build()
    }

    pub fn from_item(item: &Item) -> StoreResult<Self> {
        let r = Reader::new(item, "contact");
        let contact = Contact {
            id: r.parse("id")?,
            first_name: r.opt_parse::<PersonName>("first_name")?,
            last_name: r.opt_parse::<PersonName>("last_name")?,
            email: r.opt_parse::<Email>("email")?,
            phone: r.opt_parse::<Phone>("phone")?,
            blocked: r.bool("blocked")?,
            assignee: r.opt_parse::<AgentId>("assignee")?,
            created_at: r.ts("created_at")?,
            updated_at: r.ts("updated_at")?,
        };
        let conversation = r
            .opt_map("conversation")?
            .map(read_conversation)
            .transpose()?;
        let last_message = match r.opt_map("last_message")? {
            Some(m) => Some(MessageSummary {
                id: m.parse("id")?,
                channel: m.parse("channel")?,
                direction: m.parse::<Wrapped<Direction>>("direction")?.0,
                preview: m.opt_str("preview")?.map(str::to_owned),
                at: m.ts("at")?,
            }),
            None => None,
        };
        let channels = r
            .str_list("channels")?
            .into_iter()
            .map(|c| {
                ChannelId::parse(c)
                    .map_err(|e| StoreError::Corrupt(format!("contact attribute channels: {e}")))
            })
            .collect::<StoreResult<Vec<_>>>()?;
        Ok(ContactRecord {
            contact,
            conversation,
            last_activity_at: r.ts("last_activity_at")?,
            last_message,
            channels,
            event_seq: r.count("event_seq")?,
            version: r.count("version")?,
        })
    }
}

// ----------------------------------------------------------------------------------------
// Channel identities, contact-channels and window state.
// ----------------------------------------------------------------------------------------

pub fn identity_item(keys: &Keys, identity: &ChannelIdentity) -> Item {
    ItemBuilder::new(
        keys.identity(&identity.channel, &identity.external_id),
        keys::SK_IDENTITY,
    )
    .set("type", s("identity"))
    .set("contact_id", s(identity.contact_id.as_str()))
    .set("channel", s(identity.channel.as_str()))
    .set("kind", s(identity.kind.as_str()))
    .set("external_id", s(identity.external_id.as_str()))
    .build()
}

pub fn identity_contact(item: &Item) -> StoreResult<ContactId> {
    Reader::new(item, "identity").parse("contact_id")
}

/// A contact-channel: the identity and the durable hard stops.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChannelRecord {
    pub identity: ChannelIdentity,
    pub opted_out: bool,
    pub unsubscribed: bool,
}

pub fn channel_item(keys: &Keys, identity: &ChannelIdentity, created_at: Timestamp) -> Item {
    ItemBuilder::new(
        keys.contact(&identity.contact_id),
        Keys::channel_sk(&identity.channel),
    )
    .set("type", s("channel"))
    .set("channel", s(identity.channel.as_str()))
    .set("kind", s(identity.kind.as_str()))
    .set("external_id", s(identity.external_id.as_str()))
    .set("opted_out", b(false))
    .set("unsubscribed", b(false))
    .set("created_at", ts(created_at))
    .build()
}

pub fn channel_from_item(contact: &ContactId, item: &Item) -> StoreResult<ChannelRecord> {
    let r = Reader::new(item, "contact-channel");
    Ok(ChannelRecord {
        identity: ChannelIdentity {
            channel: r.parse("channel")?,
            kind: r.parse::<ChannelKind>("kind")?,
            external_id: r.parse::<ExternalId>("external_id")?,
            contact_id: contact.clone(),
        },
        opted_out: r.bool("opted_out")?,
        unsubscribed: r.bool("unsubscribed")?,
    })
}

/// Window item attributes: the provider's refusals (epoch milliseconds).
pub const PROVIDER_CLOSED_AT: &str = "provider_closed_at";
pub const PROVIDER_EXHAUSTED_AT: &str = "provider_exhausted_at";

/// A window item as stored, expired or not.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WindowRecord {
    pub last_inbound_at: Option<Timestamp>,
    pub last_opener: Option<OpenerEvent>,
    pub sent_since_inbound: u32,
    /// The provider refused a send as outside the window at this instant.
    pub provider_closed_at: Option<Timestamp>,
    /// The provider refused a send as over the window's quota at this instant.
    pub provider_exhausted_at: Option<Timestamp>,
    /// TTL, epoch seconds.
    pub expires_at: Option<i64>,
}

impl WindowRecord {
    pub fn from_item(item: &Item) -> StoreResult<Self> {
        let r = Reader::new(item, "window");
        let opener = r.opt_parse::<Wrapped<Opener>>("last_opener")?.map(|w| w.0);
        let opener_at = r.opt_ts("last_opener_at")?;
        let sent = r.count("sent_since_inbound")?;
        Ok(WindowRecord {
            last_inbound_at: r.opt_ts("last_inbound_at")?,
            last_opener: opener
                .zip(opener_at)
                .map(|(opener, at)| OpenerEvent { opener, at }),
            sent_since_inbound: u32::try_from(sent).unwrap_or(u32::MAX),
            provider_closed_at: r.opt_ts(PROVIDER_CLOSED_AT)?,
            provider_exhausted_at: r.opt_ts(PROVIDER_EXHAUSTED_AT)?,
            expires_at: r.opt_i64(EXPIRES_AT)?,
        })
    }

    /// Expired state reads as absent (`expires_at <= now`).
    pub fn is_expired(&self, now: Timestamp) -> bool {
        self.expires_at.is_some_and(|e| e <= now.as_secs())
    }
}

/// The paid counter of a channel for one month: `count` (absent item: 0).
pub fn paid_count(item: &Item) -> StoreResult<u32> {
    let c = Reader::new(item, "paid counter").count("count")?;
    Ok(u32::try_from(c).unwrap_or(u32::MAX))
}

/// A contact-channel with its state as read at `now`: expired window state reads as the
/// default; flags come from the contact-channel and the contact.
pub fn contact_channel(
    contact: &Contact,
    channel: ChannelRecord,
    window: Option<&WindowRecord>,
    paid: Option<MonthlyCount>,
    now: Timestamp,
) -> ContactChannel {
    let live = window.filter(|w| !w.is_expired(now));
    ContactChannel {
        identity: channel.identity,
        state: ContactChannelState {
            last_inbound_at: live.and_then(|w| w.last_inbound_at),
            last_opener: live.and_then(|w| w.last_opener),
            sent_since_inbound: live.map_or(0, |w| w.sent_since_inbound),
            paid_sent: paid,
            provider_closed_at: live.and_then(|w| w.provider_closed_at),
            provider_exhausted_at: live.and_then(|w| w.provider_exhausted_at),
            blocked: contact.blocked,
            opted_out: channel.opted_out,
            unsubscribed: channel.unsubscribed,
        },
    }
}

// ----------------------------------------------------------------------------------------
// Messages.
// ----------------------------------------------------------------------------------------

pub fn message_item(keys: &Keys, m: &Message) -> StoreResult<Item> {
    let (status, status_id, code, text) = match &m.status {
        MessageStatus::Pending => ("pending", None, None, None),
        MessageStatus::Sent {
            provider_message_id,
        } => ("sent", Some(provider_message_id.clone()), None, None),
        MessageStatus::Failed { code, text } => {
            ("failed", None, Some(code.clone()), Some(text.clone()))
        }
    };
    Ok(ItemBuilder::new(
        keys.messages(&m.contact_id),
        Keys::message_sk(m.created_at, &m.id),
    )
    .set("type", s("message"))
    .set("id", s(m.id.as_str()))
    .set("contact_id", s(m.contact_id.as_str()))
    .opt(
        "conversation_id",
        m.conversation_id.as_ref().map(|c| s(c.as_str())),
    )
    .set("channel", s(m.channel.as_str()))
    .set("direction", s(direction_str(m.direction)))
    .set("sender", s(sender_str(&m.sender)))
    .set("content", json(&m.content, "message content")?)
    .set("status", s(status))
    .opt("status_provider_message_id", status_id.map(s))
    .opt("error_code", code.map(s))
    .opt("error_text", text.map(s))
    .opt("provider_message_id", m.provider_message_id.clone().map(s))
    .opt(
        "idempotency_key",
        m.idempotency_key.as_ref().map(|k| s(k.as_str())),
    )
    .set("created_at", ts(m.created_at))
    .opt("applied_tag", m.applied_tag.as_ref().map(|t| s(t.as_str())))
    .set("paid", b(m.paid))
    .build())
}

pub fn message_from_item(item: &Item) -> StoreResult<Message> {
    let r = Reader::new(item, "message");
    let status = match r.str("status")? {
        "pending" => MessageStatus::Pending,
        "sent" => MessageStatus::Sent {
            provider_message_id: r.str("status_provider_message_id")?.to_owned(),
        },
        "failed" => MessageStatus::Failed {
            code: r.str("error_code")?.to_owned(),
            text: r.str("error_text")?.to_owned(),
        },
        other => {
            return Err(StoreError::Corrupt(format!(
                "message attribute status: unknown '{other}'"
            )))
        }
    };
    Ok(Message {
        id: r.parse::<MessageId>("id")?,
        contact_id: r.parse::<ContactId>("contact_id")?,
        conversation_id: r.opt_parse::<ConversationId>("conversation_id")?,
        channel: r.parse::<ChannelId>("channel")?,
        direction: r.parse::<Wrapped<Direction>>("direction")?.0,
        sender: r.parse::<Wrapped<Sender>>("sender")?.0,
        content: r.json::<Content>("content")?,
        status,
        provider_message_id: r.opt_str("provider_message_id")?.map(str::to_owned),
        idempotency_key: r.opt_parse::<IdempotencyKey>("idempotency_key")?,
        created_at: r.ts("created_at")?,
        applied_tag: r.opt_parse::<MessageTag>("applied_tag")?,
        paid: r.bool("paid")?,
    })
}

/// The stored status of a message, as `NotPending` names it.
pub fn status_name(status: &MessageStatus) -> &'static str {
    match status {
        MessageStatus::Pending => "pending",
        MessageStatus::Sent { .. } => "sent",
        MessageStatus::Failed { .. } => "failed",
    }
}

// ----------------------------------------------------------------------------------------
// Events.
// ----------------------------------------------------------------------------------------

pub fn event_item(
    keys: &Keys,
    contact: &ContactId,
    seq: u64,
    e: &ContactEvent,
) -> StoreResult<Item> {
    Ok(
        ItemBuilder::new(keys.events(contact), Keys::event_sk(e.at, seq))
            .set("type", s("event"))
            .set("at", ts(e.at))
            .set("seq", n(seq))
            .set("actor", s(actor_str(&e.actor)))
            .set("action", json(&e.action, "event action")?)
            .build(),
    )
}

pub fn event_from_item(item: &Item) -> StoreResult<ContactEvent> {
    let r = Reader::new(item, "event");
    Ok(ContactEvent {
        at: r.ts("at")?,
        actor: r.parse::<Wrapped<Actor>>("actor")?.0,
        action: r.json::<EventAction>("action")?,
    })
}

// ----------------------------------------------------------------------------------------
// Dedup records and idempotency keys.
// ----------------------------------------------------------------------------------------

/// What a recorded inbound event produced, kept so a redelivery answers the same.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DedupRecord {
    pub contact_id: ContactId,
    pub message_id: Option<MessageId>,
    pub conversation_id: Option<ConversationId>,
}

pub fn dedup_from_item(item: &Item) -> StoreResult<DedupRecord> {
    let r = Reader::new(item, "dedup record");
    Ok(DedupRecord {
        contact_id: r.parse("contact_id")?,
        message_id: r.opt_parse("message_id")?,
        conversation_id: r.opt_parse("conversation_id")?,
    })
}

/// What an idempotency key is bound to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IdemRecord {
    pub message_id: MessageId,
    pub created_at: Timestamp,
    pub fingerprint: String,
}

pub fn idem_from_item(item: &Item) -> StoreResult<IdemRecord> {
    let r = Reader::new(item, "idempotency key");
    Ok(IdemRecord {
        message_id: r.parse("message_id")?,
        created_at: r.ts("message_created_at")?,
        fingerprint: r.str("fingerprint")?.to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use replyline_domain::{ProfileFields, Template};

    fn at(ms: i64) -> Timestamp {
        Timestamp::from_millis(ms).unwrap()
    }

    fn record() -> ContactRecord {
        let now = at(1_764_064_800_000);
        let id = ContactId::generate(now);
        let mut contact = Contact::new(
            id.clone(),
            ProfileFields::parse(
                Some("Ana"),
                Some("Pérez"),
                Some("ana@x.io"),
                Some("+34600111222"),
            )
            .unwrap(),
            now,
        );
        contact.assignee = Some(AgentId::parse("alice").unwrap());
        ContactRecord {
            contact,
            conversation: Some(Conversation {
                id: ConversationId::generate(now),
                contact_id: id,
                status: ConversationStatus::Snoozed,
                opened_at: now,
                opened_by: Actor::Agent(AgentId::parse("bob").unwrap()),
                closed_at: Some(at(5)),
                closed_by: Some(Actor::System),
                closing_note: Some(ClosingNote {
                    category: Some("resolved".into()),
                    summary: None,
                }),
                snoozed_until: Some(at(1_764_064_900_000)),
            }),
            last_activity_at: now,
            last_message: Some(MessageSummary {
                id: MessageId::generate(now),
                channel: ChannelId::parse("wa").unwrap(),
                direction: Direction::Inbound,
                preview: Some("hola".into()),
                at: now,
            }),
            channels: vec![ChannelId::parse("wa").unwrap()],
            event_seq: 3,
            version: 7,
        }
    }

    #[test]
    fn contacts_round_trip_with_index_keys() {
        let keys = Keys::new("t");
        let rec = record();
        let item = rec.to_item(&keys);
        assert_eq!(ContactRecord::from_item(&item).unwrap(), rec);
        assert_eq!(item[GSI1PK], s("T#t#A#alice#S#snoozed"));
        assert_eq!(item[GSI2PK], s("T#t#S#snoozed"));
        assert_eq!(item["snoozed_until"], n(1_764_064_900_000_i64));
        assert!(item.contains_key("open_conversation_id"));

        let mut bare = rec.clone();
        bare.conversation = None;
        bare.last_message = None;
        bare.contact = Contact::new(bare.contact.id.clone(), ProfileFields::default(), at(1));
        let item = bare.to_item(&keys);
        assert_eq!(ContactRecord::from_item(&item).unwrap(), bare);
        assert_eq!(item["inbox_status"], s("closed"));
        assert!(!item.contains_key("first_name") && !item.contains_key("assignee"));
    }

    #[test]
    fn messages_round_trip_in_every_status() {
        let keys = Keys::new("t");
        let now = at(1_764_064_800_000);
        let template = Template::new("welcome", "es", vec!["x".into()]).unwrap();
        let mut m = Message {
            id: MessageId::generate(now),
            contact_id: ContactId::generate(now),
            conversation_id: None,
            channel: ChannelId::parse("wa").unwrap(),
            direction: Direction::Outbound,
            sender: Sender::Agent(AgentId::parse("alice").unwrap()),
            content: Content::new(Some("hi".into()), Some(template), None).unwrap(),
            status: MessageStatus::Pending,
            provider_message_id: None,
            idempotency_key: Some(IdempotencyKey::parse("k 1").unwrap()),
            created_at: now,
            applied_tag: Some(MessageTag::parse("HUMAN_AGENT").unwrap()),
            paid: true,
        };
        for status in [
            MessageStatus::Pending,
            MessageStatus::Sent {
                provider_message_id: "wamid.1".into(),
            },
            MessageStatus::Failed {
                code: "131047".into(),
                text: "Re-engagement".into(),
            },
        ] {
            m.status = status;
            let item = message_item(&keys, &m).unwrap();
            assert_eq!(message_from_item(&item).unwrap(), m);
        }
    }

    #[test]
    fn conversations_and_events_round_trip() {
        let keys = Keys::new("t");
        let conv = record().conversation.unwrap();
        assert_eq!(
            conversation_from_item(&conversation_item(&keys, &conv)).unwrap(),
            conv
        );
        let e = ContactEvent {
            at: at(9),
            actor: Actor::Agent(AgentId::parse("x").unwrap()),
            action: EventAction::Closed {
                conversation_id: conv.id.clone(),
                note: None,
                unassigned: true,
            },
        };
        let item = event_item(&keys, &conv.contact_id, 4, &e).unwrap();
        assert_eq!(event_from_item(&item).unwrap(), e);
    }

    #[test]
    fn window_state_expires_at_its_ttl() {
        let item = ItemBuilder::new("p", "s")
            .set("last_inbound_at", n(1000))
            .set("last_opener", s("follow"))
            .set("last_opener_at", n(2000))
            .set("sent_since_inbound", n(2))
            .set(EXPIRES_AT, n(100))
            .build();
        let w = WindowRecord::from_item(&item).unwrap();
        assert_eq!(w.last_inbound_at, Some(at(1000)));
        assert_eq!(w.last_opener.unwrap().opener, Opener::Follow);
        assert!(!w.is_expired(at(99_999)));
        assert!(w.is_expired(at(100_000)));
        assert!(expired(&item, 100) && !expired(&item, 99));
    }

    #[test]
    fn corrupt_items_are_reported_not_panicked() {
        let item = ItemBuilder::new("p", "s").set("id", n(3)).build();
        let err = ContactRecord::from_item(&item).unwrap_err();
        assert!(matches!(err, StoreError::Corrupt(m) if m.contains("attribute id")));
    }
}
