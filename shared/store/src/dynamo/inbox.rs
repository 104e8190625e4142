//! The read side: inbox listing (index partitions or search), counts, contact details,
//! timeline and events.

use std::collections::{BTreeSet, HashMap};

use replyline_domain::{
    AgentId, ChannelId, ContactId, ConversationStatus, Cursor, InboxView, MessageId, PageSize,
    SearchQuery, SortOrder, StatusFilter, Timestamp,
};
use replyline_policy::MonthlyCount;
use serde::{Deserialize, Serialize};

use super::db::{Expr, QuerySpec};
use super::items::{
    channel_from_item, contact_channel, event_from_item, key, message_from_item, n, paid_count, s,
    ContactRecord, Item, Reader, WindowRecord,
};
use super::keys::{
    activity_sk, Keys, GSI1, GSI1PK, GSI1SK, GSI2, GSI2PK, GSI2SK, PK, SK, SK_PROFILE,
};
use super::{DynamoStore, SEARCH_CANDIDATE_CAP};
use crate::common::{in_listing, inbox_scope, statuses, ActivityPosition, TokenField};
use crate::error::{StoreError, StoreResult};
use crate::model::{
    ContactDetails, ContactEvent, InboxItem, InboxPage, InboxQuery, TimelinePage, ViewCounts,
};

/// Keyset position in a contact's timeline: the last message of the page.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct MessagePosition {
    at: i64,
    id: String,
}

fn invalid_cursor(e: impl std::fmt::Display) -> StoreError {
    StoreError::InvalidCursor(e.to_string())
}

fn encode_cursor<T: Serialize>(scope: &str, position: &T) -> StoreResult<Cursor> {
    Cursor::encode(scope, position)
        .map_err(|e| StoreError::Corrupt(format!("cannot write a cursor: {e}")))
}

/// Rows in listing order.
fn sort_rows(rows: &mut [ContactRecord], newest: bool) {
    rows.sort_by_cached_key(ContactRecord::activity_sk);
    if newest {
        rows.reverse();
    }
}

/// Whether a row comes strictly after the cursor position in listing order.
fn after_position(row: &ContactRecord, position: Option<&str>, newest: bool) -> bool {
    match position {
        None => true,
        Some(pos) if newest => row.activity_sk().as_str() < pos,
        Some(pos) => row.activity_sk().as_str() > pos,
    }
}

/// The Query of one index partition of a listing: the contacts of the query's view in
/// one stored `status`, after `position` (an [`activity_sk`]), at most `want`. What
/// `list_partitions` sends for each status the filter covers; public (hidden) for the
/// query-building benchmark.
#[doc(hidden)]
pub fn partition_query(
    keys: &Keys,
    query: &InboxQuery,
    status: ConversationStatus,
    position: Option<&str>,
    want: usize,
) -> QuerySpec {
    let newest = query.sort == SortOrder::Newest;
    let (index, pk_attr, sk_attr, pk) = match query.view {
        InboxView::Mine => (
            GSI1,
            GSI1PK,
            GSI1SK,
            keys.gsi1pk(Some(&query.agent), status),
        ),
        InboxView::Unassigned => (GSI1, GSI1PK, GSI1SK, keys.gsi1pk(None, status)),
        InboxView::All => (GSI2, GSI2PK, GSI2SK, keys.gsi2pk(status)),
    };
    let mut expr = Expr::new().name("#pk", pk_attr).value(":pk", s(pk));
    let mut key_condition = "#pk = :pk".to_owned();
    if let Some(pos) = position {
        expr = expr.name("#sk", sk_attr).value(":pos", s(pos));
        key_condition.push_str(if newest {
            " AND #sk < :pos"
        } else {
            " AND #sk > :pos"
        });
    }
    let filter = match (query.status, status) {
        (StatusFilter::Open, ConversationStatus::Snoozed) => Some("snoozed_until <= :now"),
        (StatusFilter::Snoozed, ConversationStatus::Snoozed) => {
            Some("attribute_not_exists(snoozed_until) OR snoozed_until > :now")
        }
        _ => None,
    };
    if filter.is_some() {
        expr = expr.value(":now", n(query.now.as_millis()));
    }
    QuerySpec {
        index: Some(index),
        key_condition,
        filter: filter.map(str::to_owned),
        projection: None,
        expr,
        forward: !newest,
        limit: Some(i32::try_from(want).unwrap_or(i32::MAX)),
        consistent: false,
    }
}

