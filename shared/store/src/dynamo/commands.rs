//! Conversation commands (each a read of the contact and one transaction conditioned on
//! its version) and channel flags.

use replyline_domain::{
    Actor, AgentId, ClosingNote, ContactId, Conversation, ConversationId, ConversationStatus,
    ProfileFields, Timestamp,
};

use super::db::{backoff, Expr, Write, WriteError};
use super::errors::TxError;
use super::items::{b, conversation_item, identity_contact, key, ts, ContactRecord};
use super::keys::{Keys, SK_IDENTITY};
use super::writes::Plan;
use super::{DynamoStore, MAX_ATTEMPTS};
use crate::common::apply_profile;
use crate::error::{StoreError, StoreResult};
use crate::faults::FaultPoint;
use crate::model::{
    ChannelFlag, CommandContext, CommandOutcome, ContactEvent, EventAction, FlagChange,
};

/// What a command does to the contact it read.
#[derive(Debug, Default)]
struct Change {
    /// Events to record, in order.
    events: Vec<EventAction>,
    /// The current conversation changed (or is new): write its item.
    conversation: Option<ConversationWrite>,
    /// The profile changed: re-index search.
    profile: bool,
}

#[derive(Debug)]
enum ConversationWrite {
    New,
    Changed,
}

impl Change {
    fn is_empty(&self) -> bool {
        self.events.is_empty() && self.conversation.is_none() && !self.profile
    }
}

impl DynamoStore {
    /// Runs a command: read the contact, let `apply` change it (or refuse), write the
    /// change in one transaction conditioned on the version read; on a lost race, again.
    async fn command<F>(
        &self,
        id: &ContactId,
        ctx: &CommandContext,
        apply: F,
    ) -> StoreResult<CommandOutcome>
    where
        F: Fn(&mut ContactRecord) -> StoreResult<Change>,
    {
        for attempt in 0..MAX_ATTEMPTS {
            if attempt > 0 {
                backoff(attempt).await;
            }
            let before = self
                .read_contact(id)
                .await?
                .ok_or_else(|| StoreError::not_found("contact", id))?;
            let mut rec = before.clone();
            let change = apply(&mut rec)?;
            if change.is_empty() {
                return Ok(CommandOutcome {
                    contact: rec.contact,
                    conversation: rec.conversation,
                    changed: false,
                });
            }
            rec.contact.updated_at = ctx.now;
            let keys = &self.keys;
            let mut plan = Plan::new();
            if let (Some(write), Some(conv)) = (&change.conversation, &rec.conversation) {
                let item = conversation_item(keys, conv);
                plan.tx.push(
                    "conversation",
                    match write {
                        ConversationWrite::New => Write::create(item),
                        ConversationWrite::Changed => Write::put(item),
                    },
                );
            }
            for action in &change.events {
                let event = ContactEvent {
                    at: ctx.now,
                    actor: Actor::Agent(ctx.actor.clone()),
                    action: action.clone(),
                };
                plan.event(keys, &mut rec, &event)?;
            }
            if change.profile {
                plan.tokens(
                    keys,
                    id,
                    Some(&before.contact.search_keys()),
                    &rec.contact.search_keys(),
                );
            }
            plan.counters(keys, Some(&before.slot()), Some(&rec.slot()));
            plan.contact(keys, Some(&before), &mut rec);
            match self.commit(plan, FaultPoint::CommandCommit).await {
                Ok(()) => {
                    return Ok(CommandOutcome {
                        contact: rec.contact,
                        conversation: rec.conversation,
                        changed: true,
                    })
                }
                Err(TxError::Store(e)) => return Err(e),
                Err(TxError::Cancelled(_)) => {}
            }
        }
        Err(StoreError::Conflict {
            what: "contact",
            id: id.to_string(),
        })
    }

    pub(super) async fn close_conversation(
        &self,
        id: &ContactId,
        note: Option<ClosingNote>,
        unassign: bool,
        ctx: &CommandContext,
    ) -> StoreResult<CommandOutcome> {
        self.command(id, ctx, |rec| {
            if rec.contact.blocked {
                return Err(StoreError::Blocked(id.clone()));
            }
            let conversation_id = rec
                .open_conversation()
                .map(|c| c.id.clone())
                .ok_or_else(|| StoreError::NoOpenConversation(id.clone()))?;
            if let Some(conv) = rec.conversation.as_mut() {
                conv.status = ConversationStatus::Closed;
                conv.closed_at = Some(ctx.now);
                conv.closed_by = Some(Actor::Agent(ctx.actor.clone()));
                conv.closing_note = note.clone();
                conv.snoozed_until = None;
            }
            let unassigned = unassign && rec.contact.assignee.is_some();
            if unassign {
                rec.contact.assignee = None;
            }
            Ok(Change {
                events: vec![EventAction::Closed {
                    conversation_id,
                    note: note.clone(),
                    unassigned,
                }],
                conversation: Some(ConversationWrite::Changed),
                profile: false,
            })
        })
        .await
    }

