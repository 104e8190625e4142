//! The `messages` table: the timeline (keyset-paged newest first) and the idempotency
//! keys of outbound sends.

use replyline_domain::{
    ChannelId, ContactId, IdempotencyKey, Message, MessageId, MessageStatus, Timestamp,
};
use rusqlite::{named_params, Connection};

use super::rows::{flag, json, ms, word, Cols, Db};
use crate::common::ActivityPosition;
use crate::error::StoreResult;

const COLUMNS: &str = "id, contact_id, conversation_id, channel, direction, sender, content, \
    status, provider_message_id, idempotency_key, created_at, applied_tag, paid";

/// Stores a new message; `fingerprint` is what its idempotency key is bound to.
pub(crate) fn insert(conn: &Connection, m: &Message, fingerprint: Option<&str>) -> StoreResult<()> {
    let sql = format!(
        "INSERT INTO messages ({COLUMNS}, request_fingerprint) VALUES (:id, :contact_id, \
         :conversation_id, :channel, :direction, :sender, :content, :status, \
         :provider_message_id, :idempotency_key, :created_at, :applied_tag, :paid, \
         :fingerprint)"
    );
    let mut stmt = conn.prepare_cached(&sql).db()?;
    stmt.execute(named_params! {
        ":id": m.id.as_str(),
        ":contact_id": m.contact_id.as_str(),
        ":conversation_id": m.conversation_id.as_ref().map(|c| c.as_str()),
        ":channel": m.channel.as_str(),
        ":direction": word(&m.direction)?,
        ":sender": json(&m.sender)?,
        ":content": json(&m.content)?,
        ":status": json(&m.status)?,
        ":provider_message_id": m.provider_message_id.as_deref(),
        ":idempotency_key": m.idempotency_key.as_ref().map(|k| k.as_str()),
        ":created_at": ms(m.created_at),
        ":applied_tag": m.applied_tag.as_ref().map(|t| t.as_str()),
        ":paid": flag(m.paid),
        ":fingerprint": fingerprint,
    })
    .db()?;
    Ok(())
}

fn decode(r: &Cols<'_, '_>) -> StoreResult<Message> {
    Ok(Message {
        id: r.parsed("id")?,
        contact_id: r.parsed("contact_id")?,
        conversation_id: r.opt_parsed("conversation_id")?,
        channel: r.parsed("channel")?,
        direction: r.word("direction")?,
        sender: r.json("sender")?,
        content: r.json("content")?,
        status: r.json("status")?,
        provider_message_id: r.opt_text("provider_message_id")?,
        idempotency_key: r.opt_parsed("idempotency_key")?,
        created_at: r.at("created_at")?,
        applied_tag: r.opt_parsed("applied_tag")?,
        paid: r.boolean("paid")?,
    })
}

/// A message by its full key (contact, id and creation time, as DynamoDB needs it).
pub(crate) fn load(
    conn: &Connection,
    contact: &ContactId,
    id: &MessageId,
    created_at: Timestamp,
) -> StoreResult<Option<Message>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM messages WHERE id = ?1 AND contact_id = ?2 AND created_at = ?3"
    );
    let mut stmt = conn.prepare_cached(&sql).db()?;
    let mut rows = stmt
        .query((id.as_str(), contact.as_str(), ms(created_at)))
        .db()?;
    match rows.next().db()? {
        Some(row) => decode(&Cols(row)).map(Some),
        None => Ok(None),
    }
}

/// The message recorded under a client's idempotency key, with its request fingerprint.
pub(crate) fn by_idempotency_key(
    conn: &Connection,
    contact: &ContactId,
    key: &IdempotencyKey,
) -> StoreResult<Option<(Message, Option<String>)>> {
    let sql = format!(
        "SELECT {COLUMNS}, request_fingerprint FROM messages \
         WHERE contact_id = ?1 AND idempotency_key = ?2"
    );
    let mut stmt = conn.prepare_cached(&sql).db()?;
    let mut rows = stmt.query((contact.as_str(), key.as_str())).db()?;
    match rows.next().db()? {
        Some(row) => {
            let r = Cols(row);
            Ok(Some((decode(&r)?, r.opt_text("request_fingerprint")?)))
        }
        None => Ok(None),
    }
}

/// Our outbound message on `channel` that the provider knows as `provider_message_id`
/// (the newest one, should a provider ever reuse an id). The literal
/// `direction = 'outbound'` and the equality on the id let SQLite use the partial index
/// `messages_by_provider_id` (checked by `tests/sqlite_schema.rs`).
pub(crate) fn outbound_by_provider_id(
    conn: &Connection,
    channel: &ChannelId,
    provider_message_id: &str,
) -> StoreResult<Option<Message>> {
    let sql = format!(
        "SELECT {COLUMNS} FROM messages \
         WHERE channel = ?1 AND provider_message_id = ?2 AND direction = 'outbound' \
         ORDER BY created_at DESC, id DESC LIMIT 1"
    );
    let mut stmt = conn.prepare_cached(&sql).db()?;
    let mut rows = stmt.query((channel.as_str(), provider_message_id)).db()?;
    match rows.next().db()? {
        Some(row) => decode(&Cols(row)).map(Some),
        None => Ok(None),
    }
}

/// Records a delivery outcome.
pub(crate) fn set_status(conn: &Connection, m: &Message) -> StoreResult<()> {
    let mut stmt = conn
        .prepare_cached("UPDATE messages SET status = ?1, provider_message_id = ?2 WHERE id = ?3")
        .db()?;
    stmt.execute((
        json(&m.status)?,
        m.provider_message_id.as_deref(),
        m.id.as_str(),
    ))
    .db()?;
    Ok(())
}

/// Up to `limit` messages of a contact, newest first, strictly after `after`.
pub(crate) fn newest_first(
    conn: &Connection,
    contact: &ContactId,
    after: Option<&ActivityPosition>,
    limit: usize,
) -> StoreResult<Vec<Message>> {
    let limit = i64::try_from(limit).unwrap_or(i64::MAX);
    let mut out = Vec::new();
    match after {
        None => {
            let sql = format!(
                "SELECT {COLUMNS} FROM messages WHERE contact_id = ?1 \
                 ORDER BY created_at DESC, id DESC LIMIT ?2"
            );
            let mut stmt = conn.prepare_cached(&sql).db()?;
            let mut rows = stmt.query((contact.as_str(), limit)).db()?;
            while let Some(row) = rows.next().db()? {
                out.push(decode(&Cols(row))?);
            }
        }
        Some(pos) => {
            let sql = format!(
                "SELECT {COLUMNS} FROM messages WHERE contact_id = ?1 \
                 AND (created_at, id) < (?2, ?3) \
                 ORDER BY created_at DESC, id DESC LIMIT ?4"
            );
            let mut stmt = conn.prepare_cached(&sql).db()?;
            let mut rows = stmt
                .query((contact.as_str(), pos.at, pos.id.as_str(), limit))
                .db()?;
            while let Some(row) = rows.next().db()? {
                out.push(decode(&Cols(row))?);
            }
        }
    }
    Ok(out)
}

/// The status a message is in, as a word for errors.
pub(crate) fn status_word(status: &MessageStatus) -> &'static str {
    match status {
        MessageStatus::Pending => "pending",
        MessageStatus::Sent { .. } => "sent",
        MessageStatus::Failed { .. } => "failed",
    }
}
