//! Key builders: the only place that knows how keys are spelled.
//!
//! Every partition key starts with `T#{tenant}#` so IAM `dynamodb:LeadingKeys` can fence
//! tenants. Parts that may contain `#` (external ids, provider event ids, idempotency
//! keys, search tokens) always come last in their key, so no two items can collide.
//! Instants in sort keys are Unix milliseconds, zero-padded to [`MS_DIGITS`] digits so
//! string order is time order for every representable [`Timestamp`].

use replyline_domain::{
    AgentId, ChannelId, ContactId, ConversationId, ConversationStatus, ExternalId, IdempotencyKey,
    MessageId, Timestamp, YearMonth,
};

use crate::common::TokenField;

/// Digits of a millisecond instant in a sort key: enough for year 9999 (15 digits), so
/// lexicographic order is numeric order.
pub const MS_DIGITS: usize = 15;

/// The largest partition key DynamoDB accepts, in bytes (UTF-8).
pub const MAX_PK_BYTES: usize = 2048;
/// The largest sort key DynamoDB accepts, in bytes (UTF-8).
pub const MAX_SK_BYTES: usize = 1024;

/// Attribute names of the table's keys and index keys.
pub const PK: &str = "PK";
pub const SK: &str = "SK";
pub const GSI1: &str = "GSI1";
pub const GSI1PK: &str = "GSI1PK";
pub const GSI1SK: &str = "GSI1SK";
pub const GSI2: &str = "GSI2";
pub const GSI2PK: &str = "GSI2PK";
pub const GSI2SK: &str = "GSI2SK";
/// The TTL attribute: epoch **seconds**.
pub const EXPIRES_AT: &str = "expires_at";

/// Sort keys of the singleton items.
pub const SK_PROFILE: &str = "PROFILE";
pub const SK_IDENTITY: &str = "ID";
pub const SK_CONVERSATION: &str = "META";
pub const SK_DEDUP: &str = "DEDUP";
pub const SK_IDEM: &str = "IDEM";
pub const SK_PROVIDER_MESSAGE: &str = "PMSG";

/// Builds the keys of one tenant.
#[derive(Clone, Debug)]
pub struct Keys {
    prefix: String,
}

/// A millisecond instant as a fixed-width sort key part.
pub fn ms(t: Timestamp) -> String {
    format!("{:0width$}", t.as_millis(), width = MS_DIGITS)
}

/// The sort key of a contact in an inbox index: last activity, then id.
pub fn activity_sk(at_ms: i64, contact: &str) -> String {
    format!("{:0width$}#{contact}", at_ms.max(0), width = MS_DIGITS)
}

/// The first two characters of a search token or term: its partition.
pub fn token_bucket(token: &str) -> &str {
    match token.char_indices().nth(2) {
        Some((end, _)) => &token[..end],
        None => token,
    }
}

impl Keys {
    pub fn new(tenant: &str) -> Self {
        Keys {
            prefix: format!("T#{tenant}#"),
        }
    }

    /// The tenant prefix every partition key starts with.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// Contact partition: profile (`PROFILE`), channels (`CH#…`), windows (`WIN#…`).
    pub fn contact(&self, id: &ContactId) -> String {
        format!("{}C#{id}", self.prefix)
    }

    pub fn channel_sk(channel: &ChannelId) -> String {
        format!("CH#{channel}")
    }

    pub fn window_sk(channel: &ChannelId) -> String {
        format!("WIN#{channel}")
    }

    pub fn identity(&self, channel: &ChannelId, external: &ExternalId) -> String {
        format!("{}ID#{channel}#{external}", self.prefix)
    }

    pub fn conversation(&self, id: &ConversationId) -> String {
        format!("{}CONV#{id}", self.prefix)
    }

    pub fn messages(&self, contact: &ContactId) -> String {
        format!("{}C#{contact}#MSG", self.prefix)
    }

