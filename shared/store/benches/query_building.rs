//! Inbox query building: the CPU work the inbox function does for one page before any
//! I/O, on each adapter. The request's parameters are parsed (search, cursor, keywords),
//! the cursor's scope is derived and its position decoded, the adapter's queries are built
//! (DynamoDB: one `QuerySpec` per index partition, or per search token; SQLite: one
//! SELECT per status bucket), and the next page's cursor is encoded. Round trips, row
//! decoding and the reply's JSON are not included. Parts are measured apart too.

use std::collections::BTreeSet;
use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};
use replyline_domain::{
    AgentId, ContactId, Cursor, InboxView, PageSize, SearchQuery, SortOrder, StatusFilter,
    Timestamp,
};
use replyline_store::common::{inbox_scope, statuses, ActivityPosition, TokenField};
use replyline_store::dynamo::db::QuerySpec;
use replyline_store::dynamo::keys::{activity_sk, Keys};
use replyline_store::dynamo::{partition_query, token_query_spec};
use replyline_store::sqlite::{page_queries, search_candidates, SearchPlan, Sql};
use replyline_store::InboxQuery;

/// `GET /v1/inbox?view=&status=&q=&sort=&cursor=` as the handler receives it.
#[derive(Clone, Copy)]
struct PageRequest<'a> {
    view: &'a str,
    status: &'a str,
    sort: &'a str,
    q: Option<&'a str>,
    cursor: Option<&'a str>,
}

/// The page's last row, for the next cursor.
const LAST_AT: i64 = 1_764_064_800_000;
const LAST_ID: &str = "01ARZ3NDEKTSV4RRFFQ69G5FAV";

fn now() -> Timestamp {
    Timestamp::parse_rfc3339("2026-11-25T12:00:00Z").expect("valid instant")
}

/// What the handler does with the parameters (keywords, search, page size, cursor shape).
fn parse(agent: &AgentId, req: PageRequest<'_>) -> InboxQuery {
    InboxQuery {
        agent: agent.clone(),
        view: req.view.parse::<InboxView>().expect("view"),
        status: req.status.parse::<StatusFilter>().expect("status"),
        search: req.q.map(|q| SearchQuery::parse(q).expect("search")),
        sort: req.sort.parse::<SortOrder>().expect("sort"),
        limit: PageSize::DEFAULT,
        cursor: req.cursor.map(|c| Cursor::parse(c).expect("cursor shape")),
        now: now(),
    }
}

fn next_cursor(scope: &str) -> Cursor {
    Cursor::encode(
        scope,
        &ActivityPosition {
            at: LAST_AT,
            id: LAST_ID.to_owned(),
        },
    )
    .expect("cursor")
}

/// DynamoDB: everything `DynamoStore::inbox` computes before its first request.
fn dynamo_page(keys: &Keys, agent: &AgentId, req: PageRequest<'_>) -> (Vec<QuerySpec>, Cursor) {
    let query = parse(agent, req);
    let scope = inbox_scope(&query);
    let position = query.cursor.as_ref().map(|c| {
        let p: ActivityPosition = c.decode(&scope).expect("our cursor");
        let id = ContactId::parse(&p.id).expect("contact id");
        activity_sk(p.at, id.as_str())
    });
    let want = usize::try_from(query.limit.get()).unwrap_or(usize::MAX) + 1;
    let specs = match &query.search {
        None => statuses(query.status)
            .iter()
            .map(|s| partition_query(keys, &query, *s, position.as_deref(), want))
            .collect(),
        // As `search_candidates`: the email's token, or each distinct name term's and
        // each phone candidate's.
        Some(search) => match search.email() {
            Some(email) => vec![token_query_spec(keys, TokenField::Email, email.as_str())],
            None => {
                let terms: BTreeSet<&String> = search.name_terms().iter().collect();
                terms
                    .into_iter()
                    .map(|t| token_query_spec(keys, TokenField::Name, t))
                    .chain(
                        search
                            .phone_candidates()
                            .iter()
                            .map(|c| token_query_spec(keys, TokenField::Phone, c)),
                    )
                    .collect()
            }
        },
    };
    (specs, next_cursor(&scope))
}

