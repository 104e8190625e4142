//! The inbox's read side: listing (views, statuses, search, keyset pages, counts),
//! contact details, the timeline and the audit trail.
//!
//! A listing reads one ordered index range per stored status it covers (a snooze whose
//! time has passed counts as open), each `LIMIT page + 1` after the cursor's position,
//! and merges them: the position `(last_activity_at, id)` is total, so one cursor serves
//! every range.

use replyline_domain::{
    ContactId, ConversationStatus, Cursor, InboxView, PageSize, SearchQuery, SortOrder,
    StatusFilter, Timestamp,
};
use rusqlite::{params_from_iter, Connection};

use super::channels;
use super::contacts::{self, ContactRecord};
use super::conversations;
use super::events;
use super::fts;
use super::messages;
use super::read_tx;
use super::rows::{ms, word, Cols, Db};
use super::search::{self, Sql};
use crate::common::{effective_status, inbox_scope, ActivityPosition};
use crate::error::{StoreError, StoreResult};
use crate::model::{
    ContactDetails, ContactEvent, InboxItem, InboxPage, InboxQuery, TimelinePage, ViewCounts,
};

/// A set of contacts by the stored state of their current conversation.
#[derive(Clone, Copy, Debug)]
enum Bucket {
    /// Stored with this status.
    Stored(ConversationStatus),
    /// Snoozed, but the snooze has run out: reads as open.
    WokenSnooze,
    /// Snoozed and still asleep (no end, or an end still ahead).
    Asleep,
}

fn buckets(filter: StatusFilter) -> &'static [Bucket] {
    use ConversationStatus::*;
    match filter {
        StatusFilter::Open => &[Bucket::Stored(Open), Bucket::WokenSnooze],
        StatusFilter::Snoozed => &[Bucket::Asleep],
        StatusFilter::Closed => &[Bucket::Stored(Closed)],
        StatusFilter::All => &[
            Bucket::Stored(Open),
            Bucket::Stored(Snoozed),
            Bucket::Stored(Closed),
        ],
    }
}

/// How a search runs (fts.rs): over the ordered listing index with the exact condition,
/// or, when the trigram index nominates few candidates, from those candidates.
#[doc(hidden)]
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SearchPlan {
    /// No search, or one the trigram index cannot narrow: scan the listing range in
    /// order with the exact condition (dense matches fill a page quickly).
    Scan,
    /// At most `fts::MAX_CANDIDATES` contacts can match: read those (the FTS5 query) and
    /// sort them, instead of scanning the whole range for a few matches.
    Candidates(String),
}

/// Asks the trigram index how many contacts the search could match, up to the limit.
fn plan(conn: &Connection, query: &InboxQuery) -> StoreResult<SearchPlan> {
    let Some(expr) = query.search.as_ref().and_then(fts::candidates) else {
        return Ok(SearchPlan::Scan);
    };
    let limit = i64::try_from(fts::MAX_CANDIDATES + 1).unwrap_or(i64::MAX);
    let n: i64 = conn
        .prepare_cached(
            "SELECT count(*) FROM \
             (SELECT 1 FROM contact_search WHERE contact_search MATCH ?1 LIMIT ?2)",
        )
        .db()?
        .query_row((expr.as_str(), limit), |row| row.get(0))
        .db()?;
    Ok(if n < limit {
        SearchPlan::Candidates(expr)
    } else {
        SearchPlan::Scan
    })
}

/// Column references for the listing conditions. An email search finds at most a few
/// contacts through `contacts_by_email`, and a candidate search through the trigram
/// index; the unary `+` keeps the planner from walking a listing index instead (a scan
/// of the whole range to find them).
fn columns(query: &InboxQuery, plan: &SearchPlan) -> (&'static str, &'static str) {
    let by_email = query.search.as_ref().and_then(SearchQuery::email).is_some();
    if by_email || matches!(plan, SearchPlan::Candidates(_)) {
        ("+inbox_status", "+assignee")
    } else {
        ("inbox_status", "assignee")
    }
}

