//! Opaque page cursors.
//!
//! A cursor is URL-safe base64 (no padding) of the JSON envelope
//! `{"v":1,"s":scope,"p":payload}`. The store chooses the payload (its last key) and the
//! scope (view, status, query, sort, agent), so a cursor only continues the listing it
//! came from: one replayed against another listing is refused rather than silently
//! skipping or repeating items. The version lets the format change without misreading
//! old cursors. Cursors are not signed: they hold positions, never permissions.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

use crate::string_newtype::string_newtype;
use crate::text::preview;

const VERSION: u64 = 1;
/// Long enough for any key a store pages on; short enough for a URL.
const MAX_CHARS: usize = 4096;

string_newtype! {
    /// Where the previous page stopped. Parsing only checks the shape (1 to 4096
    /// URL-safe base64 characters); [`Cursor::decode`] checks the content.
    pub struct Cursor;
    error = CursorError;
    parse = parse_cursor;
}

/// Why a cursor cannot be made or used. From parsing or decoding, every error means the
/// client should start again from the first page; from encoding, a bug in the store.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CursorError {
    #[error("the cursor is empty")]
    Empty,
    #[error("the cursor is {len} characters long; at most 4096 are allowed")]
    TooLong { len: usize },
    #[error("cursor '{value}' is not URL-safe base64")]
    NotBase64 { value: String },
    #[error("cursor '{value}' is not a page cursor issued by Replyline")]
    NotACursor { value: String },
    #[error(
        "the cursor has format version {found}, not {VERSION}; start again from the first page"
    )]
    Version { found: u64 },
    #[error("the cursor belongs to another listing ('{found}', not '{expected}'); start again from the first page")]
    OtherScope { expected: String, found: String },
    #[error("the cursor's position cannot be read ({reason}); start again from the first page")]
    Payload { reason: String },
    #[error("the position cannot be written into a cursor: {reason}")]
    Encode { reason: String },
}

fn parse_cursor(s: &str) -> Result<String, CursorError> {
    if s.is_empty() {
        return Err(CursorError::Empty);
    }
    if s.len() > MAX_CHARS {
        return Err(CursorError::TooLong {
            len: s.chars().count(),
        });
    }
    if !s
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Err(CursorError::NotBase64 { value: preview(s) });
    }
    Ok(s.to_owned())
}

#[derive(Serialize)]
struct EnvelopeOut<'a, T: ?Sized> {
    v: u64,
    s: &'a str,
    p: &'a T,
}

/// Read first and alone, so a future format is reported as such, whatever its shape.
#[derive(Deserialize)]
struct VersionIn {
    v: u64,
}

#[derive(Deserialize)]
struct EnvelopeIn {
    s: String,
    p: serde_json::Value,
}

impl Cursor {
    /// A cursor for `payload` within `scope`. Fails only if the payload does not
    /// serialise to JSON or the cursor would exceed 4096 characters.
    pub fn encode<T: Serialize + ?Sized>(scope: &str, payload: &T) -> Result<Cursor, CursorError> {
        let json = serde_json::to_vec(&EnvelopeOut {
            v: VERSION,
            s: scope,
            p: payload,
        })
        .map_err(|e| CursorError::Encode {
            reason: e.to_string(),
        })?;
        let text = URL_SAFE_NO_PAD.encode(json);
        if text.len() > MAX_CHARS {
            return Err(CursorError::TooLong { len: text.len() });
        }
        Ok(Cursor(text))
    }

