//! The embedded SQLite adapter: one database file in WAL mode, for one machine and the
//! dev server.
//!
//! ## Tables (schema in [`schema`], applied by `user_version` migrations at open)
//!
//! | Table | Key | What |
//! |---|---|---|
//! | `contacts` | `id` | profile, `blocked`, `assignee`, `version`; the inbox row (`inbox_status`, `snoozed_until`, `conversation_id`, `last_activity_at`, `last_message`); search keys (`search_first`, `search_last`, `search_email`, `search_phone`) |
//! | `conversations` | `id` | status, opened/closed at/by, closing note, `snoozed_until`; unique partial index: one not closed per contact |
//! | `contact_channels` | `(channel, external_id)` | the identity (`kind`, `contact_id`, unique per `(contact_id, channel)`) and the durable hard stops |
//! | `windows` | `(contact_id, channel)` | `last_inbound_at`, `last_opener(_at)`, `sent_since_inbound`, `provider_closed_at`, `provider_exhausted_at` (provider refusals, v2), `expires_at` (reads as absent once past) |
//! | `paid_counters` | `(channel, month)` | paid messages per channel account and UTC month |
//! | `messages` | `id` | the timeline, index `(contact_id, created_at, id)`; unique `(contact_id, idempotency_key)`; outbound by provider id `(channel, provider_message_id, created_at, id)` (v2) |
//! | `inbound_dedup` | `(channel, provider_event_id)` | what an event recorded; pruned 8 days after |
//! | `contact_events` | `seq` | the audit trail, index `(contact_id, at, seq)` |
//! | `inbox_counts` | `(status, assignee)` | contacts per stored status and assignee (`''`: unassigned), kept by triggers on `contacts` |
//!
//! Listing uses `contacts_by_assignee (assignee, inbox_status, last_activity_at, id, …)`
//! for Mine and Unassigned and `contacts_by_status (inbox_status, last_activity_at, id, …)`
//! for All: one ordered range per stored status, merged (a snooze whose time has passed
//! is read as open). Both indexes end with the snooze end and the search keys, so
//! filtering and searching never visit the table. Search compares the stored keys with
//! `instr` (exact substrings: no wildcard to escape), exactly as `SearchQuery::matches`;
//! an email search is an indexed equality. View counts come from `inbox_counts` (plus a
//! look at the snoozed range for snoozes that ran out); with a search they are counted
//! on the index.
//!
//! `tests/sqlite_scale.rs` (ignored; run it in release) measures this at 100,000
//! contacts.
//!
//! ## Concurrency
//!
//! rusqlite is synchronous: every operation runs on tokio's blocking pool on one
//! connection behind a mutex. Every write is one `BEGIN IMMEDIATE` transaction that reads,
//! decides and writes, so concurrent requests (in this process or another one sharing the
//! file) cannot open two conversations or overspend a quota; reads run in a deferred
//! transaction, so a page is one consistent snapshot.

mod channels;
mod commands;
mod contacts;
mod conversations;
mod events;
mod fts;
mod inbound;
mod inbox;
mod messages;
mod outbound;
mod rows;
pub mod schema;
mod search;

use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError};

use async_trait::async_trait;
use replyline_domain::{
    AgentId, ChannelId, ClosingNote, ContactId, Cursor, Message, PageSize, ProfileFields, Timestamp,
};
use rusqlite::{Connection, Transaction, TransactionBehavior};

use crate::error::{StoreError, StoreResult};
use crate::faults::Faults;
use crate::model::{
    CommandContext, CommandOutcome, ContactDetails, ContactEvent, FlagChange, InboundOutcome,
    InboundRecord, InboxPage, InboxQuery, MessageKey, OutboundBegun, OutboundRequest, SendOutcome,
    TimelinePage,
};
use crate::ports::{
    ChannelFlags, ConversationCommands, InboundRecorder, InboxReader, OutboundRecorder,
};
#[doc(hidden)]
pub use fts::candidates as search_candidates;
#[doc(hidden)]
pub use inbox::{page_queries, SearchPlan};
use rows::Db;
pub use schema::ConnectionSettings;
#[doc(hidden)]
pub use search::Sql;

