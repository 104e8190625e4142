//! The policy suite: every row of `channel-rules.md` §2, through the decision order of §4.
//! Each test's doc comment names the rule it checks and its source keys (§8).

mod common;

use common::*;
use replyline_domain::ChannelKind::{self, *};
use replyline_policy::{
    ContactChannelState, MessageKind, MonthlyCount, Opener, Reason, ReplyMode, Verdict, HUMAN_AGENT,
};

const NO_WINDOW: [ChannelKind; 6] = [Telegram, Line, Webchat, Sms, Email, Custom];

// ---------------------------------------------------------------------------------------
// No window: Telegram, LINE, Website chat, SMS, Email (and Custom by default).
// ---------------------------------------------------------------------------------------

/// Rule: §2 rows Telegram [TG1], LINE [L1], Website chat [C1], SMS [S1], Email, Custom/API
/// (no window by default); product document "Canales sin ventana de mensajería".
#[test]
fn no_window_channels_are_free_at_any_time_for_any_sender() {
    for kind in NO_WINDOW {
        let r = rules(kind);
        for now in [t_in(), after(days(1)), after(days(400))] {
            for who in [HUMAN, BOT] {
                let st = status(&r, &wrote(), who, now);
                assert_eq!(st.mode, ReplyMode::Free, "{kind} {who:?} at {now}");
                assert_eq!(st.reason, Reason::NoWindow);
                assert_eq!(st.window_closes_at, None);
                assert_eq!(st.tag_until, None);
                assert_eq!(st.remaining, None);
                let d = plain(&r, &wrote(), who, now);
                assert!(d.is_allowed(), "{kind}: {}", d.explain());
                assert_eq!(d.tag(), None);
                assert!(!d.is_paid());
            }
        }
    }
}

/// Rule: §2 "Telegram: anything, if the user started the bot"; a contact created by an
/// agent (no inbound yet) on a no-window channel is still reachable.
#[test]
fn no_window_channels_do_not_need_an_inbound_message() {
    for kind in NO_WINDOW {
        let d = plain(&rules(kind), &ContactChannelState::default(), HUMAN, t_in());
        assert!(d.is_allowed(), "{kind}");
    }
}

/// Rule: §2 templates and tags exist only where the provider has them (WhatsApp; Meta).
#[test]
fn no_window_channels_refuse_templates_and_tags_with_a_reason() {
    for kind in NO_WINDOW {
        let r = rules(kind);
        let d = send(&r, &wrote(), HUMAN, MessageKind::Template, t_in());
        assert_eq!(d.reason, Reason::TemplateNotSupported, "{kind}");
        assert!(d.explain().contains("does not send message templates"));
        let d = send(
            &r,
            &wrote(),
            HUMAN,
            MessageKind::Tagged(HUMAN_AGENT),
            t_in(),
        );
        assert_eq!(d.reason, Reason::TagNotAllowed, "{kind}");
    }
}

// ---------------------------------------------------------------------------------------
// Hard stops (§1 "hard stop", §4 step 1).
// ---------------------------------------------------------------------------------------

/// Rule: §4 step 1 and §6 "Blocked contacts cannot be opened, closed or messaged" [R5].
#[test]
fn blocked_contacts_get_none_on_every_channel() {
    for kind in ChannelKind::ALL {
        let mut s = wrote();
        s.blocked = true;
        for who in [HUMAN, BOT] {
            let st = status(&rules(kind), &s, who, after(mins(1)));
            assert_eq!(st.mode, ReplyMode::None, "{kind}");
            assert_eq!(st.reason, Reason::ContactBlocked);
            for k in [
                MessageKind::Plain,
                MessageKind::Template,
                MessageKind::Tagged(HUMAN_AGENT),
            ] {
                let d = send(&rules(kind), &s, who, k, after(mins(1)));
                assert_eq!(d.reason, Reason::ContactBlocked, "{kind} {k:?}");
                assert!(!d.is_allowed());
            }
            assert!(st.explain().contains("unblocks"));
        }
    }
}

/// Rule: §3 SMS "After STOP, Twilio rejects sends with 21610" [S1]: opted out → none.
#[test]
fn opted_out_sms_contact_gets_none() {
    let mut s = wrote();
    s.opted_out = true;
    let d = plain(&rules(Sms), &s, HUMAN, after(mins(1)));
    assert_eq!(d.reason, Reason::OptedOut);
    assert_eq!(d.status.mode, ReplyMode::None);
    assert!(d.explain().contains("STOP"));
}

