//! The send decision: may this sender send this message now, and how.

use replyline_domain::Timestamp;

use crate::reason::Reason;
use crate::rules::{ChannelRules, TagRule};
use crate::state::ContactChannelState;
use crate::status::{reply_status, ReplyMode, ReplyStatus, SenderKind};

/// The kind of message asked for. Content itself does not matter to the rules.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum MessageKind<'a> {
    /// Free text or media.
    Plain,
    /// A message with an explicit tag, e.g. `"HUMAN_AGENT"`.
    Tagged(&'a str),
    /// An approved template (name, language and parameters are the provider's business).
    Template,
}

/// A send to decide on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct SendRequest<'a> {
    pub sender: SenderKind,
    pub kind: MessageKind<'a>,
}

/// Allowed (and how to send it) or refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Verdict {
    Allowed {
        /// The tag to send the message with. `None` inside the window: in-window messages
        /// are never tagged, even when a tag was asked for.
        tag: Option<String>,
        /// Billed and counted against the month's allowance.
        paid: bool,
    },
    Refused,
}

/// The answer to "may I send this?", with the reply status it was decided on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decision {
    pub verdict: Verdict,
    pub reason: Reason,
    pub status: ReplyStatus,
    /// The tag the request named, for the sentence.
    pub(crate) requested_tag: Option<TagFacts>,
}

/// What the sentence says about a requested tag.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct TagFacts {
    pub name: String,
    pub known: bool,
    pub human_only: bool,
    pub ended_at: Option<Timestamp>,
}

impl Decision {
    pub fn is_allowed(&self) -> bool {
        matches!(self.verdict, Verdict::Allowed { .. })
    }

    /// The tag to apply when allowed.
    pub fn tag(&self) -> Option<&str> {
        match &self.verdict {
            Verdict::Allowed { tag, .. } => tag.as_deref(),
            Verdict::Refused => None,
        }
    }

    /// Whether the message is billed and counts against the monthly allowance.
    pub fn is_paid(&self) -> bool {
        matches!(self.verdict, Verdict::Allowed { paid: true, .. })
    }

    /// A sentence a person understands: why, and what is allowed instead until when.
    pub fn explain(&self) -> String {
        crate::explain::decision_sentence(self)
    }
}

/// Decides whether `request` may be sent on a channel with `rules` to a contact in
/// `state` at `now`.
pub fn decide(
    rules: &ChannelRules,
    state: &ContactChannelState,
    request: SendRequest<'_>,
    now: Timestamp,
) -> Decision {
    let status = reply_status(rules, state, request.sender, now);
    let allowed = |tag: Option<String>, reason: Reason, status: ReplyStatus| Decision {
        verdict: Verdict::Allowed {
            tag,
            paid: status.mode == ReplyMode::Paid,
        },
        reason,
        status,
        requested_tag: None,
    };
    let refused = |reason: Reason, status: ReplyStatus| Decision {
        verdict: Verdict::Refused,
        reason,
        status,
        requested_tag: None,
    };

    // A hard stop outranks everything; otherwise a request the channel can never accept
    // (an unknown tag, a template where there are none) is named before the window.
    if status.reason.is_hard_stop() {
        return refused(status.reason, status);
    }
    match request.kind {
        MessageKind::Template => {
            if !rules.templates {
                return refused(Reason::TemplateNotSupported, status);
            }
            if status.mode == ReplyMode::None {
                return refused(status.reason, status);
            }
            let reason = match status.mode {
                ReplyMode::Free => status.reason,
                _ => Reason::TemplateOutsideWindow,
            };
            // Templates are priced by the provider per template, never as our paid sends.
            Decision {
                verdict: Verdict::Allowed {
                    tag: None,
                    paid: false,
                },
                reason,
                status,
                requested_tag: None,
            }
        }
        MessageKind::Plain => match status.mode {
            ReplyMode::Free | ReplyMode::Paid => {
                let reason = status.reason;
                allowed(None, reason, status)
            }
            ReplyMode::TagOnly => {
                // A human's plain text goes out with the human-agent tag, as respond.io
                // does; automation must name a tag itself.
                let auto = (request.sender == SenderKind::Human)
                    .then(|| {
                        rules
                            .tags
                            .iter()
                            .filter(|t| t.human_only)
                            .find(|t| status.allowed_tags.contains(&t.name))
                    })
                    .flatten()
                    .map(|t| t.name.clone());
                match auto {
                    Some(tag) => allowed(Some(tag), Reason::TagExtension, status),
                    None => refused(Reason::TagRequired, status),
                }
            }
            ReplyMode::TemplateOnly => refused(Reason::TemplateRequired, status),
            ReplyMode::None => refused(status.reason, status),
        },
        MessageKind::Tagged(name) => decide_tagged(rules, state, request.sender, name, status),
    }
}

fn decide_tagged(
    rules: &ChannelRules,
    state: &ContactChannelState,
    sender: SenderKind,
    name: &str,
    status: ReplyStatus,
) -> Decision {
    let rule: Option<&TagRule> = rules.tags.iter().find(|t| t.name == name);
    let facts = TagFacts {
        name: name.to_owned(),
        known: rule.is_some(),
        human_only: rule.is_some_and(|r| r.human_only),
        ended_at: rule
            .and_then(|r| r.max_age)
            .zip(state.last_inbound_at)
            .map(|(age, t_in)| t_in.saturating_add(age)),
    };
    let (verdict, reason) = match rule {
        None => (Verdict::Refused, Reason::TagNotAllowed),
        Some(r) if r.human_only && sender != SenderKind::Human => {
            (Verdict::Refused, Reason::TagNotAllowed)
        }
        Some(_) => match status.mode {
            // Inside the window (or on a paid send) the message goes out untagged.
            ReplyMode::Free | ReplyMode::Paid => (
                Verdict::Allowed {
                    tag: None,
                    paid: status.mode == ReplyMode::Paid,
                },
                status.reason,
            ),
            ReplyMode::TagOnly if status.allowed_tags.iter().any(|t| t == name) => (
                Verdict::Allowed {
                    tag: Some(name.to_owned()),
                    paid: false,
                },
                Reason::TagExtension,
            ),
            ReplyMode::TagOnly => (Verdict::Refused, Reason::TagExpired),
            ReplyMode::TemplateOnly => (Verdict::Refused, Reason::TemplateRequired),
            ReplyMode::None => (Verdict::Refused, status.reason),
        },
    };
    Decision {
        verdict,
        reason,
        status,
        requested_tag: Some(facts),
    }
}