/// SQLite: everything `sqlite::inbox::list` computes besides its statements. A search
/// the trigram index can narrow costs one more statement (counting the candidates, not
/// timed); the plan here assumes it is selective, so the page reads the candidates.
fn sqlite_page(agent: &AgentId, req: PageRequest<'_>) -> (Vec<Sql>, Cursor) {
    let query = parse(agent, req);
    let scope = inbox_scope(&query);
    let after: Option<ActivityPosition> = query
        .cursor
        .as_ref()
        .map(|c| c.decode(&scope).expect("our cursor"));
    let limit = usize::try_from(query.limit.get()).unwrap_or(usize::MAX);
    let plan = match query.search.as_ref().and_then(search_candidates) {
        Some(expr) => SearchPlan::Candidates(expr),
        None => SearchPlan::Scan,
    };
    let sql = page_queries(&query, &plan, after.as_ref(), limit + 1).expect("SQL");
    (sql, next_cursor(&scope))
}

fn bench(c: &mut Criterion) {
    // Baseline for the ratios in BENCHMARKS.md, as in replyline-policy's decision bench.
    let tag = String::from("HUMAN_AGENT");
    c.bench_function("baseline/clone_short_string", |b| {
        b.iter(|| black_box(&tag).clone())
    });

    let agent = AgentId::parse("alice").expect("agent id");
    let keys = Keys::new("acme");
    // A cursor the previous page of `view=all&status=all&sort=oldest` returned.
    let all_scope = inbox_scope(&parse(
        &agent,
        PageRequest {
            view: "all",
            status: "all",
            sort: "oldest",
            q: None,
            cursor: None,
        },
    ));
    let cursor = next_cursor(&all_scope);
    let cases = [
        (
            "first_page_mine_open",
            PageRequest {
                view: "mine",
                status: "open",
                sort: "newest",
                q: None,
                cursor: None,
            },
        ),
        (
            "next_page_all_all_oldest",
            PageRequest {
                view: "all",
                status: "all",
                sort: "oldest",
                q: None,
                cursor: Some(cursor.as_str()),
            },
        ),
        (
            "search_name_two_terms",
            PageRequest {
                view: "mine",
                status: "closed",
                sort: "newest",
                q: Some("Carlos Garcí"),
                cursor: None,
            },
        ),
        (
            "search_phone",
            PageRequest {
                view: "all",
                status: "open",
                sort: "newest",
                q: Some("0412 345 678"),
                cursor: None,
            },
        ),
        (
            "search_email",
            PageRequest {
                view: "all",
                status: "open",
                sort: "newest",
                q: Some("Ana.Lopez@Example.com"),
                cursor: None,
            },
        ),
    ];

    let mut group = c.benchmark_group("dynamo_page");
    for (name, req) in cases {
        assert!(!dynamo_page(&keys, &agent, req).0.is_empty());
        group.bench_function(name, |b| {
            b.iter(|| dynamo_page(black_box(&keys), black_box(&agent), black_box(req)))
        });
    }
    group.finish();

    let mut group = c.benchmark_group("sqlite_page");
    for (name, req) in cases {
        assert!(!sqlite_page(&agent, req).0.is_empty());
        group.bench_function(name, |b| {
            b.iter(|| sqlite_page(black_box(&agent), black_box(req)))
        });
    }
    group.finish();

    // The parts.
    let mut group = c.benchmark_group("parts");
    for (name, q) in [
        ("search_parse_name", "Carlos Garcí"),
        ("search_parse_phone", "0412 345 678"),
        ("search_parse_email", "Ana.Lopez@Example.com"),
    ] {
        group.bench_function(name, |b| b.iter(|| SearchQuery::parse(black_box(q))));
    }
    let query = parse(
        &agent,
        PageRequest {
            view: "all",
            status: "all",
            sort: "oldest",
            q: Some("Carlos Garcí"),
            cursor: None,
        },
    );
    group.bench_function("inbox_scope", |b| b.iter(|| inbox_scope(black_box(&query))));
    group.bench_function("cursor_encode", |b| {
        b.iter(|| next_cursor(black_box(&all_scope)))
    });
    group.bench_function("cursor_parse_and_decode", |b| {
        b.iter(|| {
            Cursor::parse(black_box(cursor.as_str()))
                .expect("shape")
                .decode::<ActivityPosition>(black_box(&all_scope))
                .expect("our cursor")
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
