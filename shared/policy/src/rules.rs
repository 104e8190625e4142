//! What each channel allows, as data.
//!
//! Providers change their rules (Meta retired tags, Viber changed its billing), so every
//! number and tag here is configuration: [`ChannelRules::default_for`] is the built-in
//! table from `channel-rules.md`, and [`RulesOverride`] is what a channel's configuration
//! may change. Nothing in the decision code names a channel.

use std::time::Duration;

use replyline_domain::ChannelKind;
use serde::{Deserialize, Serialize};

use crate::state::Opener;

const HOUR: Duration = Duration::from_secs(3600);
const DAY: Duration = Duration::from_secs(86_400);
const MINUTE: Duration = Duration::from_secs(60);

/// The tag Meta lets a human agent put on a reply up to 7 days after the customer's last
/// message (Messenger and Instagram).
pub const HUMAN_AGENT: &str = "HUMAN_AGENT";

/// Everything the policy needs to know about one configured channel.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ChannelRules {
    pub kind: ChannelKind,
    /// The standard messaging window after the contact's last inbound message;
    /// `None`: the channel has no window.
    #[serde(with = "humantime_serde")]
    pub window: Option<Duration>,
    /// Outbound messages allowed between two inbound messages (WeChat 5, TikTok 10);
    /// `None`: unlimited.
    pub quota_per_window: Option<u32>,
    /// Events other than a message that open a window of their own (a Click-to-Messenger
    /// ad, a WeChat follow...).
    pub openers: Vec<OpenerRule>,
    /// What may be sent once every window has closed, before tags, templates and paid
    /// messages are considered.
    pub after_window: AfterWindow,
    /// Message tags the channel accepts after the window (Meta's HUMAN_AGENT...).
    pub tags: Vec<TagRule>,
    /// Whether approved templates may be sent, inside or outside the window (WhatsApp).
    pub templates: bool,
    /// Messages allowed after the window as billed, counted sends (Viber chatbot-initiated).
    pub paid: Option<PaidRule>,
}

/// A window opened by something other than a message.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OpenerRule {
    #[serde(rename = "event")]
    pub opener: Opener,
    #[serde(with = "humantime_serde")]
    pub window: Duration,
    /// Messages allowed in this window; `None`: unlimited.
    #[serde(default)]
    pub quota: Option<u32>,
}

/// What may be sent after every window has closed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AfterWindow {
    /// Nothing, unless a tag, a template or a paid message applies.
    Nothing,
    /// Anything: the window is informational (a custom channel may choose this).
    Anything,
}

/// A message tag and who may use it for how long.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TagRule {
    pub name: String,
    /// Only a human agent may use it (HUMAN_AGENT); automation never gets it.
    #[serde(default)]
    pub human_only: bool,
    /// How long after the contact's last inbound message the tag may be used; `None`: no
    /// limit.
    #[serde(default, with = "humantime_serde")]
    pub max_age: Option<Duration>,
}

/// Billed messages after the window, counted per calendar month (UTC).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct PaidRule {
    /// Messages per calendar month allowed without accepted commercial terms.
    pub monthly_allowance: u32,
    /// Whether the channel's owner accepted the provider's commercial terms, which allows
    /// paid messages beyond the allowance.
    pub commercial_terms_accepted: bool,
}

impl ChannelRules {
    /// The built-in rules for a kind (`channel-rules.md` §2, §3).
    pub fn default_for(kind: ChannelKind) -> ChannelRules {
        let base = ChannelRules {
            kind,
            window: None,
            quota_per_window: None,
            openers: Vec::new(),
            after_window: AfterWindow::Nothing,
            tags: Vec::new(),
            templates: false,
            paid: None,
        };
        match kind {
            // No window: Telegram, LINE, Website chat, SMS, Email (§2; product document).
            ChannelKind::Telegram
            | ChannelKind::Line
            | ChannelKind::Webchat
            | ChannelKind::Sms
            | ChannelKind::Email
            // Custom/API: no window unless configured (§2 "Custom/API").
            | ChannelKind::Custom => base,
            // Messenger [M1][M2][R12] and Instagram [M1][M4]: 24 h, 7 d after an ad click,
            // HUMAN_AGENT for human senders until 7 d after the last inbound message.
            ChannelKind::Messenger | ChannelKind::Instagram => ChannelRules {
                window: Some(24 * HOUR),
                openers: vec![OpenerRule {
                    opener: Opener::AdReferral,
                    window: 7 * DAY,
                    quota: None,
                }],
                tags: vec![human_agent_tag()],
                ..base
            },
            // WhatsApp [W1]: 24 h customer-service window, then approved templates only.
            ChannelKind::Whatsapp => ChannelRules {
                window: Some(24 * HOUR),
                templates: true,
                ..base
            },
            // Viber [V1][V2]: 24 h session, then chatbot-initiated (paid) messages:
            // 10,000 a month (legacy allowance), beyond that only with commercial terms.
            ChannelKind::Viber => ChannelRules {
                window: Some(24 * HOUR),
                paid: Some(PaidRule {
                    monthly_allowance: 10_000,
                    commercial_terms_accepted: false,
                }),
                ..base
            },
            // WeChat [WC1][WC2]: 5 messages within 48 h of a message; follow, menu click or
            // QR scan: 3 within 1 minute; payment: unlimited within 48 h.
            ChannelKind::Wechat => ChannelRules {
                window: Some(48 * HOUR),
                quota_per_window: Some(5),
                openers: [Opener::Follow, Opener::MenuClick, Opener::QrScan]
                    .into_iter()
                    .map(|opener| OpenerRule {
                        opener,
                        window: MINUTE,
                        quota: Some(3),
                    })
                    .chain([OpenerRule {
                        opener: Opener::Payment,
                        window: 48 * HOUR,
                        quota: None,
                    }])
                    .collect(),
                ..base
            },
            // TikTok [T1][T2] (secondary sources, unverified): 48 h, at most 10 messages.
            ChannelKind::Tiktok => ChannelRules {
                window: Some(48 * HOUR),
                quota_per_window: Some(10),
                ..base
            },
        }
    }

