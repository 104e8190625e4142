//! The send path's write side.
//!
//! `begin` is one `BEGIN IMMEDIATE` transaction: it reads the contact, its channel state
//! and the channel's paid counter, re-decides with the policy on exactly that state, and
//! writes the pending message, the counters, the (re)opened conversation, the assignment
//! and the inbox row, or nothing at all.

use replyline_domain::{
    Actor, AssignOnOutbound, ChannelId, ContactId, Content, ConversationStatus, Direction, Message,
    MessageId, MessageStatus, MessageTag, Sender, Timestamp,
};
use replyline_policy::{decide, MessageKind, SendRequest, SenderKind};
use rusqlite::Connection;

use super::channels;
use super::contacts::{self, ContactRecord};
use super::conversations;
use super::events;
use super::messages;
use super::rows::Db;
use super::write_tx;
use crate::common::request_fingerprint;
use crate::error::{StoreError, StoreResult};
use crate::faults::{FaultPoint, Faults};
use crate::model::{EventAction, MessageKey, OutboundBegun, OutboundRequest, SendOutcome};

pub(crate) fn begin(
    conn: &mut Connection,
    faults: &Faults,
    req: &OutboundRequest,
) -> StoreResult<OutboundBegun> {
    let (sender_kind, actor) = match &req.sender {
        Sender::Agent(a) => (SenderKind::Human, Actor::Agent(a.clone())),
        Sender::Automation => (SenderKind::Automation, Actor::System),
        Sender::Contact => {
            return Err(StoreError::Invalid(
                "an outbound message is sent by an agent or an automation, not the contact"
                    .to_owned(),
            ))
        }
    };
    let now = req.now;
    let tx = write_tx(conn)?;
    let mut record = contacts::require(&tx, &req.contact_id)?;
    let fingerprint = request_fingerprint(&req.channel, &req.content);

    if let Some(key) = &req.idempotency_key {
        if let Some((message, bound_to)) = messages::by_idempotency_key(&tx, &req.contact_id, key)?
        {
            if bound_to.as_deref() != Some(fingerprint.as_str()) {
                return Err(StoreError::IdempotencyMismatch(message.id));
            }
            return replay(&tx, &record, message);
        }
    }

    let row =
        channels::of_contact_on(&tx, &req.contact_id, &req.channel, now)?.ok_or_else(|| {
            StoreError::NotOnChannel {
                contact: req.contact_id.clone(),
                channel: req.channel.to_string(),
            }
        })?;
    let mut state = row.state(record.contact.blocked);
    let decision = decide(
        &req.rules,
        &state,
        SendRequest {
            sender: sender_kind,
            kind: message_kind(&req.content),
        },
        now,
    );
    if !decision.is_allowed() {
        return Err(StoreError::Refused(Box::new(decision)));
    }
    let applied_tag = decision
        .tag()
        .map(MessageTag::parse)
        .transpose()
        .map_err(|e| StoreError::Invalid(format!("the channel rules name a bad tag: {e}")))?;
    let paid = decision.is_paid();

    // The conversation: the open (or snoozed) one, else a new one (reopen).
    let (conversation, conversation_opened) = match conversations::not_closed(&tx, &record)? {
        Some(mut c) if c.status == ConversationStatus::Snoozed => {
            // Sending wakes a snoozed conversation.
            c.status = ConversationStatus::Open;
            c.snoozed_until = None;
            conversations::save(&tx, &c)?;
            record.show(&c);
            let action = EventAction::Opened {
                conversation_id: c.id.clone(),
                by_outbound: true,
            };
            events::append(&tx, &req.contact_id, now, &actor, &action)?;
            (c, false)
        }
        Some(c) => (c, false),
        None => {
            let c = conversations::open_new(&tx, &req.contact_id, actor.clone(), now)?;
            record.show(&c);
            let action = EventAction::Opened {
                conversation_id: c.id.clone(),
                by_outbound: true,
            };
            events::append(&tx, &req.contact_id, now, &actor, &action)?;
            (c, true)
        }
    };

    let message = Message {
        id: MessageId::generate(now),
        contact_id: req.contact_id.clone(),
        conversation_id: Some(conversation.id.clone()),
        channel: req.channel.clone(),
        direction: Direction::Outbound,
        sender: req.sender.clone(),
        content: req.content.clone(),
        status: MessageStatus::Pending,
        provider_message_id: None,
        idempotency_key: req.idempotency_key.clone(),
        created_at: now,
        applied_tag,
        paid,
    };
    messages::insert(&tx, &message, Some(&fingerprint))?;

    // Counters: the window's quota and the channel account's month.
    state.record_outbound(paid, now);
    let mut window = row.window.clone();
    window.apply(&state);
    channels::save_window(&tx, &req.contact_id, &req.channel, &window)?;
    if paid {
        channels::count_paid(&tx, &req.channel, now.month())?;
    }

    // Assignment: a human sender takes the contact as the workspace says.
    if let Sender::Agent(agent) = &req.sender {
        let takes = match req.assign {
            AssignOnOutbound::Always => record.contact.assignee.as_ref() != Some(agent),
            AssignOnOutbound::IfUnassigned => record.contact.assignee.is_none(),
        };
        if takes {
            record.contact.assignee = Some(agent.clone());
            record.contact.updated_at = now;
            let action = EventAction::Assigned {
                agent: Some(agent.clone()),
            };
            events::append(&tx, &req.contact_id, now, &actor, &action)?;
        }
    }

    record.note_message(&message);
    contacts::update(&tx, &mut record)?;

    faults.check(FaultPoint::OutboundCommit)?;
    tx.commit().db()?;
    Ok(OutboundBegun {
        message,
        conversation,
        conversation_opened,
        assignee: record.contact.assignee,
        identity: row.identity,
        decision: Some(decision),
        replayed: false,
    })
}

