//! Conversations, who opens and closes them, and the workspace settings that govern
//! closing and assignment.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::ids::{AgentId, ContactId, ConversationId};
use crate::text::{preview, TextError, TextRule};
use crate::time::Timestamp;

/// Where a conversation stands, as stored.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ConversationStatus {
    Open,
    Closed,
    Snoozed,
}

impl ConversationStatus {
    pub const fn as_str(self) -> &'static str {
        match self {
            ConversationStatus::Open => "open",
            ConversationStatus::Closed => "closed",
            ConversationStatus::Snoozed => "snoozed",
        }
    }
}

impl fmt::Display for ConversationStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Who did something to a conversation. Serialised as `{"kind":"agent","id":"alice"}`,
/// `{"kind":"contact"}` or `{"kind":"system"}`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "kind", content = "id", rename_all = "lowercase")]
pub enum Actor {
    Agent(AgentId),
    Contact,
    /// Replyline itself: automation, snooze expiry, retention.
    System,
}

/// What an agent records when closing a conversation, as they typed it. Validated and
/// tidied by [`WorkspaceSettings::check_closing_note`].
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClosingNote {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub category: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
}

/// One conversation with a contact, from opening to closing. Sending an outbound message
/// to a contact whose conversation is closed opens a new one.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Conversation {
    pub id: ConversationId,
    pub contact_id: ContactId,
    pub status: ConversationStatus,
    pub opened_at: Timestamp,
    pub opened_by: Actor,
    pub closed_at: Option<Timestamp>,
    pub closed_by: Option<Actor>,
    pub closing_note: Option<ClosingNote>,
    /// When a snooze ends; `None` while snoozed means until the contact writes again.
    pub snoozed_until: Option<Timestamp>,
}

impl Conversation {
    /// The status as the inbox shows it at `now`: a snooze that has run out reads as
    /// Open without anyone having to rewrite the record.
    pub fn effective_status(&self, now: Timestamp) -> ConversationStatus {
        match (self.status, self.snoozed_until) {
            (ConversationStatus::Snoozed, Some(until)) if until <= now => ConversationStatus::Open,
            (status, _) => status,
        }
    }
}

/// Whom an outbound message assigns the contact to.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AssignOnOutbound {
    /// The sending agent takes the contact, even from a colleague.
    #[default]
    Always,
    /// The sending agent takes the contact only if nobody has it.
    IfUnassigned,
}

/// What the close dialog asks for.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ClosingNotesMode {
    /// A category and a summary may be given.
    #[default]
    Optional,
    CategoryRequired,
    CategoryAndSummaryRequired,
    /// No close dialog: whatever note arrives is dropped.
    Disabled,
}

impl ClosingNotesMode {
    pub const fn as_str(self) -> &'static str {
        match self {
            ClosingNotesMode::Optional => "optional",
            ClosingNotesMode::CategoryRequired => "category_required",
            ClosingNotesMode::CategoryAndSummaryRequired => "category_and_summary_required",
            ClosingNotesMode::Disabled => "disabled",
        }
    }

    const fn requires_category(self) -> bool {
        matches!(
            self,
            ClosingNotesMode::CategoryRequired | ClosingNotesMode::CategoryAndSummaryRequired
        )
    }
}

impl fmt::Display for ClosingNotesMode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The longest closing summary, in characters.
const MAX_SUMMARY_CHARS: usize = 2000;

const CLOSING_CATEGORY: TextRule = TextRule {
    what: "closing category",
    min: 1,
    max: 64,
    allowed: |c| !c.is_control(),
    rule: "a closing category may not contain control characters",
};

/// A workspace's inbox settings. Deserialising fills in defaults for missing fields,
/// rejects unknown ones (a typo must not silently fall back to a default) and runs
/// [`WorkspaceSettings::validate`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "SettingsInput")]
pub struct WorkspaceSettings {
    /// Closing a conversation also unassigns the contact.
    pub unassign_on_close: bool,
    pub assign_on_outbound: AssignOnOutbound,
    pub closing_notes: ClosingNotesMode,
    /// The categories an agent picks from when closing, matched exactly.
    pub closing_categories: Vec<String>,
}

