//! Replyline's domain types, shared by the policy, the store, the channel adapters and
//! the functions. Pure data and validation: no I/O, no async, no AWS.
//!
//! Parse, don't validate: every constructor that takes outside input returns a typed
//! error, so a value of these types is always well-formed.

mod string_newtype;
mod text;

pub mod channel;
pub mod contact;
pub mod conversation;
pub mod ids;
pub mod inbox;
pub mod message;
pub mod search;
pub mod time;

pub use channel::{ChannelFlag, ChannelKind, UnknownChannelKind};
pub use contact::{ChannelIdentity, Contact, PersonName, ProfileError, ProfileFields};
pub use conversation::{
    Actor, AssignOnOutbound, ClosingNote, ClosingNoteError, ClosingNotesMode, Conversation,
    ConversationStatus, SettingsError, WorkspaceSettings,
};
pub use ids::{
    AgentId, ChannelId, ContactId, ConversationId, ExternalId, IdempotencyKey, MessageId,
};
pub use inbox::{
    Cursor, CursorError, InboxView, PageSize, PageSizeError, SortOrder, StatusFilter, UnknownOption,
};
pub use message::{
    Content, ContentError, Direction, Message, MessageStatus, MessageTag, Sender, Template,
};
pub use search::{
    fold_name, name_tokens, Email, EmailError, Phone, PhoneError, SearchKeys, SearchKeysError,
    SearchQuery, SearchQueryError,
};
pub use text::TextError;
pub use time::{Clock, FixedClock, SystemClock, Timestamp, TimestampError, YearMonth};
