//! What providers tell us after the fact: a refusal that closes a window (or uses up its
//! quota) earlier than our clock says, and a delivery failure reported after the send was
//! accepted.

use replyline_domain::{ChannelId, ContactId, Message, MessageId, MessageStatus, Timestamp};

use super::db::{backoff, Expr, WriteError};
use super::items::{
    key, message_from_item, n, s, ItemBuilder, Reader, WindowRecord, PROVIDER_CLOSED_AT,
    PROVIDER_EXHAUSTED_AT,
};
use super::keys::{Keys, SK_PROVIDER_MESSAGE};
use super::{DynamoStore, MAX_ATTEMPTS};
use crate::error::{StoreError, StoreResult};
use crate::faults::FaultPoint;

impl DynamoStore {
    /// Records a provider's refusal on the `WIN#{channel}` item (see the module
    /// documentation, "Provider feedback"): `GetItem` the contact-channel, then one
    /// forward-only `UpdateItem`.
    pub(super) async fn provider_refusal(
        &self,
        contact: &ContactId,
        channel: &ChannelId,
        at: Timestamp,
        quota: bool,
    ) -> StoreResult<()> {
        // The contact-channel item exists only for a contact on that channel.
        let on_channel = self
            .db
            .get(key(self.keys.contact(contact), Keys::channel_sk(channel)))
            .await?;
        if on_channel.is_none() {
            return Err(match self.read_contact(contact).await? {
                Some(_) => StoreError::NotOnChannel {
                    contact: contact.clone(),
                    channel: channel.to_string(),
                },
                None => StoreError::not_found("contact", contact),
            });
        }

        let field = if quota {
            PROVIDER_EXHAUSTED_AT
        } else {
            PROVIDER_CLOSED_AT
        };
        let k = key(self.keys.contact(contact), Keys::window_sk(channel));
        let at_ms = at.as_millis();
        let now_secs = at.as_secs();
        for attempt in 0..MAX_ATTEMPTS {
            if attempt > 0 {
                backoff(attempt).await;
            }
            // Live (or absent) and older: move the field; the TTL is left as it is.
            let expr = Expr::new()
                .name("#f", field)
                .name("#type", "type")
                .value(":at", n(at_ms))
                .value(":now", n(now_secs))
                .value(":ch", s(channel.as_str()))
                .value(":type", s("window"));
            let old = match self
                .db
                .update(
                    k.clone(),
                    "SET #f = :at, channel = :ch, #type = :type",
                    Some(
                        "(attribute_not_exists(expires_at) OR expires_at > :now) \
                         AND (attribute_not_exists(#f) OR #f < :at)",
                    ),
                    expr,
                )
                .await
            {
                Ok(_) => return Ok(()),
                Err(WriteError::Store(e)) => return Err(e),
                Err(WriteError::Condition(Some(old))) => old,
                Err(WriteError::Condition(None)) => match self.db.get(k.clone()).await? {
                    Some(old) => old,
                    None => continue,
                },
            };
            let window = WindowRecord::from_item(&old)?;
            if window.is_expired(at) {
                // Expired state is absent: a fresh item holding the refusal replaces it.
                let fresh = ItemBuilder::new(self.keys.contact(contact), Keys::window_sk(channel))
                    .set("type", s("window"))
                    .set("channel", s(channel.as_str()))
                    .set("sent_since_inbound", n(0))
                    .set(field, n(at_ms))
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
                    Ok(()) => return Ok(()),
                    Err(WriteError::Store(e)) => return Err(e),
                    Err(WriteError::Condition(_)) => continue,
                }
            }
            let current = if quota {
                window.provider_exhausted_at
            } else {
                window.provider_closed_at
            };
            if current.is_some_and(|c| c >= at) {
                // Not newer than what is recorded: nothing moves.
                return Ok(());
            }
            // The item changed between the update and its answer: try again.
        }
        Err(StoreError::Conflict {
            what: "window",
            id: format!("{contact}/{channel}"),
        })
    }

    /// A delivery failure reported later: `GetItem` the provider-id lookup (written with
    /// the `Sent` completion), then one conditional `UpdateItem` of the message.
    pub(super) async fn fail_by_provider(
        &self,
        channel: &ChannelId,
        provider_message_id: &str,
        code: &str,
        text: &str,
    ) -> StoreResult<Option<Message>> {
        let lookup = self
            .db
            .get(key(
                self.keys.provider_message(channel, provider_message_id),
                SK_PROVIDER_MESSAGE,
            ))
            .await?;
        let Some(lookup) = lookup else {
            return Ok(None);
        };
        let r = Reader::new(&lookup, "provider message lookup");
        let contact: ContactId = r.parse("contact_id")?;
        let id: MessageId = r.parse("message_id")?;
        let created_at = r.ts("message_created_at")?;
        let k = key(
            self.keys.messages(&contact),
            Keys::message_sk(created_at, &id),
        );
        let expr = Expr::new()
            .name("#st", "status")
            .value(":failed", s("failed"))
            .value(":code", s(code))
            .value(":text", s(text))
            .value(":pid", s(provider_message_id));
        self.faults.check(FaultPoint::CompleteCommit)?;
        let old = match self
            .db
            .update(
                k.clone(),
                "SET #st = :failed, error_code = :code, error_text = :text \
                 REMOVE status_provider_message_id",
                Some(
                    "attribute_exists(PK) AND provider_message_id = :pid \
                     AND NOT (#st = :failed AND error_code = :code)",
                ),
                expr,
            )
            .await
        {
            Ok(item) => return message_from_item(&item).map(Some),
            Err(WriteError::Store(e)) => return Err(e),
            Err(WriteError::Condition(Some(old))) => Some(old),
            Err(WriteError::Condition(None)) => self.db.get(k).await?,
        };
        let corrupt = |why: &str| {
            StoreError::Corrupt(format!(
                "provider message {channel}/{provider_message_id} points at message {id}: {why}"
            ))
        };
        let message = message_from_item(&old.ok_or_else(|| corrupt("missing"))?)?;
        if message.provider_message_id.as_deref() != Some(provider_message_id) {
            return Err(corrupt("another provider id"));
        }
        match &message.status {
            // Already failed with that code: a no-op.
            MessageStatus::Failed { code: c, .. } if c == code => Ok(Some(message)),
            // It changed between the update and its answer.
            _ => Err(StoreError::Conflict {
                what: "message",
                id: id.to_string(),
            }),
        }
    }
}
