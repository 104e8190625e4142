//! Instants and the injected clock.
//!
//! Every rule in Replyline is a function of "now", so "now" is an input: code asks a
//! [`Clock`] and tests pass a [`FixedClock`]. [`Timestamp`] is Unix milliseconds, which is
//! what providers send (LINE, Meta, Viber), what DynamoDB and SQLite store as a number,
//! and what makes comparisons and window arithmetic trivially cheap.

use std::fmt;
use std::str::FromStr;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;

/// An instant, in milliseconds since the Unix epoch (UTC). Serialised as RFC 3339.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(i64);

/// The earliest and latest instants we accept: years 1970 to 9999, so every value
/// formats as RFC 3339 and no arithmetic on them can overflow.
const MIN_MS: i64 = 0;
const MAX_MS: i64 = 253_402_300_799_999;

/// Why a value is not a usable instant.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TimestampError {
    #[error("instant {0} ms is outside the supported range (years 1970 to 9999)")]
    OutOfRange(i64),
    #[error("'{0}' is not an RFC 3339 date-time such as 2026-11-25T10:00:00Z")]
    NotRfc3339(String),
}

impl Timestamp {
    /// The Unix epoch.
    pub const EPOCH: Timestamp = Timestamp(0);

    /// From Unix milliseconds, rejecting values outside years 1970..=9999.
    pub fn from_millis(ms: i64) -> Result<Self, TimestampError> {
        if (MIN_MS..=MAX_MS).contains(&ms) {
            Ok(Timestamp(ms))
        } else {
            Err(TimestampError::OutOfRange(ms))
        }
    }

    /// From Unix seconds (Telegram, WhatsApp and WeChat send seconds).
    pub fn from_secs(secs: i64) -> Result<Self, TimestampError> {
        Self::from_millis(
            secs.checked_mul(1000)
                .ok_or(TimestampError::OutOfRange(secs))?,
        )
    }

    /// Unix milliseconds.
    pub const fn as_millis(self) -> i64 {
        self.0
    }

    /// Unix seconds, rounded down (DynamoDB TTL attributes are epoch seconds).
    pub const fn as_secs(self) -> i64 {
        self.0.div_euclid(1000)
    }

    /// `self + d`, saturating at the latest supported instant.
    pub fn saturating_add(self, d: Duration) -> Self {
        let add = i64::try_from(d.as_millis()).unwrap_or(i64::MAX);
        Timestamp(self.0.saturating_add(add).min(MAX_MS))
    }

    /// `self - d`, saturating at the epoch.
    pub fn saturating_sub(self, d: Duration) -> Self {
        let sub = i64::try_from(d.as_millis()).unwrap_or(i64::MAX);
        Timestamp(self.0.saturating_sub(sub).max(MIN_MS))
    }

    /// The time from `earlier` to `self`, or zero if `earlier` is later.
    pub fn since(self, earlier: Timestamp) -> Duration {
        Duration::from_millis(u64::try_from(self.0 - earlier.0).unwrap_or(0))
    }

    /// The calendar month (UTC) this instant falls in; monthly allowances reset at its start.
    pub fn month(self) -> YearMonth {
        let dt = self.to_offset_date_time();
        YearMonth {
            year: dt.year() as u16,
            month: dt.month() as u8,
        }
    }

    /// RFC 3339 with millisecond precision and a `Z` offset.
    pub fn to_rfc3339(self) -> String {
        let dt = self.to_offset_date_time();
        // Every Timestamp is inside years 1970..=9999, which RFC 3339 can always express.
        dt.format(&Rfc3339).unwrap_or_else(|_| self.0.to_string())
    }

    /// Parses RFC 3339 (any offset), keeping millisecond precision.
    pub fn parse_rfc3339(s: &str) -> Result<Self, TimestampError> {
        let dt = OffsetDateTime::parse(s, &Rfc3339)
            .map_err(|_| TimestampError::NotRfc3339(s.to_owned()))?;
        let ms = i64::try_from(dt.unix_timestamp_nanos() / 1_000_000)
            .map_err(|_| TimestampError::NotRfc3339(s.to_owned()))?;
        Self::from_millis(ms)
    }

    fn to_offset_date_time(self) -> OffsetDateTime {
        OffsetDateTime::from_unix_timestamp_nanos(i128::from(self.0) * 1_000_000)
            .unwrap_or(OffsetDateTime::UNIX_EPOCH)
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_rfc3339())
    }
}

impl FromStr for Timestamp {
    type Err = TimestampError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse_rfc3339(s)
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_rfc3339())
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Self::parse_rfc3339(&s).map_err(serde::de::Error::custom)
    }
}

