//! Recording inbound events: one transaction (dedup, contact, message, conversation,
//! event, counters, tokens), then the forward-only window update.

use replyline_domain::{
    Actor, Contact, ContactId, Conversation, ConversationId, ConversationStatus, Direction,
    Message, MessageId, MessageStatus, Sender,
};
use replyline_policy::Opener;

use super::db::{backoff, check_item_keys, Expr, Write, WriteError};
use super::errors::{condition_failed, TxError};
use super::items::{
    channel_item, conversation_item, dedup_from_item, identity_contact, identity_item, key,
    message_item, n, s, ts, ContactRecord, DedupRecord, Item, ItemBuilder, Reader, WindowRecord,
};
use super::keys::{Keys, EXPIRES_AT, SK_DEDUP, SK_IDENTITY};
use super::writes::Plan;
use super::{DynamoStore, MAX_ATTEMPTS};
use crate::common::{fill_profile, window_expiry};
use crate::error::{StoreError, StoreResult};
use crate::faults::FaultPoint;
use crate::model::{
    ContactEvent, EventAction, InboundOutcome, InboundRecord, MessageSummary, DEDUP_TTL,
};

/// Inbound deliveries retry more than other writes: a burst of first messages from one
/// new identity all race to create, then to update, the same contact.
const INBOUND_ATTEMPTS: u32 = 15;

const LABEL_DEDUP: &str = "dedup";

/// Whether a dedup item still counts (the put's condition treats `expires_at < now` as
/// absent).
fn dedup_alive(item: &Item, now_secs: i64) -> bool {
    match Reader::new(item, "dedup record").opt_i64(EXPIRES_AT) {
        Ok(Some(e)) => e >= now_secs,
        _ => true,
    }
}

impl DynamoStore {
    pub(super) async fn inbound(&self, record: &InboundRecord) -> StoreResult<InboundOutcome> {
        let identity_key = key(
            self.keys.identity(&record.channel, &record.external_id),
            SK_IDENTITY,
        );
        let dedup_key = key(
            self.keys.dedup(&record.channel, &record.provider_event_id),
            SK_DEDUP,
        );
        check_item_keys(&identity_key)?;
        check_item_keys(&dedup_key)?;
        let now_secs = record.received_at.as_secs();

        for attempt in 0..INBOUND_ATTEMPTS {
            if attempt > 0 {
                backoff(attempt).await;
            }
            let found = self
                .db
                .batch_get(vec![identity_key.clone(), dedup_key.clone()], true)
                .await?;
            let mut identity = None;
            let mut dedup = None;
            for item in found {
                match Reader::new(&item, "inbound lookup").str(super::keys::SK)? {
                    SK_IDENTITY => identity = Some(item),
                    SK_DEDUP => dedup = Some(item),
                    _ => {}
                }
            }
            if let Some(d) = dedup.filter(|d| dedup_alive(d, now_secs)) {
                return self.duplicate(record, dedup_from_item(&d)?).await;
            }
            let existing = match identity {
                Some(item) => {
                    let id = identity_contact(&item)?;
                    let contact = self.read_contact(&id).await?.ok_or_else(|| {
                        StoreError::Corrupt(format!("identity points at missing contact {id}"))
                    })?;
                    Some(contact)
                }
                None => None,
            };
            let (plan, mut outcome) = self.plan_inbound(record, existing)?;
            match self.commit(plan, FaultPoint::InboundCommit).await {
                Ok(()) => {
                    self.faults.check(FaultPoint::InboundWindowUpdate)?;
                    outcome.window_moved = self.move_window(&outcome.contact_id, record).await?;
                    return Ok(outcome);
                }
                Err(TxError::Store(e)) => return Err(e),
                Err(TxError::Cancelled(reasons)) => {
                    if let Some(old) = condition_failed(&reasons, LABEL_DEDUP) {
                        if let Some(item) = &old.item {
                            return self.duplicate(record, dedup_from_item(item)?).await;
                        }
                    }
                    // Lost a race (identity created, contact changed): read again.
                }
            }
        }
        Err(StoreError::Conflict {
            what: "channel identity",
            id: format!("{}/{}", record.channel, record.external_id),
        })
    }

    /// A redelivery: answer with what was recorded, and re-apply the window update in
    /// case the first delivery stopped before it.
    async fn duplicate(
        &self,
        record: &InboundRecord,
        d: DedupRecord,
    ) -> StoreResult<InboundOutcome> {
        self.move_window(&d.contact_id, record).await?;
        Ok(InboundOutcome {
            duplicate: true,
            contact_id: d.contact_id,
            contact_created: false,
            message_id: d.message_id,
            conversation_id: d.conversation_id,
            conversation_opened: false,
            window_moved: false,
        })
    }

