//! The domain's parsers of outside text, every one on each input, with the invariants
//! "parse, don't validate" promises: a parsed value re-parses to itself (one spelling per
//! value), serialises and deserialises back, and formats without panicking.
//!
//! Input: the whole input as text (lossy UTF-8); its first 8 bytes also as a number of
//! milliseconds or seconds; tab-separated fields where a parser takes several strings.
#![no_main]

use std::fmt::Debug;
use std::str::FromStr;

use libfuzzer_sys::fuzz_target;
use replyline_domain::{
    fold_name, name_tokens, AgentId, ChannelId, ChannelKind, ClosingNote, Contact, ContactId,
    Content, Conversation, ConversationId, Cursor, Email, ExternalId, IdempotencyKey, InboxView,
    Message, MessageId, MessageTag, PageSize, PersonName, Phone, ProfileFields, SearchKeys,
    SearchQuery, SortOrder, StatusFilter, Template, Timestamp, WorkspaceSettings,
};
use replyline_fuzz::Bytes8;
use replyline_policy::ContactChannelState;
use serde::de::DeserializeOwned;
use serde::Serialize;

/// `T::parse` through `FromStr`: a value re-parses to itself and round-trips through JSON.
fn canonical<T>(s: &str)
where
    T: FromStr + ToString + PartialEq + Debug + Serialize + DeserializeOwned,
{
    if let Ok(v) = s.parse::<T>() {
        let text = v.to_string();
        let again = text.parse::<T>();
        assert!(
            again.as_ref().is_ok_and(|a| *a == v),
            "{s:?} parsed to {v:?}, whose text {text:?} re-parses to {:?}",
            again.err().map(|_| "an error")
        );
        let json = serde_json::to_string(&v).expect("serialises");
        let back: T = serde_json::from_str(&json).expect("deserialises");
        assert_eq!(back, v, "JSON round trip of {s:?}");
    }
}

/// A stored shape read from JSON: whatever deserialises serialises and reads back equal.
fn stored<T>(s: &str)
where
    T: Serialize + DeserializeOwned + PartialEq + Debug,
{
    if let Ok(v) = serde_json::from_str::<T>(s) {
        let json = serde_json::to_string(&v).expect("serialises");
        let back: T = serde_json::from_str(&json)
            .unwrap_or_else(|e| panic!("{v:?} serialised to {json} which reads back as {e}"));
        assert_eq!(back, v);
    }
}

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let s = text.as_ref();

    // Ids, names, contact details.
    canonical::<ContactId>(s);
    canonical::<ConversationId>(s);
    canonical::<MessageId>(s);
    canonical::<AgentId>(s);
    canonical::<ChannelId>(s);
    canonical::<ExternalId>(s);
    canonical::<IdempotencyKey>(s);
    canonical::<PersonName>(s);
    canonical::<MessageTag>(s);
    canonical::<Email>(s);
    canonical::<Phone>(s);
    canonical::<Timestamp>(s);
    canonical::<ChannelKind>(s);
    canonical::<InboxView>(s);
    canonical::<StatusFilter>(s);
    canonical::<SortOrder>(s);
    let _ = PersonName::parse_optional(s);
    if let Ok(n) = s.parse::<u32>() {
        let _ = PageSize::new(n);
    }
    let _ = s.parse::<PageSize>();

    // Several strings: tab-separated fields.
    let f: Vec<&str> = s.split('\t').collect();
    let field = |i: usize| f.get(i).copied();
    if let Ok(p) = ProfileFields::parse(field(0), field(1), field(2), field(3)) {
        let _ = format!("{p:?}");
    }
    let _ = Template::new(
        field(0).unwrap_or_default(),
        field(1).unwrap_or_default(),
        f.iter().skip(2).map(|p| p.to_string()).collect(),
    );
    let tag = field(1).and_then(|t| MessageTag::parse(t).ok());
    let _ = Content::new(field(0).map(str::to_owned), None, tag);
    let _ = Content::from_text(s);
    let settings = WorkspaceSettings::default();
    let _ = settings.check_closing_note(Some(ClosingNote {
        category: field(0).map(str::to_owned),
        summary: field(1).map(str::to_owned),
    }));

    // Time: text and numbers.
    if let Ok(t) = Timestamp::parse_rfc3339(s) {
        let _ = (t.month(), t.to_rfc3339());
    }
    let mut n = Bytes8(data);
    let number = n.i64();
    for t in [Timestamp::from_millis(number), Timestamp::from_secs(number)]
        .into_iter()
        .flatten()
    {
        let again = Timestamp::parse_rfc3339(&t.to_rfc3339()).expect("RFC 3339 re-parses");
        assert_eq!(again, t);
        let month = t.month();
        // The month holds the instant (the last month's end saturates at year 9999).
        assert!(
            month.start() <= t && t <= month.next().start(),
            "{t:?} in {month}"
        );
        let d = std::time::Duration::from_millis(number.unsigned_abs());
        let _ = (
            t.saturating_add(d),
            t.saturating_sub(d),
            t.since(Timestamp::EPOCH),
        );
    }

    // Search: the query, folding, and the reference match.
    let folded = fold_name(s);
    assert_eq!(fold_name(&folded), folded, "fold_name is idempotent");
    let _ = name_tokens(&folded).count();
    if let Ok(q) = SearchQuery::parse(s) {
        let again = SearchQuery::parse(q.as_str()).expect("a query's text re-parses");
        assert_eq!(again, q);
        // A contact named exactly what was searched for is found.
        if !q.name_terms().is_empty() {
            let keys = SearchKeys::new(Some(q.as_str()), None, None, None);
            assert!(q.matches(&keys), "{q:?} does not find {keys:?}");
        }
        if let Some(email) = q.email() {
            let keys = SearchKeys::new(None, None, Some(email), None);
            assert!(q.matches(&keys));
        }
        let keys = SearchKeys::new(field(0), field(1), None, Phone::parse(s).ok().as_ref());
        let _ = q.matches(&keys);
    }

    // Cursors: the shape, then the content under a scope.
    if let Ok(c) = Cursor::parse(s) {
        let _ = c.decode::<serde_json::Value>("inbox");
        let _ = c.decode::<(String, i64)>("inbox");
    }
    if let Ok(c) = Cursor::encode(s, &folded) {
        let back: String = c.decode(s).expect("a cursor decodes in its own scope");
        assert_eq!(back, folded);
    }

    // Stored shapes read back from the store (JSON in SQLite, items in DynamoDB).
    stored::<Contact>(s);
    stored::<Conversation>(s);
    stored::<Message>(s);
    stored::<Content>(s);
    stored::<SearchKeys>(s);
    stored::<ContactChannelState>(s);
});