/// Rule: §2 "closed or stopped when" column: Telegram bot blocked [TG2], LINE unfollow
/// [L2], Viber unsubscribed [V2], WeChat unfollowed [WC1], email unsubscribed: none, even
/// inside a window.
#[test]
fn unsubscribed_contacts_get_none_even_inside_a_window() {
    for kind in [Telegram, Line, Email, Viber, Wechat, Whatsapp, Messenger] {
        let mut s = wrote();
        s.unsubscribed = true;
        let st = status(&rules(kind), &s, HUMAN, after(mins(1)));
        assert_eq!(st.mode, ReplyMode::None, "{kind}");
        assert_eq!(st.reason, Reason::Unsubscribed);
    }
}

/// Rule: §4 step 1 comes first: blocked wins over opted-out and unsubscribed.
#[test]
fn blocked_is_reported_before_other_stops() {
    let s = ContactChannelState {
        blocked: true,
        opted_out: true,
        unsubscribed: true,
        ..wrote()
    };
    assert_eq!(
        status(&rules(Sms), &s, HUMAN, t_in()).reason,
        Reason::ContactBlocked
    );
}

// ---------------------------------------------------------------------------------------
// Facebook Messenger and Instagram.
// ---------------------------------------------------------------------------------------

/// Rule: §2 Messenger/Instagram "24 h from the user's last message: anything" [M1].
#[test]
fn meta_inside_24h_is_free_and_shows_the_human_agent_deadline() {
    for kind in [Messenger, Instagram] {
        let r = rules(kind);
        let st = status(&r, &wrote(), HUMAN, after(hours(23)));
        assert_eq!(st.mode, ReplyMode::Free);
        assert_eq!(st.reason, Reason::InsideWindow);
        assert_eq!(st.window_closes_at, Some(after(hours(24))));
        assert_eq!(st.tag_until, Some(after(days(7))));
        assert!(st.allowed_tags.is_empty());
        // Automation has no tag extension to look forward to.
        assert_eq!(status(&r, &wrote(), BOT, after(hours(23))).tag_until, None);
    }
}

/// Rule: §3 "never stamp [HUMAN_AGENT] on automated or in-window messages" [M1][R12].
#[test]
fn meta_never_tags_inside_the_window_even_when_asked() {
    for kind in [Messenger, Instagram] {
        let r = rules(kind);
        let d = plain(&r, &wrote(), HUMAN, after(hours(1)));
        assert_eq!(
            d.verdict,
            Verdict::Allowed {
                tag: None,
                paid: false
            }
        );
        let d = send(
            &r,
            &wrote(),
            HUMAN,
            MessageKind::Tagged(HUMAN_AGENT),
            after(hours(1)),
        );
        assert_eq!(
            d.verdict,
            Verdict::Allowed {
                tag: None,
                paid: false
            }
        );
        assert!(d.explain().contains("never tagged"));
    }
}

/// Rule: §4 "Window ends are exclusive (now == t_in + 24 h is closed)"; one millisecond
/// earlier it is open.
#[test]
fn meta_window_boundary_is_exclusive() {
    let r = rules(Messenger);
    let before = plain(&r, &wrote(), HUMAN, after(hours(24) - ms(1)));
    assert_eq!(before.status.mode, ReplyMode::Free);
    assert_eq!(before.tag(), None);
    let at_boundary = plain(&r, &wrote(), HUMAN, after(hours(24)));
    assert_eq!(at_boundary.status.mode, ReplyMode::TagOnly);
    assert_eq!(at_boundary.tag(), Some(HUMAN_AGENT));
}

