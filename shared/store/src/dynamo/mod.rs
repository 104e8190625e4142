//! The DynamoDB single-table adapter.
//!
//! One table, string keys `PK`/`SK`, every key prefixed with the tenant (`T#{t}#…`) so
//! IAM `dynamodb:LeadingKeys` can fence tenants (the tenant name must not contain `#`).
//! Key builders live in [`keys`], item mapping in [`items`], the table definition in
//! [`table`]. Numbers that are instants are Unix milliseconds (`*_at`), except
//! `expires_at`, the TTL attribute, which is epoch **seconds** as DynamoDB requires.
//! Instants inside sort keys are zero-padded to 15 digits (`{ms:015}`), so string order is
//! time order up to year 9999.
//!
//! ## Items
//!
//! | Item | PK | SK | Notes |
//! |---|---|---|---|
//! | Contact (+ inbox row) | `T#t#C#{contactId}` | `PROFILE` | profile, `blocked`, `assignee`, `conversation` (a copy of the current conversation), `open_conversation_id`, `current_conversation_id`, `inbox_status`, `snoozed_until`, `last_activity_at`, `last_message`, `channels`, `event_seq`, `version`; GSI1/GSI2 keys |
//! | Contact-channel | `T#t#C#{contactId}` | `CH#{channelId}` | `kind`, `external_id`, `opted_out`, `unsubscribed` (durable) |
//! | Window state | `T#t#C#{contactId}` | `WIN#{channelId}` | `last_inbound_at`, `last_opener`, `last_opener_at`, `sent_since_inbound`, `provider_closed_at`, `provider_exhausted_at` (provider refusals), `expires_at` (TTL) |
//! | Channel identity | `T#t#ID#{channelId}#{externalId}` | `ID` | `contact_id`; created with `attribute_not_exists(PK)` |
//! | Conversation | `T#t#CONV#{conversationId}` | `META` | status, opened/closed at/by, closing note, `snoozed_until` |
//! | Message | `T#t#C#{contactId}#MSG` | `{createdAtMs:015}#{messageId}` | Query newest first |
//! | Event (audit) | `T#t#C#{contactId}#EVT` | `{atMs:015}#{seq:010}` | who did what, when; `seq` from the contact's `event_seq` keeps same-millisecond events in order |
//! | Webhook dedup | `T#t#DEDUP#{channelId}#{providerEventId}` | `DEDUP` | ids of what was recorded; `expires_at` = received + 8 d |
//! | Idempotency key | `T#t#C#{contactId}#IDEM#{key}` | `IDEM` | message key and request fingerprint |
//! | Provider message id | `T#t#PMSG#{channelId}#{providerMessageId}` | `PMSG` | `contact_id`, `message_id`, `message_created_at` of our outbound message; written with its `Sent` completion (no TTL) |
//! | Paid counter | `T#t#PAID#{channelId}` | `{YYYY-MM}` | `count`; `expires_at` = 40 days after the month |
//! | View counters | `T#t#COUNTS` | `A#{agent}#S#{status}` / `U#S#{status}` | `n`, moved in the same transaction as the row |
//! | Search token | `T#t#SRCH#{N,P}#{first 2 chars}` / `T#t#SRCH#E#{email}` | `{token}#{contactId}` | suffixes of name words and phone digits; the email whole |
//!
//! The conversation item is the history; the copy on the contact is the current one, so
//! reads and commands need no second request. Both are written in the same transaction,
//! guarded by the contact's `version`, which every change of the contact, its current
//! conversation or its counters conditions on. Assignee `U` means unassigned; agents are
//! `A#{id}` (agent ids cannot contain `#`), so no agent name collides with "unassigned".
//!
//! ## Indexes (projection ALL)
//!
//! - **GSI1** `GSI1PK = T#t#A#{agent}#S#{status}` (or `T#t#U#S#{status}`),
//!   `GSI1SK = {lastActivityMs:015}#{contactId}`: Mine and Unassigned, newest
//!   (`ScanIndexForward=false`) or oldest first.
//! - **GSI2** `GSI2PK = T#t#S#{status}`, `GSI2SK` as GSI1SK: All.
//!
//! The status in a key is the **stored** one. A snoozed row whose time has passed reads as
//! open: listing `open` merges the open partition with the snoozed partition filtered on
//! `snoozed_until <= :now`; listing `snoozed` filters `snoozed_until > :now`; `all` merges
//! the three partitions. Every partition is sorted by the same key, so the cursor is one
//! keyset position (`common::ActivityPosition`): each partition resumes strictly after it
//! (`GSI1SK < :pos` newest first, `>` oldest first) and the merge takes the first
//! `limit + 1` rows (the extra one says whether there is a next page).
//!
//! ## Search
//!
//! Token items are written with the contact (in its transaction when they fit in
//! DynamoDB's 100 items; a contact with very long names has its tokens written just
//! before the transaction instead, which is harmless if the transaction then fails: a
//! token only nominates a candidate). A search queries each name term's partition with
//! `begins_with(SK, :term)` and intersects the terms, unions the phone candidates'
//! prefix queries, or queries the email partition; then it `BatchGetItem`s the candidate
//! contacts (100 keys per request), keeps those for which `SearchQuery::matches` holds
//! (so stale tokens never show a wrong row), filters view and effective status, sorts and
//! pages with the same keyset cursor. At most [`SEARCH_CANDIDATE_CAP`] candidates are
//! read per term: a search matching more contacts than that lists the first ones in token
//! order only (refine the search). Counts of a search come from its candidate set.
//!
//! ## Counts
//!
//! One Query on `T#t#COUNTS` gives the stored (assignee, status) counters; a Query on the
//! GSI2 snoozed partition filtered on `snoozed_until <= :now` moves expired snoozes from
//! snoozed to open.
//!
//! ## Writes
//!
//! - **Inbound**: one `BatchGetItem` reads the identity and the dedup record (strongly
//!   consistent). A live dedup record (`expires_at >= now`) is a duplicate. Otherwise one
//!   `TransactWriteItems`: the dedup put (`attribute_not_exists(PK) OR expires_at <
//!   :now`, returning the old item on failure), the message, the contact (a create with
//!   its identity and contact-channel, or a put conditioned on `version`), a new or woken
//!   conversation, the `Opened` event, counter moves and tokens. A cancellation whose
//!   dedup condition failed is a duplicate (answered from the returned item); any other
//!   is a lost race: read again. Then the window update below.
//! - **Outbound**: `Query` the contact partition (contact, channels, windows), read the
//!   paid counter where paid messages exist, decide with the policy, then one
//!   `TransactWriteItems` conditioned on everything decided on: contact `version`, the
//!   window item exactly as read (`sent_since_inbound`, `last_inbound_at`,
//!   `last_opener_at`, `provider_closed_at`, `provider_exhausted_at`, `expires_at`, or its
//!   absence), the paid counter's `count`, and the idempotency item's absence. A failed idempotency condition is a replay; any other
//!   failure re-reads and re-decides. A refusal writes nothing (but a key used before is
//!   still answered as a replay).
//! - **Commands**: `GetItem` the contact, apply the command, one `TransactWriteItems`
//!   conditioned on `version` (contact, conversation item, events, counters, tokens).
//! - **Completion**: failed: one `UpdateItem` conditioned on `status = pending`; on
//!   failure the old item says whether it was the same outcome (a no-op), another
//!   (`NotPending`) or nothing (`NotFound`). Sent: `GetItem` the message (answering the
//!   same questions without writing when it is no longer pending; the lookup's key needs
//!   its channel), then one `TransactWriteItems`: the update conditioned on `status =
//!   pending` and the put of the provider-id lookup item (unconditional: should a
//!   provider reuse an id, the latest message wins). A lost race reads again.
//!
//! ## Provider feedback
//!
//! - **Refusals** (`record_provider_refusal`): `GetItem` the contact-channel (absent: the
//!   contact item says `NotFound` or `NotOnChannel`), then one forward-only `UpdateItem`
//!   of the window item: `SET provider_closed_at = :at` (or `provider_exhausted_at`) on
//!   condition that the item is live at `at` (`attribute_not_exists(expires_at) OR
//!   expires_at > :now`) and older (`attribute_not_exists(#f) OR #f < :at`); an absent
//!   item is created, with no TTL (like the one a send creates); a live one keeps its
//!   TTL. A failed condition returns the old item: expired -> a fresh item holding only
//!   the refusal is put in its place (conditioned on `expires_at <= :now`); newer or
//!   equal -> nothing moves. Inbound window updates leave both attributes alone (the
//!   policy ignores refusals older than the window's start); sends condition on them.
//! - **Delivery failures reported later** (`fail_by_provider_id`): `GetItem` the
//!   provider-id lookup (absent: `None`), then one `UpdateItem` of the message: `SET
//!   status = failed, error_code, error_text REMOVE status_provider_message_id` (the
//!   message keeps `provider_message_id`) on condition that it exists, has that provider
//!   id and is not already failed with that code; a failed condition with the same code
//!   is a no-op. Inbound messages have no lookup item, so only our outbound ones match.
//!
//! ## Windows
//!
//! The inbound window update runs after the inbound transaction, as one forward-only
//! UpdateItem: `SET last_inbound_at = :ts, sent_since_inbound = 0, expires_at = :ttl` on
//! condition that the item is live (`attribute_not_exists(expires_at) OR expires_at >
//! :now`), older (`attribute_not_exists(last_inbound_at) OR last_inbound_at < :ts`) and
//! that the TTL does not shrink (`attribute_not_exists(PK) OR expires_at <= :ttl`; state
//! kept forever instead `REMOVE`s `expires_at`). A failed condition returns the old
//! item: expired -> a fresh item is put in its place (expired state is absent); newer ->
//! nothing moves; only the TTL would shrink -> the same update without touching
//! `expires_at`. It is re-applied on duplicate deliveries, so a crash between the two
//! steps heals when the provider redelivers. Every read treats an item whose `expires_at`
//! has passed as absent (moto never deletes them; DynamoDB deletes them late).
//!
//! ## Requests per operation
//! (measured by `tests/dynamo_request_counts.rs`)
//!
//! | Operation | Requests |
//! |---|---|
//! | `record_inbound`, new contact | BatchGetItem (identity + dedup), TransactWriteItems, UpdateItem window = 3 |
//! | `record_inbound`, known contact | BatchGetItem (identity + dedup), GetItem contact, TransactWriteItems, UpdateItem window = 4 |
//! | `record_inbound`, duplicate | BatchGetItem (identity + dedup), UpdateItem window = 2 |
//! | `list_inbox` (no search), `closed` | Query partition, Query counters, BatchGetItem channel states = 3 |
//! | `list_inbox` (no search), `snoozed` | Query partition, Query counters, Query expired snoozes, BatchGetItem = 4 |
//! | `list_inbox` (no search), `open` | 2 Query partitions (open, snoozed), Query counters, Query expired snoozes, BatchGetItem = 5 |
//! | `list_inbox` (no search), `all` | 3 Query partitions, Query counters, Query expired snoozes, BatchGetItem = 6 |
//! | `list_inbox` (search) | 1 Query per distinct name term and phone candidate (1 for an email), BatchGetItem candidates, BatchGetItem channel states (two words: 4) |
//! | `get_contact` | Query contact partition, BatchGetItem paid counters = 2 |
//! | `begin_outbound` | Query contact partition, TransactWriteItems = 2 (+ GetItem paid counter on channels with paid messages) |
//! | `complete_outbound`, sent | GetItem message, TransactWriteItems (update + provider-id lookup) = 2 |
//! | `complete_outbound`, failed | UpdateItem = 1 |
//! | `record_provider_refusal` | GetItem contact-channel, UpdateItem window = 2 (+ GetItem contact when not on the channel; + PutItem when the window had expired) |
//! | `fail_by_provider_id` | GetItem lookup, UpdateItem message = 2 (unknown id: 1) |
//! | a command (e.g. `close`) | GetItem contact, TransactWriteItems = 2 |
//! | `set_channel_flag` | GetItem identity, UpdateItem = 2 |
//!
//! An empty page skips the channel-state BatchGetItem. Queries and batches larger than one
//! response page take more requests (counters: one item per agent and status; expired
//! snoozes: every snoozed contact whose time has passed).
//!
//! Conflicts (a condition failed because another writer got there first) re-read and
//! retry with a short random backoff, then give up with `StoreError::Conflict`: sends and
//! commands after 10 attempts, inbound deliveries after 15 (a burst of first messages from
//! one identity all race to create, then to update, one contact). Each lost race means
//! another writer made progress, so `n` concurrent writers need at most `n` attempts.
//!
//! ## Client settings
//!
//! [`client_config`] sets what the SDK does not: an operation timeout (2 s), an attempt
//! timeout (500 ms), a connect timeout (1 s) and the standard retry mode with 3 attempts.
//! `TransactWriteItems` carries a client request token, so a retried attempt is
//! idempotent.
//!
//! ## Testing
//!
//! `tests/contract_dynamo.rs` (the shared contract suite), `tests/dynamo_adapter.rs` and
//! `tests/dynamo_request_counts.rs` run against moto: `scripts/moto.sh start`, then
//! `REPLYLINE_DYNAMODB_ENDPOINT=http://127.0.0.1:5055 cargo test -p replyline-store`.
//! Without the variable those tests fail (they do not skip). Each test creates its own
//! table ([`create_table`]), so they run in parallel. moto never deletes expired items,
//! which exercises the read-side TTL filter, and accepts requests AWS rejects, which is
//! why [`db`] checks DynamoDB's limits itself. Plain `moto_server` handles concurrent
//! requests on threads without making transactions or conditional writes atomic, so
//! `scripts/moto.sh` runs moto's app with one request at a time (as DynamoDB serialises
//! conflicting writes); the concurrency tests depend on it.

