//! The configuration document (`Config::from_toml`, also as a deployment with its own
//! table and URL), then what start-up does with an accepted one: the channels' rules
//! decide (every sender, message kind and a spread of contact states and instants,
//! sentences included), the rules table renders, and each channel's adapter is built.
#![no_main]

use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use replyline_channels::Adapter;
use replyline_config::{ChannelConfig, Config, Deployment};
use replyline_domain::{ChannelKind, Timestamp};
use replyline_policy::{
    decide, reply_status, rules_table, ContactChannelState, MessageKind, MonthlyCount, Opener,
    OpenerEvent, SendRequest, SenderKind,
};

fn states(now: Timestamp) -> Vec<ContactChannelState> {
    let ago = |d: u64| Some(now.saturating_sub(Duration::from_secs(d)));
    let hour = 3600;
    let mut out = vec![ContactChannelState::default()];
    for since in [
        60,
        23 * hour,
        30 * hour,
        3 * 24 * hour,
        8 * 24 * hour,
        400 * 24 * hour,
    ] {
        for opener in [Opener::Message, Opener::AdReferral, Opener::Follow] {
            let mut s = ContactChannelState::default();
            match opener {
                Opener::Message => s.last_inbound_at = ago(since),
                other => {
                    s.last_opener = ago(since).map(|at| OpenerEvent { opener: other, at });
                }
            }
            s.sent_since_inbound = (since % 7) as u32;
            s.paid_sent = Some(MonthlyCount {
                month: now.month(),
                count: u32::MAX - (since % 3) as u32,
            });
            out.push(s);
        }
    }
    let mut stopped = ContactChannelState {
        last_inbound_at: ago(60),
        blocked: true,
        ..Default::default()
    };
    out.push(stopped.clone());
    stopped.blocked = false;
    stopped.provider_closed_at = ago(30);
    stopped.provider_exhausted_at = ago(30);
    out.push(stopped);
    out
}

fn exercise(channel: &ChannelConfig) {
    let rules = &channel.rules;
    let instants = [
        Timestamp::EPOCH,
        Timestamp::parse_rfc3339("2026-11-25T12:00:00Z").expect("an instant"),
        Timestamp::parse_rfc3339("9999-12-31T23:59:59.999Z").expect("the last instant"),
    ];
    let tags: Vec<String> = rules.tags.iter().map(|t| t.name.clone()).collect();
    for now in instants {
        for state in states(now) {
            for sender in [SenderKind::Human, SenderKind::Automation] {
                let status = reply_status(rules, &state, sender, now);
                let _ = status.explain();
                let _ = serde_json::to_string(&status).expect("a status serialises");
                let mut kinds = vec![MessageKind::Plain, MessageKind::Template];
                kinds.extend(tags.iter().map(|t| MessageKind::Tagged(t)));
                kinds.push(MessageKind::Tagged("UNKNOWN_TAG"));
                for kind in kinds {
                    let d = decide(rules, &state, SendRequest { sender, kind }, now);
                    let _ = d.explain();
                }
            }
        }
    }
    let _ = rules.state_horizon();
    // The email adapter reads `sns_cert_pem_path` from disk: not with fuzzed paths.
    if channel.kind != ChannelKind::Email {
        let http = replyline_channels::http_client().expect("an HTTP client");
        let _ = Adapter::for_channel(channel, http);
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let deployment = Deployment {
        table: Some("replyline-prod".to_owned()),
        public_url: Some(
            "https://abc.execute-api.us-east-1.amazonaws.com"
                .parse()
                .expect("a URL"),
        ),
    };
    let _ = Config::from_toml_deployed(text, &deployment).map(|c| format!("{c:?}"));
    let Ok(config) = Config::from_toml(text) else {
        return;
    };
    let _ = format!("{config:?}");
    for agent in &config.agents {
        let _ = config.agent_by_token(agent.id.as_str());
    }
    let rules: Vec<_> = config.channels.iter().map(|c| c.rules.clone()).collect();
    let _ = rules_table(&rules);
    // Enough channels for every kind; a document with hundreds costs too much per run.
    for channel in config.channels.iter().take(12) {
        exercise(channel);
    }
});
