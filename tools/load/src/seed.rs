//! A seeded store at inbox scale, written through the store's own API (so it holds exactly
//! what the product would write), cached by size so runs after the first reuse it.

use std::path::Path;
use std::time::Instant;

use replyline_domain::{
    AgentId, ChannelId, ChannelKind, Content, ExternalId, ProfileFields, Timestamp,
};
use replyline_policy::{ChannelRules, Opener};
use replyline_store::sqlite::SqliteStore;
use replyline_store::{
    CommandContext, ConversationCommands, Faults, InboundRecord, InboundRecorder,
};

pub const FIRST: [&str; 30] = [
    "María", "José", "Ana", "Carlos", "Lucía", "Javier", "Sofía", "Miguel", "Elena", "David",
    "Laura", "Pablo", "Marta", "Jorge", "Paula", "Diego", "Carmen", "Raúl", "Isabel", "Óscar",
    "Noah", "Mia", "Liam", "Emma", "Yuki", "Chen", "Amara", "Kofi", "Zoë", "Lee",
];

const SYLLABLES: [&str; 20] = [
    "Ka", "ran", "Mo", "rel", "Va", "dez", "Lu", "Ro", "sa", "tin", "Ga", "ler", "Pi", "ño", "Bel",
    "tra", "Ze", "mun", "Ol", "vid",
];

/// Contact `i`'s last name: one of 400 two-syllable names, so a full surname matches
/// about 1 contact in 400 and a syllable about 1 in 10.
pub fn last_name(i: usize) -> String {
    let a = SYLLABLES[i % 20];
    let b = SYLLABLES[(i / 20) % 20].to_lowercase();
    format!("{a}{b}")
}

pub fn first_name(i: usize) -> &'static str {
    FIRST[(i / 400) % FIRST.len()]
}

/// Contact `i`'s phone: unique, so a 7-digit partial finds one contact.
pub fn phone(i: usize) -> String {
    format!("+1555{i:07}")
}

pub fn email(i: usize) -> String {
    format!("contact{i}@example.com")
}

/// The instant the seeded history starts (2026-01-01).
pub const START_MS: i64 = 1_767_225_600_000;

/// Seeds `contacts` contacts with `messages` inbound messages in all, on the `web`
/// channel: one in five conversations closed, one in three assigned to alice.
pub async fn seed(path: &Path, contacts: usize, messages: usize) -> Result<(), String> {
    let store = SqliteStore::open(path, Faults::default()).map_err(|e| e.to_string())?;
    let rules = ChannelRules::default_for(ChannelKind::Webchat);
    let channel = ChannelId::parse("web").map_err(|e| e.to_string())?;
    let alice = AgentId::parse("alice").map_err(|e| e.to_string())?;
    let per_contact = (messages / contacts.max(1)).max(1);
    let started = Instant::now();
    let mut written = 0usize;
    for i in 0..contacts {
        let profile = ProfileFields::parse(
            Some(first_name(i)),
            Some(&last_name(i)),
            Some(&email(i)),
            Some(&phone(i)),
        )
        .map_err(|e| e.to_string())?;
        let mut contact_id = None;
        for k in 0..per_contact {
            // Activity spread over the year; later contacts are newer.
            let at = Timestamp::from_millis(START_MS + (i * per_contact + k) as i64 * 20_000)
                .map_err(|e| e.to_string())?;
            let record = InboundRecord {
                channel: channel.clone(),
                kind: ChannelKind::Webchat,
                external_id: ExternalId::parse(&format!("visitor-{i}"))
                    .map_err(|e| e.to_string())?,
                provider_event_id: format!("seed-{i}-{k}"),
                opener: Opener::Message,
                occurred_at: at,
                received_at: at,
                profile: profile.clone(),
                content: Some(
                    Content::new(
                        Some(format!("Message {k} from contact {i}: where is my order?")),
                        None,
                        None,
                    )
                    .map_err(|e| e.to_string())?,
                ),
                state_horizon: rules.state_horizon(),
            };
            let outcome = store
                .record_inbound(&record)
                .await
                .map_err(|e| e.to_string())?;
            contact_id = Some(outcome.contact_id);
            written += 1;
        }
        let Some(id) = contact_id else { continue };
        let now = Timestamp::from_millis(START_MS + ((i + 1) * per_contact) as i64 * 20_000)
            .map_err(|e| e.to_string())?;
        let ctx = CommandContext {
            actor: alice.clone(),
            now,
        };
        if i % 3 == 0 {
            store
                .assign(&id, Some(alice.clone()), &ctx)
                .await
                .map_err(|e| e.to_string())?;
        }
        if i % 5 == 0 {
            store
                .close(&id, None, false, &ctx)
                .await
                .map_err(|e| e.to_string())?;
        }
        if (i + 1) % 10_000 == 0 {
            eprintln!(
                "  seeded {} contacts, {written} messages ({:.0} messages/s)",
                i + 1,
                written as f64 / started.elapsed().as_secs_f64()
            );
        }
    }
    eprintln!(
        "  seeded {contacts} contacts and {written} messages in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}
