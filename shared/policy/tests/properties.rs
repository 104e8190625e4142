//! Properties that must hold for every channel, every valid configuration, every state and
//! every instant (within one calendar month, since monthly allowances reset).

mod common;

use common::*;
use proptest::prelude::*;
use replyline_domain::{ChannelKind, Timestamp};
use replyline_policy::{
    decide, reply_status, ChannelRules, ContactChannelState, MessageKind, MonthlyCount, Opener,
    OpenerEvent, ReplyMode, RulesOverride, SendRequest, SenderKind, WindowSetting, HUMAN_AGENT,
};

/// All instants in these properties fall in November 2026.
fn month_start() -> Timestamp {
    at("2026-11-01T00:00:00Z")
}
const MONTH_MS: i64 = 29 * 86_400_000; // stay inside November

fn instant(lo: i64, hi: i64) -> impl Strategy<Value = Timestamp> {
    (lo..hi).prop_map(|ms| Timestamp::from_millis(month_start().as_millis() + ms).unwrap())
}

fn kind() -> impl Strategy<Value = ChannelKind> {
    prop::sample::select(ChannelKind::ALL.to_vec())
}

/// Valid rules: a kind's defaults, sometimes with overrides of every field. Overrides
/// that the configuration check refuses fall back to the defaults.
fn rules_strategy() -> impl Strategy<Value = ChannelRules> {
    let window = prop::option::of(prop::sample::select(vec![
        None,
        Some(mins(1)),
        Some(hours(1)),
        Some(hours(24)),
        Some(hours(48)),
        Some(days(7)),
    ]));
    let quota = prop::option::of(1u32..12);
    let after = prop::option::of(prop::sample::select(vec![
        replyline_policy::AfterWindow::Nothing,
        replyline_policy::AfterWindow::Anything,
    ]));
    let templates = prop::option::of(any::<bool>());
    let human_agent = prop::option::of(any::<bool>());
    let extra_tag = any::<bool>();
    let allowance = prop::option::of(0u32..20);
    let terms = prop::option::of(any::<bool>());
    (
        kind(),
        window,
        quota,
        after,
        templates,
        human_agent,
        extra_tag,
        (allowance, terms),
    )
        .prop_map(
            |(kind, window, quota, after, templates, human, extra_tag, (allowance, terms))| {
                let ov = RulesOverride {
                    window: window.map(WindowSetting),
                    quota_per_window: quota,
                    after_window: after,
                    openers: None,
                    tags: extra_tag.then(|| {
                        let mut tags = ChannelRules::default_for(kind).tags;
                        tags.push(replyline_policy::TagRule {
                            name: "ACCOUNT_UPDATE".to_owned(),
                            human_only: false,
                            max_age: Some(days(3)),
                        });
                        tags
                    }),
                    templates,
                    human_agent_tag: human,
                    initiated_allowance_per_month: allowance,
                    commercial_terms_accepted: terms,
                };
                ChannelRules::configured(kind, &ov)
                    .unwrap_or_else(|_| ChannelRules::default_for(kind))
            },
        )
}

fn state_strategy() -> impl Strategy<Value = ContactChannelState> {
    let opener = prop::sample::select(Opener::ALL[1..].to_vec());
    (
        prop::option::of(instant(0, 10 * 86_400_000)),
        prop::option::of((opener, instant(0, 10 * 86_400_000))),
        0u32..15,
        prop::option::of((any::<bool>(), 0u32..25)),
        (
            prop::bool::weighted(0.1),
            prop::bool::weighted(0.1),
            prop::bool::weighted(0.1),
        ),
        (
            prop::option::weighted(0.2, instant(0, 10 * 86_400_000)),
            prop::option::weighted(0.2, instant(0, 10 * 86_400_000)),
        ),
    )
        .prop_map(
            |(
                last,
                opener,
                sent,
                paid,
                (blocked, opted_out, unsubscribed),
                (closed, exhausted),
            )| ContactChannelState {
                last_inbound_at: last,
                last_opener: opener.map(|(opener, at)| OpenerEvent { opener, at }),
                sent_since_inbound: sent,
                paid_sent: paid.map(|(this_month, count)| MonthlyCount {
                    month: if this_month {
                        month_start().month()
                    } else {
                        at("2026-10-20T00:00:00Z").month()
                    },
                    count,
                }),
                provider_closed_at: closed,
                provider_exhausted_at: exhausted,
                blocked,
                opted_out,
                unsubscribed,
            },
        )
}

/// Every request worth asking: both senders, plain, template, each configured tag and an
/// unknown one.
fn requests(rules: &ChannelRules) -> Vec<(SenderKind, MessageKind<'_>)> {
    let mut kinds = vec![
        MessageKind::Plain,
        MessageKind::Template,
        MessageKind::Tagged(HUMAN_AGENT),
        MessageKind::Tagged("NOT_A_TAG"),
    ];
    kinds.extend(
        rules
            .tags
            .iter()
            .map(|t| MessageKind::Tagged(t.name.as_str())),
    );
    let mut out = Vec::new();
    for who in [SenderKind::Human, SenderKind::Automation] {
        for k in &kinds {
            out.push((who, *k));
        }
    }
    out
}

