//! Listing and search at inbox scale on the SQLite adapter. Ignored by default (it seeds
//! 100,000 contacts); run it in release and read the timings it prints:
//!
//! ```sh
//! cargo test --release -p replyline-store --test sqlite_scale -- --ignored --nocapture
//! ```
//!
//! `REPLYLINE_SCALE` changes the number of contacts. It asserts only that the answers are
//! right; the timings are printed for reading (speed is measured, never asserted: the
//! load tool and `BENCHMARKS.md` own the numbers).

use std::time::Instant;

use replyline_domain::{
    AgentId, ChannelId, ChannelKind, Content, ExternalId, InboxView, MessageId, PageSize,
    ProfileFields, SearchQuery, SortOrder, StatusFilter, Timestamp,
};
use replyline_policy::{ChannelRules, Opener};
use replyline_store::sqlite::SqliteStore;
use replyline_store::{
    CommandContext, ConversationCommands, Faults, InboundRecord, InboundRecorder, InboxQuery,
    InboxReader,
};

const FIRST: [&str; 12] = [
    "Carlos", "Ana", "Óscar", "Marta", "Lee", "Zoë", "Bob", "Scarlet", "José", "Mia", "Noah", "Li",
];
const LAST: [&str; 10] = [
    "García",
    "Pérez",
    "Núñez",
    "Carrasco",
    "Smith",
    "Kravitz",
    "Johansson",
    "Okafor",
    "Tanaka",
    "Dubois",
];

fn t(ms: i64) -> Timestamp {
    Timestamp::from_millis(1_794_000_000_000 + ms).unwrap()
}

fn query(
    view: InboxView,
    status: StatusFilter,
    search: Option<&str>,
    now: Timestamp,
) -> InboxQuery {
    InboxQuery {
        agent: AgentId::parse("alice").unwrap(),
        view,
        status,
        search: search.map(|s| SearchQuery::parse(s).unwrap()),
        sort: SortOrder::Newest,
        limit: PageSize::DEFAULT,
        cursor: None,
        now,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "seeds 100k contacts; run in release with --ignored"]
async fn listing_and_search_at_scale() {
    let n: usize = std::env::var("REPLYLINE_SCALE")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(100_000);
    let dir = std::env::temp_dir().join(format!(
        "replyline-scale-{}-{}",
        std::process::id(),
        MessageId::generate(Timestamp::EPOCH)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let store = SqliteStore::open(&dir.join("store.db"), Faults::default()).unwrap();
    let rules = ChannelRules::default_for(ChannelKind::Telegram);

    let seeding = Instant::now();
    let fifth = (n / 5).max(1);
    let mut fifths = Vec::new();
    let mut lap = Instant::now();
    let mut ids = Vec::with_capacity(n);
    for i in 0..n {
        let first = FIRST[i % FIRST.len()];
        let last = LAST[(i / FIRST.len()) % LAST.len()];
        let phone = format!("+1415{:07}", i);
        let rec = InboundRecord {
            channel: ChannelId::parse("tg").unwrap(),
            kind: ChannelKind::Telegram,
            external_id: ExternalId::parse(&format!("{}", 1_000_000 + i)).unwrap(),
            provider_event_id: format!("e-{i}"),
            opener: Opener::Message,
            occurred_at: t(i as i64 * 1000),
            received_at: t(i as i64 * 1000),
            profile: ProfileFields::parse(Some(first), Some(last), None, Some(&phone)).unwrap(),
            content: Some(Content::from_text(format!("message {i}")).unwrap()),
            state_horizon: rules.state_horizon(),
        };
        ids.push(store.record_inbound(&rec).await.unwrap().contact_id);
        if (i + 1) % fifth == 0 {
            let per_event = lap.elapsed() / fifth as u32;
            println!(
                "  {} recorded, {per_event:?} per event in this fifth",
                i + 1
            );
            fifths.push(per_event);
            lap = Instant::now();
        }
    }
    // A write should not cost more as the store grows (an unindexed lookup would).
    if let (Some(first), Some(last)) = (fifths.first(), fifths.last()) {
        println!("per-event cost, first fifth {first:?}, last fifth {last:?}");
    }
    let now = t(n as i64 * 1000 + 60_000);
    // A tenth assigned to alice, half of those closed.
    let ctx = CommandContext {
        actor: AgentId::parse("alice").unwrap(),
        now,
    };
    for (i, id) in ids.iter().enumerate().filter(|(i, _)| i % 10 == 0) {
        store
            .assign(id, Some(ctx.actor.clone()), &ctx)
            .await
            .unwrap();
        if i % 20 == 0 {
            store.close(id, None, false, &ctx).await.unwrap();
        }
    }
    println!("seeded {n} contacts in {:?}", seeding.elapsed());

    let cases: Vec<(&str, InboxQuery)> = vec![
        (
            "all/open",
            query(InboxView::All, StatusFilter::Open, None, now),
        ),
        (
            "all/all",
            query(InboxView::All, StatusFilter::All, None, now),
        ),
        (
            "mine/closed",
            query(InboxView::Mine, StatusFilter::Closed, None, now),
        ),
        (
            "unassigned/open",
            query(InboxView::Unassigned, StatusFilter::Open, None, now),
        ),
        (
            "all/all search 'car'",
            query(InboxView::All, StatusFilter::All, Some("car"), now),
        ),
        (
            "mine/closed search 'carl'",
            query(InboxView::Mine, StatusFilter::Closed, Some("carl"), now),
        ),
        (
            "all/all search 'zz' (no match)",
            query(InboxView::All, StatusFilter::All, Some("zz"), now),
        ),
        (
            "all/all search phone '555 01'",
            query(InboxView::All, StatusFilter::All, Some("415 000 12"), now),
        ),
        (
            "all/all search email",
            query(
                InboxView::All,
                StatusFilter::All,
                Some("nobody@example.com"),
                now,
            ),
        ),
    ];
    for (name, q) in cases {
        // Warm once, then time a few runs.
        let page = store.list_inbox(&q).await.unwrap();
        let runs = 5;
        let start = Instant::now();
        for _ in 0..runs {
            store.list_inbox(&q).await.unwrap();
        }
        let each = start.elapsed() / runs;
        println!(
            "{name:32} {each:>10.2?}  items {:3}  counts mine {} unassigned {} all {}",
            page.items.len(),
            page.counts.mine,
            page.counts.unassigned,
            page.counts.all
        );
    }

    let start = Instant::now();
    for id in ids.iter().take(200) {
        store.get_contact(id, now).await.unwrap();
    }
    println!("{:32} {:>10.2?}", "get_contact", start.elapsed() / 200);
    let mut one = query(InboxView::Mine, StatusFilter::Closed, None, now);
    one.limit = PageSize::new(1).unwrap();
    let start = Instant::now();
    for _ in 0..20 {
        store.list_inbox(&one).await.unwrap();
    }
    println!(
        "{:32} {:>10.2?}",
        "mine/closed, 1 item",
        start.elapsed() / 20
    );

    // Answers are right, not only fast.
    let all = store
        .list_inbox(&query(InboxView::All, StatusFilter::All, None, now))
        .await
        .unwrap();
    assert_eq!(all.counts.all, n as u64);
    let mine_closed = store
        .list_inbox(&query(InboxView::Mine, StatusFilter::Closed, None, now))
        .await
        .unwrap();
    assert_eq!(mine_closed.counts.mine, n.div_ceil(20) as u64);

    drop(store);
    let _ = std::fs::remove_dir_all(&dir);
}