/// A calendar month in UTC, e.g. 2026-11.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct YearMonth {
    pub year: u16,
    /// 1..=12
    pub month: u8,
}

impl YearMonth {
    /// The month after this one.
    pub fn next(self) -> YearMonth {
        if self.month >= 12 {
            YearMonth {
                year: self.year.saturating_add(1),
                month: 1,
            }
        } else {
            YearMonth {
                year: self.year,
                month: self.month + 1,
            }
        }
    }

    /// 00:00:00.000 UTC on the first day of this month, when monthly allowances reset.
    pub fn start(self) -> Timestamp {
        let date = time::Month::try_from(self.month)
            .ok()
            .and_then(|m| time::Date::from_calendar_date(i32::from(self.year), m, 1).ok());
        match date {
            Some(d) => {
                let secs = d.midnight().assume_utc().unix_timestamp();
                Timestamp::from_secs(secs).unwrap_or(Timestamp(MAX_MS))
            }
            None => Timestamp(MAX_MS),
        }
    }
}

impl fmt::Display for YearMonth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}", self.year, self.month)
    }
}

/// The source of "now". Injected everywhere a rule depends on time.
pub trait Clock: Send + Sync {
    fn now(&self) -> Timestamp;
}

/// The machine's clock.
#[derive(Debug, Default, Clone, Copy)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        let ms = OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000;
        Timestamp(i64::try_from(ms).unwrap_or(MAX_MS).clamp(MIN_MS, MAX_MS))
    }
}

/// A clock that stands still until told to move: for tests and replays.
#[derive(Debug)]
pub struct FixedClock(AtomicI64);

impl FixedClock {
    pub fn new(at: Timestamp) -> Self {
        FixedClock(AtomicI64::new(at.0))
    }
    pub fn set(&self, at: Timestamp) {
        self.0.store(at.0, Ordering::SeqCst);
    }
    pub fn advance(&self, d: Duration) {
        let next = self.now().saturating_add(d);
        self.set(next);
    }
}

impl Clock for FixedClock {
    fn now(&self) -> Timestamp {
        Timestamp(self.0.load(Ordering::SeqCst))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_round_trip_keeps_milliseconds() {
        let t = Timestamp::from_millis(1_764_064_800_123).unwrap();
        let s = t.to_rfc3339();
        assert_eq!(s, "2025-11-25T10:00:00.123Z");
        assert_eq!(Timestamp::parse_rfc3339(&s).unwrap(), t);
    }

    #[test]
    fn parses_offsets_into_utc() {
        let t = Timestamp::parse_rfc3339("2026-11-25T12:00:00+02:00").unwrap();
        assert_eq!(t.to_rfc3339(), "2026-11-25T10:00:00Z");
    }

    #[test]
    fn rejects_garbage_and_out_of_range() {
        assert!(matches!(
            Timestamp::parse_rfc3339("yesterday"),
            Err(TimestampError::NotRfc3339(_))
        ));
        assert!(Timestamp::from_millis(-1).is_err());
        assert!(Timestamp::from_millis(MAX_MS + 1).is_err());
        assert!(Timestamp::from_secs(i64::MAX).is_err());
    }

    #[test]
    fn arithmetic_saturates() {
        let max = Timestamp::from_millis(MAX_MS).unwrap();
        assert_eq!(max.saturating_add(Duration::from_secs(10)), max);
        assert_eq!(
            Timestamp::EPOCH.saturating_sub(Duration::from_secs(1)),
            Timestamp::EPOCH
        );
        assert_eq!(Timestamp::EPOCH.since(max), Duration::ZERO);
    }

    #[test]
    fn month_is_utc_calendar_month() {
        // 2026-11-30T23:59:59.999Z is still November; one ms later it is December.
        let t = Timestamp::parse_rfc3339("2026-11-30T23:59:59.999Z").unwrap();
        assert_eq!(t.month().to_string(), "2026-11");
        let next = Timestamp::from_millis(t.as_millis() + 1).unwrap();
        assert_eq!(next.month().to_string(), "2026-12");
    }

    #[test]
    fn next_month_starts_at_midnight_utc() {
        let t = Timestamp::parse_rfc3339("2026-12-15T08:00:00Z").unwrap();
        assert_eq!(
            t.month().next().start().to_rfc3339(),
            "2027-01-01T00:00:00Z"
        );
        assert_eq!(t.month().start().to_rfc3339(), "2026-12-01T00:00:00Z");
    }

    #[test]
    fn fixed_clock_moves_only_when_told() {
        let c = FixedClock::new(Timestamp::EPOCH);
        assert_eq!(c.now(), Timestamp::EPOCH);
        c.advance(Duration::from_secs(2));
        assert_eq!(c.now().as_millis(), 2000);
    }
}