    /// The inbound transaction, on the contact as read (`None`: a new identity).
    fn plan_inbound(
        &self,
        record: &InboundRecord,
        existing: Option<ContactRecord>,
    ) -> StoreResult<(Plan, InboundOutcome)> {
        let keys = &self.keys;
        let now = record.received_at;
        let mut plan = Plan::new();
        let created = existing.is_none();
        let before = existing.clone();
        let mut rec = match existing {
            Some(r) => r,
            None => ContactRecord {
                contact: Contact::new(ContactId::generate(now), record.profile.clone(), now),
                conversation: None,
                last_activity_at: record.occurred_at,
                last_message: None,
                channels: vec![record.channel.clone()],
                event_seq: 0,
                version: 0,
            },
        };
        let id = rec.contact.id.clone();
        let mut changed = created;
        if !created && fill_profile(&mut rec.contact, &record.profile) {
            rec.contact.updated_at = now;
            changed = true;
        }

        let mut opened = false;
        let mut message_id = None;
        if let Some(content) = &record.content {
            if !rec.contact.blocked {
                match rec.open_conversation().map(|c| c.status) {
                    Some(ConversationStatus::Open) => {}
                    Some(_) => {
                        if let Some(conv) = rec.conversation.as_mut() {
                            conv.status = ConversationStatus::Open;
                            conv.snoozed_until = None;
                            plan.tx
                                .push("conversation", Write::put(conversation_item(keys, conv)));
                        }
                        changed = true;
                    }
                    None => {
                        let conv = Conversation {
                            id: ConversationId::generate(now),
                            contact_id: id.clone(),
                            status: ConversationStatus::Open,
                            opened_at: now,
                            opened_by: Actor::Contact,
                            closed_at: None,
                            closed_by: None,
                            closing_note: None,
                            snoozed_until: None,
                        };
                        plan.tx.push(
                            "conversation",
                            Write::create(conversation_item(keys, &conv)),
                        );
                        let event = ContactEvent {
                            at: now,
                            actor: Actor::Contact,
                            action: EventAction::Opened {
                                conversation_id: conv.id.clone(),
                                by_outbound: false,
                            },
                        };
                        rec.conversation = Some(conv);
                        plan.event(keys, &mut rec, &event)?;
                        opened = true;
                        changed = true;
                    }
                }
            }
            let message = Message {
                id: MessageId::generate(now),
                contact_id: id.clone(),
                conversation_id: rec.open_conversation().map(|c| c.id.clone()),
                channel: record.channel.clone(),
                direction: Direction::Inbound,
                sender: Sender::Contact,
                content: content.clone(),
                status: MessageStatus::Sent {
                    provider_message_id: record.provider_event_id.clone(),
                },
                provider_message_id: Some(record.provider_event_id.clone()),
                idempotency_key: None,
                created_at: record.occurred_at,
                applied_tag: None,
                paid: false,
            };
            plan.tx
                .push("message", Write::create(message_item(keys, &message)?));
            if record.occurred_at > rec.last_activity_at {
                rec.last_activity_at = record.occurred_at;
                changed = true;
            }
            if rec
                .last_message
                .as_ref()
                .is_none_or(|m| m.at <= record.occurred_at)
            {
                rec.last_message = Some(MessageSummary::of(&message));
                changed = true;
            }
            message_id = Some(message.id);
        }
        let conversation_id = rec.open_conversation().map(|c| c.id.clone());

        // The dedup record, in the same transaction: a redelivery finds it.
        let dedup = ItemBuilder::new(
            keys.dedup(&record.channel, &record.provider_event_id),
            SK_DEDUP,
        )
        .set("type", s("dedup"))
        .set("contact_id", s(id.as_str()))
        .opt("message_id", message_id.as_ref().map(|m| s(m.as_str())))
        .opt(
            "conversation_id",
            conversation_id.as_ref().map(|c| s(c.as_str())),
        )
        .set("received_at", ts(now))
        .set(EXPIRES_AT, n(now.saturating_add(DEDUP_TTL).as_secs()))
        .build();
        plan.tx.push(
            LABEL_DEDUP,
            Write::put_if(
                dedup,
                "attribute_not_exists(PK) OR expires_at < :now",
                Expr::new().value(":now", n(now.as_secs())),
            ),
        );

        if created {
            let identity = replyline_domain::ChannelIdentity {
                channel: record.channel.clone(),
                kind: record.kind,
                external_id: record.external_id.clone(),
                contact_id: id.clone(),
            };
            plan.tx
                .push("identity", Write::create(identity_item(keys, &identity)));
            plan.tx
                .push("channel", Write::create(channel_item(keys, &identity, now)));
        }
        if changed {
            plan.counters(
                keys,
                before.as_ref().map(ContactRecord::slot).as_ref(),
                Some(&rec.slot()),
            );
            let old_keys = before.as_ref().map(|b| b.contact.search_keys());
            plan.tokens(keys, &id, old_keys.as_ref(), &rec.contact.search_keys());
            plan.contact(keys, before.as_ref(), &mut rec);
        }
        Ok((
            plan,
            InboundOutcome {
                duplicate: false,
                contact_id: id,
                contact_created: created,
                message_id,
                conversation_id,
                conversation_opened: opened,
                window_moved: false,
            },
        ))
    }

