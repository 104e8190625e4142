//! What an agent types in the inbox search bar, what a contact is indexed by, and the
//! reference rule joining the two.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::email::{Email, EmailError};
use super::fold::{fold_name, name_tokens};
use super::phone::{is_phone_punctuation, Phone};
use crate::text::preview;

/// Longer input is not a search someone typed; the limit also bounds index lookups.
const MAX_QUERY_CHARS: usize = 256;
/// One-letter words would match nearly every contact.
const MIN_TERM_CHARS: usize = 2;
/// Fewer digits would match nearly every number.
const MIN_PHONE_DIGITS: usize = 3;

/// A parsed inbox search.
///
/// - Text containing '@' is an email search: it must be a whole, valid address, and
///   matches contacts whose email is equal after normalisation (trim, lowercase).
/// - Anything else is a name search: [`fold_name`], split into words, each of at least
///   2 characters.
/// - If the text is only digits and phone formatting (spaces, '-', '.', '(', ')', '+')
///   with at least 3 significant digits, it is also a phone search on those digits,
///   without a leading "+" or "00" international prefix. When it starts with a single
///   national trunk "0" ("0412 345"), the digits without that 0 are a second candidate,
///   so the search finds "+61 412 345 ...". A phone search containing a one-character
///   group ("1 415 555") searches phone numbers only, rather than failing on the short
///   word.
///
/// Serialises as the (trimmed) text the agent typed.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct SearchQuery {
    text: String,
    email: Option<Email>,
    name_terms: Vec<String>,
    phone_candidates: Vec<String>,
}

/// Why a search cannot be run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SearchQueryError {
    #[error("the search is empty; type at least 2 characters")]
    Empty,
    #[error("the search is {len} characters long; at most 256 are allowed")]
    TooLong { len: usize },
    #[error("'{term}' is too short to search for: each word needs at least 2 characters")]
    TooShort { term: String },
    #[error("the search contains '@' but is not an email address: {0}")]
    Email(#[from] EmailError),
}

impl SearchQuery {
    pub fn parse(s: &str) -> Result<Self, SearchQueryError> {
        let text = s.trim();
        if text.is_empty() {
            return Err(SearchQueryError::Empty);
        }
        let len = text.chars().count();
        if len > MAX_QUERY_CHARS {
            return Err(SearchQueryError::TooLong { len });
        }
        let mut query = SearchQuery {
            text: text.to_owned(),
            email: None,
            name_terms: Vec::new(),
            phone_candidates: Vec::new(),
        };
        if text.contains('@') {
            query.email = Some(Email::parse(text)?);
            return Ok(query);
        }
        query.phone_candidates = phone_candidates(text);
        let folded = fold_name(text);
        let terms: Vec<String> = name_tokens(&folded).map(str::to_owned).collect();
        let short = terms
            .iter()
            .find(|t| t.chars().count() < MIN_TERM_CHARS)
            .cloned();
        match short {
            Some(_) if !query.phone_candidates.is_empty() => {}
            Some(term) => return Err(SearchQueryError::TooShort { term }),
            // Only marks or symbols that fold away ("´"): nothing to search for.
            None if terms.is_empty() && query.phone_candidates.is_empty() => {
                return Err(SearchQueryError::TooShort {
                    term: preview(text),
                })
            }
            None => query.name_terms = terms,
        }
        Ok(query)
    }

    /// The search as typed, trimmed.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Set for an email search; then there are no name terms or phone candidates.
    pub fn email(&self) -> Option<&Email> {
        self.email.as_ref()
    }

    /// Folded words, each at least 2 characters; empty for an email search and for a
    /// phone-only search.
    pub fn name_terms(&self) -> &[String] {
        &self.name_terms
    }

    /// Digit strings (no '+'), empty or one or two entries: the significant digits, and
    /// the same without a national trunk "0".
    pub fn phone_candidates(&self) -> &[String] {
        &self.phone_candidates
    }