    pub(super) async fn open_conversation(
        &self,
        id: &ContactId,
        ctx: &CommandContext,
    ) -> StoreResult<CommandOutcome> {
        self.command(id, ctx, |rec| {
            if rec.contact.blocked {
                return Err(StoreError::Blocked(id.clone()));
            }
            match rec.open_conversation().map(|c| c.status) {
                Some(ConversationStatus::Open) => Ok(Change::default()),
                Some(_) => {
                    let mut conversation_id = None;
                    if let Some(conv) = rec.conversation.as_mut() {
                        conv.status = ConversationStatus::Open;
                        conv.snoozed_until = None;
                        conversation_id = Some(conv.id.clone());
                    }
                    Ok(Change {
                        events: conversation_id
                            .map(|conversation_id| EventAction::Opened {
                                conversation_id,
                                by_outbound: false,
                            })
                            .into_iter()
                            .collect(),
                        conversation: Some(ConversationWrite::Changed),
                        profile: false,
                    })
                }
                None => {
                    let conv = Conversation {
                        id: ConversationId::generate(ctx.now),
                        contact_id: id.clone(),
                        status: ConversationStatus::Open,
                        opened_at: ctx.now,
                        opened_by: Actor::Agent(ctx.actor.clone()),
                        closed_at: None,
                        closed_by: None,
                        closing_note: None,
                        snoozed_until: None,
                    };
                    let conversation_id = conv.id.clone();
                    rec.conversation = Some(conv);
                    Ok(Change {
                        events: vec![EventAction::Opened {
                            conversation_id,
                            by_outbound: false,
                        }],
                        conversation: Some(ConversationWrite::New),
                        profile: false,
                    })
                }
            }
        })
        .await
    }

    pub(super) async fn snooze_conversation(
        &self,
        id: &ContactId,
        until: Timestamp,
        ctx: &CommandContext,
    ) -> StoreResult<CommandOutcome> {
        self.command(id, ctx, |rec| {
            if rec.contact.blocked {
                return Err(StoreError::Blocked(id.clone()));
            }
            if until <= ctx.now {
                return Err(StoreError::Invalid(format!(
                    "cannot snooze until {until}: that is not in the future"
                )));
            }
            let conv = rec
                .conversation
                .as_mut()
                .filter(|c| c.status != ConversationStatus::Closed)
                .ok_or_else(|| StoreError::NoOpenConversation(id.clone()))?;
            if conv.status == ConversationStatus::Snoozed && conv.snoozed_until == Some(until) {
                return Ok(Change::default());
            }
            conv.status = ConversationStatus::Snoozed;
            conv.snoozed_until = Some(until);
            Ok(Change {
                events: vec![EventAction::Snoozed {
                    conversation_id: conv.id.clone(),
                    until,
                }],
                conversation: Some(ConversationWrite::Changed),
                profile: false,
            })
        })
        .await
    }

    pub(super) async fn assign_contact(
        &self,
        id: &ContactId,
        agent: Option<AgentId>,
        ctx: &CommandContext,
    ) -> StoreResult<CommandOutcome> {
        self.command(id, ctx, |rec| {
            if rec.contact.assignee == agent {
                return Ok(Change::default());
            }
            rec.contact.assignee = agent.clone();
            Ok(Change {
                events: vec![EventAction::Assigned {
                    agent: agent.clone(),
                }],
                ..Change::default()
            })
        })
        .await
    }

    pub(super) async fn block_contact(
        &self,
        id: &ContactId,
        blocked: bool,
        ctx: &CommandContext,
    ) -> StoreResult<CommandOutcome> {
        self.command(id, ctx, |rec| {
            if rec.contact.blocked == blocked {
                return Ok(Change::default());
            }
            rec.contact.blocked = blocked;
            Ok(Change {
                events: vec![if blocked {
                    EventAction::Blocked
                } else {
                    EventAction::Unblocked
                }],
                ..Change::default()
            })
        })
        .await
    }

    pub(super) async fn edit_profile(
        &self,
        id: &ContactId,
        profile: ProfileFields,
        ctx: &CommandContext,
    ) -> StoreResult<CommandOutcome> {
        self.command(id, ctx, |rec| {
            if !apply_profile(&mut rec.contact, &profile) {
                return Ok(Change::default());
            }
            Ok(Change {
                events: vec![EventAction::ProfileUpdated],
                conversation: None,
                profile: true,
            })
        })
        .await
    }

    /// Sets or clears a hard stop on the contact-channel found by identity.
    pub(super) async fn channel_flag(&self, change: &FlagChange) -> StoreResult<()> {
        let identity = self
            .db
            .get(key(
                self.keys.identity(&change.channel, &change.external_id),
                SK_IDENTITY,
            ))
            .await?
            .ok_or_else(|| {
                StoreError::not_found(
                    "channel identity",
                    format!("{}/{}", change.channel, change.external_id),
                )
            })?;
        let contact = identity_contact(&identity)?;
        let attr = match change.flag {
            ChannelFlag::OptedOut => "opted_out",
            ChannelFlag::Unsubscribed => "unsubscribed",
        };
        let expr = Expr::new()
            .name("#flag", attr)
            .name("#at", &format!("{attr}_changed_at"))
            .value(":v", b(change.value))
            .value(":at", ts(change.at));
        match self
            .db
            .update(
                key(
                    self.keys.contact(&contact),
                    Keys::channel_sk(&change.channel),
                ),
                "SET #flag = :v, #at = :at",
                Some("attribute_exists(PK)"),
                expr,
            )
            .await
        {
            Ok(_) => Ok(()),
            Err(WriteError::Condition(_)) => Err(StoreError::not_found(
                "contact channel",
                format!("{contact}/{}", change.channel),
            )),
            Err(WriteError::Store(e)) => Err(e),
        }
    }
}