/// The Query for the contacts with a search token starting with `term` (the whole email
/// for emails); public (hidden) for the query-building benchmark.
#[doc(hidden)]
pub fn token_query_spec(keys: &Keys, field: TokenField, term: &str) -> QuerySpec {
    let mut expr = Expr::new().value(":pk", s(keys.search(field, term)));
    let mut key_condition = "PK = :pk".to_owned();
    if field != TokenField::Email {
        expr = expr.value(":t", s(term));
        key_condition.push_str(" AND begins_with(SK, :t)");
    }
    QuerySpec {
        key_condition,
        projection: Some("contact_id".to_owned()),
        expr,
        forward: true,
        limit: Some(i32::try_from(SEARCH_CANDIDATE_CAP).unwrap_or(i32::MAX)),
        ..QuerySpec::default()
    }
}

/// Tallies of contacts per (assignee, effective status).
#[derive(Debug, Default)]
struct Tally(HashMap<(Option<AgentId>, ConversationStatus), i64>);

impl Tally {
    fn add(&mut self, assignee: Option<AgentId>, status: ConversationStatus, d: i64) {
        *self.0.entry((assignee, status)).or_default() += d;
    }

    fn counts(&self, query: &InboxQuery) -> ViewCounts {
        let mut c = ViewCounts::default();
        for ((assignee, status), count) in &self.0 {
            if !query.status.includes(*status) {
                continue;
            }
            let count = u64::try_from(*count).unwrap_or(0);
            c.all += count;
            match assignee {
                None => c.unassigned += count,
                Some(a) if *a == query.agent => c.mine += count,
                Some(_) => {}
            }
        }
        c
    }
}

impl DynamoStore {
    pub(super) async fn inbox(&self, query: &InboxQuery) -> StoreResult<InboxPage> {
        let scope = inbox_scope(query);
        let position = match &query.cursor {
            Some(c) => {
                let p: ActivityPosition = c.decode(&scope).map_err(invalid_cursor)?;
                let id = ContactId::parse(&p.id).map_err(invalid_cursor)?;
                Some(activity_sk(p.at, id.as_str()))
            }
            None => None,
        };
        let limit = usize::try_from(query.limit.get()).unwrap_or(usize::MAX);
        let want = limit.saturating_add(1);
        let (mut rows, counts) = match &query.search {
            None => {
                let rows = self
                    .list_partitions(query, position.as_deref(), want)
                    .await?;
                (rows, self.counts(query).await?)
            }
            Some(search) => {
                self.search(query, search, position.as_deref(), want)
                    .await?
            }
        };
        let next_cursor = if rows.len() > limit {
            rows.truncate(limit);
            match rows.last() {
                Some(last) => Some(encode_cursor(
                    &scope,
                    &ActivityPosition {
                        at: last.last_activity_at.as_millis(),
                        id: last.contact.id.to_string(),
                    },
                )?),
                None => None,
            }
        } else {
            None
        };
        let items = self.rows(rows, query.now).await?;
        Ok(InboxPage {
            items,
            next_cursor,
            counts,
        })
    }

    /// The first `want` rows after `position`, merged from the index partitions of the
    /// requested stored statuses.
    async fn list_partitions(
        &self,
        query: &InboxQuery,
        position: Option<&str>,
        want: usize,
    ) -> StoreResult<Vec<ContactRecord>> {
        let newest = query.sort == SortOrder::Newest;
        let mut rows = Vec::new();
        for status in statuses(query.status) {
            let spec = partition_query(&self.keys, query, *status, position, want);
            for item in self.db.query_all(&spec, want).await? {
                let row = ContactRecord::from_item(&item)?;
                let status = row.effective_status(query.now);
                if in_listing(query, status, row.contact.assignee.as_ref()) {
                    rows.push(row);
                }
            }
        }
        sort_rows(&mut rows, newest);
        rows.truncate(want);
        Ok(rows)
    }