    /// The default rules with a channel's configured changes applied and checked.
    pub fn configured(kind: ChannelKind, ov: &RulesOverride) -> Result<ChannelRules, RulesError> {
        let mut rules = ChannelRules::default_for(kind);
        rules.apply(ov)?;
        Ok(rules)
    }

    /// Applies `ov` on top of these rules, then checks the result as a whole.
    pub fn apply(&mut self, ov: &RulesOverride) -> Result<(), RulesError> {
        if let Some(w) = ov.window {
            self.window = w.0;
        }
        if let Some(q) = ov.quota_per_window {
            self.quota_per_window = Some(q);
        }
        if let Some(a) = ov.after_window {
            self.after_window = a;
        }
        if let Some(openers) = &ov.openers {
            self.openers = openers.clone();
        }
        if let Some(tags) = &ov.tags {
            self.tags = tags.clone();
        }
        if let Some(t) = ov.templates {
            self.templates = t;
        }
        if let Some(on) = ov.human_agent_tag {
            if !matches!(self.kind, ChannelKind::Messenger | ChannelKind::Instagram) {
                return Err(RulesError::NotForKind {
                    key: "human_agent_tag",
                    kind: self.kind,
                    applies_to: "messenger and instagram",
                });
            }
            self.tags.retain(|t| t.name != HUMAN_AGENT);
            if on {
                self.tags.insert(0, human_agent_tag());
            }
        }
        if ov.initiated_allowance_per_month.is_some() || ov.commercial_terms_accepted.is_some() {
            let key = if ov.initiated_allowance_per_month.is_some() {
                "initiated_allowance_per_month"
            } else {
                "commercial_terms_accepted"
            };
            let paid = self.paid.as_mut().ok_or(RulesError::NotForKind {
                key,
                kind: self.kind,
                applies_to: "viber",
            })?;
            if let Some(n) = ov.initiated_allowance_per_month {
                paid.monthly_allowance = n;
            }
            if let Some(t) = ov.commercial_terms_accepted {
                paid.commercial_terms_accepted = t;
            }
        }
        self.check()
    }

    /// Rejects combinations whose meaning would be unclear to the people configuring them.
    fn check(&self) -> Result<(), RulesError> {
        if self.window == Some(Duration::ZERO) {
            return Err(RulesError::ZeroWindow);
        }
        if self.quota_per_window == Some(0) {
            return Err(RulesError::ZeroQuota);
        }
        for o in &self.openers {
            if o.window.is_zero() {
                return Err(RulesError::ZeroWindow);
            }
            if o.quota == Some(0) {
                return Err(RulesError::ZeroQuota);
            }
            if o.opener == Opener::Message {
                return Err(RulesError::MessageOpener);
            }
        }
        if self.window.is_none() && !self.openers.is_empty() {
            return Err(RulesError::OpenersWithoutWindow);
        }
        // A window quota is a cap inside the window; with tags or "anything" after the
        // window, an exhausted quota would mean less is allowed inside the window than
        // after it, which no provider does.
        if self.quota_per_window.is_some() {
            if !self.tags.is_empty() {
                return Err(RulesError::QuotaWithTags);
            }
            if self.after_window == AfterWindow::Anything && self.window.is_some() {
                return Err(RulesError::QuotaWithAnythingAfter);
            }
        }
        let mut seen: Vec<&str> = Vec::with_capacity(self.tags.len());
        for tag in &self.tags {
            if tag.name.is_empty()
                || tag.name.len() > 64
                || !tag
                    .name
                    .bytes()
                    .all(|b| b.is_ascii_uppercase() || b == b'_')
            {
                return Err(RulesError::BadTagName(tag.name.clone()));
            }
            if seen.contains(&tag.name.as_str()) {
                return Err(RulesError::DuplicateTag(tag.name.clone()));
            }
            seen.push(&tag.name);
        }
        if !self.tags.is_empty() && self.window.is_none() {
            return Err(RulesError::TagsWithoutWindow);
        }
        // Tags and paid messages are two providers' answers to the same question; mixed,
        // a free tagged reply would hide the paid one from automation.
        if !self.tags.is_empty() && self.paid.is_some() {
            return Err(RulesError::TagsWithPaid);
        }
        Ok(())
    }

