//! Sentences for people: every refusal says why, what is allowed instead, and until when.
//! Built on demand, so deciding stays allocation-light.

use std::fmt::Write;
use std::time::Duration;

use crate::decision::{Decision, Verdict};
use crate::reason::Reason;
use crate::status::{ReplyMode, ReplyStatus};

/// A window length as an adjective: "24-hour", "7-day", "1-minute".
pub(crate) fn length_adjective(d: Duration) -> String {
    let (n, unit) = length_parts(d);
    format!("{n}-{unit}")
}

/// A window length for tables: "24 h", "7 d", "1 min".
pub(crate) fn length_short(d: Duration) -> String {
    let (n, unit) = length_parts(d);
    let short = match unit {
        "day" => "d",
        "hour" => "h",
        "minute" => "min",
        _ => "s",
    };
    format!("{n} {short}")
}

fn length_parts(d: Duration) -> (u64, &'static str) {
    let s = d.as_secs();
    if s >= 3 * 86_400 && s % 86_400 == 0 {
        (s / 86_400, "day")
    } else if s >= 3600 && s % 3600 == 0 {
        (s / 3600, "hour")
    } else if s >= 60 && s % 60 == 0 {
        (s / 60, "minute")
    } else {
        (s, "second")
    }
}

pub(crate) fn status_sentence(st: &ReplyStatus) -> String {
    let c = &st.context;
    let chan = c.kind.display_name();
    let window = || match c.window_len {
        Some(len) => format!("the {} {chan} window", length_adjective(len)),
        None => format!("the {chan} window"),
    };
    let closes = || {
        st.window_closes_at
            .map(|t| t.to_rfc3339())
            .unwrap_or_else(|| "an unknown time".to_owned())
    };
    let mut s = String::with_capacity(160);
    match st.reason {
        Reason::ContactBlocked => {
            s.push_str("The contact is blocked: nothing can be sent until an agent unblocks them.");
        }
        Reason::OptedOut => {
            let _ = write!(
                s,
                "The contact opted out of {chan} messages (for example by replying STOP): nothing can be sent until they opt back in."
            );
        }
        Reason::Unsubscribed => {
            let _ = write!(
                s,
                "The contact unsubscribed from, unfollowed or blocked this {chan} account: nothing can be sent until they subscribe or write again."
            );
        }
        Reason::NoWindow => {
            let _ = write!(
                s,
                "{chan} has no messaging window: messages can be sent at any time."
            );
            if let Some(n) = st.remaining {
                let _ = write!(s, " {n} more can be sent before the customer writes again.");
            }
        }
        Reason::InsideWindow => {
            let _ = write!(
                s,
                "Inside {}, which closes at {}: anything can be sent.",
                window(),
                closes()
            );
            if let (Some(n), Some(q)) = (st.remaining, c.window_quota) {
                let _ = write!(s, " {n} of {q} messages left in this window.");
            }
            if let Some(t) = st.tag_until {
                let _ = write!(
                    s,
                    " After it, a human agent can still reply with a tag until {t}."
                );
            }
        }
        Reason::OpenAfterWindow => {
            let _ = write!(
                s,
                "{} closed at {}, but this channel allows anything after it.",
                capitalise(&window()),
                closes()
            );
        }
        Reason::TagExtension => {
            let tags = st.allowed_tags.join(", ");
            let until = st
                .tag_until
                .map(|t| format!(" until {t}"))
                .unwrap_or_default();
            if c.human_tag_applies {
                let _ = write!(
                    s,
                    "{} closed at {}: a human agent can still reply{until}; plain text goes out with the {tags} tag.",
                    capitalise(&window()),
                    closes()
                );
            } else {
                let _ = write!(
                    s,
                    "{} closed at {}: only messages tagged {tags} can be sent{until}.",
                    capitalise(&window()),
                    closes()
                );
            }
        }
        Reason::TemplateOutsideWindow => {
            if c.never_wrote {
                let _ = write!(
                    s,
                    "The customer has not written on {chan} recently: only approved templates can be sent."
                );
            } else {
                let _ = write!(
                    s,
                    "{} closed at {}: only approved templates can be sent until the customer writes again.",
                    capitalise(&window()),
                    closes()
                );
            }
        }
        Reason::PaidOutsideWindow => {
            if c.never_wrote {
                let _ = write!(s, "The customer has no open {chan} session");
            } else {
                let _ = write!(s, "{} closed at {}", capitalise(&window()), closes());
            }
            s.push_str(": messages go out as chatbot-initiated messages and are billed");
            match (c.paid, st.remaining) {
                (Some(p), Some(n)) if !p.commercial_terms_accepted => {
                    let _ = write!(
                        s,
                        "; {n} of this month's allowance of {} left.",
                        p.monthly_allowance
                    );
                }
                _ => s.push_str(" under the accepted commercial terms."),
            }
        }
        Reason::QuotaExhausted => match c.paid {
            Some(p) => {
                if c.never_wrote {
                    let _ = write!(s, "The customer has no open {chan} session");
                } else {
                    let _ = write!(s, "{} closed at {}", capitalise(&window()), closes());
                }
                let _ = write!(
                    s,
                    " and this month's allowance of {} chatbot-initiated messages is used up: accept {chan}'s commercial terms for this channel to send more, or wait until the customer writes again",
                    p.monthly_allowance
                );
                match c.allowance_resets_at {
                    Some(t) => {
                        let _ = write!(s, " or the allowance resets at {t}.");
                    }
                    None => s.push('.'),
                }
            }
            None => {
                let q = c
                    .window_quota
                    .map(|q| q.to_string())
                    .unwrap_or_else(|| "the".to_owned());
                let _ = write!(
                    s,
                    "All {q} messages allowed by {chan} until the customer writes again were sent: nothing more can be sent until they write"
                );
                match (st.window_closes_at, c.window_len) {
                    (Some(t), Some(_)) => {
                        let _ = write!(s, " (the window closes at {t}).");
                    }
                    _ => s.push('.'),
                }
            }
        },
        // A status never carries the per-message reasons; a sentence anyway.
        Reason::WindowClosed
        | Reason::TagRequired
        | Reason::TagNotAllowed
        | Reason::TagExpired
        | Reason::TemplateRequired
        | Reason::TemplateNotSupported => {
            if c.never_wrote {
                let _ = write!(
                    s,
                    "The customer has not written on {chan} recently: nothing can be sent until they do."
                );
            } else {
                let _ = write!(s, "{} closed at {}", capitalise(&window()), closes());
                if let Some(t) = c.tag_ended_at {
                    let _ = write!(s, " and the tag extension ended at {t}");
                }
                s.push_str(": nothing can be sent until the customer writes again.");
                if let Some(t) = c.human_tag_until {
                    let _ = write!(
                        s,
                        " A human agent can still reply with a tag until {t}; automated messages cannot."
                    );
                }
            }
        }
    }
    s
}

