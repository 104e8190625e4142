//! The writes inbound, outbound and commands share: the contact put conditioned on its
//! version, counter moves, events, search tokens, and committing it all at once.

use std::collections::BTreeSet;

use replyline_domain::{AgentId, ContactId, ConversationStatus, SearchKeys};

use super::db::{Expr, Tx, Write, MAX_TRANSACTION_ITEMS};
use super::errors::TxError;
use super::items::{event_item, key, n, s, ContactRecord, Item, ItemBuilder};
use super::keys::Keys;
use super::DynamoStore;
use crate::common::{search_tokens, TokenField};
use crate::error::StoreResult;
use crate::faults::FaultPoint;
use crate::model::ContactEvent;

/// Where a contact is counted: (assignee, stored status).
pub(crate) type Slot = (Option<AgentId>, ConversationStatus);

/// One atomic change: the transaction, plus search tokens to add and remove.
#[derive(Debug, Default)]
pub(crate) struct Plan {
    pub tx: Tx,
    pub token_puts: Vec<Item>,
    pub token_deletes: Vec<Item>,
}

pub(crate) const LABEL_CONTACT: &str = "contact";

fn token_item(keys: &Keys, field: TokenField, token: &str, id: &ContactId) -> Item {
    ItemBuilder::new(keys.search(field, token), Keys::search_sk(token, id))
        .set("type", s("token"))
        .set("field", s(field.code()))
        .set("token", s(token))
        .set("contact_id", s(id.as_str()))
        .build()
}

fn token_key(keys: &Keys, field: TokenField, token: &str, id: &ContactId) -> Item {
    key(keys.search(field, token), Keys::search_sk(token, id))
}

impl Plan {
    pub fn new() -> Self {
        Plan::default()
    }

    /// Puts the contact as `after` (its version bumped here): a create when there was
    /// none, else conditioned on the version read.
    pub fn contact(
        &mut self,
        keys: &Keys,
        before: Option<&ContactRecord>,
        after: &mut ContactRecord,
    ) {
        match before {
            None => {
                after.version = 1;
                self.tx
                    .push(LABEL_CONTACT, Write::create(after.to_item(keys)));
            }
            Some(old) => {
                after.version = old.version + 1;
                self.tx.push(
                    LABEL_CONTACT,
                    Write::put_if(
                        after.to_item(keys),
                        "version = :v",
                        Expr::new().value(":v", n(old.version)),
                    ),
                );
            }
        }
    }

    /// Moves the contact between view counters.
    pub fn counters(&mut self, keys: &Keys, before: Option<&Slot>, after: Option<&Slot>) {
        if before == after {
            return;
        }
        for (slot, delta) in [(before, -1i64), (after, 1)] {
            let Some((assignee, status)) = slot else {
                continue;
            };
            let mut expr = Expr::new()
                .value(":d", n(delta))
                .value(":s", s(status.as_str()))
                .name("#st", "status");
            let mut update = "ADD n :d SET #st = :s".to_owned();
            if let Some(agent) = assignee {
                expr = expr.value(":a", s(agent.as_str()));
                update.push_str(", assignee = :a");
            }
            self.tx.push(
                "counter",
                Write::update(
                    key(keys.counts(), Keys::count_sk(assignee.as_ref(), *status)),
                    &update,
                    None,
                    expr,
                ),
            );
        }
    }

    /// Records an event, numbered from the contact's event sequence.
    pub fn event(
        &mut self,
        keys: &Keys,
        record: &mut ContactRecord,
        event: &ContactEvent,
    ) -> StoreResult<()> {
        let seq = record.event_seq;
        record.event_seq += 1;
        self.tx.push(
            "event",
            Write::create(event_item(keys, &record.contact.id, seq, event)?),
        );
        Ok(())
    }

    /// Adds the tokens `after` has and `before` lacks; removes the others.
    pub fn tokens(
        &mut self,
        keys: &Keys,
        id: &ContactId,
        before: Option<&SearchKeys>,
        after: &SearchKeys,
    ) {
        let old: BTreeSet<(TokenField, String)> = before.map(search_tokens).unwrap_or_default();
        let new = search_tokens(after);
        for (field, token) in new.difference(&old) {
            self.token_puts.push(token_item(keys, *field, token, id));
        }
        for (field, token) in old.difference(&new) {
            self.token_deletes.push(token_key(keys, *field, token, id));
        }
    }
}

impl DynamoStore {
    /// Commits a plan: the fault point first (so an injected failure writes nothing), then
    /// the transaction. Token writes ride in the transaction when they fit; otherwise new
    /// tokens are written just before it (a token without its contact is ignored by
    /// search) and old ones removed just after (best effort: a stale token only nominates
    /// a candidate that the search then rejects).
    pub(crate) async fn commit(&self, plan: Plan, fault: FaultPoint) -> Result<(), TxError> {
        self.faults.check(fault)?;
        let Plan {
            mut tx,
            token_puts,
            token_deletes,
        } = plan;
        let fits = tx.len() + token_puts.len() + token_deletes.len() <= MAX_TRANSACTION_ITEMS;
        let mut after = Vec::new();
        if fits {
            for item in token_puts {
                tx.push("token", Write::put(item));
            }
            for key in token_deletes {
                tx.push("token", Write::Delete { key });
            }
        } else {
            self.db.batch_write(token_puts, Vec::new()).await?;
            after = token_deletes;
        }
        self.db.transact(&tx).await?;
        if !after.is_empty() {
            if let Err(e) = self.db.batch_write(Vec::new(), after).await {
                tracing::warn!(error = %e, "stale search tokens left behind");
            }
        }
        Ok(())
    }
}
