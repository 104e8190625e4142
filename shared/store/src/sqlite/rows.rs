//! Mapping between domain values and SQLite values, and between rusqlite errors and
//! store errors.
//!
//! Ids are TEXT, instants INTEGER Unix milliseconds, enums their serde strings,
//! structured values JSON TEXT. Anything that cannot be read back is
//! [`StoreError::Corrupt`]; every other database failure is [`StoreError::Unavailable`].

use std::fmt::Display;
use std::str::FromStr;

use replyline_domain::Timestamp;
use rusqlite::Row;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::error::{StoreError, StoreResult};

/// Turns a rusqlite result into a store result.
pub(crate) trait Db<T> {
    fn db(self) -> StoreResult<T>;
}

impl<T> Db<T> for rusqlite::Result<T> {
    fn db(self) -> StoreResult<T> {
        self.map_err(db_error)
    }
}

/// A value that does not fit its column is corrupt data; anything else means the
/// database could not do what was asked.
pub(crate) fn db_error(e: rusqlite::Error) -> StoreError {
    use rusqlite::Error as E;
    match e {
        E::InvalidColumnType(..)
        | E::FromSqlConversionFailure(..)
        | E::IntegralValueOutOfRange(..)
        | E::Utf8Error(..) => StoreError::Corrupt(e.to_string()),
        other => StoreError::Unavailable(format!("sqlite: {other}")),
    }
}

pub(crate) fn corrupt(what: &str, detail: impl Display) -> StoreError {
    StoreError::Corrupt(format!("{what}: {detail}"))
}

/// An instant as stored.
pub(crate) fn ms(t: Timestamp) -> i64 {
    t.as_millis()
}

pub(crate) fn opt_ms(t: Option<Timestamp>) -> Option<i64> {
    t.map(ms)
}

pub(crate) fn instant(what: &str, v: i64) -> StoreResult<Timestamp> {
    Timestamp::from_millis(v).map_err(|e| corrupt(what, e))
}

/// A structured value as JSON text.
pub(crate) fn json<T: Serialize + ?Sized>(v: &T) -> StoreResult<String> {
    serde_json::to_string(v).map_err(|e| StoreError::Invalid(format!("cannot encode: {e}")))
}

pub(crate) fn opt_json<T: Serialize>(v: Option<&T>) -> StoreResult<Option<String>> {
    v.map(json).transpose()
}

/// An enum as its serde string (`"open"`, `"whatsapp"`, `"ad_referral"`).
pub(crate) fn word<T: Serialize>(v: &T) -> StoreResult<String> {
    match serde_json::to_value(v) {
        Ok(serde_json::Value::String(s)) => Ok(s),
        Ok(other) => Err(StoreError::Invalid(format!(
            "cannot store {other} as a word"
        ))),
        Err(e) => Err(StoreError::Invalid(format!("cannot encode: {e}"))),
    }
}

pub(crate) fn from_word<T: DeserializeOwned>(what: &str, s: &str) -> StoreResult<T> {
    serde_json::from_value(serde_json::Value::String(s.to_owned())).map_err(|e| corrupt(what, e))
}

pub(crate) fn flag(b: bool) -> i64 {
    i64::from(b)
}

/// Typed, named access to one result row.
pub(crate) struct Cols<'a, 'stmt>(pub &'a Row<'stmt>);

impl Cols<'_, '_> {
    pub fn text(&self, col: &str) -> StoreResult<String> {
        self.0.get(col).db()
    }

    pub fn opt_text(&self, col: &str) -> StoreResult<Option<String>> {
        self.0.get(col).db()
    }

    pub fn int(&self, col: &str) -> StoreResult<i64> {
        self.0.get(col).db()
    }

    pub fn opt_int(&self, col: &str) -> StoreResult<Option<i64>> {
        self.0.get(col).db()
    }

    pub fn count(&self, col: &str) -> StoreResult<u32> {
        let n = self.int(col)?;
        u32::try_from(n).map_err(|_| corrupt(col, format!("{n} is not a count")))
    }

    pub fn boolean(&self, col: &str) -> StoreResult<bool> {
        match self.int(col)? {
            0 => Ok(false),
            1 => Ok(true),
            n => Err(corrupt(col, format!("{n} is not 0 or 1"))),
        }
    }

    pub fn at(&self, col: &str) -> StoreResult<Timestamp> {
        instant(col, self.int(col)?)
    }

    pub fn opt_at(&self, col: &str) -> StoreResult<Option<Timestamp>> {
        self.opt_int(col)?.map(|v| instant(col, v)).transpose()
    }

    /// A validated string type (ids, names, emails, phones...).
    pub fn parsed<T>(&self, col: &str) -> StoreResult<T>
    where
        T: FromStr,
        T::Err: Display,
    {
        let s = self.text(col)?;
        s.parse().map_err(|e| corrupt(col, e))
    }

    pub fn opt_parsed<T>(&self, col: &str) -> StoreResult<Option<T>>
    where
        T: FromStr,
        T::Err: Display,
    {
        self.opt_text(col)?
            .map(|s| s.parse().map_err(|e| corrupt(col, e)))
            .transpose()
    }

    pub fn word<T: DeserializeOwned>(&self, col: &str) -> StoreResult<T> {
        from_word(col, &self.text(col)?)
    }

    pub fn opt_word<T: DeserializeOwned>(&self, col: &str) -> StoreResult<Option<T>> {
        self.opt_text(col)?.map(|s| from_word(col, &s)).transpose()
    }

    pub fn json<T: DeserializeOwned>(&self, col: &str) -> StoreResult<T> {
        let s = self.text(col)?;
        serde_json::from_str(&s).map_err(|e| corrupt(col, e))
    }

    pub fn opt_json<T: DeserializeOwned>(&self, col: &str) -> StoreResult<Option<T>> {
        self.opt_text(col)?
            .map(|s| serde_json::from_str(&s).map_err(|e| corrupt(col, e)))
            .transpose()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use replyline_domain::{ChannelKind, ConversationStatus, Direction};
    use replyline_policy::Opener;

    #[test]
    fn enums_are_stored_as_their_serde_words() {
        assert_eq!(word(&ConversationStatus::Snoozed).unwrap(), "snoozed");
        assert_eq!(word(&ChannelKind::Whatsapp).unwrap(), "whatsapp");
        assert_eq!(word(&Opener::AdReferral).unwrap(), "ad_referral");
        assert_eq!(word(&Direction::Outbound).unwrap(), "outbound");
        assert_eq!(
            from_word::<Opener>("opener", "qr_scan").unwrap(),
            Opener::QrScan
        );
        assert!(matches!(
            from_word::<ChannelKind>("kind", "fax"),
            Err(StoreError::Corrupt(_))
        ));
    }

    #[test]
    fn bad_instants_are_corrupt() {
        assert!(matches!(
            instant("at", i64::MAX),
            Err(StoreError::Corrupt(_))
        ));
        assert_eq!(
            instant("at", 5).unwrap(),
            Timestamp::from_millis(5).unwrap()
        );
    }
}
