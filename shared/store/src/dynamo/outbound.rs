//! Recording outbound messages: read, decide with the policy, and write everything in one
//! transaction conditioned on what the decision was made on (contact version, window
//! item, paid counter, idempotency key). A lost race re-reads and re-decides.

use replyline_domain::{
    Actor, AssignOnOutbound, ChannelId, ContactId, Conversation, ConversationId,
    ConversationStatus, Direction, Message, MessageId, MessageStatus, MessageTag, Sender,
    Timestamp,
};
use replyline_policy::{
    decide, ContactChannelState, MessageKind, MonthlyCount, SendRequest, SenderKind,
};

use super::db::{backoff, Expr, Tx, Write, WriteError};
use super::errors::{condition_failed, TxError};
use super::items::{
    conversation_from_item, conversation_item, idem_from_item, key, message_from_item,
    message_item, n, paid_count, s, status_name, ts, IdemRecord, Item, ItemBuilder, WindowRecord,
    PROVIDER_CLOSED_AT, PROVIDER_EXHAUSTED_AT,
};
use super::keys::{Keys, EXPIRES_AT, SK_CONVERSATION, SK_IDEM, SK_PROVIDER_MESSAGE};
use super::writes::Plan;
use super::{ContactSnapshot, DynamoStore, MAX_ATTEMPTS};
use crate::common::request_fingerprint;
use crate::error::{StoreError, StoreResult};
use crate::faults::FaultPoint;
use crate::model::{
    ContactEvent, EventAction, MessageKey, MessageSummary, OutboundBegun, OutboundRequest,
    SendOutcome,
};

const LABEL_IDEM: &str = "idempotency";

/// Paid counters are kept 40 days past their month.
const PAID_TTL_DAYS: u64 = 40;

/// `#attr = :value` or `attribute_not_exists(#attr)`: the item still holds what was read.
fn unchanged(
    conds: &mut Vec<String>,
    expr: Expr,
    i: usize,
    attr: &str,
    value: Option<&aws_sdk_dynamodb::types::AttributeValue>,
) -> Expr {
    let name = format!("#c{i}");
    let expr = expr.name(&name, attr);
    match value {
        Some(v) => {
            let placeholder = format!(":c{i}");
            conds.push(format!("{name} = {placeholder}"));
            expr.value(&placeholder, v.clone())
        }
        None => {
            conds.push(format!("attribute_not_exists({name})"));
            expr
        }
    }
}

/// The window write: one more message sent, on condition that the item is exactly as
/// read (an inbound event or another send in between changes one of these attributes).
fn window_write(
    keys: &Keys,
    contact: &ContactId,
    channel: &ChannelId,
    read: Option<&(WindowRecord, Item)>,
    now: Timestamp,
) -> Write {
    let k = key(keys.contact(contact), Keys::window_sk(channel));
    match read {
        None => Write::create(
            ItemBuilder::new(keys.contact(contact), Keys::window_sk(channel))
                .set("type", s("window"))
                .set("channel", s(channel.as_str()))
                .set("sent_since_inbound", n(1))
                .build(),
        ),
        Some((window, item)) => {
            let mut conds = Vec::new();
            let mut expr = Expr::new();
            for (i, attr) in [
                "sent_since_inbound",
                "last_inbound_at",
                "last_opener_at",
                PROVIDER_CLOSED_AT,
                PROVIDER_EXHAUSTED_AT,
                EXPIRES_AT,
            ]
            .into_iter()
            .enumerate()
            {
                expr = unchanged(&mut conds, expr, i, attr, item.get(attr));
            }
            let condition = conds.join(" AND ");
            if window.is_expired(now) {
                // Expired state is absent: start again from one message.
                Write::put_if(
                    ItemBuilder::new(keys.contact(contact), Keys::window_sk(channel))
                        .set("type", s("window"))
                        .set("channel", s(channel.as_str()))
                        .set("sent_since_inbound", n(1))
                        .build(),
                    &condition,
                    expr,
                )
            } else {
                Write::update(
                    k,
                    "SET sent_since_inbound = :sent",
                    Some(&condition),
                    expr.value(":sent", n(window.sent_since_inbound.saturating_add(1))),
                )
            }
        }
    }
}

