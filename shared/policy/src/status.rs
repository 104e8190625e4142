//! The reply status: what a sender may send to a contact on a channel right now.
//!
//! Decision order (`channel-rules.md` §4): hard stop; no window; inside a window (with its
//! quota); after it: "anything" channels, tags, templates, paid messages; otherwise nothing.

use std::time::Duration;

use replyline_domain::{ChannelKind, Timestamp};
use serde::{Deserialize, Serialize};

use crate::reason::Reason;
use crate::rules::{AfterWindow, ChannelRules, PaidRule};
use crate::state::ContactChannelState;

/// Who is sending: a person typing in the inbox, or anything automatic.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SenderKind {
    Human,
    Automation,
}

/// What may be sent.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReplyMode {
    /// Anything.
    Free,
    /// Only tagged messages (a human's plain text gets HUMAN_AGENT applied).
    TagOnly,
    /// Only approved templates.
    TemplateOnly,
    /// Allowed, but billed and counted against a monthly allowance.
    Paid,
    /// Nothing until the customer writes again, or never (a hard stop).
    None,
}

impl ReplyMode {
    pub const fn as_str(self) -> &'static str {
        match self {
            ReplyMode::Free => "free",
            ReplyMode::TagOnly => "tag_only",
            ReplyMode::TemplateOnly => "template_only",
            ReplyMode::Paid => "paid",
            ReplyMode::None => "none",
        }
    }
}

/// What the inbox shows next to a contact's channel, and what the send path re-checks.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReplyStatus {
    pub mode: ReplyMode,
    /// When the current window closes, or closed; `None` where the channel has no window
    /// or the contact never opened one.
    pub window_closes_at: Option<Timestamp>,
    /// The end of the tag extension this sender may use (HUMAN_AGENT: 7 days after the
    /// last inbound message), while it lasts.
    pub tag_until: Option<Timestamp>,
    /// Messages left where they are capped: in this window (WeChat, TikTok), or in this
    /// month's paid allowance when no commercial terms were accepted (Viber).
    pub remaining: Option<u32>,
    /// Tags this sender may use now (in `tag_only` mode).
    pub allowed_tags: Vec<String>,
    /// Why the mode is what it is.
    pub reason: Reason,
    /// Facts the explanation sentence needs.
    pub(crate) context: StatusContext,
}

/// The facts behind a status that only its sentence needs; kept so that sentences are
/// built only when someone reads them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct StatusContext {
    pub kind: ChannelKind,
    /// Length of the window that is (or was last) open.
    pub window_len: Option<Duration>,
    pub never_wrote: bool,
    /// The quota of the window that is open, if capped.
    pub window_quota: Option<u32>,
    pub paid: Option<PaidRule>,
    /// When this month's allowance resets (paid channels).
    pub allowance_resets_at: Option<Timestamp>,
    /// A human's plain text goes out tagged (HUMAN_AGENT) in `tag_only` mode.
    pub human_tag_applies: bool,
    /// For automation after the window: until when a human could still reply with a tag.
    pub human_tag_until: Option<Timestamp>,
    /// The tag extension ended at this instant (for "nothing until they write" sentences).
    pub tag_ended_at: Option<Timestamp>,
}

impl ReplyStatus {
    /// Whether anything at all may be sent.
    pub fn allows_anything(&self) -> bool {
        self.mode != ReplyMode::None
    }

    /// The channel this status is about.
    pub fn kind(&self) -> ChannelKind {
        self.context.kind
    }

    /// A sentence a person understands: what may be sent, and until when.
    pub fn explain(&self) -> String {
        crate::explain::status_sentence(self)
    }
}

/// A window grant: the standard window after a message, or one opened by another event.
#[derive(Clone, Copy, Debug)]
struct Grant {
    end: Timestamp,
    len: Duration,
    quota: Option<u32>,
    /// The provider said its quota is used up.
    exhausted: bool,
}