fn bucket_condition(
    bucket: Bucket,
    query: &InboxQuery,
    plan: &SearchPlan,
    sql: &mut Sql,
) -> StoreResult<()> {
    let (status, _) = columns(query, plan);
    sql.push(status);
    match bucket {
        Bucket::Stored(s) => {
            sql.push(" = ").bind(word(&s)?);
        }
        Bucket::WokenSnooze => {
            sql.push(" = 'snoozed' AND snoozed_until <= ")
                .bind(ms(query.now));
        }
        Bucket::Asleep => {
            sql.push(" = 'snoozed' AND (snoozed_until IS NULL OR snoozed_until > ")
                .bind(ms(query.now))
                .push(")");
        }
    }
    Ok(())
}

fn view_condition(query: &InboxQuery, plan: &SearchPlan, sql: &mut Sql) {
    let (_, assignee) = columns(query, plan);
    match query.view {
        InboxView::Mine => {
            sql.push(assignee)
                .push(" = ")
                .bind(query.agent.as_str().to_owned());
        }
        InboxView::Unassigned => {
            sql.push(assignee).push(" IS NULL");
        }
        InboxView::All => {
            sql.push("1");
        }
    }
}

/// The exact search condition, and the candidates when the plan has them.
fn search_condition(search: Option<&SearchQuery>, plan: &SearchPlan, sql: &mut Sql) {
    if let Some(q) = search {
        sql.push(" AND ");
        search::matches(q, sql);
    }
    if let SearchPlan::Candidates(expr) = plan {
        sql.push(" AND rowid IN (SELECT rowid FROM contact_search WHERE contact_search MATCH ")
            .bind(expr.clone())
            .push(")");
    }
}

pub(crate) fn list(conn: &mut Connection, query: &InboxQuery) -> StoreResult<InboxPage> {
    let scope = inbox_scope(query);
    let after: Option<ActivityPosition> = query
        .cursor
        .as_ref()
        .map(|c| c.decode(&scope))
        .transpose()
        .map_err(|e| StoreError::InvalidCursor(e.to_string()))?;
    let limit = page_len(query.limit);
    let newest = query.sort == SortOrder::Newest;

    let tx = read_tx(conn)?;
    let plan = plan(&tx, query)?;
    let pages = page_queries(query, &plan, after.as_ref(), limit + 1)?;
    let mut keys: Vec<(i64, String)> = Vec::new();
    for sql in &pages {
        keys.extend(page_of(&tx, sql)?);
    }
    if newest {
        keys.sort_by(|a, b| b.cmp(a));
    } else {
        keys.sort();
    }
    let more = keys.len() > limit;
    keys.truncate(limit);
    let next_cursor = match (more, keys.last()) {
        (true, Some((at, id))) => Some(position_cursor(&scope, *at, id)?),
        _ => None,
    };
    let mut items = Vec::with_capacity(keys.len());
    for (_, id) in &keys {
        let id: ContactId = id
            .parse()
            .map_err(|e| StoreError::Corrupt(format!("contacts.id: {e}")))?;
        let record = contacts::load(&tx, &id)?
            .ok_or_else(|| StoreError::Corrupt(format!("listed contact {id} vanished")))?;
        items.push(item(&tx, record, query.now)?);
    }
    let counts = counts(&tx, query, &plan)?;
    Ok(InboxPage {
        items,
        next_cursor,
        counts,
    })
}

/// The SELECT of each bucket the query's status covers: up to `limit` positions, in the
/// listing's order, after `after`. Public (hidden) for the query-building benchmark.
#[doc(hidden)]
pub fn page_queries(
    query: &InboxQuery,
    plan: &SearchPlan,
    after: Option<&ActivityPosition>,
    limit: usize,
) -> StoreResult<Vec<Sql>> {
    buckets(query.status)
        .iter()
        .map(|bucket| page_sql(query, plan, *bucket, after, limit))
        .collect()
}

