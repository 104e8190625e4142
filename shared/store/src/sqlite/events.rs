//! The `contact_events` table: the audit trail of what was done to a contact.

use replyline_domain::{Actor, ContactId, Timestamp};
use rusqlite::Connection;

use super::rows::{json, ms, Cols, Db};
use crate::error::StoreResult;
use crate::model::{ContactEvent, EventAction};

pub(crate) fn append(
    conn: &Connection,
    contact: &ContactId,
    at: Timestamp,
    actor: &Actor,
    action: &EventAction,
) -> StoreResult<()> {
    let mut stmt = conn
        .prepare_cached(
            "INSERT INTO contact_events (contact_id, at, actor, action) VALUES (?1, ?2, ?3, ?4)",
        )
        .db()?;
    stmt.execute((contact.as_str(), ms(at), json(actor)?, json(action)?))
        .db()?;
    Ok(())
}

/// A contact's events, oldest first (in recording order within one instant).
pub(crate) fn of_contact(conn: &Connection, contact: &ContactId) -> StoreResult<Vec<ContactEvent>> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT at, actor, action FROM contact_events WHERE contact_id = ?1 ORDER BY at, seq",
        )
        .db()?;
    let mut rows = stmt.query([contact.as_str()]).db()?;
    let mut out = Vec::new();
    while let Some(row) = rows.next().db()? {
        let r = Cols(row);
        out.push(ContactEvent {
            at: r.at("at")?,
            actor: r.json("actor")?,
            action: r.json("action")?,
        });
    }
    Ok(out)
}
