//! The store's ports: one trait per capability, so each function depends only on what it
//! uses (the webhook records inbound, the inbox reads, send records outbound, the
//! conversation function runs commands). Both adapters implement all of them with the
//! same semantics, stated in full in `CONTRACT.md` and proven by the contract suite in
//! `tests/contract`.

use async_trait::async_trait;
use replyline_domain::{
    ChannelId, ClosingNote, ContactId, Cursor, PageSize, ProfileFields, Timestamp,
};

use crate::error::StoreResult;
use crate::model::{
    CommandContext, CommandOutcome, ContactDetails, ContactEvent, FlagChange, InboundOutcome,
    InboundRecord, InboxPage, InboxQuery, MessageKey, OutboundBegun, OutboundRequest, SendOutcome,
    TimelinePage,
};
use replyline_domain::{AgentId, Message};

/// The webhook's write side.
#[async_trait]
pub trait InboundRecorder: Send + Sync {
    /// Records one inbound event, idempotently on (channel, provider event id): finds or
    /// creates the contact by channel identity (filling empty profile fields), stores the
    /// message, opens a conversation if none is open or snoozed (a snoozed one reopens),
    /// moves the window forward only, and resets the window's message count.
    async fn record_inbound(&self, record: &InboundRecord) -> StoreResult<InboundOutcome>;
}

/// Hard stops learned from providers: on inbound (STOP, unfollow) and on send errors
/// (bot blocked, unsubscribed recipient).
#[async_trait]
pub trait ChannelFlags: Send + Sync {
    /// Sets or clears a flag; an unknown identity is `NotFound`.
    async fn set_channel_flag(&self, change: &FlagChange) -> StoreResult<()>;
}

/// The inbox's read side.
#[async_trait]
pub trait InboxReader: Send + Sync {
    /// Contacts in a view and status, optionally searched, sorted by last activity, paged
    /// by an opaque cursor, with the counts of the three views.
    async fn list_inbox(&self, query: &InboxQuery) -> StoreResult<InboxPage>;

    /// A contact with its current conversation and every channel with its window state.
    async fn get_contact(&self, id: &ContactId, now: Timestamp) -> StoreResult<ContactDetails>;

    /// A contact's messages, newest first.
    async fn list_messages(
        &self,
        id: &ContactId,
        limit: PageSize,
        cursor: Option<&Cursor>,
    ) -> StoreResult<TimelinePage>;

    /// What was done to a contact, oldest first.
    async fn list_events(&self, id: &ContactId) -> StoreResult<Vec<ContactEvent>>;
}

/// The send path's write side.
#[async_trait]
pub trait OutboundRecorder: Send + Sync {
    /// In one atomic step, on the state read inside it: re-decides with the policy
    /// (refusal: `Refused`, nothing stored), records the message as pending (idempotent on
    /// the idempotency key), counts it against the window and monthly counters, opens a
    /// conversation if none is open (reopen), and assigns the contact to the sending agent
    /// as the workspace says.
    async fn begin_outbound(&self, request: &OutboundRequest) -> StoreResult<OutboundBegun>;

    /// Marks a pending message sent (with the provider's id) or failed (with its error).
    /// Completing again with the same outcome is a no-op.
    async fn complete_outbound(
        &self,
        key: &MessageKey,
        outcome: &SendOutcome,
        now: Timestamp,
    ) -> StoreResult<Message>;

    /// Records a provider's refusal of a send on the contact-channel's window state
    /// (`ContactChannelState::record_provider_refusal`): outside the window (`quota`
    /// false: Meta 2018278, WhatsApp 131047, WeChat 45015) or over the window's quota
    /// (`quota` true: WeChat 45047) as of `at`. Forward only, per field; later reads and
    /// decisions see it until a newer inbound event opens a new window. An unknown
    /// contact is `NotFound`; a channel the contact is not on, `NotOnChannel`.
    async fn record_provider_refusal(
        &self,
        contact: &ContactId,
        channel: &ChannelId,
        at: Timestamp,
        quota: bool,
    ) -> StoreResult<()>;

    /// A failure the provider reported after the fact (WhatsApp `statuses[].status =
    /// failed`): our outbound message on `channel` whose provider id (set when it was
    /// completed as sent) is `provider_message_id` becomes `Failed { code, text }`,
    /// whether it was sent or pending. Already failed with the same code: a no-op.
    /// Returns the message as stored, or `None` when no outbound message has that id.
    async fn fail_by_provider_id(
        &self,
        channel: &ChannelId,
        provider_message_id: &str,
        code: &str,
        text: &str,
        now: Timestamp,
    ) -> StoreResult<Option<Message>>;
}

/// Conversation commands. Each records who did it and when.
#[async_trait]
pub trait ConversationCommands: Send + Sync {
    /// Closes the open (or snoozed) conversation with an optional, already checked note;
    /// unassigns the contact when `unassign` (the workspace's setting) is on.
    async fn close(
        &self,
        id: &ContactId,
        note: Option<ClosingNote>,
        unassign: bool,
        ctx: &CommandContext,
    ) -> StoreResult<CommandOutcome>;

    /// Opens a conversation by hand (a new one if none is open; a snoozed one wakes).
    async fn open(&self, id: &ContactId, ctx: &CommandContext) -> StoreResult<CommandOutcome>;

    /// Snoozes the open conversation until `until` (which must be in the future).
    async fn snooze(
        &self,
        id: &ContactId,
        until: Timestamp,
        ctx: &CommandContext,
    ) -> StoreResult<CommandOutcome>;

    /// Assigns the contact to an agent, or unassigns it.
    async fn assign(
        &self,
        id: &ContactId,
        agent: Option<AgentId>,
        ctx: &CommandContext,
    ) -> StoreResult<CommandOutcome>;

    /// Blocks or unblocks the contact.
    async fn set_blocked(
        &self,
        id: &ContactId,
        blocked: bool,
        ctx: &CommandContext,
    ) -> StoreResult<CommandOutcome>;

    /// Changes profile fields: `Some` replaces, `None` keeps.
    async fn update_profile(
        &self,
        id: &ContactId,
        profile: ProfileFields,
        ctx: &CommandContext,
    ) -> StoreResult<CommandOutcome>;
}

/// Everything: what the dev server and the contract suite use.
pub trait Store:
    InboundRecorder + ChannelFlags + InboxReader + OutboundRecorder + ConversationCommands
{
}

impl<T> Store for T where
    T: InboundRecorder + ChannelFlags + InboxReader + OutboundRecorder + ConversationCommands
{
}
