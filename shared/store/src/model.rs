//! The store's inputs and outputs. Plain data: adapters turn them into rows or items.

use std::time::Duration;

use replyline_domain::{
    Actor, AgentId, AssignOnOutbound, ChannelId, ChannelIdentity, ChannelKind, ClosingNote,
    Contact, ContactId, Content, Conversation, ConversationId, ConversationStatus, Cursor,
    Direction, ExternalId, IdempotencyKey, InboxView, Message, MessageId, PageSize, ProfileFields,
    SearchQuery, Sender, SortOrder, StatusFilter, Timestamp,
};
use replyline_policy::{ChannelRules, ContactChannelState, Decision, Opener};
use serde::{Deserialize, Serialize};

/// Extra time window state is kept beyond the rules' horizon before its TTL lets the
/// store forget it, so "closed at" sentences stay accurate for a while.
pub const WINDOW_TTL_MARGIN: Duration = Duration::from_secs(30 * 86_400);

/// How long webhook dedup records are kept: longer than any provider retries (WhatsApp
/// retries for 7 days).
pub const DEDUP_TTL: Duration = Duration::from_secs(8 * 86_400);

/// What a verified webhook event says, ready to be recorded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InboundRecord {
    pub channel: ChannelId,
    pub kind: ChannelKind,
    /// Who wrote, as the provider identifies them.
    pub external_id: ExternalId,
    /// The provider's id for this event: the dedup key, unique per channel.
    pub provider_event_id: String,
    /// A message, or another event that opens a window (follow, ad referral...).
    pub opener: Opener,
    /// The provider's timestamp, clamped by the caller to at most `received_at`.
    pub occurred_at: Timestamp,
    pub received_at: Timestamp,
    /// Profile fields the provider gave; they fill empty fields, never overwrite.
    pub profile: ProfileFields,
    /// The message, for message events. Other events store no message and open no
    /// conversation.
    pub content: Option<Content>,
    /// How long the window state matters ([`ChannelRules::state_horizon`]); `None`: keep it.
    pub state_horizon: Option<Duration>,
}

/// What recording an inbound event did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InboundOutcome {
    /// The event was recorded before: nothing changed.
    pub duplicate: bool,
    pub contact_id: ContactId,
    pub contact_created: bool,
    /// The stored message (the original one for a duplicate).
    pub message_id: Option<MessageId>,
    pub conversation_id: Option<ConversationId>,
    /// A new conversation was opened (none was open or snoozed).
    pub conversation_opened: bool,
    /// The window moved forward (false for an older, late-delivered event).
    pub window_moved: bool,
}

/// A hard stop learned from a provider (SMS STOP, unfollow, bot blocked...).
pub use replyline_domain::ChannelFlag;

/// Sets or clears a hard stop on one contact-channel.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FlagChange {
    pub channel: ChannelId,
    pub external_id: ExternalId,
    pub flag: ChannelFlag,
    pub value: bool,
    pub at: Timestamp,
}

/// A contact on one channel: identity plus everything the policy decides on. Expired
/// window state reads as closed (the default), whether or not TTL has deleted it yet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContactChannel {
    pub identity: ChannelIdentity,
    pub state: ContactChannelState,
}

/// The newest message of a contact, as the inbox row shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MessageSummary {
    pub id: MessageId,
    pub channel: ChannelId,
    pub direction: Direction,
    /// The first characters of the text (or the template name), for the row.
    pub preview: Option<String>,
    pub at: Timestamp,
}

impl MessageSummary {
    /// Longest preview kept on the inbox row, in characters.
    pub const PREVIEW_CHARS: usize = 160;

    pub fn of(message: &Message) -> Self {
        let preview = message
            .content
            .text()
            .map(|t| t.chars().take(Self::PREVIEW_CHARS).collect())
            .or_else(|| message.content.template().map(|t| t.name().to_owned()));
        MessageSummary {
            id: message.id.clone(),
            channel: message.channel.clone(),
            direction: message.direction,
            preview,
            at: message.created_at,
        }
    }
}