mod commands;
pub mod db;
pub mod errors;
mod feedback;
mod inbound;
mod inbox;
pub mod items;
pub mod keys;
mod outbound;
pub mod table;
mod writes;

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use async_trait::async_trait;
use aws_sdk_dynamodb::config::retry::RetryConfig;
use aws_sdk_dynamodb::config::timeout::TimeoutConfig;
use aws_sdk_dynamodb::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_dynamodb::Client;
use replyline_domain::{
    AgentId, ChannelId, ClosingNote, ContactId, Cursor, Message, PageSize, ProfileFields,
    Timestamp, YearMonth,
};
use replyline_policy::MonthlyCount;

#[doc(hidden)]
pub use inbox::{partition_query, token_query_spec};
pub use table::{create_table, IndexDefinition, TableDefinition, TABLE};

use self::db::{Db, QuerySpec};
use self::items::{
    channel_from_item, contact_channel, key, paid_count, ChannelRecord, ContactRecord, Item,
    Reader, WindowRecord,
};
use self::keys::{Keys, SK_PROFILE};
use crate::error::{StoreError, StoreResult};
use crate::faults::Faults;
use crate::model::{
    CommandContext, CommandOutcome, ContactChannel, ContactDetails, ContactEvent, FlagChange,
    InboundOutcome, InboundRecord, InboxPage, InboxQuery, MessageKey, OutboundBegun,
    OutboundRequest, SendOutcome, TimelinePage,
};
use crate::ports::{
    ChannelFlags, ConversationCommands, InboundRecorder, InboxReader, OutboundRecorder,
};

