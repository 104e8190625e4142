//! How an agent lists the inbox: which view, which statuses, in what order, how many at
//! a time, and where the previous page stopped.

mod cursor;

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::conversation::ConversationStatus;
use crate::text::preview;

pub use cursor::{Cursor, CursorError};

/// A word that is not one of an option's spellings (`?view=everyone`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{value}' is not {what}; expected one of: {}", .expected.join(", "))]
pub struct UnknownOption {
    pub what: &'static str,
    pub value: String,
    pub expected: &'static [&'static str],
}

/// Declares a fieldless enum spelled as lowercase words in URLs and JSON, with `ALL`,
/// `as_str`, `Display`, `FromStr` (failing with [`UnknownOption`]) and `Default`.
macro_rules! keyword_enum {
    (
        $(#[$meta:meta])*
        pub enum $name:ident ($what:literal, default $default:ident) {
            $($(#[$vmeta:meta])* $variant:ident = $text:literal,)+
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "lowercase")]
        pub enum $name {
            $($(#[$vmeta])* $variant,)+
        }

        impl $name {
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            pub const fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $text,)+
                }
            }
        }

        impl Default for $name {
            fn default() -> Self {
                $name::$default
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl FromStr for $name {
            type Err = UnknownOption;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                $name::ALL
                    .iter()
                    .copied()
                    .find(|v| v.as_str() == s)
                    .ok_or_else(|| UnknownOption {
                        what: $what,
                        value: preview(s),
                        expected: &[$($text),+],
                    })
            }
        }
    };
}

keyword_enum! {
    /// Whose contacts to list.
    pub enum InboxView ("an inbox view", default All) {
        /// Assigned to the requesting agent.
        Mine = "mine",
        Unassigned = "unassigned",
        All = "all",
    }
}

keyword_enum! {
    /// Which conversations to list, by effective status (an expired snooze is open).
    pub enum StatusFilter ("a status filter", default Open) {
        Open = "open",
        Closed = "closed",
        Snoozed = "snoozed",
        All = "all",
    }
}

keyword_enum! {
    /// Order of the listing: newest or oldest first.
    pub enum SortOrder ("a sort order", default Newest) {
        Newest = "newest",
        Oldest = "oldest",
    }
}

impl StatusFilter {
    /// Whether a conversation with this (effective) status belongs in the listing.
    pub fn includes(self, status: ConversationStatus) -> bool {
        match self {
            StatusFilter::Open => status == ConversationStatus::Open,
            StatusFilter::Closed => status == ConversationStatus::Closed,
            StatusFilter::Snoozed => status == ConversationStatus::Snoozed,
            StatusFilter::All => true,
        }
    }
}

/// How many items a page holds: 1 to 100, 25 by default. Bounded so one request cannot
/// ask a store for an unbounded scan.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "u32", into = "u32")]
pub struct PageSize(u32);

/// A page size that is not a whole number from 1 to 100.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PageSizeError {
    #[error("page size {0} is out of range; expected a whole number from 1 to 100")]
    OutOfRange(u32),
    #[error("'{0}' is not a page size; expected a whole number from 1 to 100")]
    NotANumber(String),
}

impl PageSize {
    pub const MIN: u32 = 1;
    pub const MAX: u32 = 100;
    pub const DEFAULT: PageSize = PageSize(25);

    pub fn new(n: u32) -> Result<Self, PageSizeError> {
        if (Self::MIN..=Self::MAX).contains(&n) {
            Ok(PageSize(n))
        } else {
            Err(PageSizeError::OutOfRange(n))
        }
    }

    pub const fn get(self) -> u32 {
        self.0
    }
}

impl Default for PageSize {
    fn default() -> Self {
        Self::DEFAULT
    }
}

impl fmt::Display for PageSize {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl FromStr for PageSize {
    type Err = PageSizeError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let n = s
            .parse::<u32>()
            .map_err(|_| PageSizeError::NotANumber(preview(s)))?;
        Self::new(n)
    }
}

impl TryFrom<u32> for PageSize {
    type Error = PageSizeError;
    fn try_from(n: u32) -> Result<Self, Self::Error> {
        Self::new(n)
    }
}

impl From<PageSize> for u32 {
    fn from(p: PageSize) -> u32 {
        p.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_all_open_newest_25() {
        assert_eq!(InboxView::default(), InboxView::All);
        assert_eq!(StatusFilter::default(), StatusFilter::Open);
        assert_eq!(SortOrder::default(), SortOrder::Newest);
        assert_eq!(PageSize::default().get(), 25);
    }

    #[test]
    fn keywords_round_trip_through_str_and_serde() {
        fn check<T>(all: &[T])
        where
            T: Copy + fmt::Debug + PartialEq + fmt::Display + FromStr + Serialize,
            T: for<'de> Deserialize<'de>,
            <T as FromStr>::Err: fmt::Debug,
        {
            for &v in all {
                let s = v.to_string();
                assert_eq!(s.parse::<T>().unwrap(), v);
                let json = serde_json::to_string(&v).unwrap();
                assert_eq!(json, format!("\"{s}\""));
                assert_eq!(serde_json::from_str::<T>(&json).unwrap(), v);
            }
        }
        check(InboxView::ALL);
        check(StatusFilter::ALL);
        check(SortOrder::ALL);
    }

    #[test]
    fn unknown_keywords_name_the_value_and_the_options() {
        assert_eq!(
            "everyone".parse::<InboxView>().unwrap_err().to_string(),
            "'everyone' is not an inbox view; expected one of: mine, unassigned, all"
        );
        assert_eq!(
            "Open".parse::<StatusFilter>().unwrap_err().to_string(),
            "'Open' is not a status filter; expected one of: open, closed, snoozed, all"
        );
        assert!("".parse::<SortOrder>().is_err());
    }

    #[test]
    fn status_filter_includes_matching_statuses() {
        use ConversationStatus::*;
        assert!(StatusFilter::Open.includes(Open) && !StatusFilter::Open.includes(Snoozed));
        assert!(StatusFilter::Closed.includes(Closed) && !StatusFilter::Closed.includes(Open));
        assert!(StatusFilter::Snoozed.includes(Snoozed));
        assert!([Open, Closed, Snoozed]
            .into_iter()
            .all(|s| StatusFilter::All.includes(s)));
    }

    #[test]
    fn page_size_is_bounded() {
        assert_eq!(PageSize::new(1).unwrap().get(), 1);
        assert_eq!(PageSize::new(100).unwrap().get(), 100);
        assert_eq!(PageSize::new(0), Err(PageSizeError::OutOfRange(0)));
        assert_eq!(
            "101".parse::<PageSize>(),
            Err(PageSizeError::OutOfRange(101))
        );
        assert_eq!(
            "ten".parse::<PageSize>().unwrap_err().to_string(),
            "'ten' is not a page size; expected a whole number from 1 to 100"
        );
        assert_eq!(
            serde_json::to_string(&PageSize::new(50).unwrap()).unwrap(),
            "50"
        );
        assert_eq!(serde_json::from_str::<PageSize>("50").unwrap().get(), 50);
        assert!(serde_json::from_str::<PageSize>("500").is_err());
        assert!(serde_json::from_str::<PageSize>("-1").is_err());
    }
}
