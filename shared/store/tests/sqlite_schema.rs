//! The SQLite adapter's own guarantees: migrations, connection settings, and that the
//! listing and lookup queries run on indexes.

use std::path::{Path, PathBuf};

use replyline_domain::{MessageId, Timestamp};
use replyline_store::sqlite::schema::{LATEST_VERSION, MIGRATIONS};
use replyline_store::sqlite::SqliteStore;
use replyline_store::{Faults, StoreError};
use rusqlite::Connection;

/// A fresh directory for one test's database file, removed when dropped.
struct TempDir(PathBuf);

impl TempDir {
    fn new(name: &str) -> TempDir {
        let dir = std::env::temp_dir().join(format!(
            "replyline-sqlite-{name}-{}-{}",
            std::process::id(),
            MessageId::generate(Timestamp::EPOCH)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    fn db(&self) -> PathBuf {
        self.0.join("store.db")
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn user_version(path: &Path) -> i64 {
    let conn = Connection::open(path).unwrap();
    conn.pragma_query_value(None, "user_version", |r| r.get(0))
        .unwrap()
}

#[tokio::test]
async fn a_fresh_and_a_reopened_database_are_at_the_latest_version() {
    assert_eq!(LATEST_VERSION, MIGRATIONS.len() as i64);
    let dir = TempDir::new("versions");
    let store = SqliteStore::open(&dir.db(), Faults::default()).unwrap();
    assert_eq!(store.schema_version().await.unwrap(), LATEST_VERSION);
    drop(store);
    assert_eq!(user_version(&dir.db()), LATEST_VERSION);

    // Reopening applies nothing twice (a second CREATE TABLE would fail).
    let again = SqliteStore::open(&dir.db(), Faults::default()).unwrap();
    assert_eq!(again.schema_version().await.unwrap(), LATEST_VERSION);
    drop(again);

    let memory = SqliteStore::open_in_memory(Faults::default()).unwrap();
    assert_eq!(memory.schema_version().await.unwrap(), LATEST_VERSION);
}

#[tokio::test]
async fn an_older_database_is_migrated_forward() {
    let dir = TempDir::new("older");
    {
        // A database as the first release left it, with data in it.
        let conn = Connection::open(dir.db()).unwrap();
        conn.execute_batch(MIGRATIONS[0]).unwrap();
        conn.pragma_update(None, "user_version", 1).unwrap();
        conn.execute(
            "INSERT INTO paid_counters (channel, month, count) VALUES ('vb', '2026-11', 3)",
            [],
        )
        .unwrap();
    }
    let store = SqliteStore::open(&dir.db(), Faults::default()).unwrap();
    assert_eq!(store.schema_version().await.unwrap(), LATEST_VERSION);
    drop(store);
    let conn = Connection::open(dir.db()).unwrap();
    let kept: i64 = conn
        .query_row(
            "SELECT count FROM paid_counters WHERE channel = 'vb'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(kept, 3, "migrations keep the data");
    // Version 2: window rows carry the provider's refusals.
    let refusals: (Option<i64>, Option<i64>) = conn
        .query_row(
            "SELECT max(provider_closed_at), max(provider_exhausted_at) FROM windows",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(refusals, (None, None));
}

#[test]
fn a_database_from_a_newer_release_is_refused() {
    let dir = TempDir::new("newer");
    {
        let conn = Connection::open(dir.db()).unwrap();
        conn.pragma_update(None, "user_version", LATEST_VERSION + 1)
            .unwrap();
    }
    let err = SqliteStore::open(&dir.db(), Faults::default()).unwrap_err();
    assert!(
        matches!(&err, StoreError::Unavailable(m) if m.contains("newer")),
        "{err:?}"
    );
    assert_eq!(
        user_version(&dir.db()),
        LATEST_VERSION + 1,
        "left untouched"
    );
}

#[test]
fn an_unopenable_path_is_unavailable() {
    let dir = TempDir::new("missing");
    let path = dir.0.join("no-such-dir").join("store.db");
    assert!(matches!(
        SqliteStore::open(&path, Faults::default()),
        Err(StoreError::Unavailable(_))
    ));
}

#[tokio::test]
async fn the_file_is_in_wal_mode_with_foreign_keys() {
    let dir = TempDir::new("wal");
    let store = SqliteStore::open(&dir.db(), Faults::default()).unwrap();
    let settings = store.settings().await.unwrap();
    assert_eq!(settings.journal_mode, "wal");
    assert_eq!(settings.synchronous, 1, "NORMAL");
    assert!(settings.foreign_keys);
    assert!(settings.busy_timeout_ms >= 1000);
    // WAL is a property of the file: another connection sees it.
    let conn = Connection::open(dir.db()).unwrap();
    let mode: String = conn
        .pragma_query_value(None, "journal_mode", |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");

    let memory = SqliteStore::open_in_memory(Faults::default()).unwrap();
    let settings = memory.settings().await.unwrap();
    assert_eq!(settings.journal_mode, "memory", "WAL applies to files only");
    assert!(settings.foreign_keys);
}

#[test]
fn one_conversation_per_contact_that_is_not_closed_is_enforced_by_the_schema() {
    let conn = Connection::open_in_memory().unwrap();
    conn.execute_batch(MIGRATIONS[0]).unwrap();
    conn.execute_batch(
        "INSERT INTO contacts (id, created_at, updated_at, version, inbox_status, last_activity_at) \
         VALUES ('C1', 0, 0, 1, 'open', 0);
         INSERT INTO conversations (id, contact_id, status, opened_at, opened_by) \
         VALUES ('V1', 'C1', 'closed', 0, '{}'), ('V2', 'C1', 'open', 0, '{}');",
    )
    .unwrap();
    let second = conn.execute(
        "INSERT INTO conversations (id, contact_id, status, opened_at, opened_by) \
         VALUES ('V3', 'C1', 'snoozed', 0, '{}')",
        [],
    );
    assert!(second.is_err());
}

#[test]
fn foreign_keys_are_enforced() {
    let conn = Connection::open_in_memory().unwrap();
    conn.execute_batch(MIGRATIONS[0]).unwrap();
    conn.pragma_update(None, "foreign_keys", "ON").unwrap();
    // A parent before its children; the contact's current conversation last.
    conn.execute_batch(
        "INSERT INTO contacts (id, created_at, updated_at, version, inbox_status, \
         last_activity_at) VALUES ('C1', 0, 0, 1, 'closed', 0);
         INSERT INTO conversations (id, contact_id, status, opened_at, opened_by) \
         VALUES ('V1', 'C1', 'open', 0, '{}');
         UPDATE contacts SET conversation_id = 'V1', inbox_status = 'open' WHERE id = 'C1';",
    )
    .unwrap();
    let orphan = conn.execute(
        "INSERT INTO messages (id, contact_id, channel, direction, sender, content, status, \
         created_at) VALUES ('M1', 'C-missing', 'tg', 'inbound', '{}', '{}', '{}', 0)",
        [],
    );
    assert!(orphan.is_err(), "a message needs its contact");
    let dangling = conn.execute("UPDATE contacts SET conversation_id = 'V-missing'", []);
    assert!(dangling.is_err(), "a contact's conversation must exist");
    // The kept counters followed the writes.
    let counts: Vec<(String, String, i64)> = conn
        .prepare("SELECT status, assignee, n FROM inbox_counts WHERE n > 0")
        .unwrap()
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(counts, [("open".to_owned(), String::new(), 1)]);
}

/// The query plan of `sql`, one line per step.
fn plan(conn: &Connection, sql: &str) -> String {
    let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
    let rows = stmt
        .query_map([], |r| r.get::<_, String>(3))
        .unwrap()
        .map(Result::unwrap)
        .collect::<Vec<_>>();
    rows.join("\n")
}

#[test]
fn listings_and_lookups_run_on_indexes_without_sorting() {
    let conn = Connection::open_in_memory().unwrap();
    for m in MIGRATIONS {
        conn.execute_batch(m).unwrap();
    }
    let cases = [
        (
            "SELECT last_activity_at, id FROM contacts WHERE assignee = 'alice' \
             AND inbox_status = 'closed' AND (last_activity_at, id) < (5, 'x') \
             ORDER BY last_activity_at DESC, id DESC LIMIT 26",
            "contacts_by_assignee",
        ),
        (
            "SELECT last_activity_at, id FROM contacts WHERE assignee IS NULL \
             AND inbox_status = 'open' ORDER BY last_activity_at ASC, id ASC LIMIT 26",
            "contacts_by_assignee",
        ),
        (
            "SELECT last_activity_at, id FROM contacts WHERE 1 AND inbox_status = 'snoozed' \
             AND snoozed_until <= 5 ORDER BY last_activity_at DESC, id DESC LIMIT 26",
            "contacts_by_status",
        ),
        (
            "SELECT count(*) FROM contacts WHERE inbox_status = 'open'",
            "contacts_by_",
        ),
        (
            "SELECT id FROM contacts WHERE search_email = 'a@b.co'",
            "contacts_by_email",
        ),
        (
            "SELECT contact_id FROM contact_channels WHERE channel = 'tg' AND external_id = '1'",
            "PRIMARY KEY",
        ),
        (
            "SELECT id FROM messages WHERE contact_id = 'C' AND (created_at, id) < (5, 'x') \
             ORDER BY created_at DESC, id DESC LIMIT 26",
            "messages_timeline",
        ),
        (
            "SELECT id FROM messages WHERE contact_id = 'C' AND idempotency_key = 'k'",
            "messages_idempotency",
        ),
        (
            "SELECT contact_id FROM inbound_dedup WHERE channel = 'tg' AND provider_event_id = 'e'",
            "PRIMARY KEY",
        ),
        (
            "SELECT id FROM messages WHERE channel = 'wa' AND provider_message_id = 'wamid.X' \
             AND direction = 'outbound' ORDER BY created_at DESC, id DESC LIMIT 1",
            "messages_by_provider_id",
        ),
    ];
    for (sql, index) in cases {
        let p = plan(&conn, sql);
        assert!(p.contains(index), "{sql}\nwants {index}, plan:\n{p}");
        assert!(!p.contains("TEMP B-TREE"), "{sql}\nsorts:\n{p}");
        assert!(
            !p.starts_with("SCAN contacts\n") && p != "SCAN contacts",
            "{sql}\nscans:\n{p}"
        );
    }
    // A substring search reads the listing index alone, never the table.
    let term = "(instr(coalesce(search_first, ''), 'car') > 0 \
                OR instr(coalesce(search_last, ''), 'car') > 0 \
                OR instr(coalesce(search_phone, ''), '555') > 0)";
    for sql in [
        format!(
            "SELECT last_activity_at, id FROM contacts WHERE assignee = 'alice' \
             AND inbox_status = 'closed' AND {term} \
             ORDER BY last_activity_at DESC, id DESC LIMIT 26"
        ),
        format!(
            "SELECT count(*), count(*) FILTER (WHERE assignee IS NULL) FROM contacts \
             WHERE inbox_status = 'open' AND {term}"
        ),
    ] {
        let p = plan(&conn, &sql);
        assert!(p.contains("COVERING INDEX contacts_by_"), "{sql}\n{p}");
    }
}