/// Most candidates a search reads per term (see "Search" above).
pub const SEARCH_CANDIDATE_CAP: usize = 1000;

/// How often a send or a command reads, decides and writes before giving up with
/// `Conflict`. A lost race means another writer made progress, so `n` concurrent writers
/// on one contact need at most `n` attempts: 10 covers bursts CONTRACT.md's tests make
/// (8 concurrent sends) with room to spare.
pub(crate) const MAX_ATTEMPTS: u32 = 10;

/// SDK timeouts and retries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timeouts {
    /// The whole operation, retries included.
    pub operation: Duration,
    /// One attempt.
    pub attempt: Duration,
    pub connect: Duration,
    /// Attempts of the standard retry mode (first try included).
    pub max_attempts: u32,
}

impl Timeouts {
    /// For DynamoDB in AWS: a Lambda answers within its own deadline.
    pub const AWS: Timeouts = Timeouts {
        operation: Duration::from_secs(2),
        attempt: Duration::from_millis(500),
        connect: Duration::from_secs(1),
        max_attempts: 3,
    };

    /// For a local emulator (moto) under a parallel test run, which answers in
    /// milliseconds but stalls now and then under load.
    pub const LOCAL: Timeouts = Timeouts {
        operation: Duration::from_secs(30),
        attempt: Duration::from_secs(10),
        connect: Duration::from_secs(2),
        max_attempts: 3,
    };
}