/// Rule: §2 Messenger "human only: HUMAN_AGENT tag until t_in + 7 d"; §4 step 4 "a
/// human's plain text goes out with HUMAN_AGENT applied automatically, as respond.io
/// does" [M1][R12]. The product story: 2 days after, reachable only with the tag.
#[test]
fn meta_two_days_after_a_human_reply_goes_out_with_human_agent() {
    for kind in [Messenger, Instagram] {
        let r = rules(kind);
        let now = after(days(2));
        let st = status(&r, &wrote(), HUMAN, now);
        assert_eq!(st.mode, ReplyMode::TagOnly);
        assert_eq!(st.reason, Reason::TagExtension);
        assert_eq!(st.window_closes_at, Some(after(hours(24))));
        assert_eq!(st.tag_until, Some(after(days(7))));
        assert_eq!(st.allowed_tags, vec![HUMAN_AGENT.to_owned()]);
        let d = plain(&r, &wrote(), HUMAN, now);
        assert_eq!(
            d.verdict,
            Verdict::Allowed {
                tag: Some(HUMAN_AGENT.to_owned()),
                paid: false
            }
        );
        assert_eq!(d.reason, Reason::TagExtension);
        let sentence = d.explain();
        assert!(sentence.contains("2026-11-17T12:00:00Z"), "{sentence}");
        assert!(sentence.contains("HUMAN_AGENT"), "{sentence}");
        // Naming the tag explicitly is the same.
        let d = send(&r, &wrote(), HUMAN, MessageKind::Tagged(HUMAN_AGENT), now);
        assert_eq!(d.tag(), Some(HUMAN_AGENT));
    }
}

/// Rule: §3 "never stamp it on automated messages"; §4 step 4 requires sender `human`.
#[test]
fn meta_automation_after_24h_gets_nothing_and_is_told_a_human_still_can() {
    for kind in [Messenger, Instagram] {
        let r = rules(kind);
        let now = after(days(2));
        let st = status(&r, &wrote(), BOT, now);
        assert_eq!(st.mode, ReplyMode::None);
        assert_eq!(st.reason, Reason::WindowClosed);
        assert!(st.allowed_tags.is_empty());
        assert!(st.explain().contains("A human agent can still reply"));
        let d = plain(&r, &wrote(), BOT, now);
        assert_eq!(d.reason, Reason::WindowClosed);
        let d = send(&r, &wrote(), BOT, MessageKind::Tagged(HUMAN_AGENT), now);
        assert_eq!(d.reason, Reason::TagNotAllowed);
        assert!(d.explain().contains("human agents only"));
    }
}

/// Rule: §2 Messenger "Closed when: after t_in + 7 d" [M1]: at exactly 7 days and at 8
/// days (the product story's second refusal) nothing can be sent.
#[test]
fn meta_after_seven_days_nothing_can_be_sent() {
    for kind in [Messenger, Instagram] {
        let r = rules(kind);
        for now in [after(days(7)), after(days(8))] {
            let st = status(&r, &wrote(), HUMAN, now);
            assert_eq!(st.mode, ReplyMode::None, "{kind} at {now}");
            assert_eq!(st.reason, Reason::WindowClosed);
            assert_eq!(st.tag_until, None);
            let d = send(&r, &wrote(), HUMAN, MessageKind::Tagged(HUMAN_AGENT), now);
            assert!(!d.is_allowed());
            let sentence = d.explain();
            assert!(
                sentence.contains("tag extension ended at 2026-11-17T12:00:00Z"),
                "{sentence}"
            );
        }
        // One millisecond before 7 days the tag still works.
        let d = plain(&r, &wrote(), HUMAN, after(days(7) - ms(1)));
        assert_eq!(d.tag(), Some(HUMAN_AGENT));
    }
}

/// Rule: §3 "Offer it unless the channel is configured as lacking the Human Agent
/// permission (`human_agent_tag = false`)" [M1][R12].
#[test]
fn meta_without_human_agent_permission_has_no_extension() {
    for kind in [Messenger, Instagram] {
        let r = configured(kind, "human_agent_tag = false");
        assert!(r.tags.is_empty());
        let st = status(&r, &wrote(), HUMAN, after(days(2)));
        assert_eq!(st.mode, ReplyMode::None);
        assert_eq!(st.reason, Reason::WindowClosed);
        let d = send(
            &r,
            &wrote(),
            HUMAN,
            MessageKind::Tagged(HUMAN_AGENT),
            after(days(2)),
        );
        assert_eq!(d.reason, Reason::TagNotAllowed);
    }
}

