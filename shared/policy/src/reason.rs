//! Stable reason codes. Clients branch on these strings, so they never change meaning.

use serde::{Deserialize, Serialize};

/// Why a status has its mode, or why a message was allowed or refused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Reason {
    // Allowed.
    /// The channel has no messaging window.
    NoWindow,
    /// Inside a messaging window.
    InsideWindow,
    /// The window closed, but the channel allows anything after it.
    OpenAfterWindow,
    /// The window closed; a tag extension (HUMAN_AGENT...) still applies.
    TagExtension,
    /// The window closed; approved templates may still be sent.
    TemplateOutsideWindow,
    /// The window closed; paid (chatbot-initiated) messages may be sent.
    PaidOutsideWindow,

    // Refused.
    /// The contact is blocked in the inbox.
    ContactBlocked,
    /// The contact opted out on this channel (SMS STOP).
    OptedOut,
    /// The contact unsubscribed, unfollowed or blocked the account.
    Unsubscribed,
    /// The window closed and nothing applies after it.
    WindowClosed,
    /// The window's message quota, or the month's paid allowance, is used up.
    QuotaExhausted,
    /// Outside the window this sender must use a tag, and none was given.
    TagRequired,
    /// The tag is not one this channel accepts from this sender.
    TagNotAllowed,
    /// The tag is accepted here, but its time after the last inbound message is over.
    TagExpired,
    /// Outside the window only an approved template may be sent.
    TemplateRequired,
    /// The channel does not send templates.
    TemplateNotSupported,
}

impl Reason {
    /// The wire code, e.g. `"window_closed"`.
    pub const fn code(self) -> &'static str {
        match self {
            Reason::NoWindow => "no_window",
            Reason::InsideWindow => "inside_window",
            Reason::OpenAfterWindow => "open_after_window",
            Reason::TagExtension => "tag_extension",
            Reason::TemplateOutsideWindow => "template_outside_window",
            Reason::PaidOutsideWindow => "paid_outside_window",
            Reason::ContactBlocked => "contact_blocked",
            Reason::OptedOut => "opted_out",
            Reason::Unsubscribed => "unsubscribed",
            Reason::WindowClosed => "window_closed",
            Reason::QuotaExhausted => "quota_exhausted",
            Reason::TagRequired => "tag_required",
            Reason::TagNotAllowed => "tag_not_allowed",
            Reason::TagExpired => "tag_expired",
            Reason::TemplateRequired => "template_required",
            Reason::TemplateNotSupported => "template_not_supported",
        }
    }

    /// Whether this is a hard stop: nothing can be sent whatever the window.
    pub const fn is_hard_stop(self) -> bool {
        matches!(
            self,
            Reason::ContactBlocked | Reason::OptedOut | Reason::Unsubscribed
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_match_serde_names() {
        let all = [
            Reason::NoWindow,
            Reason::InsideWindow,
            Reason::OpenAfterWindow,
            Reason::TagExtension,
            Reason::TemplateOutsideWindow,
            Reason::PaidOutsideWindow,
            Reason::ContactBlocked,
            Reason::OptedOut,
            Reason::Unsubscribed,
            Reason::WindowClosed,
            Reason::QuotaExhausted,
            Reason::TagRequired,
            Reason::TagNotAllowed,
            Reason::TagExpired,
            Reason::TemplateRequired,
            Reason::TemplateNotSupported,
        ];
        for r in all {
            assert_eq!(
                serde_json::to_string(&r).unwrap(),
                format!("\"{}\"", r.code())
            );
        }
    }
}