/// The DynamoDB client configuration for production: `builder` (usually
/// `aws_sdk_dynamodb::config::Builder::from(&sdk_config)`) with [`Timeouts::AWS`].
pub fn client_config(builder: aws_sdk_dynamodb::config::Builder) -> aws_sdk_dynamodb::Config {
    configure(builder, Timeouts::AWS)
}

/// `builder` with explicit timeouts and the standard retry mode.
pub fn configure(
    builder: aws_sdk_dynamodb::config::Builder,
    timeouts: Timeouts,
) -> aws_sdk_dynamodb::Config {
    builder
        .timeout_config(
            TimeoutConfig::builder()
                .operation_timeout(timeouts.operation)
                .operation_attempt_timeout(timeouts.attempt)
                .connect_timeout(timeouts.connect)
                .build(),
        )
        .retry_config(RetryConfig::standard().with_max_attempts(timeouts.max_attempts))
        .build()
}

/// A config builder for a local endpoint (moto): dummy static credentials, us-east-1.
pub fn local_config_builder(endpoint: &str) -> aws_sdk_dynamodb::config::Builder {
    aws_sdk_dynamodb::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new(
            "test",
            "test",
            None,
            None,
            "replyline-local",
        ))
        .endpoint_url(endpoint)
}

/// A client for a local endpoint (moto), with [`Timeouts::LOCAL`].
pub fn local_client(endpoint: &str) -> Client {
    Client::from_conf(configure(local_config_builder(endpoint), Timeouts::LOCAL))
}