impl DynamoStore {
    pub(super) async fn outbound(&self, req: &OutboundRequest) -> StoreResult<OutboundBegun> {
        let sender = match &req.sender {
            Sender::Agent(_) => SenderKind::Human,
            Sender::Automation => SenderKind::Automation,
            Sender::Contact => {
                return Err(StoreError::Invalid(
                    "an outbound message is sent by an agent or automation, not the contact".into(),
                ))
            }
        };
        let kind = match (req.content.template(), req.content.tag()) {
            (Some(_), _) => MessageKind::Template,
            (None, Some(tag)) => MessageKind::Tagged(tag.as_str()),
            (None, None) => MessageKind::Plain,
        };
        let month = req.now.month();
        let paid_key = key(self.keys.paid(&req.channel), Keys::paid_sk(month));

        for attempt in 0..MAX_ATTEMPTS {
            if attempt > 0 {
                backoff(attempt).await;
            }
            let snapshot = self
                .read_snapshot(&req.contact_id)
                .await?
                .ok_or_else(|| StoreError::not_found("contact", &req.contact_id))?;
            let channel = snapshot
                .channels
                .get(&req.channel)
                .cloned()
                .ok_or_else(|| StoreError::NotOnChannel {
                    contact: req.contact_id.clone(),
                    channel: req.channel.to_string(),
                })?;
            let window = snapshot.windows.get(&req.channel);
            let live = window.map(|(w, _)| w).filter(|w| !w.is_expired(req.now));
            // The channel's paid counter matters only where paid messages exist.
            let paid_item = match req.rules.paid {
                Some(_) => self
                    .db
                    .get(paid_key.clone())
                    .await?
                    .filter(|i| !super::items::expired(i, req.now.as_secs())),
                None => None,
            };
            let paid_sent = paid_item.as_ref().map(paid_count).transpose()?;
            let state = ContactChannelState {
                last_inbound_at: live.and_then(|w| w.last_inbound_at),
                last_opener: live.and_then(|w| w.last_opener),
                sent_since_inbound: live.map_or(0, |w| w.sent_since_inbound),
                paid_sent: paid_sent.map(|count| MonthlyCount { month, count }),
                provider_closed_at: live.and_then(|w| w.provider_closed_at),
                provider_exhausted_at: live.and_then(|w| w.provider_exhausted_at),
                blocked: snapshot.record.contact.blocked,
                opted_out: channel.opted_out,
                unsubscribed: channel.unsubscribed,
            };
            let decision = decide(&req.rules, &state, SendRequest { sender, kind }, req.now);
            if !decision.is_allowed() {
                if let Some(k) = &req.idempotency_key {
                    let idem = key(self.keys.idempotency(&req.contact_id, k), SK_IDEM);
                    if let Some(item) = self.db.get(idem).await? {
                        return self.replay(req, &snapshot, &idem_from_item(&item)?).await;
                    }
                }
                return Err(StoreError::Refused(Box::new(decision)));
            }

            // Allowed: build the one transaction.
            let keys = &self.keys;
            let before = snapshot.record.clone();
            let mut rec = snapshot.record.clone();
            let mut plan = Plan::new();
            let now = req.now;
            let mut opened = false;
            let by = match &req.sender {
                Sender::Agent(a) => Actor::Agent(a.clone()),
                _ => Actor::System,
            };
            match rec.open_conversation().map(|c| c.status) {
                Some(ConversationStatus::Open) => {}
                Some(_) => {
                    let mut woken = None;
                    if let Some(conv) = rec.conversation.as_mut() {
                        conv.status = ConversationStatus::Open;
                        conv.snoozed_until = None;
                        plan.tx
                            .push("conversation", Write::put(conversation_item(keys, conv)));
                        woken = Some(conv.id.clone());
                    }
                    if let Some(conversation_id) = woken {
                        let event = ContactEvent {
                            at: now,
                            actor: by.clone(),
                            action: EventAction::Opened {
                                conversation_id,
                                by_outbound: true,
                            },
                        };
                        plan.event(keys, &mut rec, &event)?;
                    }
                }
                None => {
                    let conv = Conversation {
                        id: ConversationId::generate(now),
                        contact_id: rec.contact.id.clone(),
                        status: ConversationStatus::Open,
                        opened_at: now,
                        opened_by: by.clone(),
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
                        actor: by,
                        action: EventAction::Opened {
                            conversation_id: conv.id.clone(),
                            by_outbound: true,
                        },
                    };
                    rec.conversation = Some(conv);
                    plan.event(keys, &mut rec, &event)?;
                    opened = true;
                }
            }
            if let Sender::Agent(agent) = &req.sender {
                let takes =
                    req.assign == AssignOnOutbound::Always || rec.contact.assignee.is_none();
                if takes && rec.contact.assignee.as_ref() != Some(agent) {
                    rec.contact.assignee = Some(agent.clone());
                    rec.contact.updated_at = now;
                    let event = ContactEvent {
                        at: now,
                        actor: Actor::Agent(agent.clone()),
                        action: EventAction::Assigned {
                            agent: Some(agent.clone()),
                        },
                    };
                    plan.event(keys, &mut rec, &event)?;
                }
            }
            let conversation = rec
                .conversation
                .clone()
                .ok_or_else(|| StoreError::Corrupt("no conversation after opening one".into()))?;
            let applied_tag = decision
                .tag()
                .map(|t| {
                    MessageTag::parse(t).map_err(|e| {
                        StoreError::Invalid(format!("the policy applied an unusable tag: {e}"))
                    })
                })
                .transpose()?;
            let message = Message {
                id: MessageId::generate(now),
                contact_id: rec.contact.id.clone(),
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
                paid: decision.is_paid(),
            };
            plan.tx
                .push("message", Write::create(message_item(keys, &message)?));
            if let Some(k) = &req.idempotency_key {
                plan.tx.push(
                    LABEL_IDEM,
                    Write::create(
                        ItemBuilder::new(keys.idempotency(&rec.contact.id, k), SK_IDEM)
                            .set("type", s("idempotency"))
                            .set("message_id", s(message.id.as_str()))
                            .set("message_created_at", ts(message.created_at))
                            .set("channel", s(req.channel.as_str()))
                            .set(
                                "fingerprint",
                                s(request_fingerprint(&req.channel, &req.content)),
                            )
                            .build(),
                    ),
                );
            }
            plan.tx.push(
                "window",
                window_write(keys, &rec.contact.id, &req.channel, window, now),
            );
            if decision.is_paid() {
                let count = paid_sent.unwrap_or(0);
                let item = ItemBuilder::new(keys.paid(&req.channel), Keys::paid_sk(month))
                    .set("type", s("paid"))
                    .set("channel", s(req.channel.as_str()))
                    .set("month", s(month.to_string()))
                    .set("count", n(count.saturating_add(1)))
                    .set(
                        EXPIRES_AT,
                        n(month
                            .next()
                            .start()
                            .saturating_add(std::time::Duration::from_secs(PAID_TTL_DAYS * 86_400))
                            .as_secs()),
                    )
                    .build();
                let write = match &paid_item {
                    None => Write::create(item),
                    Some(_) => Write::put_if(
                        item,
                        "#count = :count",
                        Expr::new()
                            .name("#count", "count")
                            .value(":count", n(count)),
                    ),
                };
                plan.tx.push("paid", write);
            }
            if now > rec.last_activity_at {
                rec.last_activity_at = now;
            }
            if rec.last_message.as_ref().is_none_or(|m| m.at <= now) {
                rec.last_message = Some(MessageSummary::of(&message));
            }
            plan.counters(keys, Some(&before.slot()), Some(&rec.slot()));
            plan.contact(keys, Some(&before), &mut rec);

            match self.commit(plan, FaultPoint::OutboundCommit).await {
                Ok(()) => {
                    return Ok(OutboundBegun {
                        message,
                        conversation,
                        conversation_opened: opened,
                        assignee: rec.contact.assignee.clone(),
                        identity: channel.identity.clone(),
                        decision: Some(decision),
                        replayed: false,
                    })
                }
                Err(TxError::Store(e)) => return Err(e),
                Err(TxError::Cancelled(reasons)) => {
                    if let Some(failed) = condition_failed(&reasons, LABEL_IDEM) {
                        let idem = match &failed.item {
                            Some(item) => Some(item.clone()),
                            None => match &req.idempotency_key {
                                Some(k) => {
                                    self.db
                                        .get(key(
                                            self.keys.idempotency(&req.contact_id, k),
                                            SK_IDEM,
                                        ))
                                        .await?
                                }
                                None => None,
                            },
                        };
                        if let Some(item) = idem {
                            return self.replay(req, &snapshot, &idem_from_item(&item)?).await;
                        }
                    }
                    // Another writer changed what we decided on: read and decide again.
                }
            }
        }
        Err(StoreError::Conflict {
            what: "contact",
            id: req.contact_id.to_string(),
        })
    }