impl Grant {
    fn remaining(&self, sent: u32) -> Option<u32> {
        if self.exhausted {
            return Some(0);
        }
        self.quota.map(|q| q.saturating_sub(sent))
    }
    fn has_room(&self, sent: u32) -> bool {
        self.remaining(sent) != Some(0)
    }
}

/// The reply status for `sender` on a channel with `rules`, for a contact in `state`, at
/// `now`.
pub fn reply_status(
    rules: &ChannelRules,
    state: &ContactChannelState,
    sender: SenderKind,
    now: Timestamp,
) -> ReplyStatus {
    let mut ctx = StatusContext {
        kind: rules.kind,
        window_len: rules.window,
        never_wrote: state.last_inbound_at.is_none() && state.last_opener.is_none(),
        window_quota: rules.quota_per_window,
        paid: rules.paid,
        allowance_resets_at: rules.paid.map(|_| now.month().next().start()),
        human_tag_applies: false,
        human_tag_until: None,
        tag_ended_at: None,
    };
    let mut status = ReplyStatus {
        mode: ReplyMode::None,
        window_closes_at: None,
        tag_until: None,
        remaining: None,
        allowed_tags: Vec::new(),
        reason: Reason::WindowClosed,
        context: ctx,
    };

    // 1. Hard stops: nothing, whatever the window.
    let hard_stop = if state.blocked {
        Some(Reason::ContactBlocked)
    } else if state.opted_out {
        Some(Reason::OptedOut)
    } else if state.unsubscribed {
        Some(Reason::Unsubscribed)
    } else {
        None
    };
    if let Some(reason) = hard_stop {
        status.reason = reason;
        return status;
    }

    let sent = state.sent_since_inbound;

    // 2. No window: free, unless a quota between inbound messages is used up.
    let Some(window) = rules.window else {
        let remaining = rules.quota_per_window.map(|q| q.saturating_sub(sent));
        status.remaining = remaining;
        if remaining == Some(0) {
            status.reason = Reason::QuotaExhausted;
        } else {
            status.mode = ReplyMode::Free;
            status.reason = Reason::NoWindow;
        }
        return status;
    };

    // 3. Inside a window: the standard one after the last message, or one opened by
    //    another event; the one with room that lasts longest wins.
    // A window opened at `start`: what the rules give it, cut short where the provider
    // said it was over.
    let grant = |start: Timestamp, len: Duration, quota: Option<u32>| {
        let mut end = start.saturating_add(len);
        if let Some(closed) = state.provider_closed_at.filter(|c| *c >= start) {
            end = end.min(closed);
        }
        Grant {
            end,
            len,
            quota,
            exhausted: state.provider_exhausted_at.is_some_and(|e| e >= start),
        }
    };
    let standard = state
        .last_inbound_at
        .map(|t| grant(t, window, rules.quota_per_window));
    let special = state.last_opener.and_then(|e| {
        rules
            .opener_rule(e.opener)
            .map(|r| grant(e.at, r.window, r.quota))
    });
    let grants = [standard, special];
    let latest = |filter: &dyn Fn(&Grant) -> bool| {
        grants
            .iter()
            .flatten()
            .filter(|g| filter(g))
            .max_by_key(|g| g.end)
            .copied()
    };
    // Window ends are exclusive: at `t_in + 24 h` the window is closed.
    let usable = latest(&|g| now < g.end && g.has_room(sent));
    let exhausted = latest(&|g| now < g.end);
    let last = latest(&|_| true);

    // Tags are measured from the last inbound message.
    let tag_window = |human: bool| -> (Vec<String>, Option<Timestamp>) {
        let mut names = Vec::new();
        let mut until: Option<Timestamp> = None;
        let mut unlimited = false;
        let Some(t_in) = state.last_inbound_at else {
            return (names, None);
        };
        for tag in &rules.tags {
            if tag.human_only && !human {
                continue;
            }
            let end = tag.max_age.map(|a| t_in.saturating_add(a));
            if end.is_some_and(|e| now >= e) {
                continue;
            }
            names.push(tag.name.clone());
            match end {
                Some(e) => until = Some(until.map_or(e, |u| u.max(e))),
                None => unlimited = true,
            }
        }
        (names, if unlimited { None } else { until })
    };

    if let Some(g) = usable {
        status.mode = ReplyMode::Free;
        status.reason = Reason::InsideWindow;
        status.window_closes_at = Some(g.end);
        status.remaining = g.remaining(sent);
        ctx.window_len = Some(g.len);
        ctx.window_quota = g.quota;
        let (names, until) = tag_window(sender == SenderKind::Human);
        if !names.is_empty() {
            status.tag_until = until.filter(|u| *u > g.end);
        }
        status.context = ctx;
        return status;
    }

    status.window_closes_at = exhausted.or(last).map(|g| g.end);
    if let Some(g) = exhausted.or(last) {
        ctx.window_len = Some(g.len);
        ctx.window_quota = g.quota;
    }

    // 4. After the window (or with an open window's quota used up, where tags and
    //    "anything" never apply: nothing inside the window is ever tagged).
    if exhausted.is_none() {
        if rules.after_window == AfterWindow::Anything {
            status.mode = ReplyMode::Free;
            status.reason = Reason::OpenAfterWindow;
            status.context = ctx;
            return status;
        }
        let human = sender == SenderKind::Human;
        let (names, until) = tag_window(human);
        if !names.is_empty() {
            ctx.human_tag_applies = human
                && rules
                    .tags
                    .iter()
                    .any(|t| t.human_only && names.contains(&t.name));
            status.mode = ReplyMode::TagOnly;
            status.reason = Reason::TagExtension;
            status.tag_until = until;
            status.allowed_tags = names;
            status.context = ctx;
            return status;
        }
        if !human {
            // Tell the automation's owner that a person could still reply.
            let (human_names, human_until) = tag_window(true);
            if !human_names.is_empty() {
                ctx.human_tag_until = human_until;
            }
        }
        ctx.tag_ended_at = state.last_inbound_at.and_then(|t_in| {
            rules
                .tags
                .iter()
                .filter(|t| human || !t.human_only)
                .filter_map(|t| t.max_age.map(|a| t_in.saturating_add(a)))
                .max()
        });
    }
    if rules.templates {
        status.mode = ReplyMode::TemplateOnly;
        status.reason = Reason::TemplateOutsideWindow;
        status.context = ctx;
        return status;
    }
    if let Some(paid) = rules.paid {
        let used = state.paid_sent_in(now.month());
        if paid.commercial_terms_accepted {
            status.mode = ReplyMode::Paid;
            status.reason = Reason::PaidOutsideWindow;
        } else if used < paid.monthly_allowance {
            status.mode = ReplyMode::Paid;
            status.reason = Reason::PaidOutsideWindow;
            status.remaining = Some(paid.monthly_allowance - used);
        } else {
            status.reason = Reason::QuotaExhausted;
            status.remaining = Some(0);
        }
        status.context = ctx;
        return status;
    }
    if exhausted.is_some() {
        status.reason = Reason::QuotaExhausted;
        status.remaining = Some(0);
    }
    status.context = ctx;
    status
}

/// On the wire: the fields above plus the sentence, as the inbox API returns it.
impl Serialize for ReplyStatus {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        #[derive(Serialize)]
        struct Wire<'a> {
            mode: ReplyMode,
            window_closes_at: Option<Timestamp>,
            tag_until: Option<Timestamp>,
            remaining: Option<u32>,
            allowed_tags: &'a [String],
            reason: Reason,
            message: String,
        }
        Wire {
            mode: self.mode,
            window_closes_at: self.window_closes_at,
            tag_until: self.tag_until,
            remaining: self.remaining,
            allowed_tags: &self.allowed_tags,
            reason: self.reason,
            message: self.explain(),
        }
        .serialize(s)
    }
}
