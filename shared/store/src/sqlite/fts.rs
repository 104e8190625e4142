//! The trigram index (`contact_search`, schema v3) as a candidate filter for substring
//! search. It can only nominate: a contact whose keys hold every trigram of a term may
//! still not contain the term (FTS5 checks trigram positions, but the exact rule lives in
//! `search::matches`), so the exact condition is always applied as well.

use replyline_domain::SearchQuery;

/// Above this many candidates a search is not selective: its matches are dense in the
/// listing order, and scanning the ordered index finds a page sooner than sorting them.
/// (20 in unit tests, so a small store exercises both plans.)
pub(crate) const MAX_CANDIDATES: usize = if cfg!(test) { 20 } else { 5_000 };

/// Trigrams need 3 characters.
const MIN_INDEXED_CHARS: usize = 3;

fn phrase(term: &str) -> String {
    format!("\"{}\"", term.replace('"', "\"\""))
}

/// The FTS5 query that nominates every contact `query` can match, or `None` when the
/// index cannot help: an email search (it has its own index) or an alternative whose
/// terms are all shorter than a trigram. Public (hidden) for the query-building benchmark.
#[doc(hidden)]
pub fn candidates(query: &SearchQuery) -> Option<String> {
    if query.email().is_some() {
        return None;
    }
    // FTS5 rejects a NUL inside a phrase; such a term can still be searched by the scan.
    let terms = query.name_terms().iter().chain(query.phone_candidates());
    if terms.into_iter().any(|t| t.contains('\0')) {
        return None;
    }
    let mut alternatives = Vec::new();
    if !query.name_terms().is_empty() {
        // Terms under 3 characters cannot be looked up; the longer ones still narrow the
        // candidates (all terms must match), and the exact condition checks the rest.
        let indexed: Vec<String> = query
            .name_terms()
            .iter()
            .filter(|t| t.chars().count() >= MIN_INDEXED_CHARS)
            .map(|t| format!("{{search_first search_last}} : {}", phrase(t)))
            .collect();
        if indexed.is_empty() {
            return None;
        }
        alternatives.push(format!("({})", indexed.join(" AND ")));
    }
    for candidate in query.phone_candidates() {
        if candidate.chars().count() < MIN_INDEXED_CHARS {
            return None;
        }
        alternatives.push(format!("(search_phone : {})", phrase(candidate)));
    }
    (!alternatives.is_empty()).then(|| alternatives.join(" OR "))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fts(q: &str) -> Option<String> {
        candidates(&SearchQuery::parse(q).unwrap())
    }

    #[test]
    fn names_need_one_indexable_term_and_all_indexable_terms_must_match() {
        assert_eq!(
            fts("Karan").as_deref(),
            Some("({search_first search_last} : \"karan\")")
        );
        assert_eq!(
            fts("ana ka").as_deref(),
            Some("({search_first search_last} : \"ana\")")
        );
        assert_eq!(fts("an ka"), None);
    }

    #[test]
    fn phone_searches_are_alternatives_and_emails_are_not_for_this_index() {
        assert_eq!(
            fts("0412 345").as_deref(),
            Some(
                "({search_first search_last} : \"0412\" AND {search_first search_last} : \"345\") \
                 OR (search_phone : \"0412345\") OR (search_phone : \"412345\")"
            )
        );
        assert_eq!(fts("ana@example.com"), None);
    }

    #[test]
    fn a_nul_in_a_term_leaves_the_search_to_the_scan() {
        // The domain accepts it (the API refuses control characters earlier).
        let q = SearchQuery::parse("ana\0bel").unwrap();
        assert_eq!(candidates(&q), None);
    }

    #[test]
    fn quotes_cannot_escape_the_phrase() {
        let q = SearchQuery::parse("o\"brien").unwrap();
        if let Some(expr) = candidates(&q) {
            assert!(!expr.contains("\"\"\" "), "{expr}");
        }
    }
}
