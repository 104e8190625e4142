//! # replyline-policy
//!
//! The heart of Replyline: for any contact on any channel at any instant, what an agent
//! (or an automation) may send, and a sentence saying why. Pure rules: no I/O, no async,
//! no AWS, and time is an argument.
//!
//! - [`ChannelRules`]: what a channel allows, as data (built-in defaults per kind,
//!   overridable per configured channel with [`RulesOverride`]).
//! - [`ContactChannelState`]: a contact's state on one channel (last inbound message,
//!   other window openers, counters, hard stops), with the forward-only transitions the
//!   store applies.
//! - [`reply_status`]: the mode (`free`, `tag_only`, `template_only`, `paid`, `none`) and
//!   its deadlines, what the inbox shows next to a contact.
//! - [`decide`]: may this sender send this message now, and with which tag.
//!
//! The rules follow `channel-rules.md` (§2 table, §4 decision order); each test names the
//! rule it checks.

mod decision;
mod explain;
mod reason;
mod rules;
mod state;
mod status;
mod table;

pub use decision::{decide, Decision, MessageKind, SendRequest, Verdict};
pub use reason::Reason;
pub use rules::{
    AfterWindow, ChannelRules, OpenerRule, PaidRule, RulesError, RulesOverride, TagRule,
    WindowSetting, HUMAN_AGENT,
};
pub use state::{ContactChannelState, MonthlyCount, Opener, OpenerEvent};
pub use status::{reply_status, ReplyMode, ReplyStatus, SenderKind};
pub use table::{default_rules_table, rules_table, TABLE_END, TABLE_START};