    /// The key was used before: the same request gets the stored message as it is now;
    /// another request is a client bug.
    async fn replay(
        &self,
        req: &OutboundRequest,
        snapshot: &ContactSnapshot,
        idem: &IdemRecord,
    ) -> StoreResult<OutboundBegun> {
        if idem.fingerprint != request_fingerprint(&req.channel, &req.content) {
            return Err(StoreError::IdempotencyMismatch(idem.message_id.clone()));
        }
        let message = self
            .read_message(&req.contact_id, &idem.message_id, idem.created_at)
            .await?
            .ok_or_else(|| {
                StoreError::Corrupt(format!(
                    "idempotency key points at missing message {}",
                    idem.message_id
                ))
            })?;
        let conversation = match (&message.conversation_id, &snapshot.record.conversation) {
            (Some(id), Some(current)) if &current.id == id => current.clone(),
            (Some(id), _) => self.read_conversation(id).await?,
            (None, _) => {
                return Err(StoreError::Corrupt(format!(
                    "outbound message {} has no conversation",
                    message.id
                )))
            }
        };
        let identity = snapshot
            .channels
            .get(&message.channel)
            .map(|c| c.identity.clone())
            .ok_or_else(|| StoreError::NotOnChannel {
                contact: req.contact_id.clone(),
                channel: message.channel.to_string(),
            })?;
        Ok(OutboundBegun {
            message,
            conversation,
            conversation_opened: false,
            assignee: snapshot.record.contact.assignee.clone(),
            identity,
            decision: None,
            replayed: true,
        })
    }