    pub fn message_sk(created_at: Timestamp, id: &MessageId) -> String {
        format!("{}#{id}", ms(created_at))
    }

    pub fn events(&self, contact: &ContactId) -> String {
        format!("{}C#{contact}#EVT", self.prefix)
    }

    /// Events sort by time, then by the contact's event sequence (insertion order), so
    /// events recorded at the same millisecond keep the order they happened in.
    pub fn event_sk(at: Timestamp, seq: u64) -> String {
        format!("{}#{seq:010}", ms(at))
    }

    pub fn dedup(&self, channel: &ChannelId, provider_event_id: &str) -> String {
        format!("{}DEDUP#{channel}#{provider_event_id}", self.prefix)
    }

    pub fn idempotency(&self, contact: &ContactId, key: &IdempotencyKey) -> String {
        format!("{}C#{contact}#IDEM#{key}", self.prefix)
    }

    /// The lookup from a provider's message id to our outbound message (written when the
    /// message is completed as sent).
    pub fn provider_message(&self, channel: &ChannelId, provider_message_id: &str) -> String {
        format!("{}PMSG#{channel}#{provider_message_id}", self.prefix)
    }

    pub fn paid(&self, channel: &ChannelId) -> String {
        format!("{}PAID#{channel}", self.prefix)
    }

    pub fn paid_sk(month: YearMonth) -> String {
        month.to_string()
    }

    /// The view counters' partition.
    pub fn counts(&self) -> String {
        format!("{}COUNTS", self.prefix)
    }

    /// One counter per (assignee, stored status).
    pub fn count_sk(assignee: Option<&AgentId>, status: ConversationStatus) -> String {
        format!("{}#S#{status}", assignee_part(assignee))
    }

    /// GSI1 partition: one agent's (or the unassigned) contacts in one stored status.
    pub fn gsi1pk(&self, assignee: Option<&AgentId>, status: ConversationStatus) -> String {
        format!("{}{}#S#{status}", self.prefix, assignee_part(assignee))
    }

    /// GSI2 partition: every contact in one stored status.
    pub fn gsi2pk(&self, status: ConversationStatus) -> String {
        format!("{}S#{status}", self.prefix)
    }

    /// The partition of a search token (names and phones by their first two characters,
    /// emails whole).
    pub fn search(&self, field: TokenField, token: &str) -> String {
        match field {
            TokenField::Email => format!("{}SRCH#E#{token}", self.prefix),
            _ => format!(
                "{}SRCH#{}#{}",
                self.prefix,
                field.code(),
                token_bucket(token)
            ),
        }
    }

    pub fn search_sk(token: &str, contact: &ContactId) -> String {
        format!("{token}#{contact}")
    }
}