    /// The reference semantics every store adapter must agree with:
    ///
    /// - an email search matches when `keys.email` equals the query's email;
    /// - otherwise a contact matches when EITHER every name term is a substring of its
    ///   folded first name or of its folded last name (each term may match either field;
    ///   a contact with no name never matches by name), OR some phone candidate is a
    ///   substring of its phone digits.
    ///
    /// So "car" finds Carlos, Scarlet and Oscar, "carlos gar" finds Carlos García, and
    /// "555 01" finds +1 415 555 0100.
    pub fn matches(&self, keys: &SearchKeys) -> bool {
        if let Some(email) = &self.email {
            return keys.email.as_ref() == Some(email);
        }
        let in_names = |term: &String| {
            [&keys.first_name, &keys.last_name]
                .into_iter()
                .flatten()
                .any(|name| name.contains(term.as_str()))
        };
        let by_name = !self.name_terms.is_empty() && self.name_terms.iter().all(in_names);
        let by_phone = keys.phone_digits.as_deref().is_some_and(|digits| {
            self.phone_candidates
                .iter()
                .any(|c| digits.contains(c.as_str()))
        });
        by_name || by_phone
    }
}

/// The phone digits a search stands for, if it looks like (part of) a phone number.
fn phone_candidates(text: &str) -> Vec<String> {
    let phone_like = text
        .chars()
        .all(|c| c.is_ascii_digit() || c == '+' || is_phone_punctuation(c));
    if !phone_like {
        return Vec::new();
    }
    let digits: String = text.chars().filter(char::is_ascii_digit).collect();
    let (significant, international) = match digits.strip_prefix("00") {
        Some(rest) => (rest, true),
        None => (digits.as_str(), text.contains('+')),
    };
    if significant.len() < MIN_PHONE_DIGITS {
        return Vec::new();
    }
    let mut candidates = vec![significant.to_owned()];
    if !international {
        if let Some(national) = significant.strip_prefix('0') {
            if national.len() >= MIN_PHONE_DIGITS {
                candidates.push(national.to_owned());
            }
        }
    }
    candidates
}

impl fmt::Display for SearchQuery {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl std::str::FromStr for SearchQuery {
    type Err = SearchQueryError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl Serialize for SearchQuery {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.text)
    }
}

impl<'de> Deserialize<'de> for SearchQuery {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Self::parse(&s).map_err(serde::de::Error::custom)
    }
}

/// What a contact is found by, normalised once at write time: folded names (absent when
/// empty after folding), the normalised email, and the phone's digits without '+'.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "SearchKeysRepr")]
pub struct SearchKeys {
    first_name: Option<String>,
    last_name: Option<String>,
    email: Option<Email>,
    phone_digits: Option<String>,
}

/// Stored search keys whose phone digits are not an international number's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("search key phone digits '{value}' are not the digits of an international phone number")]
pub struct SearchKeysError {
    pub value: String,
}

impl SearchKeys {
    pub fn new(
        first: Option<&str>,
        last: Option<&str>,
        email: Option<&Email>,
        phone: Option<&Phone>,
    ) -> Self {
        let folded = |name: &str| Some(fold_name(name)).filter(|f| !f.is_empty());
        SearchKeys {
            first_name: first.and_then(folded),
            last_name: last.and_then(folded),
            email: email.cloned(),
            phone_digits: phone.map(|p| p.digits().to_owned()),
        }
    }

    pub fn first_name(&self) -> Option<&str> {
        self.first_name.as_deref()
    }

    pub fn last_name(&self) -> Option<&str> {
        self.last_name.as_deref()
    }

    pub fn email(&self) -> Option<&Email> {
        self.email.as_ref()
    }

    pub fn phone_digits(&self) -> Option<&str> {
        self.phone_digits.as_deref()
    }
}

/// The serialised shape; deserialising refolds the names (folding is idempotent) and
/// checks the digits, so stored keys cannot break the invariants.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SearchKeysRepr {
    #[serde(default)]
    first_name: Option<String>,
    #[serde(default)]
    last_name: Option<String>,
    #[serde(default)]
    email: Option<Email>,
    #[serde(default)]
    phone_digits: Option<String>,
}

