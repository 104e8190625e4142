//! The webhook's write side: recording inbound events, and channel hard stops.
//!
//! An event is recorded in one `BEGIN IMMEDIATE` transaction: dedup check, contact
//! (found by identity or created), message, conversation, window, inbox row and dedup
//! record commit together or not at all. Redelivery of the same event finds the dedup
//! record and changes nothing.

use replyline_domain::{
    Actor, ChannelIdentity, Contact, ContactId, ConversationId, ConversationStatus, Direction,
    Message, MessageId, MessageStatus, Sender, Timestamp,
};
use rusqlite::Connection;

use super::channels::{self, Window};
use super::contacts::{self, ContactRecord};
use super::conversations;
use super::events;
use super::messages;
use super::rows::{ms, Cols, Db};
use super::write_tx;
use crate::common::{fill_profile, window_expiry};
use crate::error::{StoreError, StoreResult};
use crate::faults::{FaultPoint, Faults};
use crate::model::{EventAction, FlagChange, InboundOutcome, InboundRecord, DEDUP_TTL};

/// Expired dedup records deleted per recorded event, so the table stays bounded
/// without a separate sweeper.
const PRUNE_BATCH: i64 = 32;

pub(crate) fn record(
    conn: &mut Connection,
    faults: &Faults,
    rec: &InboundRecord,
) -> StoreResult<InboundOutcome> {
    let tx = write_tx(conn)?;
    let now = rec.received_at;
    prune_dedup(&tx, now)?;

    if let Some(seen) = find_dedup(&tx, rec)? {
        // Everything the event did was committed with its dedup record.
        tx.commit().db()?;
        return Ok(seen);
    }

    // Found by identity, or created (the contact row first: every other row refers to it).
    let (mut record, stored, contact_created) =
        match channels::contact_of(&tx, &rec.channel, &rec.external_id)? {
            Some(id) => {
                let mut record = contacts::load(&tx, &id)?.ok_or_else(|| {
                    StoreError::Corrupt(format!("an identity points to missing contact {id}"))
                })?;
                let stored = record.clone();
                if fill_profile(&mut record.contact, &rec.profile) {
                    record.contact.updated_at = now;
                }
                (record, stored, false)
            }
            None => {
                let contact = Contact::new(ContactId::generate(now), rec.profile.clone(), now);
                let mut record = ContactRecord::new(contact, rec.occurred_at);
                contacts::insert(&tx, &mut record)?;
                let identity = ChannelIdentity {
                    channel: rec.channel.clone(),
                    kind: rec.kind,
                    external_id: rec.external_id.clone(),
                    contact_id: record.contact.id.clone(),
                };
                channels::insert_identity(&tx, &identity, now)?;
                (record.clone(), record, true)
            }
        };
    let contact_id = record.contact.id.clone();

    let mut outcome = InboundOutcome {
        duplicate: false,
        contact_id: contact_id.clone(),
        contact_created,
        message_id: None,
        conversation_id: None,
        conversation_opened: false,
        window_moved: false,
    };

    if let Some(content) = &rec.content {
        let conversation =
            join_conversation(&tx, &mut record, now, &mut outcome.conversation_opened)?;
        let message = Message {
            id: MessageId::generate(rec.occurred_at),
            contact_id: contact_id.clone(),
            conversation_id: conversation.clone(),
            channel: rec.channel.clone(),
            direction: Direction::Inbound,
            sender: Sender::Contact,
            content: content.clone(),
            // It reached us: delivered, under the provider's id.
            status: MessageStatus::Sent {
                provider_message_id: rec.provider_event_id.clone(),
            },
            provider_message_id: Some(rec.provider_event_id.clone()),
            idempotency_key: None,
            created_at: rec.occurred_at,
            applied_tag: None,
            paid: false,
        };
        messages::insert(&tx, &message, None)?;
        record.note_message(&message);
        outcome.message_id = Some(message.id);
        outcome.conversation_id = conversation;
    }
    // Written only if the event changed it (a follow from a known contact does not).
    if stored != record {
        contacts::update(&tx, &mut record)?;
    }

    faults.check(FaultPoint::InboundWindowUpdate)?;
    outcome.window_moved = move_window(&tx, &contact_id, rec)?;

    insert_dedup(&tx, rec, &outcome)?;
    faults.check(FaultPoint::InboundCommit)?;
    tx.commit().db()?;
    Ok(outcome)
}

