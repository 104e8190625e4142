//! The `conversations` table. A partial unique index keeps at most one conversation per
//! contact that is not closed.

use replyline_domain::{
    Actor, ContactId, Conversation, ConversationId, ConversationStatus, Timestamp,
};
use rusqlite::{named_params, Connection};

use super::contacts::ContactRecord;
use super::rows::{corrupt, json, ms, opt_json, opt_ms, word, Cols, Db};
use crate::error::StoreResult;

const COLUMNS: &str =
    "id, contact_id, status, opened_at, opened_by, closed_at, closed_by, closing_note, snoozed_until";

pub(crate) fn load(conn: &Connection, id: &ConversationId) -> StoreResult<Option<Conversation>> {
    let sql = format!("SELECT {COLUMNS} FROM conversations WHERE id = ?1");
    let mut stmt = conn.prepare_cached(&sql).db()?;
    let mut rows = stmt.query([id.as_str()]).db()?;
    match rows.next().db()? {
        Some(row) => decode(&Cols(row)).map(Some),
        None => Ok(None),
    }
}

/// The contact's current conversation (open, snoozed, or the latest closed one).
pub(crate) fn current(
    conn: &Connection,
    record: &ContactRecord,
) -> StoreResult<Option<Conversation>> {
    let Some(id) = &record.conversation_id else {
        return Ok(None);
    };
    match load(conn, id)? {
        Some(c) => Ok(Some(c)),
        None => Err(corrupt(
            "contacts.conversation_id",
            format!(
                "contact {} points to missing conversation {id}",
                record.contact.id
            ),
        )),
    }
}

/// The contact's conversation that is not closed (open or snoozed), if any.
pub(crate) fn not_closed(
    conn: &Connection,
    record: &ContactRecord,
) -> StoreResult<Option<Conversation>> {
    Ok(current(conn, record)?.filter(|c| c.status != ConversationStatus::Closed))
}

fn decode(r: &Cols<'_, '_>) -> StoreResult<Conversation> {
    Ok(Conversation {
        id: r.parsed("id")?,
        contact_id: r.parsed("contact_id")?,
        status: r.word("status")?,
        opened_at: r.at("opened_at")?,
        opened_by: r.json("opened_by")?,
        closed_at: r.opt_at("closed_at")?,
        closed_by: r.opt_json("closed_by")?,
        closing_note: r.opt_json("closing_note")?,
        snoozed_until: r.opt_at("snoozed_until")?,
    })
}

/// Opens a new conversation for a contact.
pub(crate) fn open_new(
    conn: &Connection,
    contact: &ContactId,
    by: Actor,
    at: Timestamp,
) -> StoreResult<Conversation> {
    let conversation = Conversation {
        id: ConversationId::generate(at),
        contact_id: contact.clone(),
        status: ConversationStatus::Open,
        opened_at: at,
        opened_by: by,
        closed_at: None,
        closed_by: None,
        closing_note: None,
        snoozed_until: None,
    };
    let sql = format!(
        "INSERT INTO conversations ({COLUMNS}) VALUES (:id, :contact_id, :status, :opened_at, \
         :opened_by, :closed_at, :closed_by, :closing_note, :snoozed_until)"
    );
    execute(conn, &sql, &conversation)?;
    Ok(conversation)
}

/// Writes a conversation's changed status, closing and snooze fields.
pub(crate) fn save(conn: &Connection, c: &Conversation) -> StoreResult<()> {
    let sql = "UPDATE conversations SET contact_id = :contact_id, status = :status, \
        opened_at = :opened_at, opened_by = :opened_by, closed_at = :closed_at, \
        closed_by = :closed_by, closing_note = :closing_note, snoozed_until = :snoozed_until \
        WHERE id = :id";
    if execute(conn, sql, c)? != 1 {
        return Err(corrupt(
            "conversations",
            format!("conversation {} vanished", c.id),
        ));
    }
    Ok(())
}

fn execute(conn: &Connection, sql: &str, c: &Conversation) -> StoreResult<usize> {
    let mut stmt = conn.prepare_cached(sql).db()?;
    stmt.execute(named_params! {
        ":id": c.id.as_str(),
        ":contact_id": c.contact_id.as_str(),
        ":status": word(&c.status)?,
        ":opened_at": ms(c.opened_at),
        ":opened_by": json(&c.opened_by)?,
        ":closed_at": opt_ms(c.closed_at),
        ":closed_by": opt_json(c.closed_by.as_ref())?,
        ":closing_note": opt_json(c.closing_note.as_ref())?,
        ":snoozed_until": opt_ms(c.snoozed_until),
    })
    .db()
}