impl TryFrom<SearchKeysRepr> for SearchKeys {
    type Error = SearchKeysError;
    fn try_from(r: SearchKeysRepr) -> Result<Self, Self::Error> {
        let phone = match r.phone_digits {
            None => None,
            Some(digits) if digits.bytes().all(|b| b.is_ascii_digit()) => Some(
                Phone::parse(&format!("+{digits}")).map_err(|_| SearchKeysError {
                    value: preview(&digits),
                })?,
            ),
            Some(digits) => {
                return Err(SearchKeysError {
                    value: preview(&digits),
                })
            }
        };
        Ok(SearchKeys::new(
            r.first_name.as_deref(),
            r.last_name.as_deref(),
            r.email.as_ref(),
            phone.as_ref(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn keys(
        first: Option<&str>,
        last: Option<&str>,
        email: Option<&str>,
        phone: Option<&str>,
    ) -> SearchKeys {
        let email = email.map(|e| Email::parse(e).unwrap());
        let phone = phone.map(|p| Phone::parse(p).unwrap());
        SearchKeys::new(first, last, email.as_ref(), phone.as_ref())
    }

    fn named(first: &str, last: &str) -> SearchKeys {
        keys(Some(first), Some(last), None, None)
    }

    fn q(s: &str) -> SearchQuery {
        SearchQuery::parse(s).unwrap()
    }

    #[test]
    fn partial_name_matches_either_field() {
        let car = q("car");
        assert!(car.matches(&named("Carlos", "Pérez")));
        assert!(car.matches(&named("Scarlet", "Jones")));
        assert!(car.matches(&named("Ana", "Oscar")));
        assert!(!car.matches(&named("Ana", "Pérez")));
    }

    #[test]
    fn every_term_must_match_some_name_field() {
        let carlos = named("Carlos", "García");
        assert!(q("carlos gar").matches(&carlos));
        assert!(q("GARCÍA Carl").matches(&carlos));
        assert!(q("los cia").matches(&carlos));
        assert!(!q("carlos lopez").matches(&carlos));
        assert!(q("garcia").matches(&keys(None, Some("García"), None, None)));
    }

    #[test]
    fn contacts_without_names_never_match_by_name() {
        let nameless = keys(None, Some("  "), Some("x@example.com"), None);
        assert_eq!(
            nameless,
            SearchKeys::new(None, None, nameless.email(), None)
        );
        assert!(!q("ex").matches(&nameless));
    }

    #[test]
    fn phone_searches_match_digit_substrings() {
        let contact = keys(None, None, None, Some("+14155550100"));
        assert!(q("555 01").matches(&contact));
        assert!(q("+1 415").matches(&contact));
        assert!(q("(415) 555-0100").matches(&contact));
        assert!(q("1 415 555").matches(&contact));
        assert!(!q("555 02").matches(&contact));
    }

    #[test]
    fn phone_candidates_drop_international_prefixes_and_offer_trunkless_digits() {
        assert_eq!(q("+61 412").phone_candidates(), ["61412"]);
        assert_eq!(q("0061 412").phone_candidates(), ["61412"]);
        assert_eq!(q("0412 345").phone_candidates(), ["0412345", "412345"]);
        assert_eq!(q("012").phone_candidates(), ["012"]);
        assert!(q("12").phone_candidates().is_empty());
        assert!(q("r2d2").phone_candidates().is_empty());
        let au = keys(None, None, None, Some("+61 412 345 678"));
        assert!(q("0412 345").matches(&au));
    }

    #[test]
    fn a_phone_search_keeps_its_words_as_name_terms_when_long_enough() {
        let query = q("555 01");
        assert_eq!(query.name_terms(), ["555", "01"]);
        assert!(q("1 415").name_terms().is_empty());
        assert_eq!(q("1 415").phone_candidates(), ["1415"]);
    }

    #[test]
    fn email_searches_are_exact_and_case_insensitive() {
        let query = q(" Ana@Example.COM ");
        assert_eq!(query.email().map(Email::as_str), Some("ana@example.com"));
        assert!(query.name_terms().is_empty() && query.phone_candidates().is_empty());
        assert!(query.matches(&keys(Some("Ana"), None, Some("ana@example.com"), None)));
        assert!(!query.matches(&keys(Some("Ana"), None, Some("ana@example.co"), None)));
        assert!(!query.matches(&keys(Some("ana@example.com"), None, None, None)));
    }

    #[test]
    fn rejects_unsearchable_input() {
        assert_eq!(SearchQuery::parse("   "), Err(SearchQueryError::Empty));
        assert_eq!(
            SearchQuery::parse("carlos g"),
            Err(SearchQueryError::TooShort { term: "g".into() })
        );
        assert_eq!(
            SearchQuery::parse("é").unwrap_err().to_string(),
            "'e' is too short to search for: each word needs at least 2 characters"
        );
        assert!(matches!(
            SearchQuery::parse("´"),
            Err(SearchQueryError::TooShort { .. })
        ));
        assert!(matches!(
            SearchQuery::parse("ana@"),
            Err(SearchQueryError::Email(_))
        ));
        assert!(matches!(
            SearchQuery::parse(&"a".repeat(257)),
            Err(SearchQueryError::TooLong { len: 257 })
        ));
    }

    #[test]
    fn serde_round_trips_through_the_text() {
        let query = q("  José García ");
        let json = serde_json::to_string(&query).unwrap();
        assert_eq!(json, "\"José García\"");
        assert_eq!(serde_json::from_str::<SearchQuery>(&json).unwrap(), query);
        assert!(serde_json::from_str::<SearchQuery>("\"x\"").is_err());
    }

    #[test]
    fn search_keys_deserialise_through_normalisation() {
        let k = keys(
            Some("José"),
            Some("García"),
            Some("jose@example.com"),
            Some("+34 600 000 000"),
        );
        let json = serde_json::to_string(&k).unwrap();
        assert_eq!(serde_json::from_str::<SearchKeys>(&json).unwrap(), k);
        let raw: SearchKeys =
            serde_json::from_str(r#"{"first_name":" ÁNA ","phone_digits":"34600000000"}"#).unwrap();
        assert_eq!(raw.first_name(), Some("ana"));
        assert_eq!(raw.phone_digits(), Some("34600000000"));
        for bad in [
            r#"{"phone_digits":"+346000"}"#,
            r#"{"phone_digits":"12"}"#,
            r#"{"nick":"x"}"#,
        ] {
            assert!(serde_json::from_str::<SearchKeys>(bad).is_err(), "{bad}");
        }
    }

    proptest! {
        /// Any 2+ character piece of a folded first name, without spaces, finds the contact
        /// (unless it contains '@', which makes it an email search).
        #[test]
        fn substrings_of_the_first_name_find_the_contact(
            first in "[^@\\p{C}]{1,12}",
            last in proptest::option::of("[^@\\p{C}]{1,12}"),
            start in any::<prop::sample::Index>(),
            len in any::<prop::sample::Index>(),
        ) {
            let folded = fold_name(&first);
            let chars: Vec<char> = folded.chars().collect();
            prop_assume!(chars.len() >= 2);
            let start = start.index(chars.len() - 1);
            let len = 2 + len.index(chars.len() - start - 1);
            let piece: String = chars.iter().skip(start).take(len).collect();
            prop_assume!(!piece.contains(' ') && !piece.contains('@'));
            let query = SearchQuery::parse(&piece).unwrap();
            prop_assert!(query.matches(&SearchKeys::new(Some(&first), last.as_deref(), None, None)));
        }

        #[test]
        fn parse_never_panics(s in "\\PC{0,60}") {
            let _ = SearchQuery::parse(&s);
        }

        #[test]
        fn phone_substrings_find_the_contact(
            digits in "[1-9][0-9]{6,14}",
            start in any::<prop::sample::Index>(),
            len in any::<prop::sample::Index>(),
        ) {
            let start = start.index(digits.len() - 2);
            let len = 3 + len.index(digits.len() - start - 2);
            let piece = digits.get(start..start + len).unwrap_or_default();
            prop_assume!(!piece.starts_with("00"));
            let phone = Phone::parse(&digits).unwrap();
            let query = SearchQuery::parse(piece).unwrap();
            prop_assert!(query.matches(&SearchKeys::new(None, None, None, Some(&phone))));
        }
    }
}