/// Up to `limit` positions of one bucket, in the listing's order, after `after`.
fn page_sql(
    query: &InboxQuery,
    plan: &SearchPlan,
    bucket: Bucket,
    after: Option<&ActivityPosition>,
    limit: usize,
) -> StoreResult<Sql> {
    let newest = query.sort == SortOrder::Newest;
    let mut sql = Sql::default();
    sql.push("SELECT last_activity_at, id FROM contacts WHERE ");
    view_condition(query, plan, &mut sql);
    sql.push(" AND ");
    bucket_condition(bucket, query, plan, &mut sql)?;
    search_condition(query.search.as_ref(), plan, &mut sql);
    if let Some(pos) = after {
        sql.push(if newest {
            " AND (last_activity_at, id) < ("
        } else {
            " AND (last_activity_at, id) > ("
        })
        .bind(pos.at)
        .push(", ")
        .bind(pos.id.clone())
        .push(")");
    }
    sql.push(if newest {
        " ORDER BY last_activity_at DESC, id DESC LIMIT "
    } else {
        " ORDER BY last_activity_at ASC, id ASC LIMIT "
    })
    .bind(i64::try_from(limit).unwrap_or(i64::MAX));
    Ok(sql)
}

/// The positions one page query returns.
fn page_of(conn: &Connection, sql: &Sql) -> StoreResult<Vec<(i64, String)>> {
    let mut stmt = conn.prepare_cached(&sql.text).db()?;
    let mut rows = stmt.query(params_from_iter(sql.params.iter())).db()?;
    let mut out = Vec::new();
    while let Some(row) = rows.next().db()? {
        let r = Cols(row);
        out.push((r.int("last_activity_at")?, r.text("id")?));
    }
    Ok(out)
}

/// How many contacts each view holds for the query's status and search.
fn counts(conn: &Connection, query: &InboxQuery, plan: &SearchPlan) -> StoreResult<ViewCounts> {
    use ConversationStatus::*;
    if query.search.is_some() {
        return counted_by_scan(conn, query, plan, buckets(query.status));
    }
    // Without a search: the counters the triggers keep per stored status, corrected for
    // snoozes whose time has come (they count as open).
    let stored = |status| counted_by_status(conn, query, status);
    let woken = || counted_by_scan(conn, query, plan, &[Bucket::WokenSnooze]);
    Ok(match query.status {
        StatusFilter::Open => add(stored(Open)?, woken()?),
        StatusFilter::Snoozed => sub(stored(Snoozed)?, woken()?),
        StatusFilter::Closed => stored(Closed)?,
        StatusFilter::All => add(add(stored(Open)?, stored(Snoozed)?), stored(Closed)?),
    })
}

fn add(a: ViewCounts, b: ViewCounts) -> ViewCounts {
    ViewCounts {
        mine: a.mine.saturating_add(b.mine),
        unassigned: a.unassigned.saturating_add(b.unassigned),
        all: a.all.saturating_add(b.all),
    }
}

fn sub(a: ViewCounts, b: ViewCounts) -> ViewCounts {
    ViewCounts {
        mine: a.mine.saturating_sub(b.mine),
        unassigned: a.unassigned.saturating_sub(b.unassigned),
        all: a.all.saturating_sub(b.all),
    }
}

/// The kept counters of one stored status (`inbox_counts`).
fn counted_by_status(
    conn: &Connection,
    query: &InboxQuery,
    status: ConversationStatus,
) -> StoreResult<ViewCounts> {
    let mut stmt = conn
        .prepare_cached(
            "SELECT coalesce(sum(n), 0) AS n_all, \
             coalesce(sum(n) FILTER (WHERE assignee = ?1), 0) AS n_mine, \
             coalesce(sum(n) FILTER (WHERE assignee = ''), 0) AS n_unassigned \
             FROM inbox_counts WHERE status = ?2",
        )
        .db()?;
    let mut rows = stmt.query((query.agent.as_str(), word(&status)?)).db()?;
    match rows.next().db()? {
        Some(row) => view_counts(&Cols(row)),
        None => Ok(ViewCounts::default()),
    }
}

