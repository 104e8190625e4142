//! Conversation commands. Each is one `BEGIN IMMEDIATE` transaction that reads the
//! contact and its current conversation, decides, and writes the change with its audit
//! event; a command that changes nothing writes nothing.

use replyline_domain::{
    Actor, AgentId, ClosingNote, ContactId, Conversation, ConversationStatus, ProfileFields,
    Timestamp,
};
use rusqlite::{Connection, Transaction};

use super::contacts::{self, ContactRecord};
use super::conversations;
use super::events;
use super::rows::Db;
use super::write_tx;
use crate::common::apply_profile;
use crate::error::{StoreError, StoreResult};
use crate::faults::{FaultPoint, Faults};
use crate::model::{CommandContext, CommandOutcome, EventAction};

/// One command's transaction and what it has read.
struct Command<'c> {
    tx: Transaction<'c>,
    record: ContactRecord,
    actor: Actor,
    now: Timestamp,
    events: Vec<EventAction>,
}

impl<'c> Command<'c> {
    fn start(conn: &'c mut Connection, id: &ContactId, ctx: &CommandContext) -> StoreResult<Self> {
        let tx = write_tx(conn)?;
        let record = contacts::require(&tx, id)?;
        Ok(Command {
            tx,
            record,
            actor: Actor::Agent(ctx.actor.clone()),
            now: ctx.now,
            events: Vec::new(),
        })
    }

    fn refuse_if_blocked(&self) -> StoreResult<()> {
        if self.record.contact.blocked {
            return Err(StoreError::Blocked(self.record.contact.id.clone()));
        }
        Ok(())
    }

    fn open_conversation(&self) -> StoreResult<Option<Conversation>> {
        conversations::not_closed(&self.tx, &self.record)
    }

    /// Writes a changed conversation and shows it on the inbox row.
    fn save_conversation(&mut self, c: &Conversation) -> StoreResult<()> {
        conversations::save(&self.tx, c)?;
        self.record.show(c);
        Ok(())
    }

    /// The contact's own fields changed.
    fn touch(&mut self) {
        self.record.contact.updated_at = self.now;
    }

    /// Nothing to do: answers the state as it is.
    fn unchanged(self) -> StoreResult<CommandOutcome> {
        let conversation = conversations::current(&self.tx, &self.record)?;
        Ok(CommandOutcome {
            contact: self.record.contact,
            conversation,
            changed: false,
        })
    }

    /// Writes the contact and the events, and commits (unless a fault is injected).
    fn commit(mut self, faults: &Faults) -> StoreResult<CommandOutcome> {
        contacts::update(&self.tx, &mut self.record)?;
        for action in &self.events {
            events::append(
                &self.tx,
                &self.record.contact.id,
                self.now,
                &self.actor,
                action,
            )?;
        }
        let conversation = conversations::current(&self.tx, &self.record)?;
        faults.check(FaultPoint::CommandCommit)?;
        self.tx.commit().db()?;
        Ok(CommandOutcome {
            contact: self.record.contact,
            conversation,
            changed: true,
        })
    }
}

pub(crate) fn close(
    conn: &mut Connection,
    faults: &Faults,
    id: &ContactId,
    note: Option<ClosingNote>,
    unassign: bool,
    ctx: &CommandContext,
) -> StoreResult<CommandOutcome> {
    let mut cmd = Command::start(conn, id, ctx)?;
    cmd.refuse_if_blocked()?;
    let mut c = cmd
        .open_conversation()?
        .ok_or_else(|| StoreError::NoOpenConversation(id.clone()))?;
    c.status = ConversationStatus::Closed;
    c.closed_at = Some(cmd.now);
    c.closed_by = Some(cmd.actor.clone());
    c.closing_note = note.clone();
    c.snoozed_until = None;
    cmd.save_conversation(&c)?;
    let unassigned = unassign && cmd.record.contact.assignee.is_some();
    if unassigned {
        cmd.record.contact.assignee = None;
        cmd.touch();
    }
    cmd.events.push(EventAction::Closed {
        conversation_id: c.id,
        note,
        unassigned,
    });
    cmd.commit(faults)
}

pub(crate) fn open(
    conn: &mut Connection,
    faults: &Faults,
    id: &ContactId,
    ctx: &CommandContext,
) -> StoreResult<CommandOutcome> {
    let mut cmd = Command::start(conn, id, ctx)?;
    cmd.refuse_if_blocked()?;
    let c = match cmd.open_conversation()? {
        Some(c) if c.status == ConversationStatus::Open => return cmd.unchanged(),
        // A snoozed conversation wakes.
        Some(mut c) => {
            c.status = ConversationStatus::Open;
            c.snoozed_until = None;
            cmd.save_conversation(&c)?;
            c
        }
        None => {
            let c = conversations::open_new(&cmd.tx, id, cmd.actor.clone(), cmd.now)?;
            cmd.record.show(&c);
            c
        }
    };
    cmd.events.push(EventAction::Opened {
        conversation_id: c.id,
        by_outbound: false,
    });
    cmd.commit(faults)
}

pub(crate) fn snooze(
    conn: &mut Connection,
    faults: &Faults,
    id: &ContactId,
    until: Timestamp,
    ctx: &CommandContext,
) -> StoreResult<CommandOutcome> {
    let mut cmd = Command::start(conn, id, ctx)?;
    cmd.refuse_if_blocked()?;
    let mut c = cmd
        .open_conversation()?
        .ok_or_else(|| StoreError::NoOpenConversation(id.clone()))?;
    if until <= cmd.now {
        return Err(StoreError::Invalid(format!(
            "cannot snooze until {until}: that is not in the future"
        )));
    }
    if c.status == ConversationStatus::Snoozed && c.snoozed_until == Some(until) {
        return cmd.unchanged();
    }
    c.status = ConversationStatus::Snoozed;
    c.snoozed_until = Some(until);
    cmd.save_conversation(&c)?;
    cmd.events.push(EventAction::Snoozed {
        conversation_id: c.id,
        until,
    });
    cmd.commit(faults)
}

pub(crate) fn assign(
    conn: &mut Connection,
    faults: &Faults,
    id: &ContactId,
    agent: Option<AgentId>,
    ctx: &CommandContext,
) -> StoreResult<CommandOutcome> {
    let mut cmd = Command::start(conn, id, ctx)?;
    if cmd.record.contact.assignee == agent {
        return cmd.unchanged();
    }
    cmd.record.contact.assignee = agent.clone();
    cmd.touch();
    cmd.events.push(EventAction::Assigned { agent });
    cmd.commit(faults)
}

pub(crate) fn set_blocked(
    conn: &mut Connection,
    faults: &Faults,
    id: &ContactId,
    blocked: bool,
    ctx: &CommandContext,
) -> StoreResult<CommandOutcome> {
    let mut cmd = Command::start(conn, id, ctx)?;
    if cmd.record.contact.blocked == blocked {
        return cmd.unchanged();
    }
    cmd.record.contact.blocked = blocked;
    cmd.touch();
    cmd.events.push(if blocked {
        EventAction::Blocked
    } else {
        EventAction::Unblocked
    });
    cmd.commit(faults)
}

pub(crate) fn update_profile(
    conn: &mut Connection,
    faults: &Faults,
    id: &ContactId,
    profile: ProfileFields,
    ctx: &CommandContext,
) -> StoreResult<CommandOutcome> {
    let mut cmd = Command::start(conn, id, ctx)?;
    if !apply_profile(&mut cmd.record.contact, &profile) {
        return cmd.unchanged();
    }
    cmd.touch();
    cmd.events.push(EventAction::ProfileUpdated);
    cmd.commit(faults)
}