/// Rule: §2 Messenger/Instagram "up to 7 d after a Click-to-Messenger ad" [M1].
#[test]
fn meta_ad_referral_opens_a_seven_day_window() {
    for kind in [Messenger, Instagram] {
        let r = rules(kind);
        let mut s = ContactChannelState::default();
        s.record_inbound(Opener::AdReferral, t_in());
        let st = status(&r, &s, HUMAN, after(days(3)));
        assert_eq!(st.mode, ReplyMode::Free);
        assert_eq!(st.window_closes_at, Some(after(days(7))));
        assert_eq!(plain(&r, &s, HUMAN, after(days(3))).tag(), None);
        assert_eq!(status(&r, &s, HUMAN, after(days(7))).mode, ReplyMode::None);
    }
}

/// Rule: §3 "Meta tags are data, not code": a configured non-human tag (e.g. Messenger's
/// ACCOUNT_UPDATE, retired per [M5] but configurable) may be used by automation, which must
/// name it; a human's plain text still gets HUMAN_AGENT.
#[test]
fn meta_tags_are_configuration() {
    let r = configured(
        Messenger,
        r#"tags = [
            { name = "HUMAN_AGENT", human_only = true, max_age = "7d" },
            { name = "ACCOUNT_UPDATE" },
        ]"#,
    );
    let now = after(days(30));
    let bot = status(&r, &wrote(), BOT, now);
    assert_eq!(bot.mode, ReplyMode::TagOnly);
    assert_eq!(bot.allowed_tags, vec!["ACCOUNT_UPDATE".to_owned()]);
    assert_eq!(bot.tag_until, None);
    let d = plain(&r, &wrote(), BOT, now);
    assert_eq!(d.reason, Reason::TagRequired);
    assert!(d.explain().contains("ACCOUNT_UPDATE"));
    let d = send(
        &r,
        &wrote(),
        BOT,
        MessageKind::Tagged("ACCOUNT_UPDATE"),
        now,
    );
    assert_eq!(d.tag(), Some("ACCOUNT_UPDATE"));
    // A human after 7 days: HUMAN_AGENT expired, ACCOUNT_UPDATE still usable when named.
    let d = send(&r, &wrote(), HUMAN, MessageKind::Tagged(HUMAN_AGENT), now);
    assert_eq!(d.reason, Reason::TagExpired);
    assert!(d.explain().contains("only until 2026-11-17T12:00:00Z"));
    let d = plain(&r, &wrote(), HUMAN, after(days(2)));
    assert_eq!(d.tag(), Some(HUMAN_AGENT));
    // A tag the channel does not list is refused.
    let d = send(
        &r,
        &wrote(),
        HUMAN,
        MessageKind::Tagged("POST_PURCHASE_UPDATE"),
        now,
    );
    assert_eq!(d.reason, Reason::TagNotAllowed);
}

/// Rule: §3 Meta: the person must start the conversation [M1]: no inbound → nothing.
#[test]
fn meta_contact_who_never_wrote_cannot_be_messaged() {
    let st = status(
        &rules(Messenger),
        &ContactChannelState::default(),
        HUMAN,
        t_in(),
    );
    assert_eq!(st.mode, ReplyMode::None);
    assert_eq!(st.window_closes_at, None);
    assert!(st.explain().contains("has not written on"));
}

// ---------------------------------------------------------------------------------------
// WhatsApp.
// ---------------------------------------------------------------------------------------

/// Rule: §2 WhatsApp "24 h customer service window: service messages + templates" [W1].
#[test]
fn whatsapp_inside_24h_allows_text_and_templates() {
    let r = rules(Whatsapp);
    let now = after(hours(20));
    let st = status(&r, &wrote(), HUMAN, now);
    assert_eq!(st.mode, ReplyMode::Free);
    assert_eq!(st.window_closes_at, Some(after(hours(24))));
    assert!(plain(&r, &wrote(), BOT, now).is_allowed());
    let d = send(&r, &wrote(), HUMAN, MessageKind::Template, now);
    assert!(d.is_allowed());
    assert_eq!(d.reason, Reason::InsideWindow);
}

/// Rule: §2 WhatsApp "After: approved templates only" [W1]; the product story's refusal.
#[test]
fn whatsapp_after_24h_only_templates() {
    let r = rules(Whatsapp);
    for now in [after(hours(24)), after(days(30))] {
        for who in [HUMAN, BOT] {
            let st = status(&r, &wrote(), who, now);
            assert_eq!(st.mode, ReplyMode::TemplateOnly);
            assert_eq!(st.reason, Reason::TemplateOutsideWindow);
            let d = plain(&r, &wrote(), who, now);
            assert_eq!(d.reason, Reason::TemplateRequired);
            let sentence = d.explain();
            assert!(sentence.contains("2026-11-11T12:00:00Z"), "{sentence}");
            assert!(sentence.contains("approved template"), "{sentence}");
            let d = send(&r, &wrote(), who, MessageKind::Template, now);
            assert!(d.is_allowed());
            assert_eq!(d.reason, Reason::TemplateOutsideWindow);
            assert!(!d.is_paid());
        }
    }
}

