//! One policy decision, per representative case. Goal: well under a microsecond, since the
//! send path and every inbox row evaluate it. Sentences are measured apart: they are built
//! only when someone reads them.

use std::hint::black_box;
use std::time::Duration;

use criterion::{criterion_group, criterion_main, Criterion};
use replyline_domain::{ChannelKind, Timestamp};
use replyline_policy::{
    decide, reply_status, ChannelRules, ContactChannelState, MessageKind, Opener, SendRequest,
    SenderKind,
};

fn t_in() -> Timestamp {
    Timestamp::parse_rfc3339("2026-11-10T12:00:00Z").expect("valid instant")
}

fn wrote() -> ContactChannelState {
    let mut s = ContactChannelState::default();
    s.record_inbound(Opener::Message, t_in());
    s
}

fn bench(c: &mut Criterion) {
    let cases = [
        (
            "telegram_plain",
            ChannelKind::Telegram,
            MessageKind::Plain,
            3600,
        ),
        (
            "messenger_inside_window",
            ChannelKind::Messenger,
            MessageKind::Plain,
            3600,
        ),
        (
            "messenger_human_agent_2d",
            ChannelKind::Messenger,
            MessageKind::Plain,
            2 * 86_400,
        ),
        (
            "whatsapp_template_30h",
            ChannelKind::Whatsapp,
            MessageKind::Template,
            30 * 3600,
        ),
        (
            "viber_paid_2d",
            ChannelKind::Viber,
            MessageKind::Plain,
            2 * 86_400,
        ),
        (
            "wechat_quota_1h",
            ChannelKind::Wechat,
            MessageKind::Plain,
            3600,
        ),
    ];
    // Baseline for the ratio in BENCHMARKS.md: one small heap allocation and copy, the
    // cheapest thing a decision could possibly cost beyond arithmetic.
    let tag = String::from("HUMAN_AGENT");
    c.bench_function("baseline/clone_short_string", |b| {
        b.iter(|| black_box(&tag).clone())
    });

    let mut group = c.benchmark_group("decide");
    for (name, kind, msg, after_secs) in cases {
        let rules = ChannelRules::default_for(kind);
        let state = wrote();
        let now = t_in().saturating_add(Duration::from_secs(after_secs));
        let req = SendRequest {
            sender: SenderKind::Human,
            kind: msg,
        };
        group.bench_function(name, |b| {
            b.iter(|| {
                decide(
                    black_box(&rules),
                    black_box(&state),
                    black_box(req),
                    black_box(now),
                )
            })
        });
    }
    group.finish();

    let rules = ChannelRules::default_for(ChannelKind::Messenger);
    let state = wrote();
    let now = t_in().saturating_add(Duration::from_secs(2 * 86_400));
    c.bench_function("reply_status/messenger_human_agent_2d", |b| {
        b.iter(|| {
            reply_status(
                black_box(&rules),
                black_box(&state),
                SenderKind::Human,
                black_box(now),
            )
        })
    });
    let d = decide(
        &rules,
        &state,
        SendRequest {
            sender: SenderKind::Human,
            kind: MessageKind::Plain,
        },
        now,
    );
    c.bench_function("explain/messenger_human_agent_2d", |b| {
        b.iter(|| black_box(&d).explain())
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