    /// Counts from the counter items, with expired snoozes moved from snoozed to open.
    async fn counts(&self, query: &InboxQuery) -> StoreResult<ViewCounts> {
        let mut tally = Tally::default();
        let counters = self
            .db
            .query_all(&QuerySpec::partition(self.keys.counts()), usize::MAX)
            .await?;
        for item in &counters {
            let r = Reader::new(item, "counter");
            let status = match r.str("status")? {
                "open" => ConversationStatus::Open,
                "snoozed" => ConversationStatus::Snoozed,
                "closed" => ConversationStatus::Closed,
                other => {
                    return Err(StoreError::Corrupt(format!(
                        "counter attribute status: unknown '{other}'"
                    )))
                }
            };
            tally.add(r.opt_parse::<AgentId>("assignee")?, status, r.i64("n")?);
        }
        if query.status != StatusFilter::Closed {
            let spec = QuerySpec {
                index: Some(GSI2),
                key_condition: "GSI2PK = :pk".to_owned(),
                filter: Some("snoozed_until <= :now".to_owned()),
                projection: Some("assignee".to_owned()),
                expr: Expr::new()
                    .value(":pk", s(self.keys.gsi2pk(ConversationStatus::Snoozed)))
                    .value(":now", n(query.now.as_millis())),
                forward: true,
                limit: None,
                consistent: false,
            };
            for item in self.db.query_all(&spec, usize::MAX).await? {
                let assignee = Reader::new(&item, "contact").opt_parse::<AgentId>("assignee")?;
                tally.add(assignee.clone(), ConversationStatus::Snoozed, -1);
                tally.add(assignee, ConversationStatus::Open, 1);
            }
        }
        Ok(tally.counts(query))
    }

    /// A search: candidates from the token items, checked against the contacts
    /// themselves, then filtered, counted, sorted and paged.
    async fn search(
        &self,
        query: &InboxQuery,
        search: &SearchQuery,
        position: Option<&str>,
        want: usize,
    ) -> StoreResult<(Vec<ContactRecord>, ViewCounts)> {
        let candidates = self.search_candidates(search).await?;
        let keys: Vec<Item> = candidates
            .iter()
            .map(|id| key(self.keys.contact(id), SK_PROFILE))
            .collect();
        let newest = query.sort == SortOrder::Newest;
        let mut tally = Tally::default();
        let mut rows = Vec::new();
        for item in self.db.batch_get(keys, false).await? {
            let row = ContactRecord::from_item(&item)?;
            if !search.matches(&row.contact.search_keys()) {
                continue;
            }
            let status = row.effective_status(query.now);
            tally.add(row.contact.assignee.clone(), status, 1);
            if in_listing(query, status, row.contact.assignee.as_ref())
                && after_position(&row, position, newest)
            {
                rows.push(row);
            }
        }
        sort_rows(&mut rows, newest);
        rows.truncate(want);
        Ok((rows, tally.counts(query)))
    }

    async fn search_candidates(&self, search: &SearchQuery) -> StoreResult<BTreeSet<ContactId>> {
        if let Some(email) = search.email() {
            return self.token_query(TokenField::Email, email.as_str()).await;
        }
        let mut by_name: Option<BTreeSet<ContactId>> = None;
        let terms: BTreeSet<&String> = search.name_terms().iter().collect();
        for term in terms {
            let ids = self.token_query(TokenField::Name, term).await?;
            by_name = Some(match by_name {
                None => ids,
                Some(prev) => prev.intersection(&ids).cloned().collect(),
            });
            if by_name.as_ref().is_some_and(BTreeSet::is_empty) {
                break;
            }
        }
        let mut out = by_name.unwrap_or_default();
        for candidate in search.phone_candidates() {
            out.extend(self.token_query(TokenField::Phone, candidate).await?);
        }
        Ok(out)
    }

    /// Contacts with a token starting with `term` (the whole email for emails).
    async fn token_query(&self, field: TokenField, term: &str) -> StoreResult<BTreeSet<ContactId>> {
        let spec = token_query_spec(&self.keys, field, term);
        let mut ids = BTreeSet::new();
        for item in self.db.query_all(&spec, SEARCH_CANDIDATE_CAP).await? {
            ids.insert(Reader::new(&item, "search token").parse::<ContactId>("contact_id")?);
            if ids.len() >= SEARCH_CANDIDATE_CAP {
                break;
            }
        }
        Ok(ids)
    }