    /// Moves the window forward only (see the module documentation, "Windows"). Returns
    /// whether it moved.
    pub(super) async fn move_window(
        &self,
        contact: &ContactId,
        record: &InboundRecord,
    ) -> StoreResult<bool> {
        let key = key(self.keys.contact(contact), Keys::window_sk(&record.channel));
        let now_secs = record.received_at.as_secs();
        let ttl = window_expiry(record).map(|t| t.as_secs());
        let (field, opener) = match record.opener {
            Opener::Message => ("last_inbound_at", None),
            other => ("last_opener_at", Some(other)),
        };
        let at = record.occurred_at.as_millis();

        let base = || {
            let mut expr = Expr::new()
                .name("#f", field)
                .value(":ts", n(at))
                .value(":zero", n(0))
                .value(":ch", s(record.channel.as_str()))
                .value(":now", n(now_secs));
            let mut set = vec!["#f = :ts", "sent_since_inbound = :zero", "channel = :ch"];
            if let Some(o) = opener {
                expr = expr.value(":op", s(o.as_str()));
                set.push("last_opener = :op");
            }
            (expr, set)
        };
        let live_and_older = "(attribute_not_exists(expires_at) OR expires_at > :now) \
                              AND (attribute_not_exists(#f) OR #f < :ts)";

        for attempt in 0..MAX_ATTEMPTS {
            if attempt > 0 {
                backoff(attempt).await;
            }
            // The common case: live (or absent) and older, and the TTL does not shrink.
            let (mut expr, mut set) = base();
            let mut condition = live_and_older.to_owned();
            let update = match ttl {
                Some(ttl) => {
                    expr = expr.value(":ttl", n(ttl));
                    set.push("expires_at = :ttl");
                    condition.push_str(" AND (attribute_not_exists(PK) OR expires_at <= :ttl)");
                    format!("SET {}", set.join(", "))
                }
                None => format!("SET {} REMOVE expires_at", set.join(", ")),
            };
            let old = match self
                .db
                .update(key.clone(), &update, Some(&condition), expr)
                .await
            {
                Ok(_) => return Ok(true),
                Err(WriteError::Store(e)) => return Err(e),
                Err(WriteError::Condition(Some(old))) => old,
                Err(WriteError::Condition(None)) => match self.db.get(key.clone()).await? {
                    Some(old) => old,
                    None => continue,
                },
            };
            let window = WindowRecord::from_item(&old)?;
            if window.is_expired(record.received_at) {
                // Expired state is absent: a fresh item replaces it.
                let fresh =
                    ItemBuilder::new(self.keys.contact(contact), Keys::window_sk(&record.channel))
                        .set("type", s("window"))
                        .set("channel", s(record.channel.as_str()))
                        .set(field, n(at))
                        .opt("last_opener", opener.map(|o| s(o.as_str())))
                        .set("sent_since_inbound", n(0))
                        .opt(EXPIRES_AT, ttl.map(n))
                        .build();
                match self
                    .db
                    .put(
                        fresh,
                        Some("expires_at <= :now"),
                        Expr::new().value(":now", n(now_secs)),
                    )
                    .await
                {
                    Ok(()) => return Ok(true),
                    Err(WriteError::Store(e)) => return Err(e),
                    Err(WriteError::Condition(_)) => continue,
                }
            }
            let current = match opener {
                None => window.last_inbound_at,
                Some(_) => window.last_opener.map(|o| o.at),
            };
            if current.is_some_and(|c| c.as_millis() >= at) {
                return Ok(false);
            }
            // Newer, but the TTL would shrink: move without touching it.
            let (expr, set) = base();
            match self
                .db
                .update(
                    key.clone(),
                    &format!("SET {}", set.join(", ")),
                    Some(live_and_older),
                    expr,
                )
                .await
            {
                Ok(_) => return Ok(true),
                Err(WriteError::Store(e)) => return Err(e),
                Err(WriteError::Condition(_)) => continue,
            }
        }
        Err(StoreError::Conflict {
            what: "window",
            id: format!("{contact}/{}", record.channel),
        })
    }
}
