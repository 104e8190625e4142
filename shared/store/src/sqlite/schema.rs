//! Connection settings and schema migrations.
//!
//! The schema is a list of SQL migrations kept in the crate. `PRAGMA user_version` holds
//! how many have been applied; opening a database applies the missing ones in order, each
//! in its own `BEGIN IMMEDIATE` transaction together with the new `user_version`, so a
//! crash mid-migration leaves the previous version intact. A database written by a newer
//! Replyline (a higher version than this build knows) is refused rather than guessed at.

use std::time::Duration;

use rusqlite::{Connection, TransactionBehavior};

use super::rows::Db;
use crate::error::{StoreError, StoreResult};

/// Prepared statements kept per connection: every fixed statement of the adapter plus
/// the listing shapes in use (rusqlite's default of 16 would re-prepare on every call).
pub const STATEMENT_CACHE: usize = 256;

/// How long a statement waits for another connection's write lock before failing.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// The migrations, oldest first. Never edit one that has shipped: append a new one.
pub const MIGRATIONS: &[&str] = &[V1_INITIAL, V2_PROVIDER_FEEDBACK, V3_TRIGRAM_SEARCH];

/// The schema version this build writes: the number of migrations.
pub const LATEST_VERSION: i64 = MIGRATIONS.len() as i64;

/// Version 1. Instants are INTEGER Unix milliseconds, ids TEXT, enums their serde
/// strings, structured values (actors, senders, contents, statuses, notes, summaries)
/// JSON TEXT. Foreign keys are immediate: a transaction writes a parent before its
/// children. (Deferred ones would make SQLite search the child tables, some of them
/// unindexed on the key, whenever a parent row is inserted while a violation is pending.)
const V1_INITIAL: &str = r#"
-- A contact, with its inbox row denormalised onto it (status of the current
-- conversation, last activity, newest message) and its search keys.
CREATE TABLE contacts (
    id               TEXT PRIMARY KEY NOT NULL,
    first_name       TEXT,
    last_name        TEXT,
    email            TEXT,
    phone            TEXT,
    blocked          INTEGER NOT NULL DEFAULT 0 CHECK (blocked IN (0, 1)),
    assignee         TEXT,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    version          INTEGER NOT NULL,
    -- The stored status of the current conversation ('closed' when there is none); a
    -- snooze whose time has passed is read as open by the queries.
    inbox_status     TEXT NOT NULL CHECK (inbox_status IN ('open', 'snoozed', 'closed')),
    snoozed_until    INTEGER,
    -- The open or snoozed conversation, else the latest closed one.
    conversation_id  TEXT REFERENCES conversations (id),
    last_activity_at INTEGER NOT NULL,
    last_message     TEXT,
    -- Search keys (replyline_domain::SearchKeys): folded names, normalised email, digits.
    search_first     TEXT,
    search_last      TEXT,
    search_email     TEXT,
    search_phone     TEXT
) STRICT;

-- Mine / Unassigned: one ordered range per (assignee, status). The trailing columns make
-- the counts, the snooze filter and the substring search covering: a search scans index
-- entries in listing order and never visits the table.
CREATE INDEX contacts_by_assignee
    ON contacts (assignee, inbox_status, last_activity_at, id, snoozed_until,
                 search_first, search_last, search_phone);
-- All, likewise.
CREATE INDEX contacts_by_status
    ON contacts (inbox_status, last_activity_at, id, assignee, snoozed_until,
                 search_first, search_last, search_phone);
-- Exact email search.
CREATE INDEX contacts_by_email ON contacts (search_email) WHERE search_email IS NOT NULL;

-- How many contacts each (assignee, stored status) holds: the inbox's view counts
-- without a scan. Kept by triggers, so no write can forget them. '' is unassigned.
CREATE TABLE inbox_counts (
    assignee TEXT NOT NULL,
    status   TEXT NOT NULL,
    n        INTEGER NOT NULL CHECK (n >= 0),
    PRIMARY KEY (status, assignee)
) STRICT, WITHOUT ROWID;