    /// The payload, if this cursor was made by [`Cursor::encode`] with this format
    /// version and exactly this `scope`.
    pub fn decode<T: DeserializeOwned>(&self, scope: &str) -> Result<T, CursorError> {
        let value = || preview(&self.0);
        let bytes = URL_SAFE_NO_PAD
            .decode(&self.0)
            .map_err(|_| CursorError::NotBase64 { value: value() })?;
        let not_a_cursor = |_| CursorError::NotACursor { value: value() };
        let VersionIn { v } = serde_json::from_slice(&bytes).map_err(not_a_cursor)?;
        if v != VERSION {
            return Err(CursorError::Version { found: v });
        }
        let envelope: EnvelopeIn = serde_json::from_slice(&bytes).map_err(not_a_cursor)?;
        if envelope.s != scope {
            return Err(CursorError::OtherScope {
                expected: preview(scope),
                found: preview(&envelope.s),
            });
        }
        serde_json::from_value(envelope.p).map_err(|e| CursorError::Payload {
            reason: e.to_string(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct LastKey {
        at: i64,
        id: String,
    }

    const SCOPE: &str = "all|open|newest|alice|";

    fn key() -> LastKey {
        LastKey {
            at: 1_764_064_800_000,
            id: "01ARZ3NDEKTSV4RRFFQ69G5FAV".into(),
        }
    }

    fn raw(json: &str) -> Cursor {
        Cursor::parse(&URL_SAFE_NO_PAD.encode(json)).unwrap()
    }

    #[test]
    fn round_trips_within_its_scope() {
        let c = Cursor::encode(SCOPE, &key()).unwrap();
        assert!(c
            .as_str()
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
        assert_eq!(c.decode::<LastKey>(SCOPE).unwrap(), key());
        let bytes = URL_SAFE_NO_PAD.decode(c.as_str()).unwrap();
        let envelope: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(envelope["v"], 1);
        assert_eq!(envelope["s"], SCOPE);
    }

    #[test]
    fn refuses_another_listing() {
        let c = Cursor::encode(SCOPE, &key()).unwrap();
        let err = c.decode::<LastKey>("mine|open|newest|alice|").unwrap_err();
        assert_eq!(
            err,
            CursorError::OtherScope {
                expected: "mine|open|newest|alice|".into(),
                found: SCOPE.into()
            }
        );
        assert!(err.to_string().contains("start again from the first page"));
    }

    #[test]
    fn refuses_other_versions_and_shapes() {
        assert_eq!(
            raw(r#"{"v":2,"whatever":true}"#).decode::<LastKey>(SCOPE),
            Err(CursorError::Version { found: 2 })
        );
        for json in [
            r#"not json"#,
            r#"{"s":"x","p":1}"#,
            r#"{"v":1,"p":1}"#,
            r#"[1]"#,
        ] {
            assert!(
                matches!(
                    raw(json).decode::<LastKey>(SCOPE),
                    Err(CursorError::NotACursor { .. })
                ),
                "{json}"
            );
        }
        let wrong_payload = Cursor::encode(SCOPE, &42).unwrap();
        assert!(matches!(
            wrong_payload.decode::<LastKey>(SCOPE),
            Err(CursorError::Payload { .. })
        ));
        // Valid characters, impossible length for base64.
        assert!(matches!(
            Cursor::parse("a").unwrap().decode::<LastKey>(SCOPE),
            Err(CursorError::NotBase64 { .. })
        ));
    }

    #[test]
    fn parsing_checks_the_shape() {
        assert_eq!(Cursor::parse(""), Err(CursorError::Empty));
        assert!(matches!(
            Cursor::parse("abc+/"),
            Err(CursorError::NotBase64 { .. })
        ));
        assert!(matches!(
            Cursor::parse("abc="),
            Err(CursorError::NotBase64 { .. })
        ));
        assert!(Cursor::parse(&"A".repeat(4096)).is_ok());
        assert_eq!(
            Cursor::parse(&"A".repeat(4097)),
            Err(CursorError::TooLong { len: 4097 })
        );
        let c: Cursor = serde_json::from_str("\"eyJ2IjoxfQ\"").unwrap();
        assert_eq!(serde_json::to_string(&c).unwrap(), "\"eyJ2IjoxfQ\"");
        assert!(serde_json::from_str::<Cursor>("\"a b\"").is_err());
    }

    #[test]
    fn encoding_refuses_what_could_not_be_parsed_back() {
        assert!(matches!(
            Cursor::encode(SCOPE, &"x".repeat(4000)),
            Err(CursorError::TooLong { .. })
        ));
        let unkeyable = std::collections::BTreeMap::from([((1, 2), "tuple keys are not JSON")]);
        assert!(matches!(
            Cursor::encode(SCOPE, &unkeyable),
            Err(CursorError::Encode { .. })
        ));
    }

    proptest! {
        #[test]
        fn any_payload_round_trips(scope in "\\PC{0,40}", at in any::<i64>(), id in "\\PC{0,40}") {
            let payload = LastKey { at, id };
            let c = Cursor::encode(&scope, &payload).unwrap();
            prop_assert_eq!(Cursor::parse(c.as_str()), Ok(c.clone()));
            prop_assert_eq!(c.decode::<LastKey>(&scope), Ok(payload));
        }

        #[test]
        fn decoding_arbitrary_text_never_panics(s in "[A-Za-z0-9_-]{1,200}") {
            let _ = Cursor::parse(&s).unwrap().decode::<LastKey>(SCOPE);
        }
    }
}