/// The DynamoDB store of one tenant.
#[derive(Clone, Debug)]
pub struct DynamoStore {
    db: Db,
    keys: Keys,
    faults: Faults,
}

/// A contact's partition as read: the contact, its channels and its windows.
#[derive(Clone, Debug)]
pub(crate) struct ContactSnapshot {
    pub record: ContactRecord,
    pub channels: BTreeMap<ChannelId, ChannelRecord>,
    /// Windows as stored (expired or not), with the raw item for exact conditions.
    pub windows: HashMap<ChannelId, (WindowRecord, Item)>,
}

impl DynamoStore {
    /// A store on `table` for `tenant`. `client` should come from [`client_config`] (or
    /// [`local_client`]); the table from `template.yaml` (or [`create_table`]).
    pub fn new(
        client: Client,
        table: impl Into<String>,
        tenant: impl Into<String>,
        faults: Faults,
    ) -> Self {
        let tenant = tenant.into();
        DynamoStore {
            db: Db::new(client, table.into()),
            keys: Keys::new(&tenant),
            faults,
        }
    }

    /// One cheap call made during a Lambda function's init (DescribeTable, no capacity
    /// used), so the first real request does not pay the TLS handshake (hundreds of ms at
    /// 128 MB). It also proves the table exists and the role may reach it.
    pub async fn warm_up(&self) -> StoreResult<()> {
        self.db.describe().await
    }

    /// The contact item, strongly consistent.
    pub(crate) async fn read_contact(&self, id: &ContactId) -> StoreResult<Option<ContactRecord>> {
        match self.db.get(key(self.keys.contact(id), SK_PROFILE)).await? {
            Some(item) => ContactRecord::from_item(&item).map(Some),
            None => Ok(None),
        }
    }

    /// The contact partition (profile, channels, windows), strongly consistent.
    pub(crate) async fn read_snapshot(
        &self,
        id: &ContactId,
    ) -> StoreResult<Option<ContactSnapshot>> {
        let items = self
            .db
            .query_all(&QuerySpec::partition(self.keys.contact(id)), usize::MAX)
            .await?;
        let mut record = None;
        let mut channels = BTreeMap::new();
        let mut windows = HashMap::new();
        for item in items {
            let sk = Reader::new(&item, "contact partition").str(keys::SK)?;
            if sk == SK_PROFILE {
                record = Some(ContactRecord::from_item(&item)?);
            } else if sk.starts_with("CH#") {
                let ch = channel_from_item(id, &item)?;
                channels.insert(ch.identity.channel.clone(), ch);
            } else if let Some(channel) = sk.strip_prefix("WIN#") {
                let channel = ChannelId::parse(channel)
                    .map_err(|e| StoreError::Corrupt(format!("window key: {e}")))?;
                windows.insert(channel, (WindowRecord::from_item(&item)?, item));
            }
        }
        Ok(record.map(|record| ContactSnapshot {
            record,
            channels,
            windows,
        }))
    }

    /// The paid counters of `channels` for `month` (absent or expired: not in the map).
    pub(crate) async fn read_paid(
        &self,
        channels: impl IntoIterator<Item = &ChannelId>,
        month: YearMonth,
        now: Timestamp,
    ) -> StoreResult<HashMap<ChannelId, u32>> {
        let keys: Vec<Item> = channels
            .into_iter()
            .map(|ch| key(self.keys.paid(ch), Keys::paid_sk(month)))
            .collect();
        if keys.is_empty() {
            return Ok(HashMap::new());
        }
        let mut out = HashMap::new();
        for item in self.db.batch_get(keys, true).await? {
            if items::expired(&item, now.as_secs()) {
                continue;
            }
            let channel: ChannelId = Reader::new(&item, "paid counter").parse("channel")?;
            out.insert(channel, paid_count(&item)?);
        }
        Ok(out)
    }