impl Default for WorkspaceSettings {
    fn default() -> Self {
        WorkspaceSettings {
            unassign_on_close: false,
            assign_on_outbound: AssignOnOutbound::Always,
            closing_notes: ClosingNotesMode::Optional,
            closing_categories: ["resolved", "follow_up", "spam"].map(String::from).to_vec(),
        }
    }
}

/// Settings that cannot work.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SettingsError {
    #[error(transparent)]
    Category(#[from] TextError),
    #[error("closing category '{0}' is listed twice")]
    DuplicateCategory(String),
    #[error(
        "closing notes mode '{0}' requires a category, but no closing categories are configured"
    )]
    NoCategories(ClosingNotesMode),
}

/// Why a closing note is not accepted; the messages are shown in the close dialog.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClosingNoteError {
    #[error("'{category}' is not a closing category of this workspace; choose one of: {}", .allowed.join(", "))]
    UnknownCategory {
        category: String,
        allowed: Vec<String>,
    },
    #[error("closing a conversation requires a category; choose one of: {}", .allowed.join(", "))]
    CategoryRequired { allowed: Vec<String> },
    #[error("closing a conversation requires a summary")]
    SummaryRequired,
    #[error("the closing summary is {len} characters long; at most 2000 are allowed")]
    SummaryTooLong { len: usize },
}

impl WorkspaceSettings {
    /// Checks what deserialising cannot: each category is 1 to 64 characters with no
    /// surrounding whitespace (it is matched exactly), none is listed twice, and a mode
    /// that requires a category has some to choose from.
    pub fn validate(&self) -> Result<(), SettingsError> {
        for (i, category) in self.closing_categories.iter().enumerate() {
            CLOSING_CATEGORY.check(category)?;
            if category.trim() != category {
                return Err(CLOSING_CATEGORY
                    .malformed(category, "must not start or end with whitespace")
                    .into());
            }
            if self
                .closing_categories
                .iter()
                .take(i)
                .any(|c| c == category)
            {
                return Err(SettingsError::DuplicateCategory(preview(category)));
            }
        }
        if self.closing_notes.requires_category() && self.closing_categories.is_empty() {
            return Err(SettingsError::NoCategories(self.closing_notes));
        }
        Ok(())
    }

    /// Applies the closing-notes mode to what the agent submitted, returning the note to
    /// store. Category and summary are trimmed and blank ones dropped; a category must be
    /// one of `closing_categories`; the summary is at most 2000 characters. With
    /// [`ClosingNotesMode::Disabled`] the note is ignored and `None` returned, since the
    /// dialog that would have produced it is off.
    pub fn check_closing_note(
        &self,
        note: Option<ClosingNote>,
    ) -> Result<Option<ClosingNote>, ClosingNoteError> {
        if self.closing_notes == ClosingNotesMode::Disabled {
            return Ok(None);
        }
        let note = note.unwrap_or_default();
        let tidy = |s: Option<String>| {
            s.map(|s| s.trim().to_owned())
                .filter(|s: &String| !s.is_empty())
        };
        let (category, summary) = (tidy(note.category), tidy(note.summary));

        if let Some(category) = &category {
            if !self.closing_categories.contains(category) {
                return Err(ClosingNoteError::UnknownCategory {
                    category: preview(category),
                    allowed: self.closing_categories.clone(),
                });
            }
        }
        if let Some(summary) = &summary {
            let len = summary.chars().count();
            if len > MAX_SUMMARY_CHARS {
                return Err(ClosingNoteError::SummaryTooLong { len });
            }
        }
        if self.closing_notes.requires_category() && category.is_none() {
            return Err(ClosingNoteError::CategoryRequired {
                allowed: self.closing_categories.clone(),
            });
        }
        if self.closing_notes == ClosingNotesMode::CategoryAndSummaryRequired && summary.is_none() {
            return Err(ClosingNoteError::SummaryRequired);
        }
        if category.is_none() && summary.is_none() {
            return Ok(None);
        }
        Ok(Some(ClosingNote { category, summary }))
    }
}

/// The wire shape of [`WorkspaceSettings`], before validation.
#[derive(Deserialize)]
#[serde(default, deny_unknown_fields)]
struct SettingsInput {
    unassign_on_close: bool,
    assign_on_outbound: AssignOnOutbound,
    closing_notes: ClosingNotesMode,
    closing_categories: Vec<String>,
}