/// Rule: §2 WhatsApp "a template does not reopen the window" [W1].
#[test]
fn whatsapp_template_does_not_reopen_free_text() {
    let r = rules(Whatsapp);
    let now = after(hours(30));
    let mut s = wrote();
    let d = send(&r, &s, HUMAN, MessageKind::Template, now);
    s.record_outbound(d.is_paid(), now);
    assert_eq!(status(&r, &s, HUMAN, now).mode, ReplyMode::TemplateOnly);
    assert_eq!(
        plain(&r, &s, HUMAN, after(hours(31))).reason,
        Reason::TemplateRequired
    );
    // The customer's reply does.
    s.record_inbound(Opener::Message, after(hours(32)));
    assert_eq!(
        status(&r, &s, HUMAN, after(hours(33))).mode,
        ReplyMode::Free
    );
}

/// Rule: §2 WhatsApp has no tags; §3 "an explicit tag must be one the channel allows".
#[test]
fn whatsapp_refuses_tags() {
    let d = send(
        &rules(Whatsapp),
        &wrote(),
        HUMAN,
        MessageKind::Tagged(HUMAN_AGENT),
        after(hours(30)),
    );
    assert_eq!(d.reason, Reason::TagNotAllowed);
}

/// Rule: §2 WhatsApp templates are business-initiated: allowed before any inbound [W1].
#[test]
fn whatsapp_templates_need_no_prior_inbound() {
    let s = ContactChannelState::default();
    let st = status(&rules(Whatsapp), &s, HUMAN, t_in());
    assert_eq!(st.mode, ReplyMode::TemplateOnly);
    assert!(st.explain().contains("has not written on"));
}

// ---------------------------------------------------------------------------------------
// Viber.
// ---------------------------------------------------------------------------------------

fn paid_used(n: u32) -> ContactChannelState {
    ContactChannelState {
        paid_sent: Some(MonthlyCount {
            month: after(days(2)).month(),
            count: n,
        }),
        ..wrote()
    }
}

/// Rule: §2 Viber "24 h session: unlimited, free" [V1][V2].
#[test]
fn viber_inside_the_session_is_free_and_unbilled() {
    let d = plain(&rules(Viber), &wrote(), BOT, after(hours(23)));
    assert_eq!(
        d.verdict,
        Verdict::Allowed {
            tag: None,
            paid: false
        }
    );
    assert_eq!(d.status.mode, ReplyMode::Free);
}

/// Rule: §3 Viber "after the session the mode is `paid` while the month's
/// chatbot-initiated count is under the allowance" (default 10,000) [V1].
#[test]
fn viber_after_24h_is_paid_against_the_monthly_allowance() {
    let r = rules(Viber);
    let now = after(days(2));
    for who in [HUMAN, BOT] {
        let st = status(&r, &paid_used(9_998), who, now);
        assert_eq!(st.mode, ReplyMode::Paid);
        assert_eq!(st.reason, Reason::PaidOutsideWindow);
        assert_eq!(st.remaining, Some(2));
        let d = plain(&r, &paid_used(9_998), who, now);
        assert_eq!(
            d.verdict,
            Verdict::Allowed {
                tag: None,
                paid: true
            }
        );
        assert!(d
            .explain()
            .contains("2 of this month's allowance of 10000 left"));
    }
    // Counting the sends uses the allowance up.
    let mut s = paid_used(9_998);
    for _ in 0..2 {
        let d = plain(&r, &s, HUMAN, now);
        assert!(d.is_paid());
        s.record_outbound(true, now);
    }
    let d = plain(&r, &s, HUMAN, now);
    assert_eq!(d.reason, Reason::QuotaExhausted);
}

