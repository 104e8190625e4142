//! # replyline-store
//!
//! Everything Replyline remembers: contacts and their channel identities, conversations,
//! messages, messaging windows, dedup records, inbox listing and search.
//!
//! - [`ports`]: one trait per capability ([`InboundRecorder`], [`ChannelFlags`],
//!   [`InboxReader`], [`OutboundRecorder`], [`ConversationCommands`]); [`Store`] is all of
//!   them.
//! - [`sqlite`]: the embedded adapter (one file, WAL), for one machine and the dev server.
//! - [`dynamo`]: the DynamoDB single-table adapter, for the serverless deployment; its
//!   module documentation holds the key design and the request cost of each operation.
//!
//! Both adapters pass one contract suite (`tests/contract`), so they behave the same.
//! **`CONTRACT.md` (next to this crate's `Cargo.toml`) states the semantics in full: read
//! it before changing an adapter.**
//!
//! Invariants both keep:
//! - a contact has at most one conversation that is not closed;
//! - an inbound event is stored once per (channel, provider event id), however often and
//!   however concurrently it is delivered;
//! - a window only moves forward: a late, older event never moves it back;
//! - expired window state reads as closed even before anything deletes it;
//! - every multi-item change is atomic (a transaction), and every read-decide-write is
//!   re-checked at write time (conditions / versions), so concurrent writers cannot open two
//!   conversations or overspend a quota.

pub mod common;
pub mod dynamo;
pub mod error;
pub mod faults;
pub mod model;
pub mod ports;
pub mod sqlite;

pub use error::{StoreError, StoreResult};
pub use faults::{FaultPoint, Faults};
pub use model::*;
pub use ports::{
    ChannelFlags, ConversationCommands, InboundRecorder, InboxReader, OutboundRecorder, Store,
};