impl Default for SettingsInput {
    fn default() -> Self {
        let d = WorkspaceSettings::default();
        SettingsInput {
            unassign_on_close: d.unassign_on_close,
            assign_on_outbound: d.assign_on_outbound,
            closing_notes: d.closing_notes,
            closing_categories: d.closing_categories,
        }
    }
}

impl TryFrom<SettingsInput> for WorkspaceSettings {
    type Error = SettingsError;
    fn try_from(i: SettingsInput) -> Result<Self, Self::Error> {
        let settings = WorkspaceSettings {
            unassign_on_close: i.unassign_on_close,
            assign_on_outbound: i.assign_on_outbound,
            closing_notes: i.closing_notes,
            closing_categories: i.closing_categories,
        };
        settings.validate()?;
        Ok(settings)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(ms: i64) -> Timestamp {
        Timestamp::from_millis(ms).unwrap()
    }

    fn conversation(status: ConversationStatus, snoozed_until: Option<Timestamp>) -> Conversation {
        Conversation {
            id: ConversationId::generate(at(0)),
            contact_id: ContactId::generate(at(0)),
            status,
            opened_at: at(0),
            opened_by: Actor::Contact,
            closed_at: None,
            closed_by: None,
            closing_note: None,
            snoozed_until,
        }
    }

    fn note(category: Option<&str>, summary: Option<&str>) -> Option<ClosingNote> {
        Some(ClosingNote {
            category: category.map(String::from),
            summary: summary.map(String::from),
        })
    }

    fn settings(mode: ClosingNotesMode) -> WorkspaceSettings {
        WorkspaceSettings {
            closing_notes: mode,
            ..WorkspaceSettings::default()
        }
    }

    #[test]
    fn an_expired_snooze_reads_as_open() {
        let c = conversation(ConversationStatus::Snoozed, Some(at(1000)));
        assert_eq!(c.effective_status(at(999)), ConversationStatus::Snoozed);
        assert_eq!(c.effective_status(at(1000)), ConversationStatus::Open);
        let indefinite = conversation(ConversationStatus::Snoozed, None);
        assert_eq!(
            indefinite.effective_status(at(i64::from(u32::MAX))),
            ConversationStatus::Snoozed
        );
        let closed = conversation(ConversationStatus::Closed, Some(at(0)));
        assert_eq!(
            closed.effective_status(at(1000)),
            ConversationStatus::Closed
        );
    }

    #[test]
    fn actors_serialise_tagged() {
        for (actor, json) in [
            (
                Actor::Agent(AgentId::parse("alice").unwrap()),
                r#"{"kind":"agent","id":"alice"}"#,
            ),
            (Actor::Contact, r#"{"kind":"contact"}"#),
            (Actor::System, r#"{"kind":"system"}"#),
        ] {
            assert_eq!(serde_json::to_string(&actor).unwrap(), json);
            assert_eq!(serde_json::from_str::<Actor>(json).unwrap(), actor);
        }
        assert!(serde_json::from_str::<Actor>(r#"{"kind":"agent","id":"a#b"}"#).is_err());
        assert!(serde_json::from_str::<Actor>(r#"{"kind":"agent"}"#).is_err());
    }

    #[test]
    fn conversation_round_trips_through_serde() {
        let mut c = conversation(ConversationStatus::Closed, None);
        c.closed_at = Some(at(5000));
        c.closed_by = Some(Actor::Agent(AgentId::parse("bob").unwrap()));
        c.closing_note = note(Some("resolved"), None);
        let json = serde_json::to_string(&c).unwrap();
        assert!(json.contains(r#""status":"closed""#));
        assert_eq!(serde_json::from_str::<Conversation>(&json).unwrap(), c);
    }

    #[test]
    fn settings_have_documented_defaults_and_reject_unknown_fields() {
        let s: WorkspaceSettings = serde_json::from_str("{}").unwrap();
        assert_eq!(s, WorkspaceSettings::default());
        assert!(!s.unassign_on_close);
        assert_eq!(s.assign_on_outbound, AssignOnOutbound::Always);
        assert_eq!(s.closing_notes, ClosingNotesMode::Optional);
        assert_eq!(s.closing_categories, ["resolved", "follow_up", "spam"]);

        let s: WorkspaceSettings = serde_json::from_str(
            r#"{"assign_on_outbound":"if_unassigned","closing_notes":"category_and_summary_required","closing_categories":["billing"]}"#,
        )
        .unwrap();
        assert_eq!(s.assign_on_outbound, AssignOnOutbound::IfUnassigned);
        assert_eq!(
            s.closing_notes,
            ClosingNotesMode::CategoryAndSummaryRequired
        );
        let json = serde_json::to_string(&s).unwrap();
        assert_eq!(serde_json::from_str::<WorkspaceSettings>(&json).unwrap(), s);

        assert!(serde_json::from_str::<WorkspaceSettings>(r#"{"unasign_on_close":true}"#).is_err());
        assert!(
            serde_json::from_str::<WorkspaceSettings>(r#"{"closing_notes":"sometimes"}"#).is_err()
        );
    }

    #[test]
    fn settings_reject_unusable_categories() {
        let with = |categories: &[&str], mode| WorkspaceSettings {
            closing_notes: mode,
            closing_categories: categories.iter().map(|c| c.to_string()).collect(),
            ..WorkspaceSettings::default()
        };
        assert!(with(&[], ClosingNotesMode::Optional).validate().is_ok());
        assert_eq!(
            with(&["a", "b", "a"], ClosingNotesMode::Optional).validate(),
            Err(SettingsError::DuplicateCategory("a".into()))
        );
        assert!(with(&[" a"], ClosingNotesMode::Optional)
            .validate()
            .is_err());
        assert!(with(&[""], ClosingNotesMode::Optional).validate().is_err());
        assert_eq!(
            with(&[], ClosingNotesMode::CategoryRequired).validate().unwrap_err().to_string(),
            "closing notes mode 'category_required' requires a category, but no closing categories are configured"
        );
        assert!(
            serde_json::from_str::<WorkspaceSettings>(r#"{"closing_categories":["x","x"]}"#)
                .is_err()
        );
    }

    #[test]
    fn optional_mode_tidies_and_checks_what_is_given() {
        let s = settings(ClosingNotesMode::Optional);
        assert_eq!(s.check_closing_note(None), Ok(None));
        assert_eq!(s.check_closing_note(note(Some(" "), Some("\n"))), Ok(None));
        assert_eq!(
            s.check_closing_note(note(Some(" spam "), Some(" bot "))),
            Ok(note(Some("spam"), Some("bot")))
        );
        assert_eq!(
            s.check_closing_note(note(None, Some("done"))),
            Ok(note(None, Some("done")))
        );
        let err = s
            .check_closing_note(note(Some("billing"), None))
            .unwrap_err();
        assert_eq!(
            err.to_string(),
            "'billing' is not a closing category of this workspace; choose one of: resolved, follow_up, spam"
        );
        assert_eq!(
            s.check_closing_note(note(None, Some(&"x".repeat(2001)))),
            Err(ClosingNoteError::SummaryTooLong { len: 2001 })
        );
        assert!(s
            .check_closing_note(note(None, Some(&"é".repeat(2000))))
            .is_ok());
    }

    #[test]
    fn required_modes_demand_their_fields() {
        let category = settings(ClosingNotesMode::CategoryRequired);
        assert!(matches!(
            category.check_closing_note(note(None, Some("done"))),
            Err(ClosingNoteError::CategoryRequired { .. })
        ));
        assert!(category.check_closing_note(None).is_err());
        assert_eq!(
            category.check_closing_note(note(Some("resolved"), None)),
            Ok(note(Some("resolved"), None))
        );

        let both = settings(ClosingNotesMode::CategoryAndSummaryRequired);
        assert_eq!(
            both.check_closing_note(note(Some("resolved"), Some("  "))),
            Err(ClosingNoteError::SummaryRequired)
        );
        assert_eq!(
            both.check_closing_note(note(Some("resolved"), Some("refunded"))),
            Ok(note(Some("resolved"), Some("refunded")))
        );
    }

    #[test]
    fn disabled_mode_ignores_any_note() {
        let s = settings(ClosingNotesMode::Disabled);
        assert_eq!(
            s.check_closing_note(note(Some("not a category"), Some("x"))),
            Ok(None)
        );
        assert_eq!(s.check_closing_note(None), Ok(None));
    }
}