/// Rule: §3 Viber "beyond it only if the channel has accepted the commercial terms,
/// default false; else `none` with reason `quota_exhausted`" [V1].
#[test]
fn viber_allowance_exhausted_without_terms_is_refused_until_next_month() {
    let r = rules(Viber);
    let now = after(days(2));
    let st = status(&r, &paid_used(10_000), HUMAN, now);
    assert_eq!(st.mode, ReplyMode::None);
    assert_eq!(st.reason, Reason::QuotaExhausted);
    assert_eq!(st.remaining, Some(0));
    let sentence = st.explain();
    assert!(sentence.contains("commercial terms"), "{sentence}");
    assert!(sentence.contains("2026-12-01T00:00:00Z"), "{sentence}");
}

/// Rule: §3 Viber: with commercial terms accepted, paid messages go beyond the allowance.
#[test]
fn viber_allowance_exhausted_with_terms_is_still_paid() {
    let r = configured(Viber, "commercial_terms_accepted = true");
    let d = plain(&r, &paid_used(25_000), HUMAN, after(days(2)));
    assert_eq!(
        d.verdict,
        Verdict::Allowed {
            tag: None,
            paid: true
        }
    );
    assert_eq!(d.status.remaining, None);
    assert!(d.explain().contains("accepted commercial terms"));
}

/// Rule: §3 Viber "10,000 free per calendar month (not cumulative, reset 00:00 UTC)" [V1]:
/// last month's count does not count this month; the allowance is configurable.
#[test]
fn viber_allowance_resets_each_calendar_month_and_is_configurable() {
    let r = rules(Viber);
    let s = ContactChannelState {
        paid_sent: Some(MonthlyCount {
            month: at("2026-10-15T00:00:00Z").month(),
            count: 10_000,
        }),
        ..wrote()
    };
    let st = status(&r, &s, HUMAN, after(days(2)));
    assert_eq!(st.mode, ReplyMode::Paid);
    assert_eq!(st.remaining, Some(10_000));
    let small = configured(Viber, "initiated_allowance_per_month = 3");
    assert_eq!(
        status(&small, &paid_used(3), HUMAN, after(days(2))).mode,
        ReplyMode::None
    );
    assert_eq!(
        status(&small, &paid_used(2), HUMAN, after(days(2))).remaining,
        Some(1)
    );
}

/// Rule: §3 Viber "Only subscribed users can be messaged" [V2]: unsubscribed → none.
#[test]
fn viber_unsubscribed_gets_none_even_with_terms() {
    let r = configured(Viber, "commercial_terms_accepted = true");
    let s = ContactChannelState {
        unsubscribed: true,
        ..wrote()
    };
    assert_eq!(
        plain(&r, &s, HUMAN, after(days(2))).reason,
        Reason::Unsubscribed
    );
}

// ---------------------------------------------------------------------------------------
// WeChat.
// ---------------------------------------------------------------------------------------

/// Rule: §2 WeChat "48 h from the user's message: max 5 messages" [WC1].
#[test]
fn wechat_allows_five_messages_within_48h() {
    let r = rules(Wechat);
    let now = after(hours(47));
    let mut s = wrote();
    for left in (1..=5).rev() {
        let st = status(&r, &s, HUMAN, now);
        assert_eq!(st.mode, ReplyMode::Free);
        assert_eq!(st.remaining, Some(left));
        assert_eq!(st.window_closes_at, Some(after(hours(48))));
        assert!(plain(&r, &s, HUMAN, now).is_allowed());
        s.record_outbound(false, now);
    }
    let d = plain(&r, &s, HUMAN, now);
    assert_eq!(d.reason, Reason::QuotaExhausted);
    assert_eq!(d.status.remaining, Some(0));
    let sentence = d.explain();
    assert!(sentence.contains("All 5 messages"), "{sentence}");
    assert!(sentence.contains("2026-11-12T12:00:00Z"), "{sentence}");
}

/// Rule: §2 WeChat "Closed when: after 48 h" [WC1] (boundary exclusive, §4).
#[test]
fn wechat_after_48h_nothing_until_the_customer_writes() {
    let r = rules(Wechat);
    assert_eq!(
        status(&r, &wrote(), HUMAN, after(hours(48) - ms(1))).mode,
        ReplyMode::Free
    );
    let st = status(&r, &wrote(), HUMAN, after(hours(48)));
    assert_eq!(st.mode, ReplyMode::None);
    assert_eq!(st.reason, Reason::WindowClosed);
    assert!(st.explain().contains("until the customer writes again"));
}

