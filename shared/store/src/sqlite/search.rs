//! SQL conditions with their parameters, built piece by piece, and the search condition
//! that mirrors [`SearchQuery::matches`] exactly.

use replyline_domain::SearchQuery;
use rusqlite::types::Value;

/// A fragment of SQL with positional (`?`) parameters, in order.
#[doc(hidden)]
#[derive(Debug, Default)]
pub struct Sql {
    pub text: String,
    pub params: Vec<Value>,
}

impl Sql {
    pub fn push(&mut self, sql: &str) -> &mut Self {
        self.text.push_str(sql);
        self
    }

    /// Appends a `?` bound to `value`.
    pub fn bind(&mut self, value: impl Into<Value>) -> &mut Self {
        self.text.push('?');
        self.params.push(value.into());
        self
    }
}

/// Appends the condition "this contact matches `query`", over the stored search keys
/// (`search_first`, `search_last`: folded names; `search_phone`: digits;
/// `search_email`: the normalised email):
///
/// - an email query matches the email exactly;
/// - otherwise a contact matches when every name term is a substring of its first or of
///   its last name (each term may match either), or any phone candidate is a substring
///   of its phone digits.
///
/// `instr` compares exact substrings, so no character of a term acts as a wildcard.
pub(crate) fn matches(query: &SearchQuery, sql: &mut Sql) {
    if let Some(email) = query.email() {
        sql.push("search_email = ").bind(email.as_str().to_owned());
        return;
    }
    let mut alternatives = 0;
    sql.push("(");
    if !query.name_terms().is_empty() {
        sql.push("(");
        for (i, term) in query.name_terms().iter().enumerate() {
            if i > 0 {
                sql.push(" AND ");
            }
            sql.push("(instr(coalesce(search_first, ''), ")
                .bind(term.clone())
                .push(") > 0 OR instr(coalesce(search_last, ''), ")
                .bind(term.clone())
                .push(") > 0)");
        }
        sql.push(")");
        alternatives += 1;
    }
    for candidate in query.phone_candidates() {
        if alternatives > 0 {
            sql.push(" OR ");
        }
        sql.push("instr(coalesce(search_phone, ''), ")
            .bind(candidate.clone())
            .push(") > 0");
        alternatives += 1;
    }
    if alternatives == 0 {
        sql.push("0");
    }
    sql.push(")");
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use replyline_domain::{Email, Phone, SearchKeys};
    use rusqlite::Connection;

    /// Evaluates the SQL condition on one contact's keys.
    fn sql_matches(conn: &Connection, query: &SearchQuery, keys: &SearchKeys) -> bool {
        let mut sql = Sql::default();
        sql.push("SELECT count(*) FROM (SELECT ")
            .bind(keys.first_name().map(str::to_owned))
            .push(" AS search_first, ")
            .bind(keys.last_name().map(str::to_owned))
            .push(" AS search_last, ")
            .bind(keys.email().map(|e| e.as_str().to_owned()))
            .push(" AS search_email, ")
            .bind(keys.phone_digits().map(str::to_owned))
            .push(" AS search_phone) WHERE ");
        matches(query, &mut sql);
        let n: i64 = conn
            .query_row(
                &sql.text,
                rusqlite::params_from_iter(sql.params.iter()),
                |r| r.get(0),
            )
            .unwrap();
        n == 1
    }

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

    #[test]
    fn wildcards_and_escapes_are_plain_characters() {
        let conn = Connection::open_in_memory().unwrap();
        let odd = keys(Some("50%_off"), Some("a\\b"), None, None);
        for (q, want) in [
            ("50%", true),
            ("%_", true),
            ("a\\", true),
            ("5_%", false),
            ("__", false),
        ] {
            let query = SearchQuery::parse(q).unwrap();
            assert_eq!(query.matches(&odd), want, "{q}");
            assert_eq!(sql_matches(&conn, &query, &odd), want, "{q}");
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]
        #[test]
        fn sql_agrees_with_the_reference_semantics(
            first in proptest::option::of("[a-zA-ZáéñÓ %_ ]{1,12}"),
            last in proptest::option::of("[a-zA-Z ]{1,12}"),
            digits in proptest::option::of("[1-9][0-9]{7,11}"),
            q in "[a-zñ0-9 %_]{2,8}|\\+?[0-9 ()-]{3,12}",
        ) {
            let conn = Connection::open_in_memory().unwrap();
            let phone = digits.map(|d| format!("+{d}"));
            let phone = phone.filter(|p| Phone::parse(p).is_ok());
            let k = keys(
                first.as_deref().filter(|s| !s.trim().is_empty()),
                last.as_deref().filter(|s| !s.trim().is_empty()),
                None,
                phone.as_deref(),
            );
            if let Ok(query) = SearchQuery::parse(&q) {
                prop_assert_eq!(sql_matches(&conn, &query, &k), query.matches(&k));
            }
        }
    }
}