/// `A#{agent}` for an assignee, `U` for nobody. Agent ids cannot contain `#`, and the
/// distinct prefixes keep an agent called `U` or `-` apart from "unassigned".
fn assignee_part(assignee: Option<&AgentId>) -> String {
    match assignee {
        Some(agent) => format!("A#{agent}"),
        None => "U".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(ms: i64) -> Timestamp {
        Timestamp::from_millis(ms).unwrap()
    }

    fn contact() -> ContactId {
        ContactId::parse("01ARZ3NDEKTSV4RRFFQ69G5FAV").unwrap()
    }

    #[test]
    fn keys_carry_the_tenant_prefix() {
        let k = Keys::new("acme");
        let c = contact();
        assert_eq!(k.contact(&c), "T#acme#C#01ARZ3NDEKTSV4RRFFQ69G5FAV");
        assert_eq!(k.messages(&c), "T#acme#C#01ARZ3NDEKTSV4RRFFQ69G5FAV#MSG");
        assert_eq!(k.events(&c), "T#acme#C#01ARZ3NDEKTSV4RRFFQ69G5FAV#EVT");
        let ch = ChannelId::parse("wa").unwrap();
        let ext = ExternalId::parse("a#b c").unwrap();
        assert_eq!(k.identity(&ch, &ext), "T#acme#ID#wa#a#b c");
        assert_eq!(k.dedup(&ch, "wamid.1"), "T#acme#DEDUP#wa#wamid.1");
        assert_eq!(k.paid(&ch), "T#acme#PAID#wa");
        assert_eq!(
            k.provider_message(&ch, "wamid.HBg#1"),
            "T#acme#PMSG#wa#wamid.HBg#1"
        );
        assert_eq!(Keys::channel_sk(&ch), "CH#wa");
        assert_eq!(Keys::window_sk(&ch), "WIN#wa");
        let key = IdempotencyKey::parse("req 1").unwrap();
        assert_eq!(
            k.idempotency(&c, &key),
            "T#acme#C#01ARZ3NDEKTSV4RRFFQ69G5FAV#IDEM#req 1"
        );
        assert_eq!(k.counts(), "T#acme#COUNTS");
        for key in [
            k.contact(&c),
            k.counts(),
            k.paid(&ch),
            k.gsi2pk(ConversationStatus::Open),
        ] {
            assert!(key.starts_with(k.prefix()));
        }
    }

    #[test]
    fn instants_sort_as_strings() {
        assert_eq!(ms(at(5)), "000000000000005");
        let max = at(253_402_300_799_999);
        assert_eq!(ms(max).len(), MS_DIGITS);
        let id = MessageId::generate(at(0));
        assert!(Keys::message_sk(at(999), &id) < Keys::message_sk(at(1000), &id));
        assert!(Keys::event_sk(at(7), 9) < Keys::event_sk(at(7), 10));
        assert!(Keys::event_sk(at(7), 99) < Keys::event_sk(at(8), 0));
        assert!(activity_sk(999, "B") < activity_sk(1000, "A"));
        assert!(activity_sk(1000, "A") < activity_sk(1000, "B"));
    }

    #[test]
    fn views_and_counters_keep_unassigned_apart_from_any_agent() {
        let k = Keys::new("t");
        let u = AgentId::parse("U").unwrap();
        let dash = AgentId::parse("-").unwrap();
        let open = ConversationStatus::Open;
        assert_eq!(k.gsi1pk(None, open), "T#t#U#S#open");
        assert_eq!(k.gsi1pk(Some(&u), open), "T#t#A#U#S#open");
        assert_eq!(k.gsi1pk(Some(&dash), open), "T#t#A#-#S#open");
        assert_eq!(
            Keys::count_sk(None, ConversationStatus::Snoozed),
            "U#S#snoozed"
        );
        assert_eq!(
            Keys::count_sk(Some(&u), ConversationStatus::Closed),
            "A#U#S#closed"
        );
        assert_eq!(k.gsi2pk(ConversationStatus::Snoozed), "T#t#S#snoozed");
    }

    #[test]
    fn search_partitions_by_the_first_two_characters() {
        let k = Keys::new("t");
        assert_eq!(k.search(TokenField::Name, "carlos"), "T#t#SRCH#N#ca");
        assert_eq!(k.search(TokenField::Name, "ñu"), "T#t#SRCH#N#ñu");
        assert_eq!(k.search(TokenField::Name, "小龍王"), "T#t#SRCH#N#小龍");
        assert_eq!(k.search(TokenField::Phone, "600111"), "T#t#SRCH#P#60");
        assert_eq!(
            k.search(TokenField::Email, "ana@example.com"),
            "T#t#SRCH#E#ana@example.com"
        );
        assert_eq!(token_bucket("a"), "a");
        assert_eq!(
            Keys::search_sk("car", &contact()),
            "car#01ARZ3NDEKTSV4RRFFQ69G5FAV"
        );
    }

    #[test]
    fn paid_counters_are_per_month() {
        let nov = Timestamp::parse_rfc3339("2026-11-30T23:00:00Z").unwrap();
        assert_eq!(Keys::paid_sk(nov.month()), "2026-11");
    }
}
