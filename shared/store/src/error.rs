//! What can go wrong in the store, typed so the functions map each case to an HTTP answer.

use replyline_domain::{ContactId, MessageId};
use replyline_policy::Decision;

/// A store operation's failure.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// No such contact (or message, or conversation) exists.
    #[error("{what} {id} does not exist")]
    NotFound { what: &'static str, id: String },

    /// The contact is blocked: it cannot be opened, closed or messaged until unblocked.
    #[error("contact {0} is blocked: unblock it first")]
    Blocked(ContactId),

    /// The command needs an open (or snoozed) conversation and the contact has none.
    #[error("contact {0} has no open conversation")]
    NoOpenConversation(ContactId),

    /// The contact has no identity on the channel the message was for.
    #[error("contact {contact} is not reachable on channel {channel}")]
    NotOnChannel { contact: ContactId, channel: String },

    /// The policy refused the send on the state the store read inside its atomic step.
    #[error("refused by the channel policy: {}", .0.reason.code())]
    Refused(Box<Decision>),

    /// The idempotency key was used before for a different request.
    #[error("idempotency key was already used for message {0} with a different request")]
    IdempotencyMismatch(MessageId),

    /// A concurrent writer changed the item between our read and our write, and retrying
    /// did not help. The caller may retry the whole request.
    #[error("{what} {id} was changed concurrently; retry")]
    Conflict { what: &'static str, id: String },

    /// The message cannot move to that status (e.g. completing an already failed send).
    #[error("message {id} is {current}, not pending")]
    NotPending {
        id: MessageId,
        current: &'static str,
    },

    /// A cursor that does not belong to this listing.
    #[error("invalid cursor: {0}")]
    InvalidCursor(String),

    /// The request is well-formed but asks for something impossible (e.g. snoozing into the past).
    #[error("{0}")]
    Invalid(String),

    /// The backing store could not be reached or answered with an error. Webhooks answer
    /// 5xx so the provider retries; nothing was half-written.
    #[error("store unavailable: {0}")]
    Unavailable(String),

    /// Stored data could not be read back (a bug or a manual edit).
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
}

impl StoreError {
    pub(crate) fn not_found(what: &'static str, id: impl ToString) -> Self {
        StoreError::NotFound {
            what,
            id: id.to_string(),
        }
    }

    /// A stable code for APIs and logs.
    pub fn code(&self) -> &'static str {
        match self {
            StoreError::NotFound { .. } => "not_found",
            StoreError::Blocked(_) => "contact_blocked",
            StoreError::NoOpenConversation(_) => "no_open_conversation",
            StoreError::NotOnChannel { .. } => "not_on_channel",
            StoreError::Refused(d) => d.reason.code(),
            StoreError::IdempotencyMismatch(_) => "idempotency_key_reused",
            StoreError::Conflict { .. } => "conflict",
            StoreError::NotPending { .. } => "not_pending",
            StoreError::InvalidCursor(_) => "invalid_cursor",
            StoreError::Invalid(_) => "invalid_request",
            StoreError::Unavailable(_) => "store_unavailable",
            StoreError::Corrupt(_) => "store_corrupt",
        }
    }
}

pub type StoreResult<T> = Result<T, StoreError>;
