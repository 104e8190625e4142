//! Helpers shared by the policy test suites.
#![allow(dead_code)]

use std::time::Duration;

use replyline_domain::{ChannelKind, Timestamp};
use replyline_policy::{
    decide, reply_status, ChannelRules, ContactChannelState, Decision, MessageKind, Opener,
    ReplyStatus, RulesOverride, SendRequest, SenderKind,
};

pub const HUMAN: SenderKind = SenderKind::Human;
pub const BOT: SenderKind = SenderKind::Automation;

pub fn at(s: &str) -> Timestamp {
    Timestamp::parse_rfc3339(s).unwrap()
}

/// The contact's last inbound message in most tests.
pub fn t_in() -> Timestamp {
    at("2026-11-10T12:00:00Z")
}

pub fn secs(n: u64) -> Duration {
    Duration::from_secs(n)
}
pub fn mins(n: u64) -> Duration {
    Duration::from_secs(60 * n)
}
pub fn hours(n: u64) -> Duration {
    Duration::from_secs(3600 * n)
}
pub fn days(n: u64) -> Duration {
    Duration::from_secs(86_400 * n)
}
pub fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// `t_in() + d`.
pub fn after(d: Duration) -> Timestamp {
    t_in().saturating_add(d)
}

/// A contact whose last inbound message was at `t_in()`.
pub fn wrote() -> ContactChannelState {
    wrote_at(t_in())
}

pub fn wrote_at(t: Timestamp) -> ContactChannelState {
    let mut s = ContactChannelState::default();
    s.record_inbound(Opener::Message, t);
    s
}

pub fn rules(kind: ChannelKind) -> ChannelRules {
    ChannelRules::default_for(kind)
}

/// Rules from a TOML snippet of overrides, as a channel's configuration gives them.
pub fn configured(kind: ChannelKind, toml_src: &str) -> ChannelRules {
    let ov: RulesOverride = toml::from_str(toml_src).unwrap();
    ChannelRules::configured(kind, &ov).unwrap()
}

pub fn status(
    r: &ChannelRules,
    s: &ContactChannelState,
    who: SenderKind,
    now: Timestamp,
) -> ReplyStatus {
    reply_status(r, s, who, now)
}

pub fn send(
    r: &ChannelRules,
    s: &ContactChannelState,
    who: SenderKind,
    kind: MessageKind<'_>,
    now: Timestamp,
) -> Decision {
    decide(r, s, SendRequest { sender: who, kind }, now)
}

pub fn plain(
    r: &ChannelRules,
    s: &ContactChannelState,
    who: SenderKind,
    now: Timestamp,
) -> Decision {
    send(r, s, who, MessageKind::Plain, now)
}