/// An inbox listing request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InboxQuery {
    /// The agent asking: `mine` means assigned to this agent.
    pub agent: AgentId,
    pub view: InboxView,
    pub status: StatusFilter,
    pub search: Option<SearchQuery>,
    pub sort: SortOrder,
    pub limit: PageSize,
    pub cursor: Option<Cursor>,
    /// Snoozed conversations whose time has come read as open.
    pub now: Timestamp,
}

/// One inbox row: a contact appears once per view.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InboxItem {
    pub contact: Contact,
    /// The open or snoozed conversation, else the latest closed one.
    pub conversation: Option<Conversation>,
    /// Status as the inbox shows it: snoozed past its time reads as open; no conversation
    /// yet reads as closed.
    pub status: ConversationStatus,
    pub last_activity_at: Timestamp,
    pub last_message: Option<MessageSummary>,
    pub channels: Vec<ContactChannel>,
}

/// How many contacts each view holds for the requested status (and search).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ViewCounts {
    pub mine: u64,
    pub unassigned: u64,
    pub all: u64,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InboxPage {
    pub items: Vec<InboxItem>,
    pub next_cursor: Option<Cursor>,
    pub counts: ViewCounts,
}

/// A contact with its current conversation and every channel.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ContactDetails {
    pub contact: Contact,
    pub conversation: Option<Conversation>,
    pub status: ConversationStatus,
    pub last_activity_at: Timestamp,
    pub channels: Vec<ContactChannel>,
    /// Optimistic-concurrency version of the contact record.
    pub version: u64,
}

/// A page of a contact's messages, newest first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TimelinePage {
    pub items: Vec<Message>,
    pub next_cursor: Option<Cursor>,
}

/// An outbound message to record before it is handed to the provider.
#[derive(Clone, Debug)]
pub struct OutboundRequest {
    pub contact_id: ContactId,
    pub channel: ChannelId,
    /// An agent or automation (never `Sender::Contact`).
    pub sender: Sender,
    pub content: Content,
    pub idempotency_key: Option<IdempotencyKey>,
    /// The channel's rules: the store re-decides on the state it reads in its atomic step.
    pub rules: ChannelRules,
    pub assign: AssignOnOutbound,
    pub now: Timestamp,
}

/// The recorded, pending outbound message and what recording it did.
#[derive(Clone, Debug)]
pub struct OutboundBegun {
    pub message: Message,
    pub conversation: Conversation,
    /// The send reopened the contact: a new conversation was opened.
    pub conversation_opened: bool,
    pub assignee: Option<AgentId>,
    pub identity: ChannelIdentity,
    /// The policy's decision; `None` for a replay.
    pub decision: Option<Decision>,
    /// The idempotency key was seen before: this is the message recorded then (maybe
    /// already sent or failed). Callers must not send it again.
    pub replayed: bool,
}

/// Identifies a stored message (the DynamoDB key needs its creation time).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct MessageKey {
    pub contact_id: ContactId,
    pub id: MessageId,
    pub created_at: Timestamp,
}

impl MessageKey {
    pub fn of(m: &Message) -> Self {
        MessageKey {
            contact_id: m.contact_id.clone(),
            id: m.id.clone(),
            created_at: m.created_at,
        }
    }
}

/// What the provider said about an outbound message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SendOutcome {
    Sent { provider_message_id: String },
    Failed { code: String, text: String },
}

/// Who runs a conversation command, and when.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommandContext {
    pub actor: AgentId,
    pub now: Timestamp,
}

/// The contact and its current conversation after a command.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommandOutcome {
    pub contact: Contact,
    pub conversation: Option<Conversation>,
    /// The command changed something (opening an open conversation does not).
    pub changed: bool,
}

/// What happened to a contact, by whom and when: the audit trail of commands.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContactEvent {
    pub at: Timestamp,
    pub actor: Actor,
    #[serde(flatten)]
    pub action: EventAction,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum EventAction {
    /// Opened by an inbound message, by hand, or by an outbound message (reopen).
    Opened {
        conversation_id: ConversationId,
        by_outbound: bool,
    },
    Closed {
        conversation_id: ConversationId,
        note: Option<ClosingNote>,
        unassigned: bool,
    },
    Snoozed {
        conversation_id: ConversationId,
        until: Timestamp,
    },
    Assigned {
        agent: Option<AgentId>,
    },
    Blocked,
    Unblocked,
    ProfileUpdated,
}