/// The embedded store. Cloning shares the connection.
#[derive(Clone, Debug)]
pub struct SqliteStore {
    conn: Arc<Mutex<Connection>>,
    faults: Faults,
}

impl SqliteStore {
    /// Opens (creating if needed) the database file at `path`, in WAL mode, and brings
    /// its schema to the latest version.
    pub fn open(path: &Path, faults: Faults) -> StoreResult<Self> {
        let conn = Connection::open(path)
            .map_err(|e| StoreError::Unavailable(format!("cannot open {}: {e}", path.display())))?;
        Self::start(conn, faults)
    }

    /// A private in-memory database, for tests.
    pub fn open_in_memory(faults: Faults) -> StoreResult<Self> {
        let conn = Connection::open_in_memory().db()?;
        Self::start(conn, faults)
    }

    fn start(mut conn: Connection, faults: Faults) -> StoreResult<Self> {
        schema::configure(&conn)?;
        schema::migrate(&mut conn)?;
        Ok(SqliteStore {
            conn: Arc::new(Mutex::new(conn)),
            faults,
        })
    }

    /// The schema version of the open database ([`schema::LATEST_VERSION`] once open).
    pub async fn schema_version(&self) -> StoreResult<i64> {
        self.run(|conn| schema::version(conn)).await
    }

    /// The store connection's settings, for diagnostics and tests.
    pub async fn settings(&self) -> StoreResult<ConnectionSettings> {
        self.run(|conn| schema::settings(conn)).await
    }

    /// Runs `op` on the connection, on the blocking pool.
    async fn run<T, F>(&self, op: F) -> StoreResult<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> StoreResult<T> + Send + 'static,
    {
        let conn = Arc::clone(&self.conn);
        tokio::task::spawn_blocking(move || {
            // A panic while holding the lock dropped its transaction (rolled back), so the
            // connection is still usable.
            let mut guard = conn.lock().unwrap_or_else(PoisonError::into_inner);
            op(&mut guard)
        })
        .await
        .map_err(|e| StoreError::Unavailable(format!("store task failed: {e}")))?
    }
}

/// Starts a write: `BEGIN IMMEDIATE` takes the write lock before the first read, so what
/// the transaction reads cannot change before it commits.
pub(crate) fn write_tx(conn: &mut Connection) -> StoreResult<Transaction<'_>> {
    conn.transaction_with_behavior(TransactionBehavior::Immediate)
        .db()
}

/// Starts a read: one consistent snapshot for every query of the operation.
pub(crate) fn read_tx(conn: &mut Connection) -> StoreResult<Transaction<'_>> {
    conn.transaction_with_behavior(TransactionBehavior::Deferred)
        .db()
}

#[async_trait]
impl InboundRecorder for SqliteStore {
    async fn record_inbound(&self, record: &InboundRecord) -> StoreResult<InboundOutcome> {
        let (record, faults) = (record.clone(), self.faults.clone());
        self.run(move |conn| inbound::record(conn, &faults, &record))
            .await
    }
}

#[async_trait]
impl ChannelFlags for SqliteStore {
    async fn set_channel_flag(&self, change: &FlagChange) -> StoreResult<()> {
        let change = change.clone();
        self.run(move |conn| inbound::set_flag(conn, &change)).await
    }
}

#[async_trait]
impl InboxReader for SqliteStore {
    async fn list_inbox(&self, query: &InboxQuery) -> StoreResult<InboxPage> {
        let query = query.clone();
        self.run(move |conn| inbox::list(conn, &query)).await
    }

    async fn get_contact(&self, id: &ContactId, now: Timestamp) -> StoreResult<ContactDetails> {
        let id = id.clone();
        self.run(move |conn| inbox::details(conn, &id, now)).await
    }

    async fn list_messages(
        &self,
        id: &ContactId,
        limit: PageSize,
        cursor: Option<&Cursor>,
    ) -> StoreResult<TimelinePage> {
        let (id, cursor) = (id.clone(), cursor.cloned());
        self.run(move |conn| inbox::timeline(conn, &id, limit, cursor.as_ref()))
            .await
    }