    /// How long after an inbound event its window state can still change a decision: the
    /// longest of the window, the other openers' windows and the tags' ages. `None` when
    /// it never stops mattering (no window, or a tag without age limit). The store uses it
    /// to give window state a time-to-live.
    pub fn state_horizon(&self) -> Option<Duration> {
        self.window?;
        let mut longest = self.window.unwrap_or_default();
        for o in &self.openers {
            longest = longest.max(o.window);
        }
        for t in &self.tags {
            longest = longest.max(t.max_age?);
        }
        Some(longest)
    }

    /// The opener rule for `opener`, if this channel gives that event a window.
    pub fn opener_rule(&self, opener: Opener) -> Option<&OpenerRule> {
        self.openers.iter().find(|o| o.opener == opener)
    }
}

fn human_agent_tag() -> TagRule {
    TagRule {
        name: HUMAN_AGENT.to_owned(),
        human_only: true,
        max_age: Some(7 * DAY),
    }
}

/// A channel's configured changes to its kind's default rules. Every field is optional;
/// unknown fields are rejected so a typo cannot silently keep a default.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RulesOverride {
    /// `"24h"`, `"7d"`... or `"none"` for no window.
    pub window: Option<WindowSetting>,
    pub quota_per_window: Option<u32>,
    pub after_window: Option<AfterWindow>,
    pub openers: Option<Vec<OpenerRule>>,
    pub tags: Option<Vec<TagRule>>,
    pub templates: Option<bool>,
    /// Messenger/Instagram: `false` when the app lacks Meta's Human Agent permission.
    pub human_agent_tag: Option<bool>,
    /// Viber: chatbot-initiated messages per calendar month without commercial terms.
    pub initiated_allowance_per_month: Option<u32>,
    /// Viber: the commercial terms were accepted, so paid messages go beyond the allowance.
    pub commercial_terms_accepted: Option<bool>,
}

/// A window length, or none. Written as a duration (`"24h"`, `"2d"`) or `"none"`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WindowSetting(pub Option<Duration>);

impl<'de> Deserialize<'de> for WindowSetting {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        if s.trim().eq_ignore_ascii_case("none") {
            return Ok(WindowSetting(None));
        }
        humantime::parse_duration(s.trim())
            .map(|d| WindowSetting(Some(d)))
            .map_err(|e| {
                serde::de::Error::custom(format!(
                    "window '{s}' is not a duration such as \"24h\" or \"7d\", nor \"none\": {e}"
                ))
            })
    }
}

/// Why a channel's rules configuration cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RulesError {
    #[error("`{key}` does not apply to {kind} channels (only to {applies_to})")]
    NotForKind {
        key: &'static str,
        kind: ChannelKind,
        applies_to: &'static str,
    },
    #[error("a window must be longer than zero; use \"none\" for a channel without a window")]
    ZeroWindow,
    #[error("a message quota must be at least 1; leave it out for unlimited messages")]
    ZeroQuota,
    #[error("`openers` cannot list `message`: the channel's `window` is the message window")]
    MessageOpener,
    #[error("`openers` need a `window`: a channel without a window has nothing to open")]
    OpenersWithoutWindow,
    #[error("`tags` need a `window`: tags only apply after a window closes")]
    TagsWithoutWindow,
    #[error("`tags` cannot be used on a channel with paid messages (viber)")]
    TagsWithPaid,
    #[error("`quota_per_window` cannot be combined with `tags`")]
    QuotaWithTags,
    #[error("`quota_per_window` cannot be combined with `after_window = \"anything\"`")]
    QuotaWithAnythingAfter,
    #[error("tag name '{0}' must be 1 to 64 characters of A-Z and _, like HUMAN_AGENT")]
    BadTagName(String),
    #[error("tag '{0}' is listed twice")]
    DuplicateTag(String),
}