/// The conversation an inbound message belongs to: the open one; a snoozed one, woken;
/// else a new one, unless the contact is blocked (the message is kept outside any
/// conversation). Sets `opened` when a new one was opened.
fn join_conversation(
    conn: &Connection,
    record: &mut ContactRecord,
    now: Timestamp,
    opened: &mut bool,
) -> StoreResult<Option<ConversationId>> {
    let id = record.contact.id.clone();
    match conversations::not_closed(conn, record)? {
        Some(mut c) if c.status == ConversationStatus::Snoozed && !record.contact.blocked => {
            c.status = ConversationStatus::Open;
            c.snoozed_until = None;
            conversations::save(conn, &c)?;
            record.show(&c);
            let action = EventAction::Opened {
                conversation_id: c.id.clone(),
                by_outbound: false,
            };
            events::append(conn, &id, now, &Actor::Contact, &action)?;
            Ok(Some(c.id))
        }
        Some(c) => Ok(Some(c.id)),
        None if record.contact.blocked => Ok(None),
        None => {
            let c = conversations::open_new(conn, &id, Actor::Contact, now)?;
            record.show(&c);
            let action = EventAction::Opened {
                conversation_id: c.id.clone(),
                by_outbound: false,
            };
            events::append(conn, &id, now, &Actor::Contact, &action)?;
            *opened = true;
            Ok(Some(c.id))
        }
    }
}

/// Moves the contact-channel's window forward (never back) and resets its message
/// count. Returns whether it moved.
fn move_window(conn: &Connection, contact: &ContactId, rec: &InboundRecord) -> StoreResult<bool> {
    let row = channels::of_contact_on(conn, contact, &rec.channel, rec.received_at)?;
    let mut window = row.map(|r| r.window).unwrap_or_default();
    let mut state = window.state();
    if !state.record_inbound(rec.opener, rec.occurred_at) {
        return Ok(false);
    }
    let had_state = window != Window::default();
    window.apply(&state);
    // Keep the state as long as its longest-lived part needs: `None` is "keep".
    let new_expiry = window_expiry(rec);
    window.expires_at = match (had_state, window.expires_at, new_expiry) {
        (false, _, e) => e,
        (true, Some(old), Some(new)) => Some(old.max(new)),
        (true, _, _) => None,
    };
    channels::save_window(conn, contact, &rec.channel, &window)?;
    Ok(true)
}

fn find_dedup(conn: &Connection, rec: &InboundRecord) -> StoreResult<Option<InboundOutcome>> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT contact_id, message_id, conversation_id FROM inbound_dedup \
             WHERE channel = ?1 AND provider_event_id = ?2",
        )
        .db()?;
    let mut rows = stmt
        .query((rec.channel.as_str(), rec.provider_event_id.as_str()))
        .db()?;
    let Some(row) = rows.next().db()? else {
        return Ok(None);
    };
    let r = Cols(row);
    Ok(Some(InboundOutcome {
        duplicate: true,
        contact_id: r.parsed("contact_id")?,
        contact_created: false,
        message_id: r.opt_parsed("message_id")?,
        conversation_id: r.opt_parsed("conversation_id")?,
        conversation_opened: false,
        window_moved: false,
    }))
}

fn insert_dedup(
    conn: &Connection,
    rec: &InboundRecord,
    outcome: &InboundOutcome,
) -> StoreResult<()> {
    let mut stmt = conn
        .prepare_cached(
            "INSERT INTO inbound_dedup (channel, provider_event_id, contact_id, message_id, \
             conversation_id, recorded_at, expires_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
        )
        .db()?;
    stmt.execute((
        rec.channel.as_str(),
        rec.provider_event_id.as_str(),
        outcome.contact_id.as_str(),
        outcome.message_id.as_ref().map(|m| m.as_str()),
        outcome.conversation_id.as_ref().map(|c| c.as_str()),
        ms(rec.received_at),
        ms(rec.received_at.saturating_add(DEDUP_TTL)),
    ))
    .db()?;
    Ok(())
}

/// Forgets a few dedup records older than any provider retries.
fn prune_dedup(conn: &Connection, now: Timestamp) -> StoreResult<()> {
    let mut stmt = conn
        .prepare_cached(
            "DELETE FROM inbound_dedup WHERE (channel, provider_event_id) IN \
             (SELECT channel, provider_event_id FROM inbound_dedup \
              WHERE expires_at <= ?1 LIMIT ?2)",
        )
        .db()?;
    stmt.execute((ms(now), PRUNE_BATCH)).db()?;
    Ok(())
}

pub(crate) fn set_flag(conn: &mut Connection, change: &FlagChange) -> StoreResult<()> {
    let tx = write_tx(conn)?;
    let found = channels::set_flag(
        &tx,
        &change.channel,
        &change.external_id,
        change.flag,
        change.value,
        change.at,
    )?;
    if !found {
        return Err(StoreError::not_found(
            "channel identity",
            format!("{}/{}", change.channel, change.external_id),
        ));
    }
    tx.commit().db()
}