    async fn read_message(
        &self,
        contact: &ContactId,
        id: &MessageId,
        created_at: Timestamp,
    ) -> StoreResult<Option<Message>> {
        let k = key(
            self.keys.messages(contact),
            Keys::message_sk(created_at, id),
        );
        self.db
            .get(k)
            .await?
            .as_ref()
            .map(message_from_item)
            .transpose()
    }

    async fn read_conversation(&self, id: &ConversationId) -> StoreResult<Conversation> {
        let item = self
            .db
            .get(key(self.keys.conversation(id), SK_CONVERSATION))
            .await?
            .ok_or_else(|| StoreError::not_found("conversation", id))?;
        conversation_from_item(&item)
    }

    /// Pending -> sent or failed, once; the same outcome again is a no-op.
    ///
    /// Failed: one `UpdateItem` conditioned on `status = pending` (the old item answers a
    /// failed condition). Sent: `GetItem` the message (the lookup's key needs its
    /// channel), then one `TransactWriteItems` of the update (same condition) and the
    /// provider-id lookup put, so a delivery failure reported later finds the message.
    pub(super) async fn complete(
        &self,
        key_: &MessageKey,
        outcome: &SendOutcome,
        _now: Timestamp,
    ) -> StoreResult<Message> {
        let k = key(
            self.keys.messages(&key_.contact_id),
            Keys::message_sk(key_.created_at, &key_.id),
        );
        match outcome {
            SendOutcome::Sent {
                provider_message_id,
            } => self.complete_sent(key_, k, provider_message_id).await,
            SendOutcome::Failed { code, text } => {
                let expr = Expr::new()
                    .name("#st", "status")
                    .value(":st", s("failed"))
                    .value(":code", s(code.as_str()))
                    .value(":text", s(text.as_str()))
                    .value(":pending", s("pending"));
                self.faults.check(FaultPoint::CompleteCommit)?;
                match self
                    .db
                    .update(
                        k.clone(),
                        "SET #st = :st, error_code = :code, error_text = :text",
                        Some(COMPLETE_CONDITION),
                        expr,
                    )
                    .await
                {
                    Ok(item) => message_from_item(&item),
                    Err(WriteError::Store(e)) => Err(e),
                    Err(WriteError::Condition(old)) => {
                        let old = match old {
                            Some(old) => Some(old),
                            None => self.db.get(k).await?,
                        };
                        match old {
                            Some(old) => settled(key_, message_from_item(&old)?, outcome),
                            None => Err(StoreError::not_found("message", &key_.id)),
                        }
                    }
                }
            }
        }
    }