CREATE TRIGGER contacts_counted AFTER INSERT ON contacts
BEGIN
    INSERT INTO inbox_counts (assignee, status, n)
    VALUES (coalesce(NEW.assignee, ''), NEW.inbox_status, 1)
    ON CONFLICT (status, assignee) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER contacts_recounted AFTER UPDATE OF assignee, inbox_status ON contacts
WHEN OLD.assignee IS NOT NEW.assignee OR OLD.inbox_status IS NOT NEW.inbox_status
BEGIN
    UPDATE inbox_counts SET n = n - 1
    WHERE assignee = coalesce(OLD.assignee, '') AND status = OLD.inbox_status;
    INSERT INTO inbox_counts (assignee, status, n)
    VALUES (coalesce(NEW.assignee, ''), NEW.inbox_status, 1)
    ON CONFLICT (status, assignee) DO UPDATE SET n = n + 1;
END;

CREATE TRIGGER contacts_uncounted AFTER DELETE ON contacts
BEGIN
    UPDATE inbox_counts SET n = n - 1
    WHERE assignee = coalesce(OLD.assignee, '') AND status = OLD.inbox_status;
END;

CREATE TABLE conversations (
    id            TEXT PRIMARY KEY NOT NULL,
    contact_id    TEXT NOT NULL REFERENCES contacts (id),
    status        TEXT NOT NULL CHECK (status IN ('open', 'snoozed', 'closed')),
    opened_at     INTEGER NOT NULL,
    opened_by     TEXT NOT NULL,
    closed_at     INTEGER,
    closed_by     TEXT,
    closing_note  TEXT,
    snoozed_until INTEGER
) STRICT;

-- The invariant "at most one conversation that is not closed per contact", enforced.
CREATE UNIQUE INDEX conversations_one_not_closed
    ON conversations (contact_id) WHERE status <> 'closed';
CREATE INDEX conversations_by_contact ON conversations (contact_id, opened_at);

-- A contact's identity on a channel, with the durable hard stops.
CREATE TABLE contact_channels (
    channel       TEXT NOT NULL,
    external_id   TEXT NOT NULL,
    kind          TEXT NOT NULL,
    contact_id    TEXT NOT NULL REFERENCES contacts (id),
    opted_out     INTEGER NOT NULL DEFAULT 0 CHECK (opted_out IN (0, 1)),
    unsubscribed  INTEGER NOT NULL DEFAULT 0 CHECK (unsubscribed IN (0, 1)),
    flags_changed_at INTEGER,
    created_at    INTEGER NOT NULL,
    PRIMARY KEY (channel, external_id)
) STRICT, WITHOUT ROWID;

CREATE UNIQUE INDEX contact_channels_by_contact ON contact_channels (contact_id, channel);

-- Window state of a contact-channel. Past expires_at it reads as absent (closed), whether
-- or not anything has deleted it yet.
CREATE TABLE windows (
    contact_id         TEXT NOT NULL REFERENCES contacts (id),
    channel            TEXT NOT NULL,
    last_inbound_at    INTEGER,
    last_opener        TEXT,
    last_opener_at     INTEGER,
    sent_since_inbound INTEGER NOT NULL DEFAULT 0 CHECK (sent_since_inbound >= 0),
    expires_at         INTEGER,
    PRIMARY KEY (contact_id, channel),
    CHECK ((last_opener IS NULL) = (last_opener_at IS NULL))
) STRICT, WITHOUT ROWID;

-- Paid messages per channel account and calendar month (UTC), e.g. '2026-11'.
CREATE TABLE paid_counters (
    channel TEXT NOT NULL,
    month   TEXT NOT NULL,
    count   INTEGER NOT NULL CHECK (count >= 0),
    PRIMARY KEY (channel, month)
) STRICT, WITHOUT ROWID;