/// Rule: §3 WeChat "Whether a new user message resets the count to 5 is [unverified];
/// reset is assumed" [WC1].
#[test]
fn wechat_new_message_resets_the_count() {
    let r = rules(Wechat);
    let mut s = wrote();
    for _ in 0..5 {
        s.record_outbound(false, after(hours(1)));
    }
    assert_eq!(status(&r, &s, HUMAN, after(hours(2))).mode, ReplyMode::None);
    s.record_inbound(Opener::Message, after(hours(3)));
    assert_eq!(status(&r, &s, HUMAN, after(hours(3))).remaining, Some(5));
}

/// Rule: §2 WeChat extension "follow / menu click / QR scan → 3 messages in 1 min" [WC1].
#[test]
fn wechat_follow_menu_and_qr_open_three_messages_for_a_minute() {
    let r = rules(Wechat);
    for opener in [Opener::Follow, Opener::MenuClick, Opener::QrScan] {
        let mut s = ContactChannelState::default();
        s.record_inbound(opener, t_in());
        let st = status(&r, &s, BOT, after(secs(30)));
        assert_eq!(st.mode, ReplyMode::Free, "{opener:?}");
        assert_eq!(st.remaining, Some(3));
        assert_eq!(st.window_closes_at, Some(after(mins(1))));
        for _ in 0..3 {
            s.record_outbound(false, after(secs(31)));
        }
        assert_eq!(
            status(&r, &s, BOT, after(secs(40))).reason,
            Reason::QuotaExhausted
        );
        let fresh = {
            let mut f = ContactChannelState::default();
            f.record_inbound(opener, t_in());
            f
        };
        assert_eq!(
            status(&r, &fresh, BOT, after(mins(1))).mode,
            ReplyMode::None
        );
    }
}

/// Rule: §3 WeChat "payment (service accounts) → unlimited within 48 h" [WC1].
#[test]
fn wechat_payment_gives_unlimited_messages_for_48h() {
    let r = rules(Wechat);
    let mut s = ContactChannelState::default();
    s.record_inbound(Opener::Payment, t_in());
    for _ in 0..20 {
        s.record_outbound(false, after(hours(1)));
    }
    let st = status(&r, &s, HUMAN, after(hours(47)));
    assert_eq!(st.mode, ReplyMode::Free);
    assert_eq!(st.remaining, None);
}

/// Rule: a follow event after a message does not shorten the message's 48 h window
/// (windows only move forward; "a new inbound message never makes anything less allowed").
#[test]
fn wechat_follow_after_message_keeps_the_message_window() {
    let r = rules(Wechat);
    let mut s = wrote();
    s.record_inbound(Opener::MenuClick, after(hours(1)));
    let st = status(&r, &s, HUMAN, after(hours(5)));
    assert_eq!(st.mode, ReplyMode::Free);
    assert_eq!(st.window_closes_at, Some(after(hours(48))));
    assert_eq!(st.remaining, Some(5));
}

// ---------------------------------------------------------------------------------------
// TikTok.
// ---------------------------------------------------------------------------------------

/// Rule: §2 TikTok "48 h, max 10 messages, reset to 10 on each user message" [T1][T2]
/// (secondary sources, unverified).
#[test]
fn tiktok_allows_ten_messages_within_48h() {
    let r = rules(Tiktok);
    let mut s = wrote();
    assert_eq!(status(&r, &s, HUMAN, after(hours(1))).remaining, Some(10));
    for _ in 0..10 {
        assert!(plain(&r, &s, BOT, after(hours(1))).is_allowed());
        s.record_outbound(false, after(hours(1)));
    }
    assert_eq!(
        plain(&r, &s, BOT, after(hours(1))).reason,
        Reason::QuotaExhausted
    );
    assert_eq!(
        status(&r, &wrote(), HUMAN, after(hours(48))).reason,
        Reason::WindowClosed
    );
    s.record_inbound(Opener::Message, after(hours(2)));
    assert_eq!(status(&r, &s, HUMAN, after(hours(2))).remaining, Some(10));
}

// ---------------------------------------------------------------------------------------
// Custom/API.
// ---------------------------------------------------------------------------------------