    /// Every channel of a snapshot with its state at `now`.
    pub(crate) fn channels_of(
        snapshot: &ContactSnapshot,
        paid: &HashMap<ChannelId, u32>,
        now: Timestamp,
    ) -> Vec<ContactChannel> {
        snapshot
            .channels
            .values()
            .map(|ch| {
                let window = snapshot.windows.get(&ch.identity.channel).map(|(w, _)| w);
                let paid = paid.get(&ch.identity.channel).map(|count| MonthlyCount {
                    month: now.month(),
                    count: *count,
                });
                contact_channel(&snapshot.record.contact, ch.clone(), window, paid, now)
            })
            .collect()
    }
}

#[async_trait]
impl InboundRecorder for DynamoStore {
    async fn record_inbound(&self, record: &InboundRecord) -> StoreResult<InboundOutcome> {
        self.inbound(record).await
    }
}

#[async_trait]
impl ChannelFlags for DynamoStore {
    async fn set_channel_flag(&self, change: &FlagChange) -> StoreResult<()> {
        self.channel_flag(change).await
    }
}

#[async_trait]
impl InboxReader for DynamoStore {
    async fn list_inbox(&self, query: &InboxQuery) -> StoreResult<InboxPage> {
        self.inbox(query).await
    }

    async fn get_contact(&self, id: &ContactId, now: Timestamp) -> StoreResult<ContactDetails> {
        self.contact_details(id, now).await
    }

    async fn list_messages(
        &self,
        id: &ContactId,
        limit: PageSize,
        cursor: Option<&Cursor>,
    ) -> StoreResult<TimelinePage> {
        self.timeline(id, limit, cursor).await
    }

    async fn list_events(&self, id: &ContactId) -> StoreResult<Vec<ContactEvent>> {
        self.events(id).await
    }
}

#[async_trait]
impl OutboundRecorder for DynamoStore {
    async fn begin_outbound(&self, request: &OutboundRequest) -> StoreResult<OutboundBegun> {
        self.outbound(request).await
    }

    async fn complete_outbound(
        &self,
        key: &MessageKey,
        outcome: &SendOutcome,
        now: Timestamp,
    ) -> StoreResult<Message> {
        self.complete(key, outcome, now).await
    }

    async fn record_provider_refusal(
        &self,
        contact: &ContactId,
        channel: &ChannelId,
        at: Timestamp,
        quota: bool,
    ) -> StoreResult<()> {
        self.provider_refusal(contact, channel, at, quota).await
    }

    async fn fail_by_provider_id(
        &self,
        channel: &ChannelId,
        provider_message_id: &str,
        code: &str,
        text: &str,
        _now: Timestamp,
    ) -> StoreResult<Option<Message>> {
        self.fail_by_provider(channel, provider_message_id, code, text)
            .await
    }
}

#[async_trait]
impl ConversationCommands for DynamoStore {
    async fn close(
        &self,
        id: &ContactId,
        note: Option<ClosingNote>,
        unassign: bool,
        ctx: &CommandContext,
    ) -> StoreResult<CommandOutcome> {
        self.close_conversation(id, note, unassign, ctx).await
    }

    async fn open(&self, id: &ContactId, ctx: &CommandContext) -> StoreResult<CommandOutcome> {
        self.open_conversation(id, ctx).await
    }

    async fn snooze(
        &self,
        id: &ContactId,
        until: Timestamp,
        ctx: &CommandContext,
    ) -> StoreResult<CommandOutcome> {
        self.snooze_conversation(id, until, ctx).await
    }

    async fn assign(
        &self,
        id: &ContactId,
        agent: Option<AgentId>,
        ctx: &CommandContext,
    ) -> StoreResult<CommandOutcome> {
        self.assign_contact(id, agent, ctx).await
    }

    async fn set_blocked(
        &self,
        id: &ContactId,
        blocked: bool,
        ctx: &CommandContext,
    ) -> StoreResult<CommandOutcome> {
        self.block_contact(id, blocked, ctx).await
    }

    async fn update_profile(
        &self,
        id: &ContactId,
        profile: ProfileFields,
        ctx: &CommandContext,
    ) -> StoreResult<CommandOutcome> {
        self.edit_profile(id, profile, ctx).await
    }
}