CREATE TABLE messages (
    id                  TEXT PRIMARY KEY NOT NULL,
    contact_id          TEXT NOT NULL REFERENCES contacts (id),
    conversation_id     TEXT REFERENCES conversations (id),
    channel             TEXT NOT NULL,
    direction           TEXT NOT NULL CHECK (direction IN ('inbound', 'outbound')),
    sender              TEXT NOT NULL,
    content             TEXT NOT NULL,
    status              TEXT NOT NULL,
    provider_message_id TEXT,
    idempotency_key     TEXT,
    -- What the idempotency key is bound to (common::request_fingerprint).
    request_fingerprint TEXT,
    created_at          INTEGER NOT NULL,
    applied_tag         TEXT,
    paid                INTEGER NOT NULL DEFAULT 0 CHECK (paid IN (0, 1))
) STRICT;

-- The timeline, newest first by keyset.
CREATE INDEX messages_timeline ON messages (contact_id, created_at, id);
-- A send is recorded once per client key.
CREATE UNIQUE INDEX messages_idempotency
    ON messages (contact_id, idempotency_key) WHERE idempotency_key IS NOT NULL;

-- Webhook dedup: an event is recorded once per (channel, provider event id).
CREATE TABLE inbound_dedup (
    channel           TEXT NOT NULL,
    provider_event_id TEXT NOT NULL,
    contact_id        TEXT NOT NULL,
    message_id        TEXT,
    conversation_id   TEXT,
    recorded_at       INTEGER NOT NULL,
    expires_at        INTEGER NOT NULL,
    PRIMARY KEY (channel, provider_event_id)
) STRICT, WITHOUT ROWID;

CREATE INDEX inbound_dedup_by_expiry ON inbound_dedup (expires_at);

-- The audit trail of what was done to a contact.
CREATE TABLE contact_events (
    seq        INTEGER PRIMARY KEY,
    contact_id TEXT NOT NULL REFERENCES contacts (id),
    at         INTEGER NOT NULL,
    actor      TEXT NOT NULL,
    action     TEXT NOT NULL
) STRICT;

CREATE INDEX contact_events_by_contact ON contact_events (contact_id, at, seq);
"#;

/// Version 2. What providers tell us after the fact: a refusal that closes a window (or
/// uses up its quota) before our clock says so, kept on the window row; and an index to
/// find our outbound message by the provider's id when a delivery failure is reported.
const V2_PROVIDER_FEEDBACK: &str = r#"
-- The provider refused a send as outside the window (provider_closed_at) or over the
-- window's quota (provider_exhausted_at) at this instant (policy ContactChannelState).
ALTER TABLE windows ADD COLUMN provider_closed_at INTEGER;
ALTER TABLE windows ADD COLUMN provider_exhausted_at INTEGER;

-- Our outbound messages by the provider's id, for delivery failures reported later
-- (newest first, should a provider ever reuse an id).
CREATE INDEX messages_by_provider_id
    ON messages (channel, provider_message_id, created_at, id)
    WHERE direction = 'outbound' AND provider_message_id IS NOT NULL;
"#;

/// Version 3. Substring search through a trigram index over the search keys: a selective
/// search ("Karan", "5550123") reads its few candidates instead of scanning the listing
/// range (tens of ms at 100k contacts). The index only nominates candidates: the exact
/// `instr` condition still decides (search.rs), so both paths answer alike.
///
/// An external-content FTS5 table keyed by the contacts' rowid, kept by triggers. The
/// store never VACUUMs nor REPLACEs contacts (either could renumber a rowid); a manual
/// VACUUM must be followed by `INSERT INTO contact_search(contact_search) VALUES('rebuild')`.
const V3_TRIGRAM_SEARCH: &str = r#"
CREATE VIRTUAL TABLE contact_search USING fts5(
    search_first, search_last, search_phone,
    content = 'contacts', content_rowid = 'rowid',
    tokenize = 'trigram'
);
INSERT INTO contact_search (contact_search) VALUES ('rebuild');

CREATE TRIGGER contact_search_added AFTER INSERT ON contacts
BEGIN
    INSERT INTO contact_search (rowid, search_first, search_last, search_phone)
    VALUES (NEW.rowid, NEW.search_first, NEW.search_last, NEW.search_phone);
END;

