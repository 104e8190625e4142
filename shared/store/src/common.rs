//! Pure rules both adapters share, so they cannot drift apart.

use std::collections::BTreeSet;

use replyline_domain::{
    ChannelId, Contact, Content, ConversationStatus, InboxView, ProfileFields, SearchKeys,
    StatusFilter, Timestamp,
};
use serde::{Deserialize, Serialize};

use crate::model::{InboundRecord, InboxQuery, WINDOW_TTL_MARGIN};

/// Fills the contact's empty profile fields from what a provider sent; never overwrites
/// what an agent or an earlier message set. Returns whether anything changed.
pub fn fill_profile(contact: &mut Contact, provided: &ProfileFields) -> bool {
    let mut changed = false;
    macro_rules! fill {
        ($field:ident) => {
            if contact.$field.is_none() && provided.$field.is_some() {
                contact.$field = provided.$field.clone();
                changed = true;
            }
        };
    }
    fill!(first_name);
    fill!(last_name);
    fill!(email);
    fill!(phone);
    changed
}

/// Applies an agent's profile edit: each `Some` replaces, each `None` keeps. Returns
/// whether anything changed.
pub fn apply_profile(contact: &mut Contact, patch: &ProfileFields) -> bool {
    let mut changed = false;
    macro_rules! set {
        ($field:ident) => {
            if patch.$field.is_some() && contact.$field != patch.$field {
                contact.$field = patch.$field.clone();
                changed = true;
            }
        };
    }
    set!(first_name);
    set!(last_name);
    set!(email);
    set!(phone);
    changed
}

/// The inbox status a contact shows: a snoozed conversation whose time has come reads as
/// open.
pub fn effective_status(
    stored: ConversationStatus,
    snoozed_until: Option<Timestamp>,
    now: Timestamp,
) -> ConversationStatus {
    match (stored, snoozed_until) {
        (ConversationStatus::Snoozed, Some(until)) if until <= now => ConversationStatus::Open,
        (s, _) => s,
    }
}

/// Whether a contact with this effective status and assignee belongs in the listing.
pub fn in_listing(
    query: &InboxQuery,
    status: ConversationStatus,
    assignee: Option<&replyline_domain::AgentId>,
) -> bool {
    let view_ok = match query.view {
        InboxView::Mine => assignee == Some(&query.agent),
        InboxView::Unassigned => assignee.is_none(),
        InboxView::All => true,
    };
    view_ok && query.status.includes(status)
}

/// The scope a listing's cursor is bound to: a cursor from another view, status, sort,
/// search or agent is rejected.
pub fn inbox_scope(query: &InboxQuery) -> String {
    format!(
        "inbox:{}:{}:{}:{}:{}",
        query.agent,
        query.view.as_str(),
        query.status.as_str(),
        query.sort.as_str(),
        query.search.as_ref().map(|s| s.as_str()).unwrap_or("")
    )
}

/// Keyset position in a listing sorted by last activity: the last row of the page.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActivityPosition {
    /// Last activity, Unix milliseconds.
    pub at: i64,
    /// Contact id, the tie-breaker.
    pub id: String,
}

/// When window state written for this inbound event may be forgotten (the TTL), or
/// `None` to keep it.
pub fn window_expiry(record: &InboundRecord) -> Option<Timestamp> {
    record.state_horizon.map(|h| {
        record
            .occurred_at
            .saturating_add(h)
            .saturating_add(WINDOW_TTL_MARGIN)
    })
}

/// What an idempotency key is bound to: the same key with another channel or content is
/// a client bug, not a retry.
pub fn request_fingerprint(channel: &ChannelId, content: &Content) -> String {
    let body = serde_json::to_string(content).unwrap_or_default();
    format!("{channel}\u{1f}{body}")
}

/// Which field a search token indexes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TokenField {
    /// Every suffix (2+ characters) of every word of the folded first and last names.
    Name,
    /// Every suffix (2+ digits) of the phone's digits.
    Phone,
    /// The whole normalised email.
    Email,
}

impl TokenField {
    pub const fn code(self) -> &'static str {
        match self {
            TokenField::Name => "N",
            TokenField::Phone => "P",
            TokenField::Email => "E",
        }
    }
}

/// The search tokens of a contact: prefix queries over suffix tokens are substring
/// queries, which is what "partial match" means here.
pub fn search_tokens(keys: &SearchKeys) -> BTreeSet<(TokenField, String)> {
    let mut out = BTreeSet::new();
    let mut suffixes = |field: TokenField, word: &str| {
        let chars: Vec<(usize, char)> = word.char_indices().collect();
        for (i, (start, _)) in chars.iter().enumerate() {
            if chars.len() - i >= 2 {
                out.insert((field, word[*start..].to_owned()));
            }
        }
    };
    for name in [keys.first_name(), keys.last_name()].into_iter().flatten() {
        for word in replyline_domain::name_tokens(name) {
            suffixes(TokenField::Name, word);
        }
    }
    if let Some(digits) = keys.phone_digits() {
        suffixes(TokenField::Phone, digits);
    }
    if let Some(email) = keys.email() {
        out.insert((TokenField::Email, email.as_str().to_owned()));
    }
    out
}

/// All the statuses a filter covers, for adapters that list per status bucket.
pub fn statuses(filter: StatusFilter) -> &'static [ConversationStatus] {
    use ConversationStatus::*;
    match filter {
        StatusFilter::Open => &[Open, Snoozed],
        StatusFilter::Snoozed => &[Snoozed],
        StatusFilter::Closed => &[Closed],
        StatusFilter::All => &[Open, Snoozed, Closed],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use replyline_domain::{Email, Phone};

    #[test]
    fn tokens_are_suffixes_of_each_word_and_of_the_phone() {
        let keys = SearchKeys::new(
            Some("Óscar"),
            Some("de la Cruz"),
            Some(&Email::parse("OSCAR@Example.com").unwrap()),
            Some(&Phone::parse("+34 600 123 456").unwrap()),
        );
        let tokens = search_tokens(&keys);
        let names: Vec<&str> = tokens
            .iter()
            .filter(|(f, _)| *f == TokenField::Name)
            .map(|(_, t)| t.as_str())
            .collect();
        for want in [
            "oscar", "scar", "car", "ar", "de", "la", "cruz", "ruz", "uz",
        ] {
            assert!(names.contains(&want), "missing {want} in {names:?}");
        }
        assert!(!names.contains(&"r"), "single characters are not indexed");
        assert!(tokens.contains(&(TokenField::Email, "oscar@example.com".to_owned())));
        assert!(tokens
            .iter()
            .any(|(f, t)| *f == TokenField::Phone && t == "600123456"));
    }
}