    async fn list_events(&self, id: &ContactId) -> StoreResult<Vec<ContactEvent>> {
        let id = id.clone();
        self.run(move |conn| inbox::events(conn, &id)).await
    }
}

#[async_trait]
impl OutboundRecorder for SqliteStore {
    async fn begin_outbound(&self, request: &OutboundRequest) -> StoreResult<OutboundBegun> {
        let (request, faults) = (request.clone(), self.faults.clone());
        self.run(move |conn| outbound::begin(conn, &faults, &request))
            .await
    }

    async fn complete_outbound(
        &self,
        key: &MessageKey,
        outcome: &SendOutcome,
        now: Timestamp,
    ) -> StoreResult<Message> {
        let (key, outcome, faults) = (key.clone(), outcome.clone(), self.faults.clone());
        self.run(move |conn| outbound::complete(conn, &faults, &key, &outcome, now))
            .await
    }

    async fn record_provider_refusal(
        &self,
        contact: &ContactId,
        channel: &ChannelId,
        at: Timestamp,
        quota: bool,
    ) -> StoreResult<()> {
        let (contact, channel) = (contact.clone(), channel.clone());
        self.run(move |conn| outbound::record_refusal(conn, &contact, &channel, at, quota))
            .await
    }

    async fn fail_by_provider_id(
        &self,
        channel: &ChannelId,
        provider_message_id: &str,
        code: &str,
        text: &str,
        _now: Timestamp,
    ) -> StoreResult<Option<Message>> {
        let (channel, faults) = (channel.clone(), self.faults.clone());
        let (id, code, text) = (
            provider_message_id.to_owned(),
            code.to_owned(),
            text.to_owned(),
        );
        self.run(move |conn| {
            outbound::fail_by_provider_id(conn, &faults, &channel, &id, &code, &text)
        })
        .await
    }
}

#[async_trait]
impl ConversationCommands for SqliteStore {
    async fn close(
        &self,
        id: &ContactId,
        note: Option<ClosingNote>,
        unassign: bool,
        ctx: &CommandContext,
    ) -> StoreResult<CommandOutcome> {
        let (id, ctx, faults) = (id.clone(), ctx.clone(), self.faults.clone());
        self.run(move |conn| commands::close(conn, &faults, &id, note, unassign, &ctx))
            .await
    }

    async fn open(&self, id: &ContactId, ctx: &CommandContext) -> StoreResult<CommandOutcome> {
        let (id, ctx, faults) = (id.clone(), ctx.clone(), self.faults.clone());
        self.run(move |conn| commands::open(conn, &faults, &id, &ctx))
            .await
    }

    async fn snooze(
        &self,
        id: &ContactId,
        until: Timestamp,
        ctx: &CommandContext,
    ) -> StoreResult<CommandOutcome> {
        let (id, ctx, faults) = (id.clone(), ctx.clone(), self.faults.clone());
        self.run(move |conn| commands::snooze(conn, &faults, &id, until, &ctx))
            .await
    }

    async fn assign(
        &self,
        id: &ContactId,
        agent: Option<AgentId>,
        ctx: &CommandContext,
    ) -> StoreResult<CommandOutcome> {
        let (id, ctx, faults) = (id.clone(), ctx.clone(), self.faults.clone());
        self.run(move |conn| commands::assign(conn, &faults, &id, agent, &ctx))
            .await
    }

    async fn set_blocked(
        &self,
        id: &ContactId,
        blocked: bool,
        ctx: &CommandContext,
    ) -> StoreResult<CommandOutcome> {
        let (id, ctx, faults) = (id.clone(), ctx.clone(), self.faults.clone());
        self.run(move |conn| commands::set_blocked(conn, &faults, &id, blocked, &ctx))
            .await
    }

    async fn update_profile(
        &self,
        id: &ContactId,
        profile: ProfileFields,
        ctx: &CommandContext,
    ) -> StoreResult<CommandOutcome> {
        let (id, ctx, faults) = (id.clone(), ctx.clone(), self.faults.clone());
        self.run(move |conn| commands::update_profile(conn, &faults, &id, profile, &ctx))
            .await
    }
}