CREATE TRIGGER contact_search_changed
AFTER UPDATE OF search_first, search_last, search_phone ON contacts
WHEN OLD.search_first IS NOT NEW.search_first
  OR OLD.search_last IS NOT NEW.search_last
  OR OLD.search_phone IS NOT NEW.search_phone
BEGIN
    INSERT INTO contact_search (contact_search, rowid, search_first, search_last, search_phone)
    VALUES ('delete', OLD.rowid, OLD.search_first, OLD.search_last, OLD.search_phone);
    INSERT INTO contact_search (rowid, search_first, search_last, search_phone)
    VALUES (NEW.rowid, NEW.search_first, NEW.search_last, NEW.search_phone);
END;

CREATE TRIGGER contact_search_removed AFTER DELETE ON contacts
BEGIN
    INSERT INTO contact_search (contact_search, rowid, search_first, search_last, search_phone)
    VALUES ('delete', OLD.rowid, OLD.search_first, OLD.search_last, OLD.search_phone);
END;
"#;

/// Applies the connection settings every connection needs: WAL (for files), normal
/// sync, foreign keys, a busy timeout.
pub fn configure(conn: &Connection) -> StoreResult<()> {
    conn.busy_timeout(BUSY_TIMEOUT).db()?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    // An in-memory database answers "memory": WAL only applies to files.
    let _mode: String = conn
        .pragma_update_and_check(None, "journal_mode", "WAL", |row| row.get(0))
        .db()?;
    conn.pragma_update(None, "synchronous", "NORMAL").db()?;
    conn.pragma_update(None, "foreign_keys", "ON").db()?;
    Ok(())
}

/// What a connection runs with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConnectionSettings {
    /// `wal` for a file, `memory` in memory.
    pub journal_mode: String,
    /// 0 off, 1 normal, 2 full, 3 extra.
    pub synchronous: i64,
    pub foreign_keys: bool,
    pub busy_timeout_ms: i64,
}

pub fn settings(conn: &Connection) -> StoreResult<ConnectionSettings> {
    let get = |name: &str| -> StoreResult<rusqlite::types::Value> {
        conn.pragma_query_value(None, name, |row| row.get(0)).db()
    };
    let text = |v: rusqlite::types::Value| match v {
        rusqlite::types::Value::Text(s) => Ok(s),
        other => Err(StoreError::Corrupt(format!(
            "unexpected pragma value {other:?}"
        ))),
    };
    let int = |v: rusqlite::types::Value| match v {
        rusqlite::types::Value::Integer(n) => Ok(n),
        other => Err(StoreError::Corrupt(format!(
            "unexpected pragma value {other:?}"
        ))),
    };
    Ok(ConnectionSettings {
        journal_mode: text(get("journal_mode")?)?,
        synchronous: int(get("synchronous")?)?,
        foreign_keys: int(get("foreign_keys")?)? == 1,
        busy_timeout_ms: int(get("busy_timeout")?)?,
    })
}

/// The schema version of the open database.
pub fn version(conn: &Connection) -> StoreResult<i64> {
    conn.pragma_query_value(None, "user_version", |row| row.get(0))
        .db()
}

/// Brings the database to [`LATEST_VERSION`], applying each missing migration in its own
/// transaction. Returns the version reached.
pub fn migrate(conn: &mut Connection) -> StoreResult<i64> {
    loop {
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .db()?;
        // Read inside the write lock: a concurrent opener may have migrated meanwhile.
        let current = version(&tx)?;
        if current > LATEST_VERSION {
            return Err(StoreError::Unavailable(format!(
                "the database has schema version {current}, newer than this build knows \
                 ({LATEST_VERSION}); upgrade Replyline"
            )));
        }
        let index = usize::try_from(current).map_err(|_| {
            StoreError::Corrupt(format!("the database has schema version {current}"))
        })?;
        let Some(sql) = MIGRATIONS.get(index) else {
            return Ok(current);
        };
        tx.execute_batch(sql).db()?;
        tx.pragma_update(None, "user_version", current + 1).db()?;
        tx.commit().db()?;
    }
}