/// What a retried send with a known idempotency key answers: the message as it is now.
fn replay(
    conn: &Connection,
    record: &ContactRecord,
    message: Message,
) -> StoreResult<OutboundBegun> {
    let corrupt =
        |what: &str| StoreError::Corrupt(format!("outbound message {}: {what}", message.id));
    let conversation = match &message.conversation_id {
        Some(id) => {
            conversations::load(conn, id)?.ok_or_else(|| corrupt("missing conversation"))?
        }
        None => return Err(corrupt("no conversation")),
    };
    let identity = channels::of_contact(conn, &record.contact.id, message.created_at)?
        .into_iter()
        .find(|c| c.identity.channel == message.channel)
        .map(|c| c.identity)
        .ok_or_else(|| corrupt("missing channel identity"))?;
    Ok(OutboundBegun {
        message,
        conversation,
        conversation_opened: false,
        assignee: record.contact.assignee.clone(),
        identity,
        decision: None,
        replayed: true,
    })
}

/// What the policy needs to know about the content: a template, a tagged message or
/// plain text.
fn message_kind(content: &Content) -> MessageKind<'_> {
    if content.template().is_some() {
        MessageKind::Template
    } else if let Some(tag) = content.tag() {
        MessageKind::Tagged(tag.as_str())
    } else {
        MessageKind::Plain
    }
}

pub(crate) fn complete(
    conn: &mut Connection,
    faults: &Faults,
    key: &MessageKey,
    outcome: &SendOutcome,
    _now: Timestamp,
) -> StoreResult<Message> {
    let tx = write_tx(conn)?;
    let mut message = messages::load(&tx, &key.contact_id, &key.id, key.created_at)?
        .ok_or_else(|| StoreError::not_found("message", &key.id))?;
    let (status, provider_id) = match outcome {
        SendOutcome::Sent {
            provider_message_id,
        } => (
            MessageStatus::Sent {
                provider_message_id: provider_message_id.clone(),
            },
            Some(provider_message_id.clone()),
        ),
        SendOutcome::Failed { code, text } => (
            MessageStatus::Failed {
                code: code.clone(),
                text: text.clone(),
            },
            None,
        ),
    };
    if message.status == status {
        return Ok(message);
    }
    if message.direction != Direction::Outbound || message.status != MessageStatus::Pending {
        return Err(StoreError::NotPending {
            id: message.id,
            current: messages::status_word(&message.status),
        });
    }
    message.status = status;
    message.provider_message_id = provider_id;
    faults.check(FaultPoint::CompleteCommit)?;
    messages::set_status(&tx, &message)?;
    tx.commit().db()?;
    Ok(message)
}

/// Records a provider's refusal on the contact-channel's window, forward only. The window
/// is read as of `at`: expired state is absent, so the refusal starts a fresh row (kept
/// without expiry, like a row a send creates); live state keeps its expiry.
pub(crate) fn record_refusal(
    conn: &mut Connection,
    contact: &ContactId,
    channel: &ChannelId,
    at: Timestamp,
    quota: bool,
) -> StoreResult<()> {
    let tx = write_tx(conn)?;
    contacts::require(&tx, contact)?;
    let row = channels::of_contact_on(&tx, contact, channel, at)?.ok_or_else(|| {
        StoreError::NotOnChannel {
            contact: contact.clone(),
            channel: channel.to_string(),
        }
    })?;
    let mut window = row.window;
    let mut state = window.state();
    state.record_provider_refusal(at, quota);
    if state == window.state() {
        // Not newer than what is recorded: nothing moves.
        return Ok(());
    }
    window.apply(&state);
    channels::save_window(&tx, contact, channel, &window)?;
    tx.commit().db()
}

/// A delivery failure the provider reported after the fact: our outbound message with
/// that provider id becomes failed (keeping the provider id); the same code again is a
/// no-op; an unknown id is `None`.
pub(crate) fn fail_by_provider_id(
    conn: &mut Connection,
    faults: &Faults,
    channel: &ChannelId,
    provider_message_id: &str,
    code: &str,
    text: &str,
) -> StoreResult<Option<Message>> {
    let tx = write_tx(conn)?;
    let Some(mut message) = messages::outbound_by_provider_id(&tx, channel, provider_message_id)?
    else {
        return Ok(None);
    };
    if matches!(&message.status, MessageStatus::Failed { code: c, .. } if c == code) {
        return Ok(Some(message));
    }
    message.status = MessageStatus::Failed {
        code: code.to_owned(),
        text: text.to_owned(),
    };
    faults.check(FaultPoint::CompleteCommit)?;
    messages::set_status(&tx, &message)?;
    tx.commit().db()?;
    Ok(Some(message))
}