/// Rule: §2 Custom/API "`window_hours` (none = no window); after: `nothing` (default
/// when a window is set) or `anything`; optional `quota_per_window`" [C1].
#[test]
fn custom_channel_window_is_configuration() {
    let closed = configured(Custom, r#"window = "12h""#);
    assert_eq!(
        status(&closed, &wrote(), HUMAN, after(hours(11))).mode,
        ReplyMode::Free
    );
    assert_eq!(
        status(&closed, &wrote(), HUMAN, after(hours(12))).reason,
        Reason::WindowClosed
    );

    let open = configured(Custom, "window = \"12h\"\nafter_window = \"anything\"");
    let st = status(&open, &wrote(), BOT, after(hours(13)));
    assert_eq!(st.mode, ReplyMode::Free);
    assert_eq!(st.reason, Reason::OpenAfterWindow);
    assert_eq!(st.window_closes_at, Some(after(hours(12))));

    let capped = configured(Custom, "window = \"12h\"\nquota_per_window = 2");
    let mut s = wrote();
    s.record_outbound(false, after(hours(1)));
    s.record_outbound(false, after(hours(1)));
    assert_eq!(
        status(&capped, &s, HUMAN, after(hours(2))).reason,
        Reason::QuotaExhausted
    );

    // A quota without a window caps messages between two inbound messages.
    let no_window_capped = configured(Custom, "quota_per_window = 1");
    let mut s = wrote();
    assert_eq!(
        status(&no_window_capped, &s, HUMAN, after(days(9))).remaining,
        Some(1)
    );
    s.record_outbound(false, after(days(9)));
    let st = status(&no_window_capped, &s, HUMAN, after(days(9)));
    assert_eq!(st.reason, Reason::QuotaExhausted);
    assert!(st.explain().contains("until they write"));
}

/// Rule: §2 "Everything a provider can change is configuration data": a channel can
/// change its window (a provider changes its rules) and switch off its window entirely.
#[test]
fn windows_can_be_overridden_per_channel() {
    let longer = configured(Whatsapp, r#"window = "48h""#);
    assert_eq!(
        status(&longer, &wrote(), HUMAN, after(hours(30))).mode,
        ReplyMode::Free
    );
    let none = configured(Wechat, "window = \"none\"\nopeners = []");
    let st = status(&none, &wrote(), HUMAN, after(days(30)));
    assert_eq!(st.reason, Reason::NoWindow);
    assert_eq!(st.remaining, Some(5));
}

// ---------------------------------------------------------------------------------------
// Provider corrections.
// ---------------------------------------------------------------------------------------

/// Rule: §4 "A provider refusal after sending (131047, 2018278, 45015…) … updates the
/// contact-channel state": the window reads as closed from the refusal on, whatever our
/// clock says; the tag extension (measured from t_in) still applies; the next inbound
/// message opens a window as usual.
#[test]
fn a_provider_refusal_closes_the_window_early() {
    let r = rules(Messenger);
    let mut s = wrote();
    s.record_provider_refusal(after(hours(20)), false);
    let st = status(&r, &s, HUMAN, after(hours(21)));
    assert_eq!(st.mode, ReplyMode::TagOnly);
    assert_eq!(st.window_closes_at, Some(after(hours(20))));
    assert_eq!(status(&r, &s, BOT, after(hours(21))).mode, ReplyMode::None);
    s.record_inbound(Opener::Message, after(hours(22)));
    assert_eq!(status(&r, &s, BOT, after(hours(23))).mode, ReplyMode::Free);

    let wa = rules(Whatsapp);
    let mut s = wrote();
    s.record_provider_refusal(after(hours(2)), false);
    assert_eq!(
        status(&wa, &s, HUMAN, after(hours(3))).mode,
        ReplyMode::TemplateOnly
    );
}

/// Rule: §3 WeChat "45047 out of response count limit": the window's quota reads as used.
#[test]
fn a_provider_quota_refusal_exhausts_the_window() {
    let r = rules(Wechat);
    let mut s = wrote();
    s.record_outbound(false, after(hours(1)));
    s.record_provider_refusal(after(hours(2)), true);
    let st = status(&r, &s, HUMAN, after(hours(3)));
    assert_eq!(st.reason, Reason::QuotaExhausted);
    assert_eq!(st.remaining, Some(0));
    assert!(st.explain().contains("All 5 messages"), "{}", st.explain());
    s.record_inbound(Opener::Message, after(hours(4)));
    assert_eq!(status(&r, &s, HUMAN, after(hours(4))).remaining, Some(5));
}