    /// Inbox rows with every channel and its state at `now`: one BatchGetItem for the
    /// page's channels, windows and paid counters.
    async fn rows(
        &self,
        records: Vec<ContactRecord>,
        now: Timestamp,
    ) -> StoreResult<Vec<InboxItem>> {
        let month = now.month();
        let mut wanted = Vec::new();
        let mut paid_channels = BTreeSet::new();
        for rec in &records {
            let pk = self.keys.contact(&rec.contact.id);
            for ch in &rec.channels {
                wanted.push(key(pk.clone(), Keys::channel_sk(ch)));
                wanted.push(key(pk.clone(), Keys::window_sk(ch)));
                paid_channels.insert(ch.clone());
            }
        }
        for ch in &paid_channels {
            wanted.push(key(self.keys.paid(ch), Keys::paid_sk(month)));
        }
        let mut found: HashMap<(String, String), Item> = HashMap::new();
        if !wanted.is_empty() {
            for item in self.db.batch_get(wanted, false).await? {
                let r = Reader::new(&item, "inbox row");
                let k = (r.str(PK)?.to_owned(), r.str(SK)?.to_owned());
                found.insert(k, item);
            }
        }
        let mut paid: HashMap<ChannelId, u32> = HashMap::new();
        for ch in &paid_channels {
            if let Some(item) = found.get(&(self.keys.paid(ch), Keys::paid_sk(month))) {
                if !super::items::expired(item, now.as_secs()) {
                    paid.insert(ch.clone(), paid_count(item)?);
                }
            }
        }
        let mut items = Vec::with_capacity(records.len());
        for rec in records {
            let pk = self.keys.contact(&rec.contact.id);
            let mut channels = Vec::new();
            for ch in &rec.channels {
                let Some(ch_item) = found.get(&(pk.clone(), Keys::channel_sk(ch))) else {
                    continue;
                };
                let channel = channel_from_item(&rec.contact.id, ch_item)?;
                let window = found
                    .get(&(pk.clone(), Keys::window_sk(ch)))
                    .map(WindowRecord::from_item)
                    .transpose()?;
                let paid = paid.get(ch).map(|count| MonthlyCount {
                    month,
                    count: *count,
                });
                channels.push(contact_channel(
                    &rec.contact,
                    channel,
                    window.as_ref(),
                    paid,
                    now,
                ));
            }
            items.push(InboxItem {
                status: rec.effective_status(now),
                last_activity_at: rec.last_activity_at,
                last_message: rec.last_message.clone(),
                conversation: rec.conversation.clone(),
                contact: rec.contact,
                channels,
            });
        }
        Ok(items)
    }

    pub(super) async fn contact_details(
        &self,
        id: &ContactId,
        now: Timestamp,
    ) -> StoreResult<ContactDetails> {
        let snapshot = self
            .read_snapshot(id)
            .await?
            .ok_or_else(|| StoreError::not_found("contact", id))?;
        let paid = self
            .read_paid(snapshot.channels.keys(), now.month(), now)
            .await?;
        let channels = Self::channels_of(&snapshot, &paid, now);
        let rec = snapshot.record;
        Ok(ContactDetails {
            status: rec.effective_status(now),
            last_activity_at: rec.last_activity_at,
            version: rec.version,
            conversation: rec.conversation,
            contact: rec.contact,
            channels,
        })
    }

    pub(super) async fn timeline(
        &self,
        id: &ContactId,
        limit: PageSize,
        cursor: Option<&Cursor>,
    ) -> StoreResult<TimelinePage> {
        let scope = format!("messages:{id}");
        let mut expr = Expr::new().value(":pk", s(self.keys.messages(id)));
        let mut key_condition = "PK = :pk".to_owned();
        if let Some(c) = cursor {
            let p: MessagePosition = c.decode(&scope).map_err(invalid_cursor)?;
            let message = MessageId::parse(&p.id).map_err(invalid_cursor)?;
            let at = Timestamp::from_millis(p.at).map_err(invalid_cursor)?;
            expr = expr.value(":pos", s(Keys::message_sk(at, &message)));
            key_condition.push_str(" AND SK < :pos");
        }
        let limit = usize::try_from(limit.get()).unwrap_or(usize::MAX);
        let spec = QuerySpec {
            key_condition,
            expr,
            forward: false,
            limit: Some(i32::try_from(limit + 1).unwrap_or(i32::MAX)),
            consistent: true,
            ..QuerySpec::default()
        };
        let mut items = self
            .db
            .query_all(&spec, limit + 1)
            .await?
            .iter()
            .map(message_from_item)
            .collect::<StoreResult<Vec<_>>>()?;
        let next_cursor = if items.len() > limit {
            items.truncate(limit);
            match items.last() {
                Some(last) => Some(encode_cursor(
                    &scope,
                    &MessagePosition {
                        at: last.created_at.as_millis(),
                        id: last.id.to_string(),
                    },
                )?),
                None => None,
            }
        } else {
            None
        };
        Ok(TimelinePage { items, next_cursor })
    }

    pub(super) async fn events(&self, id: &ContactId) -> StoreResult<Vec<ContactEvent>> {
        self.db
            .query_all(&QuerySpec::partition(self.keys.events(id)), usize::MAX)
            .await?
            .iter()
            .map(event_from_item)
            .collect()
    }
}