/// Counts by reading the contacts of `buckets` (with the query's search).
fn counted_by_scan(
    conn: &Connection,
    query: &InboxQuery,
    plan: &SearchPlan,
    buckets: &[Bucket],
) -> StoreResult<ViewCounts> {
    let mut counts = ViewCounts::default();
    for bucket in buckets {
        let mut sql = Sql::default();
        sql.push("SELECT count(*) AS n_all, count(*) FILTER (WHERE assignee = ")
            .bind(query.agent.as_str().to_owned())
            .push(
                ") AS n_mine, count(*) FILTER (WHERE assignee IS NULL) AS n_unassigned \
                 FROM contacts WHERE ",
            );
        bucket_condition(*bucket, query, plan, &mut sql)?;
        search_condition(query.search.as_ref(), plan, &mut sql);
        let mut stmt = conn.prepare_cached(&sql.text).db()?;
        let mut rows = stmt.query(params_from_iter(sql.params.iter())).db()?;
        if let Some(row) = rows.next().db()? {
            counts = add(counts, view_counts(&Cols(row))?);
        }
    }
    Ok(counts)
}

fn view_counts(r: &Cols<'_, '_>) -> StoreResult<ViewCounts> {
    let n = |col: &str| -> StoreResult<u64> {
        let v = r.int(col)?;
        u64::try_from(v).map_err(|_| StoreError::Corrupt(format!("{col}: count {v}")))
    };
    Ok(ViewCounts {
        mine: n("n_mine")?,
        unassigned: n("n_unassigned")?,
        all: n("n_all")?,
    })
}

fn item(conn: &Connection, record: ContactRecord, now: Timestamp) -> StoreResult<InboxItem> {
    let conversation = conversations::current(conn, &record)?;
    let blocked = record.contact.blocked;
    let channels = channels::of_contact(conn, &record.contact.id, now)?
        .iter()
        .map(|c| c.contact_channel(blocked))
        .collect();
    Ok(InboxItem {
        status: effective_status(record.inbox_status, record.snoozed_until, now),
        last_activity_at: record.last_activity_at,
        last_message: record.last_message,
        contact: record.contact,
        conversation,
        channels,
    })
}

pub(crate) fn details(
    conn: &mut Connection,
    id: &ContactId,
    now: Timestamp,
) -> StoreResult<ContactDetails> {
    let tx = read_tx(conn)?;
    let record = contacts::require(&tx, id)?;
    let version = record.version;
    let item = item(&tx, record, now)?;
    Ok(ContactDetails {
        contact: item.contact,
        conversation: item.conversation,
        status: item.status,
        last_activity_at: item.last_activity_at,
        channels: item.channels,
        version,
    })
}

pub(crate) fn timeline(
    conn: &mut Connection,
    id: &ContactId,
    limit: PageSize,
    cursor: Option<&Cursor>,
) -> StoreResult<TimelinePage> {
    let scope = format!("messages:{id}");
    let after: Option<ActivityPosition> = cursor
        .map(|c| c.decode(&scope))
        .transpose()
        .map_err(|e| StoreError::InvalidCursor(e.to_string()))?;
    let limit = page_len(limit);
    let tx = read_tx(conn)?;
    if !contacts::exists(&tx, id)? {
        return Err(StoreError::not_found("contact", id));
    }
    let mut items = messages::newest_first(&tx, id, after.as_ref(), limit + 1)?;
    let more = items.len() > limit;
    items.truncate(limit);
    let next_cursor = match (more, items.last()) {
        (true, Some(m)) => Some(position_cursor(&scope, ms(m.created_at), m.id.as_str())?),
        _ => None,
    };
    Ok(TimelinePage { items, next_cursor })
}

