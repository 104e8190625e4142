//! The channel rules as a Markdown table, rendered from the data itself. The README embeds
//! this table, and a test fails when the two disagree, so the documentation cannot drift.

use std::fmt::Write;

use replyline_domain::ChannelKind;

use crate::explain::length_short;
use crate::rules::{AfterWindow, ChannelRules};

/// The marker lines around the generated table in the README.
pub const TABLE_START: &str =
    "<!-- rules-table:start (generated from replyline-policy; edit the rules, not this table) -->";
pub const TABLE_END: &str = "<!-- rules-table:end -->";

/// The built-in rules of every channel kind, as a Markdown table.
pub fn default_rules_table() -> String {
    let rules: Vec<ChannelRules> = ChannelKind::ALL
        .into_iter()
        .map(ChannelRules::default_for)
        .collect();
    rules_table(&rules)
}

/// Any set of rules as a Markdown table: one row per channel.
pub fn rules_table(rules: &[ChannelRules]) -> String {
    let mut out = String::from(
        "| Channel | `kind` | Window | Messages per window | Other events that open a window | After the window |\n|---|---|---|---|---|---|\n",
    );
    for r in rules {
        let window = r
            .window
            .map(length_short)
            .unwrap_or_else(|| "none".to_owned());
        let quota = r
            .quota_per_window
            .map(|q| q.to_string())
            .unwrap_or_else(|| "unlimited".to_owned());
        let openers = if r.openers.is_empty() {
            "—".to_owned()
        } else {
            r.openers
                .iter()
                .map(|o| {
                    let quota = o
                        .quota
                        .map(|q| format!(", {q} messages"))
                        .unwrap_or_default();
                    format!("{}: {}{quota}", o.opener.as_str(), length_short(o.window))
                })
                .collect::<Vec<_>>()
                .join("; ")
        };
        let _ = writeln!(
            out,
            "| {} | `{}` | {window} | {quota} | {openers} | {} |",
            r.kind.display_name(),
            r.kind.as_str(),
            after_window(r)
        );
    }
    out
}

fn after_window(r: &ChannelRules) -> String {
    let templates_line = if r.templates {
        " Approved templates at any time."
    } else {
        ""
    };
    if r.window.is_none() {
        return format!("— (no window: anything, any time){templates_line}");
    }
    if r.after_window == AfterWindow::Anything {
        return format!("anything{templates_line}");
    }
    let mut parts: Vec<String> = r
        .tags
        .iter()
        .map(|t| {
            let who = if t.human_only {
                "human agents only"
            } else {
                "any sender"
            };
            let until = t
                .max_age
                .map(|a| format!(", until {} after the last inbound message", length_short(a)))
                .unwrap_or_default();
            format!("`{}` tag ({who}{until})", t.name)
        })
        .collect();
    if r.templates {
        parts.push("approved templates only".to_owned());
    }
    if let Some(p) = r.paid {
        let beyond = if p.commercial_terms_accepted {
            "beyond it too (commercial terms accepted)"
        } else {
            "beyond it only once commercial terms are accepted"
        };
        parts.push(format!(
            "paid chatbot-initiated messages: {} a month, {beyond}",
            p.monthly_allowance
        ));
    }
    let nothing = "nothing until the customer writes again";
    if parts.is_empty() {
        nothing.to_owned()
    } else if r.templates || r.paid.is_some() {
        parts.join("; ")
    } else {
        format!("{}; then {nothing}", parts.join("; "))
    }
}
