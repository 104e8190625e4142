//! Channel rules configuration: overrides parse from the channel's TOML, unknown or
//! misplaced keys are errors that name the key, and nonsense combinations are refused.

mod common;

use common::*;
use replyline_domain::ChannelKind::{self, *};
use replyline_policy::{AfterWindow, ChannelRules, Opener, RulesError, RulesOverride, HUMAN_AGENT};

fn try_configure(kind: ChannelKind, src: &str) -> Result<ChannelRules, String> {
    let ov: RulesOverride = toml::from_str(src).map_err(|e| e.to_string())?;
    ChannelRules::configured(kind, &ov).map_err(|e| e.to_string())
}

/// Rule: §2 "Everything a provider can change (window lengths, quotas, tag names,
/// allowances) is configuration data".
#[test]
fn every_rule_field_is_overridable() {
    let r = configured(
        Custom,
        r#"
        window = "36h"
        quota_per_window = 7
        after_window = "nothing"
        templates = true
        openers = [{ event = "ad_referral", window = "3d", quota = 2 }]
        "#,
    );
    assert_eq!(r.window, Some(hours(36)));
    assert_eq!(r.quota_per_window, Some(7));
    assert_eq!(r.after_window, AfterWindow::Nothing);
    assert!(r.templates);
    assert_eq!(r.openers.len(), 1);
    assert_eq!(r.openers[0].opener, Opener::AdReferral);
    assert_eq!(r.openers[0].window, days(3));
    assert_eq!(r.openers[0].quota, Some(2));
}

#[test]
fn an_empty_override_keeps_the_defaults() {
    for kind in ChannelKind::ALL {
        assert_eq!(configured(kind, ""), ChannelRules::default_for(kind));
    }
}

#[test]
fn unknown_keys_are_errors_naming_the_key() {
    let err = try_configure(Messenger, "windw = \"24h\"").unwrap_err();
    assert!(err.contains("windw"), "{err}");
}

#[test]
fn bad_durations_are_explained() {
    let err = try_configure(Custom, "window = \"a while\"").unwrap_err();
    assert!(err.contains("a while") && err.contains("24h"), "{err}");
}

#[test]
fn settings_for_other_kinds_are_refused() {
    let err = try_configure(Telegram, "human_agent_tag = true").unwrap_err();
    assert!(
        err.contains("human_agent_tag") && err.contains("telegram"),
        "{err}"
    );
    let err = try_configure(Whatsapp, "initiated_allowance_per_month = 5").unwrap_err();
    assert!(err.contains("initiated_allowance_per_month"), "{err}");
    let err = try_configure(Line, "commercial_terms_accepted = true").unwrap_err();
    assert!(err.contains("commercial_terms_accepted"), "{err}");
}

#[test]
fn nonsense_combinations_are_refused() {
    let cases: [(&str, ChannelKind, RulesError); 8] = [
        ("window = \"0s\"", Custom, RulesError::ZeroWindow),
        ("quota_per_window = 0", Tiktok, RulesError::ZeroQuota),
        ("quota_per_window = 3", Messenger, RulesError::QuotaWithTags),
        (
            "window = \"1h\"\nafter_window = \"anything\"\nquota_per_window = 3",
            Custom,
            RulesError::QuotaWithAnythingAfter,
        ),
        (
            "openers = [{ event = \"message\", window = \"1h\" }]",
            Whatsapp,
            RulesError::MessageOpener,
        ),
        (
            "window = \"none\"",
            Messenger,
            RulesError::OpenersWithoutWindow,
        ),
        (
            "tags = [{ name = \"HUMAN_AGENT\" }]",
            Telegram,
            RulesError::TagsWithoutWindow,
        ),
        (
            "tags = [{ name = \"A\" }, { name = \"A\" }]",
            Instagram,
            RulesError::DuplicateTag("A".to_owned()),
        ),
    ];
    for (src, kind, want) in cases {
        let ov: RulesOverride = toml::from_str(src).unwrap();
        assert_eq!(ChannelRules::configured(kind, &ov), Err(want), "{src}");
    }
    let ov: RulesOverride = toml::from_str("tags = [{ name = \"human agent\" }]").unwrap();
    assert!(matches!(
        ChannelRules::configured(Messenger, &ov),
        Err(RulesError::BadTagName(_))
    ));
}

/// Rule: §3 `human_agent_tag` switches HUMAN_AGENT on or off, whatever the tag list says.
#[test]
fn human_agent_tag_switch_edits_the_tag_list() {
    let off = configured(Instagram, "human_agent_tag = false");
    assert!(off.tags.iter().all(|t| t.name != HUMAN_AGENT));
    let on = configured(
        Messenger,
        "tags = [{ name = \"ACCOUNT_UPDATE\" }]\nhuman_agent_tag = true",
    );
    let names: Vec<_> = on.tags.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, [HUMAN_AGENT, "ACCOUNT_UPDATE"]);
    assert!(on.tags[0].human_only);
    assert_eq!(on.tags[0].max_age, Some(days(7)));
}

/// The store keeps window state as long as it can change a decision (§1.4 of
/// aws-and-testing.md: TTL is garbage collection, never a business deadline).
#[test]
fn state_horizon_is_the_longest_relevant_duration() {
    assert_eq!(rules(Telegram).state_horizon(), None);
    assert_eq!(rules(Messenger).state_horizon(), Some(days(7)));
    assert_eq!(rules(Whatsapp).state_horizon(), Some(hours(24)));
    assert_eq!(rules(Wechat).state_horizon(), Some(hours(48)));
    let unlimited_tag = configured(Messenger, "tags = [{ name = \"ACCOUNT_UPDATE\" }]");
    assert_eq!(unlimited_tag.state_horizon(), None);
}
