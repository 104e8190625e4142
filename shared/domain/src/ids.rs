//! Identifiers: the ones Replyline generates (ULIDs) and the ones it is given
//! (configured channel slugs, agent ids from the identity provider, provider-side ids,
//! client idempotency keys).
//!
//! Every id is a validated string that serialises as itself, so it can be a DynamoDB key
//! or a URL segment as-is.

use std::time::{Duration, SystemTime};

use ulid::Ulid;

use crate::string_newtype::string_newtype;
use crate::text::{preview, TextError, TextRule};
use crate::time::Timestamp;

/// Declares an id Replyline generates: a ULID in canonical (uppercase) form. ULIDs start
/// with their creation time and Crockford's alphabet is in ASCII order, so these ids
/// sort by creation time as plain strings, in DynamoDB and SQLite alike.
macro_rules! ulid_id {
    ($(#[$meta:meta])* $name:ident, $what:literal) => {
        string_newtype! {
            $(#[$meta])*
            pub struct $name;
            error = TextError;
            parse = |s: &str| parse_ulid($what, s);
        }

        impl $name {
            /// A fresh id for something created at `now`. Time comes from the argument
            /// (never the system clock) so replays and tests are deterministic up to the
            /// random part; ids made within the same millisecond are not ordered.
            pub fn generate(now: Timestamp) -> Self {
                $name(generate_ulid(now))
            }
        }
    };
}

ulid_id!(
    /// A contact: one person, across all the channels they write on.
    ContactId,
    "contact id"
);
ulid_id!(
    /// One conversation with a contact, from opening to closing.
    ConversationId,
    "conversation id"
);
ulid_id!(
    /// One message, inbound or outbound.
    MessageId,
    "message id"
);

fn generate_ulid(now: Timestamp) -> String {
    // Timestamps are never before the epoch, so the fallbacks are unreachable.
    let millis = u64::try_from(now.as_millis()).unwrap_or(0);
    let at = SystemTime::UNIX_EPOCH
        .checked_add(Duration::from_millis(millis))
        .unwrap_or(SystemTime::UNIX_EPOCH);
    Ulid::from_datetime(at).to_string()
}

/// Accepts any case (ULIDs are case-insensitive) and keeps the canonical uppercase form,
/// so one id has exactly one spelling as a key.
fn parse_ulid(what: &'static str, s: &str) -> Result<String, TextError> {
    if s.is_empty() {
        return Err(TextError::Empty { what });
    }
    // The decoder drops bits beyond 128 ("8ZZ..." reads as "0ZZ..."), so a value is
    // only a ULID if it re-encodes to itself.
    match Ulid::from_string(s).map(|u| u.to_string()) {
        Ok(canonical) if canonical.eq_ignore_ascii_case(s) => Ok(canonical),
        _ => Err(TextError::Malformed {
            what,
            value: preview(s),
            rule: "is not a ULID: expected 26 characters of Crockford base32 such as 01ARZ3NDEKTSV4RRFFQ69G5FAV",
        }),
    }
}

const CHANNEL_ID: TextRule = TextRule {
    what: "channel id",
    min: 1,
    max: 64,
    allowed: |c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_',
    rule: "it may only use lowercase letters a-z, digits, '-' and '_'",
};

string_newtype! {
    /// A configured channel, by the slug its owner chose ("tg", "support-sms"). Slugs
    /// appear in webhook URLs and keys, hence the URL-safe alphabet.
    pub struct ChannelId;
    error = TextError;
    parse = parse_channel_id;
}

fn parse_channel_id(s: &str) -> Result<String, TextError> {
    CHANNEL_ID.check(s)?;
    if s.starts_with(['-', '_']) {
        return Err(CHANNEL_ID.malformed(s, "must start with a lowercase letter or a digit"));
    }
    Ok(s.to_owned())
}

const AGENT_ID: TextRule = TextRule {
    what: "agent id",
    min: 1,
    max: 128,
    allowed: |c| !c.is_whitespace() && !c.is_control() && c != '#',
    rule: "an agent id may not contain whitespace, control characters or '#' (the store's key separator)",
};

string_newtype! {
    /// An agent, as the identity provider names them (often a JWT `sub`, so almost any
    /// printable text). '#' is refused because the DynamoDB store joins key parts with it.
    pub struct AgentId;
    error = TextError;
    parse = |s: &str| AGENT_ID.check(s).map(|()| s.to_owned());
}

const EXTERNAL_ID: TextRule = TextRule {
    what: "external id",
    min: 1,
    max: 256,
    allowed: |c| !c.is_control(),
    rule: "an external id may not contain control characters",
};

string_newtype! {
    /// A contact's id on a provider: Telegram chat id, Messenger PSID, WhatsApp wa_id,
    /// phone number, email address, Viber id, WeChat OpenID. Kept exactly as the provider
    /// sent it (case and spaces included), because it is what we send back.
    pub struct ExternalId;
    error = TextError;
    parse = parse_external_id;
}

fn parse_external_id(s: &str) -> Result<String, TextError> {
    EXTERNAL_ID.check(s)?;
    if s.trim().is_empty() {
        return Err(TextError::Blank {
            what: EXTERNAL_ID.what,
        });
    }
    Ok(s.to_owned())
}

const IDEMPOTENCY_KEY: TextRule = TextRule {
    what: "idempotency key",
    min: 1,
    max: 255,
    allowed: |c| matches!(c, ' '..='~'),
    rule: "an idempotency key may only use printable ASCII characters",
};

string_newtype! {
    /// A client's key for "send this message once", however often the request is retried.
    pub struct IdempotencyKey;
    error = TextError;
    parse = parse_idempotency_key;
}

/// Surrounding spaces are refused rather than trimmed: HTTP strips them from header
/// values, so accepting them would let one key arrive in two spellings.
fn parse_idempotency_key(s: &str) -> Result<String, TextError> {
    IDEMPOTENCY_KEY.check(s)?;
    if s.starts_with(' ') || s.ends_with(' ') {
        return Err(IDEMPOTENCY_KEY.malformed(s, "must not start or end with a space"));
    }
    Ok(s.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn at(ms: i64) -> Timestamp {
        Timestamp::from_millis(ms).unwrap()
    }

    #[test]
    fn generated_ids_carry_the_given_time_and_sort_by_it() {
        let early = ContactId::generate(at(1_764_064_800_000));
        let late = ContactId::generate(at(1_764_064_800_001));
        assert_eq!(early.as_str().len(), 26);
        let ulid = Ulid::from_string(early.as_str()).unwrap();
        assert_eq!(ulid.timestamp_ms(), 1_764_064_800_000);
        assert!(early < late);
        assert_ne!(
            MessageId::generate(at(5)),
            MessageId::generate(at(5)),
            "the random part differs"
        );
    }

    #[test]
    fn ulids_parse_case_insensitively_into_canonical_form() {
        let id: ConversationId = "01arz3ndektsv4rrffq69g5fav".parse().unwrap();
        assert_eq!(id.as_str(), "01ARZ3NDEKTSV4RRFFQ69G5FAV");
        assert_eq!(id.to_string(), id.as_str());
    }

    #[test]
    fn ulid_ids_reject_everything_else() {
        for bad in [
            "",
            "01ARZ3NDEKTSV4RRFFQ69G5FA",   // 25 chars
            "01ARZ3NDEKTSV4RRFFQ69G5FAVX", // 27 chars
            "01ARZ3NDEKTSV4RRFFQ69G5FAU",  // 'U' is not Crockford
            "81ARZ3NDEKTSV4RRFFQ69G5FAV",  // overflows 128 bits
        ] {
            assert!(ContactId::parse(bad).is_err(), "{bad:?} accepted");
        }
        let err = MessageId::parse("nope").unwrap_err();
        assert_eq!(
            err.to_string(),
            "message id 'nope' is not a ULID: expected 26 characters of Crockford base32 such as 01ARZ3NDEKTSV4RRFFQ69G5FAV"
        );
    }

    #[test]
    fn channel_ids_are_lowercase_slugs() {
        for ok in ["tg", "support-sms", "wa_2", "9lives", &"a".repeat(64)] {
            assert_eq!(ChannelId::parse(ok).unwrap().as_str(), ok);
        }
        for bad in [
            "",
            "Tg",
            "-tg",
            "_tg",
            "t g",
            "tg.eu",
            "téléphone",
            &"a".repeat(65),
        ] {
            assert!(ChannelId::parse(bad).is_err(), "{bad:?} accepted");
        }
        assert_eq!(
            ChannelId::parse("-tg").unwrap_err().to_string(),
            "channel id '-tg' must start with a lowercase letter or a digit"
        );
    }

    #[test]
    fn agent_ids_allow_jwt_subjects_but_not_the_key_separator() {
        for ok in [
            "alice",
            "auth0|5f7c8ec7c33c6c004bbafe82",
            "a1b2c3d4-0000-1111-2222-333344445555",
            "zoë@example.com",
        ] {
            assert!(AgentId::parse(ok).is_ok(), "{ok:?} rejected");
        }
        for bad in [
            "",
            "a b",
            "a\tb",
            "a#b",
            "a\u{0}b",
            "a\u{a0}b",
            &"x".repeat(129),
        ] {
            assert!(AgentId::parse(bad).is_err(), "{bad:?} accepted");
        }
        assert!(AgentId::parse("team#1")
            .unwrap_err()
            .to_string()
            .contains("'#'"));
    }

    #[test]
    fn external_ids_keep_provider_spelling() {
        for ok in [
            "123456789",
            "-1001234567890",
            "+14155550100",
            "01gXkq7z8+Ab/Cd==",
            "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o",
            "Ana Pérez <ana@example.com>",
        ] {
            assert_eq!(ExternalId::parse(ok).unwrap().as_str(), ok);
        }
        assert_eq!(
            ExternalId::parse("   "),
            Err(TextError::Blank {
                what: "external id"
            })
        );
        assert!(ExternalId::parse("a\nb").is_err());
        assert!(ExternalId::parse(&"9".repeat(257)).is_err());
    }

    #[test]
    fn idempotency_keys_are_printable_ascii_without_surrounding_spaces() {
        assert!(IdempotencyKey::parse("retry-1 of 3").is_ok());
        assert!(IdempotencyKey::parse(&"k".repeat(255)).is_ok());
        for bad in ["", " k", "k ", "clé", "k\n", &"k".repeat(256)] {
            assert!(IdempotencyKey::parse(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn serde_is_the_plain_string_and_validates() {
        let id = ChannelId::parse("support-sms").unwrap();
        assert_eq!(serde_json::to_string(&id).unwrap(), "\"support-sms\"");
        assert_eq!(
            serde_json::from_str::<ChannelId>("\"support-sms\"").unwrap(),
            id
        );
        assert!(serde_json::from_str::<ChannelId>("\"Support\"").is_err());
        let c: ContactId = serde_json::from_str("\"01arz3ndektsv4rrffq69g5fav\"").unwrap();
        assert_eq!(c.as_str(), "01ARZ3NDEKTSV4RRFFQ69G5FAV");
    }

    proptest! {
        #[test]
        fn generated_ulids_round_trip(ms in 0i64..=253_402_300_799_999) {
            let id = MessageId::generate(at(ms));
            prop_assert_eq!(MessageId::parse(id.as_str()), Ok(id.clone()));
            let ulid = Ulid::from_string(id.as_str()).unwrap();
            prop_assert_eq!(ulid.timestamp_ms(), u64::try_from(ms).unwrap());
        }

        #[test]
        fn string_order_is_time_order(a in 0i64..1 << 40, b in 0i64..1 << 40) {
            prop_assume!(a != b);
            let (x, y) = (ContactId::generate(at(a)), ContactId::generate(at(b)));
            prop_assert_eq!(a < b, x < y);
        }

        #[test]
        fn agent_ids_never_panic_and_round_trip(s in "\\PC{0,140}") {
            if let Ok(id) = AgentId::parse(&s) {
                prop_assert_eq!(AgentId::parse(id.as_str()), Ok(id.clone()));
            }
        }
    }
}