    async fn complete_sent(
        &self,
        key_: &MessageKey,
        k: Item,
        provider_message_id: &str,
    ) -> StoreResult<Message> {
        let outcome = SendOutcome::Sent {
            provider_message_id: provider_message_id.to_owned(),
        };
        for attempt in 0..MAX_ATTEMPTS {
            if attempt > 0 {
                backoff(attempt).await;
            }
            let Some(item) = self.db.get(k.clone()).await? else {
                return Err(StoreError::not_found("message", &key_.id));
            };
            let mut message = message_from_item(&item)?;
            if message.status != MessageStatus::Pending {
                return settled(key_, message, &outcome);
            }
            let mut tx = Tx::new();
            tx.push(
                LABEL_MESSAGE,
                Write::update(
                    k.clone(),
                    "SET #st = :st, status_provider_message_id = :pid, \
                     provider_message_id = :pid",
                    Some(COMPLETE_CONDITION),
                    Expr::new()
                        .name("#st", "status")
                        .value(":st", s("sent"))
                        .value(":pid", s(provider_message_id))
                        .value(":pending", s("pending")),
                ),
            );
            tx.push(
                "provider message",
                Write::put(
                    ItemBuilder::new(
                        self.keys
                            .provider_message(&message.channel, provider_message_id),
                        SK_PROVIDER_MESSAGE,
                    )
                    .set("type", s("provider_message"))
                    .set("channel", s(message.channel.as_str()))
                    .set("provider_message_id", s(provider_message_id))
                    .set("contact_id", s(message.contact_id.as_str()))
                    .set("message_id", s(message.id.as_str()))
                    .set("message_created_at", ts(message.created_at))
                    .build(),
                ),
            );
            self.faults.check(FaultPoint::CompleteCommit)?;
            match self.db.transact(&tx).await {
                Ok(()) => {
                    message.status = MessageStatus::Sent {
                        provider_message_id: provider_message_id.to_owned(),
                    };
                    message.provider_message_id = Some(provider_message_id.to_owned());
                    return Ok(message);
                }
                Err(TxError::Store(e)) => return Err(e),
                Err(TxError::Cancelled(reasons)) => {
                    if let Some(old) =
                        condition_failed(&reasons, LABEL_MESSAGE).and_then(|r| r.item.as_ref())
                    {
                        let current = message_from_item(old)?;
                        if current.status != MessageStatus::Pending {
                            return settled(key_, current, &outcome);
                        }
                    }
                    // Cancelled otherwise (a conflicting write in flight): read again.
                }
            }
        }
        Err(StoreError::Conflict {
            what: "message",
            id: key_.id.to_string(),
        })
    }
}

/// The condition of a completion: the message exists and is still pending.
const COMPLETE_CONDITION: &str = "attribute_exists(PK) AND #st = :pending";

const LABEL_MESSAGE: &str = "message";

/// What completing a message that is no longer pending answers: the same outcome again
/// is a no-op (the message as stored), another one `NotPending`.
fn settled(key_: &MessageKey, message: Message, outcome: &SendOutcome) -> StoreResult<Message> {
    let same = match (&message.status, outcome) {
        (
            MessageStatus::Sent {
                provider_message_id: a,
            },
            SendOutcome::Sent {
                provider_message_id: b,
            },
        ) => a == b,
        (MessageStatus::Failed { code: a, text: t }, SendOutcome::Failed { code: b, text: u }) => {
            a == b && t == u
        }
        _ => false,
    };
    if same {
        Ok(message)
    } else if message.status == MessageStatus::Pending {
        // The condition failed yet it reads pending: someone raced us.
        Err(StoreError::Conflict {
            what: "message",
            id: key_.id.to_string(),
        })
    } else {
        Err(StoreError::NotPending {
            id: message.id,
            current: status_name(&message.status),
        })
    }
}