fn allowed(
    rules: &ChannelRules,
    state: &ContactChannelState,
    who: SenderKind,
    kind: MessageKind<'_>,
    now: Timestamp,
) -> bool {
    decide(rules, state, SendRequest { sender: who, kind }, now).is_allowed()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// A new inbound message never makes anything less allowed (§1: the window restarts
    /// on every inbound message).
    #[test]
    fn a_new_inbound_message_never_makes_anything_less_allowed(
        rules in rules_strategy(),
        state in state_strategy(),
        msg_at in instant(10 * 86_400_000, 15 * 86_400_000),
        now_after in 0i64..(14 * 86_400_000),
    ) {
        let now = Timestamp::from_millis(msg_at.as_millis() + now_after).unwrap();
        let mut after = state.clone();
        after.record_inbound(Opener::Message, msg_at);
        for (who, kind) in requests(&rules) {
            if allowed(&rules, &state, who, kind, now) {
                prop_assert!(
                    allowed(&rules, &after, who, kind, now),
                    "{who:?} {kind:?} allowed before the inbound message but not after: {}",
                    decide(&rules, &after, SendRequest { sender: who, kind }, now).explain()
                );
            }
        }
    }

    /// Time passing without inbound never makes anything more allowed (within one
    /// calendar month).
    #[test]
    fn time_passing_never_makes_anything_more_allowed(
        rules in rules_strategy(),
        state in state_strategy(),
        now in instant(10 * 86_400_000, 20 * 86_400_000),
        later_by in 0i64..(9 * 86_400_000),
    ) {
        let later = Timestamp::from_millis(now.as_millis() + later_by).unwrap();
        prop_assume!(later.as_millis() < month_start().as_millis() + MONTH_MS);
        for (who, kind) in requests(&rules) {
            if allowed(&rules, &state, who, kind, later) {
                prop_assert!(
                    allowed(&rules, &state, who, kind, now),
                    "{who:?} {kind:?} allowed at {later} but not earlier at {now}"
                );
            }
        }
    }

    /// Channels without a window allow everything unless a hard stop applies (§2 rows
    /// Telegram, LINE, Website chat, SMS, Email; product document).
    #[test]
    fn no_window_channels_allow_everything_unless_stopped(
        kind in prop::sample::select(vec![
            ChannelKind::Telegram, ChannelKind::Line, ChannelKind::Webchat,
            ChannelKind::Sms, ChannelKind::Email, ChannelKind::Custom,
        ]),
        state in state_strategy(),
        now in instant(10 * 86_400_000, 28 * 86_400_000),
    ) {
        let rules = ChannelRules::default_for(kind);
        let stopped = state.blocked || state.opted_out || state.unsubscribed;
        for who in [SenderKind::Human, SenderKind::Automation] {
            let st = reply_status(&rules, &state, who, now);
            prop_assert_eq!(st.mode == ReplyMode::Free, !stopped);
            prop_assert_eq!(allowed(&rules, &state, who, MessageKind::Plain, now), !stopped);
        }
    }

    /// Automation is never granted a human-agent tag (§3 Messenger/Instagram [M1][R12]).
    #[test]
    fn automation_never_gets_a_human_only_tag(
        rules in rules_strategy(),
        state in state_strategy(),
        now in instant(0, 28 * 86_400_000),
    ) {
        let human_only: Vec<&str> = rules.tags.iter()
            .filter(|t| t.human_only).map(|t| t.name.as_str()).collect();
        let st = reply_status(&rules, &state, SenderKind::Automation, now);
        for t in &st.allowed_tags {
            prop_assert!(!human_only.contains(&t.as_str()));
        }
        for (who, kind) in requests(&rules) {
            if who != SenderKind::Automation { continue; }
            let d = decide(&rules, &state, SendRequest { sender: who, kind }, now);
            if let Some(tag) = d.tag() {
                prop_assert!(!human_only.contains(&tag), "automation got {tag}");
            }
        }
    }

    /// No message inside the standard window is ever tagged (§3 [M1]).
    #[test]
    fn nothing_is_tagged_while_a_window_is_open(
        rules in rules_strategy(),
        state in state_strategy(),
        now in instant(0, 28 * 86_400_000),
    ) {
        let st = reply_status(&rules, &state, SenderKind::Human, now);
        if st.mode == ReplyMode::Free {
            for (who, kind) in requests(&rules) {
                let d = decide(&rules, &state, SendRequest { sender: who, kind }, now);
                prop_assert_eq!(d.tag(), None);
            }
        }
    }

    /// Every status and decision has a sentence, and every refusal's status says what
    /// mode applies instead.
    #[test]
    fn every_answer_explains_itself(
        rules in rules_strategy(),
        state in state_strategy(),
        now in instant(0, 28 * 86_400_000),
    ) {
        for (who, kind) in requests(&rules) {
            let d = decide(&rules, &state, SendRequest { sender: who, kind }, now);
            let sentence = d.explain();
            prop_assert!(sentence.len() > 20 && sentence.ends_with('.'), "{sentence}");
            let json = serde_json::to_value(&d.status).unwrap();
            prop_assert!(json["message"].as_str().is_some_and(|m| !m.is_empty()));
            prop_assert_eq!(json["reason"].as_str(), Some(d.status.reason.code()));
        }
    }
}