pub(crate) fn decision_sentence(d: &Decision) -> String {
    let st = &d.status;
    let chan = st.context.kind.display_name();
    let status = status_sentence(st);
    match (&d.verdict, d.reason) {
        (Verdict::Allowed { tag: Some(tag), .. }, _) => {
            format!("{status} This message goes out with the {tag} tag.")
        }
        (Verdict::Allowed { tag: None, .. }, _) => match &d.requested_tag {
            Some(t) if st.mode == ReplyMode::Free => format!(
                "{status} Inside the window messages are never tagged, so it goes out without the {} tag.",
                t.name
            ),
            _ => status,
        },
        (Verdict::Refused, Reason::TagNotAllowed) => {
            let t = d.requested_tag.as_ref();
            let name = t.map(|t| t.name.as_str()).unwrap_or("?");
            if t.is_some_and(|t| t.known && t.human_only) {
                format!("The {name} tag is for human agents only; automated messages cannot use it. {status}")
            } else {
                format!("{chan} does not accept the tag '{name}' on this channel. {status}")
            }
        }
        (Verdict::Refused, Reason::TagExpired) => {
            let t = d.requested_tag.as_ref();
            let name = t.map(|t| t.name.as_str()).unwrap_or("?");
            match t.and_then(|t| t.ended_at) {
                Some(end) => format!("The {name} tag could be used only until {end}. {status}"),
                None => format!("The {name} tag cannot be used now. {status}"),
            }
        }
        (Verdict::Refused, Reason::TagRequired) => format!(
            "{status} Automated messages must name one of these tags themselves: {}.",
            st.allowed_tags.join(", ")
        ),
        (Verdict::Refused, Reason::TemplateRequired) => {
            format!("Only an approved template can be sent now. {status}")
        }
        (Verdict::Refused, Reason::TemplateNotSupported) => {
            format!("{chan} does not send message templates; send a plain message instead. {status}")
        }
        (Verdict::Refused, _) => status,
    }
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lengths_read_naturally() {
        assert_eq!(length_adjective(Duration::from_secs(86_400)), "24-hour");
        assert_eq!(length_adjective(Duration::from_secs(2 * 86_400)), "48-hour");
        assert_eq!(length_adjective(Duration::from_secs(7 * 86_400)), "7-day");
        assert_eq!(length_adjective(Duration::from_secs(60)), "1-minute");
        assert_eq!(length_short(Duration::from_secs(90)), "90 s");
        assert_eq!(length_short(Duration::from_secs(3 * 86_400)), "3 d");
    }
}