pub(crate) fn events(conn: &mut Connection, id: &ContactId) -> StoreResult<Vec<ContactEvent>> {
    let tx = read_tx(conn)?;
    if !contacts::exists(&tx, id)? {
        return Err(StoreError::not_found("contact", id));
    }
    events::of_contact(&tx, id)
}

fn page_len(limit: PageSize) -> usize {
    usize::try_from(limit.get()).unwrap_or(usize::MAX / 2)
}

fn position_cursor(scope: &str, at: i64, id: &str) -> StoreResult<Cursor> {
    Cursor::encode(
        scope,
        &ActivityPosition {
            at,
            id: id.to_owned(),
        },
    )
    .map_err(|e| StoreError::Invalid(e.to_string()))
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use replyline_domain::{AgentId, ChannelId, ChannelKind, Content, ExternalId, ProfileFields};
    use replyline_policy::Opener;

    use super::*;
    use crate::faults::Faults;
    use crate::model::{CommandContext, InboundRecord};
    use crate::ports::{ConversationCommands, InboundRecorder, InboxReader};
    use crate::sqlite::SqliteStore;

    fn at(minutes: u64) -> Timestamp {
        Timestamp::from_millis(1_794_000_000_000)
            .unwrap()
            .saturating_add(Duration::from_secs(60 * minutes))
    }

    fn query(agent: &str, status: StatusFilter, now: Timestamp) -> InboxQuery {
        InboxQuery {
            agent: AgentId::parse(agent).unwrap(),
            view: InboxView::All,
            status,
            search: None,
            sort: SortOrder::Newest,
            limit: PageSize::DEFAULT,
            cursor: None,
            now,
        }
    }

    /// Whichever plan a search takes (trigram candidates when few contacts can match, the
    /// ordered scan otherwise, or no index at all for short terms), the page and the
    /// counts are exactly what the reference rule `SearchQuery::matches` selects; also
    /// after profile edits (the index follows the contacts through its triggers).
    #[tokio::test]
    async fn both_search_plans_agree_with_the_reference_rule() {
        let store = SqliteStore::open_in_memory(Faults::default()).unwrap();
        let firsts = ["Ana", "Mariana", "Juan", "Óscar", "Lee", "Zoë"];
        let lasts = ["García", "Karan", "Núñez", "Smith", "Okafor"];
        let mut contacts = Vec::new();
        for i in 0..90usize {
            let now = at(i as u64);
            let profile = ProfileFields::parse(
                Some(firsts[i % firsts.len()]),
                Some(lasts[(i / 6) % lasts.len()]),
                None,
                Some(&format!("+1555{:07}", i * 37)),
            )
            .unwrap();
            let rec = InboundRecord {
                channel: ChannelId::parse("tg").unwrap(),
                kind: ChannelKind::Telegram,
                external_id: ExternalId::parse(&format!("{i}")).unwrap(),
                provider_event_id: format!("e-{i}"),
                opener: Opener::Message,
                occurred_at: now,
                received_at: now,
                profile,
                content: Some(Content::from_text("hi").unwrap()),
                state_horizon: None,
            };
            contacts.push(store.record_inbound(&rec).await.unwrap().contact_id);
        }
        // Rename one contact: the trigram index must forget the old name.
        let ctx = CommandContext {
            actor: AgentId::parse("alice").unwrap(),
            now: at(100),
        };
        let renamed = ProfileFields::parse(Some("Wilhelmina"), Some("Zyx"), None, None).unwrap();
        store
            .update_profile(&contacts[0], renamed, &ctx)
            .await
            .unwrap();

        let mut seen_plans = std::collections::HashSet::new();
        for text in [
            "karan",
            "ana",
            "mariana",
            "an",
            "ar",
            "garc",
            "wilhelmina",
            "ana garc",
            "nunez",
            "555",
            "5550000",
            "0000037",
            "zyx",
            "xyz",
            "oscar karan",
            "ee",
        ] {
            let search = SearchQuery::parse(text).unwrap();
            let mut q = query("alice", StatusFilter::All, at(200));
            q.search = Some(search.clone());
            q.limit = PageSize::new(100).unwrap();
            let (plan, page) = {
                let mut conn = store.conn.lock().unwrap();
                let plan = plan(&conn, &q).unwrap();
                (plan, list(&mut conn, &q).unwrap())
            };
            seen_plans.insert(std::mem::discriminant(&plan));
            let mut expected = Vec::new();
            for id in contacts.iter().rev() {
                let details = store.get_contact(id, at(200)).await.unwrap();
                if search.matches(&details.contact.search_keys()) {
                    expected.push(id.clone());
                }
            }
            let got: Vec<_> = page.items.iter().map(|i| i.contact.id.clone()).collect();
            assert_eq!(got, expected, "{text} ({plan:?})");
            assert_eq!(page.counts.all, expected.len() as u64, "{text} counts");
        }
        assert_eq!(seen_plans.len(), 2, "both plans were exercised");
    }

    /// The counters the triggers keep agree with counting the rows, after any mix of
    /// inbound messages and commands, at any instant (snoozes running out included).
    #[tokio::test]
    async fn kept_counters_equal_a_scan() {
        let store = SqliteStore::open_in_memory(Faults::default()).unwrap();
        let agents = [None, Some("alice"), Some("bob")];
        let mut ids = Vec::new();
        let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = |n: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % n
        };
        for step in 0..400u64 {
            let now = at(step);
            let ctx = CommandContext {
                actor: AgentId::parse("alice").unwrap(),
                now,
            };
            if ids.is_empty() || next(4) == 0 {
                let who = next(40);
                let rec = InboundRecord {
                    channel: ChannelId::parse("tg").unwrap(),
                    kind: ChannelKind::Telegram,
                    external_id: ExternalId::parse(&format!("{who}")).unwrap(),
                    provider_event_id: format!("e-{step}"),
                    opener: Opener::Message,
                    occurred_at: now,
                    received_at: now,
                    profile: ProfileFields::default(),
                    content: Some(Content::from_text("hi").unwrap()),
                    state_horizon: None,
                };
                let out = store.record_inbound(&rec).await.unwrap();
                if out.contact_created {
                    ids.push(out.contact_id);
                }
                continue;
            }
            let id = &ids[usize::try_from(next(ids.len() as u64)).unwrap()];
            // Refusals (blocked, nothing open...) are fine: they change nothing.
            let _ = match next(5) {
                0 => {
                    let agent = agents[usize::try_from(next(3)).unwrap()];
                    store
                        .assign(id, agent.map(|a| AgentId::parse(a).unwrap()), &ctx)
                        .await
                }
                1 => store.close(id, None, next(2) == 0, &ctx).await,
                2 => store.open(id, &ctx).await,
                3 => store.snooze(id, at(step + 1 + next(30)), &ctx).await,
                _ => store.set_blocked(id, next(3) == 0, &ctx).await,
            };
        }
        let conn = store.conn.lock().unwrap();
        for minutes in [0, 100, 390, 405, 420, 500] {
            for status in StatusFilter::ALL {
                for agent in ["alice", "bob", "carol"] {
                    let q = query(agent, *status, at(minutes));
                    let kept = counts(&conn, &q, &SearchPlan::Scan).unwrap();
                    let scanned =
                        counted_by_scan(&conn, &q, &SearchPlan::Scan, buckets(*status)).unwrap();
                    assert_eq!(kept, scanned, "{status:?} {agent} at +{minutes} min");
                }
            }
        }
        let all = counts(
            &conn,
            &query("alice", StatusFilter::All, at(0)),
            &SearchPlan::Scan,
        )
        .unwrap();
        assert_eq!(all.all, ids.len() as u64);
    }
}
