//! DynamoDB cost per operation (issue 7): the requests and the capacity units each thing a
//! function does costs, measured against moto through an SDK interceptor, printed as the
//! table in BENCHMARKS.md ("DynamoDB cost per operation"):
//!
//! ```sh
//! scripts/moto.sh start
//! REPLYLINE_DYNAMODB_ENDPOINT=http://127.0.0.1:5055 \
//!   cargo test -p replyline-store --test dynamo_capacity -- --nocapture
//! ```
//!
//! Each route does one store operation here (webhook: `record_inbound`; `GET /v1/inbox`:
//! `list_inbox`; a send: `begin_outbound`, then `complete_outbound`; close: `close`), so
//! the store's numbers are the function's. Request counts are asserted exactly (they are
//! the table in `src/dynamo/mod.rs`); capacity within budgets (see `budget`).
//!
//! ## Where the capacity numbers come from
//!
//! moto 5.2.1 answers `ReturnConsumedCapacity` with constants, whatever the item size, the
//! consistency or the indexes touched: GetItem and UpdateItem 0.5, PutItem and Query 1,
//! BatchGetItem one per key, BatchWriteItem 1 per table, TransactWriteItems nothing (an
//! empty list). The interceptor asks for `INDEXES` anyway (it sets it on the input in
//! `modify_before_serialization`) and shows what moto said in its own column, but the RRU
//! and WRU columns are **computed** here, per request, by DynamoDB's rules (Developer
//! Guide, "DynamoDB read and write operations", "Global secondary indexes: writes",
//! "Transactions: capacity management") from the real item sizes:
//!
//! - sizes: [`item_size`] (attribute names plus values) of items read through a second
//!   client that the interceptor does not meter: the targets of every write just before
//!   and just after it, the item of every GetItem/BatchGetItem key,
//!   and the items a Query evaluates (the same Query replayed at the same moment without
//!   its filter and projection, which DynamoDB charges for anyway).
//! - writes: per item, ceil(larger of the sizes before and after / 1 KB) WRU, at least 1;
//!   ×2 inside TransactWriteItems. A failed conditional write: the existing item's size (at
//!   least 1). Indexes (projection ALL): per index whose entry changes, 1 WRU per KB when
//!   the entry appears, disappears or changes in place, delete + put when its key changes;
//!   charged as standard writes even for a transaction's items (index updates propagate
//!   after the commit), which is also what docs/deploy.md assumes.
//! - reads: GetItem/BatchGetItem per item ceil(size / 4 KB), at least 1 (an absent item
//!   costs the minimum); Query ceil(sum of the evaluated items / 4 KB), at least 1; ×0.5
//!   when eventually consistent (index queries always are).

mod dynamo_support;

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_dynamodb::config::{Intercept, RuntimeComponents};
use aws_sdk_dynamodb::operation::batch_get_item::{BatchGetItemInput, BatchGetItemOutput};
use aws_sdk_dynamodb::operation::batch_write_item::{BatchWriteItemInput, BatchWriteItemOutput};
use aws_sdk_dynamodb::operation::delete_item::{DeleteItemInput, DeleteItemOutput};
use aws_sdk_dynamodb::operation::get_item::{GetItemInput, GetItemOutput};
use aws_sdk_dynamodb::operation::put_item::{PutItemInput, PutItemOutput};
use aws_sdk_dynamodb::operation::query::{QueryInput, QueryOutput};
use aws_sdk_dynamodb::operation::transact_write_items::{
    TransactWriteItemsInput, TransactWriteItemsOutput,
};
use aws_sdk_dynamodb::operation::update_item::{UpdateItemInput, UpdateItemOutput};
use aws_sdk_dynamodb::types::{
    AttributeValue, ConsumedCapacity, KeysAndAttributes, ReturnConsumedCapacity,
};
use aws_sdk_dynamodb::Client;
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::{
    BeforeSerializationInterceptorContextMut, BeforeTransmitInterceptorContextRef,
    FinalizerInterceptorContextRef, Input, Output,
};
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_types::config_bag::{ConfigBag, Storable, StoreReplace};
use replyline_domain::{
    AgentId, AssignOnOutbound, ChannelId, ChannelKind, Content, ExternalId, IdempotencyKey,
    InboxView, PageSize, ProfileFields, SearchQuery, Sender, SortOrder, StatusFilter, Timestamp,
};
use replyline_policy::{ChannelRules, Opener};
use replyline_store::dynamo::db::item_size;
use replyline_store::dynamo::{configure, local_config_builder, DynamoStore};
use replyline_store::dynamo::{Timeouts, TABLE};
use replyline_store::{
    CommandContext, ConversationCommands, Faults, InboundRecord, InboundRecorder, InboxQuery,
    InboxReader, MessageKey, OutboundRecorder, OutboundRequest, SendOutcome,
};

type Item = HashMap<String, AttributeValue>;

const KB: usize = 1024;
/// On-demand list prices, us-east-1, since the 2024-11-01 reduction: dollars per million.
const USD_PER_MILLION_WRU: f64 = 0.625;
const USD_PER_MILLION_RRU: f64 = 0.125;

// ---------------------------------------------------------------------------------------
// DynamoDB's capacity rules, on sizes.

/// Units of `unit` bytes a `bytes`-long item (or sum) takes, at least one.
fn units(bytes: usize, unit: usize) -> f64 {
    // Item sizes are far below 2^52 bytes: the conversion is exact.
    #[allow(clippy::cast_precision_loss)]
    let n = bytes.div_ceil(unit).max(1) as f64;
    n
}

/// Read units of one GetItem (or one BatchGetItem key) or one Query page of `bytes`.
fn read_units(bytes: usize, consistent: bool) -> f64 {
    units(bytes, 4 * KB) * if consistent { 1.0 } else { 0.5 }
}

/// Table write units of one item written (`before`/`after`: sizes, absent = 0).
fn write_units(before: usize, after: usize, transactional: bool) -> f64 {
    units(before.max(after), KB) * if transactional { 2.0 } else { 1.0 }
}

/// One index's entry of an item: its key, if the item has both key attributes.
fn index_key<'a>(
    item: Option<&'a Item>,
    pk: &str,
    sk: &str,
) -> Option<(&'a AttributeValue, &'a AttributeValue)> {
    let item = item?;
    Some((item.get(pk)?, item.get(sk)?))
}

/// Index writes (standard) caused by one item going from `before` to `after`, per index:
/// (index, units, what happened).
fn index_writes(before: Option<&Item>, after: Option<&Item>) -> Vec<(&'static str, f64, String)> {
    let size = |i: Option<&Item>| i.map_or(0, item_size);
    let mut out = Vec::new();
    for index in TABLE.indexes {
        let b = index_key(before, index.partition_key, index.sort_key);
        let a = index_key(after, index.partition_key, index.sort_key);
        let (units, what) = match (b, a) {
            (None, None) => continue,
            (None, Some(_)) => (units(size(after), KB), "new entry"),
            (Some(_), None) => (units(size(before), KB), "entry removed"),
            (Some(b), Some(a)) if b == a => {
                if before == after {
                    continue;
                }
                (units(size(after), KB), "entry updated")
            }
            (Some(_), Some(_)) => (
                units(size(before), KB) + units(size(after), KB),
                "key moved",
            ),
        };
        out.push((index.name, units, what.to_owned()));
    }
    out
}

/// What an item is, from its key (for the breakdown).
fn kind(key: &Item) -> &'static str {
    let text = |name: &str| match key.get(name) {
        Some(AttributeValue::S(s)) => s.as_str(),
        _ => "",
    };
    let (pk, sk) = (text(TABLE.partition_key), text(TABLE.sort_key));
    match sk {
        "PROFILE" => return "contact",
        "ID" => return "identity",
        "META" => return "conversation",
        "DEDUP" => return "dedup",
        "IDEM" => return "idempotency key",
        "PMSG" => return "provider-id lookup",
        _ => {}
    }
    if sk.starts_with("CH#") {
        "contact-channel"
    } else if sk.starts_with("WIN#") {
        "window"
    } else if pk.ends_with("#MSG") {
        "message"
    } else if pk.ends_with("#EVT") {
        "event"
    } else if pk.ends_with("#COUNTS") {
        "counter"
    } else if pk.contains("#SRCH#") {
        "search token"
    } else if pk.contains("#PAID#") {
        "paid counter"
    } else {
        "item"
    }
}

fn key_of(item: &Item) -> Item {
    [TABLE.partition_key, TABLE.sort_key]
        .iter()
        .filter_map(|k| item.get(*k).map(|v| ((*k).to_owned(), v.clone())))
        .collect()
}

/// `#name` and `:value` placeholders an expression uses.
fn placeholders(expression: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current: Option<String> = None;
    for c in expression.chars().chain(std::iter::once(' ')) {
        match (&mut current, c) {
            (Some(p), c) if c.is_ascii_alphanumeric() || c == '_' => p.push(c),
            (slot, c) => {
                if let Some(p) = slot.take() {
                    out.push(p);
                }
                if c == '#' || c == ':' {
                    *slot = Some(c.to_string());
                }
            }
        }
    }
    out
}

fn only_used<V: Clone>(
    map: Option<&HashMap<String, V>>,
    used: &[String],
) -> Option<HashMap<String, V>> {
    let kept: HashMap<String, V> = map?
        .iter()
        .filter(|(k, _)| used.contains(k))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    (!kept.is_empty()).then_some(kept)
}

// ---------------------------------------------------------------------------------------
// The interceptor.

/// Reads the table through a client the meter does not see, blocking the request being
/// metered meanwhile (so it sees the table as that request does). `block_in_place` needs
/// the multi-threaded runtime.
#[derive(Clone, Debug)]
struct Oracle {
    client: Client,
    handle: tokio::runtime::Handle,
}

impl Oracle {
    fn block<F: Future>(&self, f: F) -> F::Output {
        tokio::task::block_in_place(|| self.handle.block_on(f))
    }

    fn get(&self, table: &str, key: &Item) -> Result<Option<Item>, BoxError> {
        let out = self.block(
            self.client
                .get_item()
                .table_name(table)
                .set_key(Some(key.clone()))
                .consistent_read(true)
                .send(),
        )?;
        Ok(out.item)
    }

    /// The items at `(table, key)`, in order (absent: `None`), by BatchGetItem.
    fn fetch(&self, wanted: &[(String, Item)]) -> Result<Vec<Option<Item>>, BoxError> {
        let mut found: Vec<(String, Item)> = Vec::new();
        let mut tables: Vec<&String> = wanted.iter().map(|(t, _)| t).collect();
        tables.sort();
        tables.dedup();
        for table in tables {
            let mut keys: Vec<Item> = Vec::new();
            for (t, k) in wanted {
                if t == table && !keys.contains(k) {
                    keys.push(k.clone());
                }
            }
            for chunk in keys.chunks(100) {
                let request = KeysAndAttributes::builder()
                    .set_keys(Some(chunk.to_vec()))
                    .consistent_read(true)
                    .build()?;
                let out = self.block(
                    self.client
                        .batch_get_item()
                        .request_items(table.as_str(), request)
                        .send(),
                )?;
                if out.unprocessed_keys().is_some_and(|u| !u.is_empty()) {
                    return Err("the meter's BatchGetItem left keys unprocessed".into());
                }
                let items = out.responses.and_then(|mut r| r.remove(table.as_str()));
                found.extend(
                    items
                        .unwrap_or_default()
                        .into_iter()
                        .map(|i| (table.clone(), i)),
                );
            }
        }
        Ok(wanted
            .iter()
            .map(|(t, k)| {
                found
                    .iter()
                    .find(|(ft, item)| ft == t && key_of(item) == *k)
                    .map(|(_, item)| item.clone())
            })
            .collect())
    }

    /// The items `q` evaluates: the same Query without filter, projection or `Select`.
    fn evaluated(&self, q: &QueryInput) -> Result<Vec<Item>, BoxError> {
        let condition = q
            .key_condition_expression
            .clone()
            .ok_or("a Query without KeyConditionExpression is not metered")?;
        let used = placeholders(&condition);
        let out = self.block(
            self.client
                .query()
                .set_table_name(q.table_name.clone())
                .set_index_name(q.index_name.clone())
                .key_condition_expression(condition)
                .set_expression_attribute_names(only_used(
                    q.expression_attribute_names.as_ref(),
                    &used,
                ))
                .set_expression_attribute_values(only_used(
                    q.expression_attribute_values.as_ref(),
                    &used,
                ))
                .set_scan_index_forward(q.scan_index_forward)
                .set_limit(q.limit)
                .set_exclusive_start_key(q.exclusive_start_key.clone())
                .set_consistent_read(q.consistent_read)
                .send(),
        )?;
        Ok(out.items.unwrap_or_default())
    }
}

/// One item a write request targets, as it was before the request.
#[derive(Clone, Debug)]
struct Target {
    table: String,
    action: &'static str,
    key: Item,
    before: Option<Item>,
}

/// What the meter learnt before a request went out (kept in the request's config bag).
#[derive(Clone, Debug)]
enum Pre {
    Read {
        rru: f64,
        detail: String,
    },
    Write {
        transactional: bool,
        targets: Vec<Target>,
    },
    Free,
}

impl Storable for Pre {
    type Storer = StoreReplace<Self>;
}

/// One metered request.
#[derive(Clone, Debug)]
struct Entry {
    rru: f64,
    wru_table: f64,
    wru_index: f64,
    /// What moto put in `ConsumedCapacity` (None: nothing).
    moto: Option<f64>,
    detail: String,
}

#[derive(Debug, Default)]
struct Ledger {
    /// Operation names, one per attempt on the wire.
    attempts: Vec<String>,
    entries: Vec<Entry>,
}

#[derive(Clone, Debug)]
struct Meter {
    oracle: Oracle,
    ledger: Arc<Mutex<Ledger>>,
}

fn operation(cfg: &ConfigBag) -> String {
    cfg.load::<Metadata>()
        .map_or_else(|| "Unknown".to_owned(), |m| m.name().to_owned())
}

/// Asks moto for the most it reports.
fn ask_for_indexes(input: &mut Input) {
    let indexes = Some(ReturnConsumedCapacity::Indexes);
    if let Some(i) = input.downcast_mut::<GetItemInput>() {
        i.return_consumed_capacity = indexes;
    } else if let Some(i) = input.downcast_mut::<BatchGetItemInput>() {
        i.return_consumed_capacity = indexes;
    } else if let Some(i) = input.downcast_mut::<QueryInput>() {
        i.return_consumed_capacity = indexes;
    } else if let Some(i) = input.downcast_mut::<PutItemInput>() {
        i.return_consumed_capacity = indexes;
    } else if let Some(i) = input.downcast_mut::<UpdateItemInput>() {
        i.return_consumed_capacity = indexes;
    } else if let Some(i) = input.downcast_mut::<DeleteItemInput>() {
        i.return_consumed_capacity = indexes;
    } else if let Some(i) = input.downcast_mut::<TransactWriteItemsInput>() {
        i.return_consumed_capacity = indexes;
    } else if let Some(i) = input.downcast_mut::<BatchWriteItemInput>() {
        i.return_consumed_capacity = indexes;
    }
}

/// The units moto reported, if it reported any.
fn moto_units(output: &Output) -> Option<f64> {
    let one = |c: Option<&ConsumedCapacity>| c.and_then(ConsumedCapacity::capacity_units);
    let many = |c: &[ConsumedCapacity]| {
        (!c.is_empty()).then(|| c.iter().filter_map(ConsumedCapacity::capacity_units).sum())
    };
    if let Some(o) = output.downcast_ref::<GetItemOutput>() {
        one(o.consumed_capacity())
    } else if let Some(o) = output.downcast_ref::<QueryOutput>() {
        one(o.consumed_capacity())
    } else if let Some(o) = output.downcast_ref::<PutItemOutput>() {
        one(o.consumed_capacity())
    } else if let Some(o) = output.downcast_ref::<UpdateItemOutput>() {
        one(o.consumed_capacity())
    } else if let Some(o) = output.downcast_ref::<DeleteItemOutput>() {
        one(o.consumed_capacity())
    } else if let Some(o) = output.downcast_ref::<BatchGetItemOutput>() {
        many(o.consumed_capacity())
    } else if let Some(o) = output.downcast_ref::<BatchWriteItemOutput>() {
        many(o.consumed_capacity())
    } else if let Some(o) = output.downcast_ref::<TransactWriteItemsOutput>() {
        many(o.consumed_capacity())
    } else {
        None
    }
}

fn strength(consistent: bool) -> &'static str {
    if consistent {
        "strong"
    } else {
        "eventual"
    }
}

impl Meter {
    fn new(oracle: Oracle) -> Self {
        Meter {
            oracle,
            ledger: Arc::default(),
        }
    }

    /// Write targets `(table, action, key)` with their items as they are now.
    fn targets(&self, wanted: Vec<(String, &'static str, Item)>) -> Result<Vec<Target>, BoxError> {
        let keys: Vec<(String, Item)> = wanted
            .iter()
            .map(|(t, _, k)| (t.clone(), k.clone()))
            .collect();
        let before = self.oracle.fetch(&keys)?;
        Ok(wanted
            .into_iter()
            .zip(before)
            .map(|((table, action, key), before)| Target {
                table,
                action,
                key,
                before,
            })
            .collect())
    }

    /// Reads are priced now (the items as the request will find them); writes remember
    /// their targets as they are now.
    fn pre(&self, name: &str, input: &Input) -> Result<Pre, BoxError> {
        let table = |t: &Option<String>| t.clone().unwrap_or_default();
        if let Some(i) = input.downcast_ref::<GetItemInput>() {
            let key = i.key.clone().unwrap_or_default();
            let consistent = i.consistent_read.unwrap_or(false);
            let size = self
                .oracle
                .get(&table(&i.table_name), &key)?
                .as_ref()
                .map_or(0, item_size);
            let rru = read_units(size, consistent);
            return Ok(Pre::Read {
                rru,
                detail: format!("{} {size} B {}: {rru}", kind(&key), strength(consistent)),
            });
        }
        if let Some(i) = input.downcast_ref::<BatchGetItemInput>() {
            let mut rru = 0.0;
            let mut parts: BTreeMap<(&str, &str), (usize, usize, f64)> = BTreeMap::new();
            for (t, request) in i.request_items.iter().flatten() {
                let consistent = request.consistent_read.unwrap_or(false);
                let keys: Vec<(String, Item)> = request
                    .keys
                    .iter()
                    .map(|k| (t.clone(), k.clone()))
                    .collect();
                let items = self.oracle.fetch(&keys)?;
                for (key, item) in request.keys.iter().zip(items) {
                    let size = item.as_ref().map_or(0, item_size);
                    let units = read_units(size, consistent);
                    rru += units;
                    let part = parts.entry((kind(key), strength(consistent))).or_default();
                    part.0 += 1;
                    part.1 = part.1.max(size);
                    part.2 += units;
                }
            }
            let detail = parts
                .iter()
                .map(|((k, s), (n, max, u))| match max {
                    0 => format!("{n} {k} (absent) {s}: {u}"),
                    max => format!("{n} {k} (≤ {max} B) {s}: {u}"),
                })
                .collect::<Vec<_>>()
                .join(", ");
            return Ok(Pre::Read { rru, detail });
        }
        if let Some(i) = input.downcast_ref::<QueryInput>() {
            let consistent = i.consistent_read.unwrap_or(false) && i.index_name.is_none();
            let items = self.oracle.evaluated(i)?;
            let bytes: usize = items.iter().map(item_size).sum();
            let rru = read_units(bytes, consistent);
            let mut kinds: BTreeMap<&str, usize> = BTreeMap::new();
            for item in &items {
                *kinds.entry(kind(&key_of(item))).or_default() += 1;
            }
            let what = if kinds.is_empty() {
                "no item".to_owned()
            } else {
                let kinds: Vec<String> = kinds.iter().map(|(k, n)| format!("{n} {k}")).collect();
                kinds.join(" + ")
            };
            let filter = if i.filter_expression.is_some() {
                " (before the filter)"
            } else {
                ""
            };
            return Ok(Pre::Read {
                rru,
                detail: format!(
                    "{} {what}{filter}, {bytes} B {}: {rru}",
                    i.index_name.as_deref().unwrap_or("table"),
                    strength(consistent)
                ),
            });
        }
        let single = |t: &Option<String>, action, key| {
            Ok::<_, BoxError>(Pre::Write {
                transactional: false,
                targets: self.targets(vec![(table(t), action, key)])?,
            })
        };
        if let Some(i) = input.downcast_ref::<PutItemInput>() {
            return single(
                &i.table_name,
                "put",
                key_of(i.item.as_ref().unwrap_or(&Item::new())),
            );
        }
        if let Some(i) = input.downcast_ref::<UpdateItemInput>() {
            return single(&i.table_name, "update", i.key.clone().unwrap_or_default());
        }
        if let Some(i) = input.downcast_ref::<DeleteItemInput>() {
            return single(&i.table_name, "delete", i.key.clone().unwrap_or_default());
        }
        if let Some(i) = input.downcast_ref::<TransactWriteItemsInput>() {
            let mut wanted = Vec::new();
            for item in i.transact_items.iter().flatten() {
                wanted.push(if let Some(p) = &item.put {
                    (p.table_name.clone(), "put", key_of(&p.item))
                } else if let Some(u) = &item.update {
                    (u.table_name.clone(), "update", u.key.clone())
                } else if let Some(d) = &item.delete {
                    (d.table_name.clone(), "delete", d.key.clone())
                } else {
                    return Err("a ConditionCheck: no capacity rule here".into());
                });
            }
            return Ok(Pre::Write {
                transactional: true,
                targets: self.targets(wanted)?,
            });
        }
        if let Some(i) = input.downcast_ref::<BatchWriteItemInput>() {
            let mut wanted = Vec::new();
            for (t, requests) in i.request_items.iter().flatten() {
                for r in requests {
                    if let Some(p) = &r.put_request {
                        wanted.push((t.clone(), "put", key_of(&p.item)));
                    } else if let Some(d) = &r.delete_request {
                        wanted.push((t.clone(), "delete", d.key.clone()));
                    }
                }
            }
            return Ok(Pre::Write {
                transactional: false,
                targets: self.targets(wanted)?,
            });
        }
        match name {
            "DescribeTable" | "CreateTable" | "UpdateTimeToLive" | "DescribeTimeToLive" => {
                Ok(Pre::Free)
            }
            other => Err(format!("{other}: no capacity rule here").into()),
        }
    }

    /// The cost of a request, once it is answered.
    fn post(&self, pre: &Pre, succeeded: bool) -> Result<Entry, BoxError> {
        let entry = |rru, wru_table, wru_index, detail| Entry {
            rru,
            wru_table,
            wru_index,
            moto: None,
            detail,
        };
        match pre {
            Pre::Free => Ok(entry(0.0, 0.0, 0.0, String::new())),
            Pre::Read { rru, detail } => Ok(entry(*rru, 0.0, 0.0, detail.clone())),
            Pre::Write {
                transactional,
                targets,
            } => {
                let (mut table, mut index) = (0.0, 0.0);
                let mut parts = Parts::default();
                let after: Vec<Option<Item>> = if succeeded {
                    let keys: Vec<(String, Item)> = targets
                        .iter()
                        .map(|t| (t.table.clone(), t.key.clone()))
                        .collect();
                    self.oracle.fetch(&keys)?
                } else {
                    Vec::new()
                };
                for (n, t) in targets.iter().enumerate() {
                    let before = t.before.as_ref().map_or(0, item_size);
                    if !succeeded {
                        if *transactional {
                            return Err("a cancelled transaction: its cost is not metered".into());
                        }
                        let units = write_units(before, 0, false);
                        table += units;
                        parts.add(
                            format!("{} {}, condition failed", kind(&t.key), t.action),
                            before,
                            units,
                            0.0,
                        );
                        continue;
                    }
                    let after_item = after.get(n).cloned().flatten();
                    let after = after_item.as_ref().map_or(0, item_size);
                    let units = write_units(before, after, *transactional);
                    table += units;
                    let mut what = format!("{} {}", kind(&t.key), t.action);
                    let (mut gsi, mut changes) = (0.0, Vec::new());
                    for (name, u, change) in index_writes(t.before.as_ref(), after_item.as_ref()) {
                        gsi += u;
                        changes.push(format!("{name} {change}"));
                    }
                    if !changes.is_empty() {
                        what.push_str(&format!(" ({})", changes.join(", ")));
                    }
                    index += gsi;
                    parts.add(what, before.max(after), units, gsi);
                }
                Ok(entry(0.0, table, index, parts.text()))
            }
        }
    }
}

/// A write request's items, alike ones together: (what, how many, largest size, table
/// units, index units).
#[derive(Debug, Default)]
struct Parts(Vec<(String, usize, usize, f64, f64)>);

impl Parts {
    fn add(&mut self, what: String, size: usize, table: f64, index: f64) {
        match self.0.iter_mut().find(|p| p.0 == what) {
            Some(p) => {
                p.1 += 1;
                p.2 = p.2.max(size);
                p.3 += table;
                p.4 += index;
            }
            None => self.0.push((what, 1, size, table, index)),
        }
    }

    fn text(&self) -> String {
        let parts: Vec<String> = self
            .0
            .iter()
            .map(|(what, n, size, table, index)| {
                let units = if *index > 0.0 {
                    format!("{table} + {index} GSI")
                } else {
                    table.to_string()
                };
                match n {
                    1 => format!("{what} {size} B: {units}"),
                    n => format!("{n} × {what} (≤ {size} B): {units}"),
                }
            })
            .collect();
        parts.join("; ")
    }
}

impl Intercept for Meter {
    fn name(&self) -> &'static str {
        "CapacityMeter"
    }

    fn modify_before_serialization(
        &self,
        context: &mut BeforeSerializationInterceptorContextMut<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        ask_for_indexes(context.input_mut());
        let pre = self.pre(&operation(cfg), context.input())?;
        cfg.interceptor_state().store_put(pre);
        Ok(())
    }

    fn read_before_transmit(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let name = operation(cfg);
        self.ledger.lock().unwrap().attempts.push(name);
        Ok(())
    }

    fn read_after_execution(
        &self,
        context: &FinalizerInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let Some(pre) = cfg.load::<Pre>().cloned() else {
            return Ok(());
        };
        let output = context.output_or_error();
        let succeeded = matches!(output, Some(Ok(_)));
        let mut entry = self.post(&pre, succeeded)?;
        entry.moto = output.and_then(Result::ok).and_then(moto_units);
        let name = operation(cfg);
        entry.detail = format!("{name}: {}", entry.detail);
        self.ledger.lock().unwrap().entries.push(entry);
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------
// Rows of the table.

#[derive(Clone, Debug)]
struct Row {
    name: String,
    requests: BTreeMap<String, usize>,
    rru: f64,
    wru_table: f64,
    wru_index: f64,
    moto: Option<f64>,
    details: Vec<String>,
}

impl Row {
    fn wru(&self) -> f64 {
        self.wru_table + self.wru_index
    }

    fn usd_per_million(&self) -> f64 {
        self.rru * USD_PER_MILLION_RRU + self.wru() * USD_PER_MILLION_WRU
    }

    fn sum(name: &str, rows: &[&Row]) -> Row {
        let mut out = Row {
            name: name.to_owned(),
            requests: BTreeMap::new(),
            rru: 0.0,
            wru_table: 0.0,
            wru_index: 0.0,
            moto: None,
            details: Vec::new(),
        };
        for r in rows {
            for (op, n) in &r.requests {
                *out.requests.entry(op.clone()).or_default() += n;
            }
            out.rru += r.rru;
            out.wru_table += r.wru_table;
            out.wru_index += r.wru_index;
            out.moto = match (out.moto, r.moto) {
                (None, m) | (m, None) => m,
                (Some(a), Some(b)) => Some(a + b),
            };
        }
        out
    }

    fn requests_text(&self) -> String {
        let total: usize = self.requests.values().sum();
        let parts: Vec<String> = self
            .requests
            .iter()
            .map(|(op, n)| format!("{op} {n}"))
            .collect();
        format!("{} = {total}", parts.join(", "))
    }

    fn markdown(&self) -> String {
        let wru = if self.wru_index > 0.0 {
            format!(
                "{} ({} + {} GSI)",
                self.wru(),
                self.wru_table,
                self.wru_index
            )
        } else {
            self.wru().to_string()
        };
        format!(
            "| {} | {} | {} | {wru} | ${:.3} | {} |",
            self.name,
            self.requests_text(),
            self.rru,
            self.usd_per_million(),
            self.moto
                .map_or_else(|| "none".to_owned(), |m| m.to_string()),
        )
    }
}

impl Meter {
    /// Everything metered since the last call, as one row.
    fn take(&self, name: &str) -> Row {
        let mut ledger = self.ledger.lock().unwrap();
        let mut requests = BTreeMap::new();
        for op in ledger.attempts.drain(..) {
            *requests.entry(op).or_default() += 1;
        }
        let entries: Vec<Entry> = ledger.entries.drain(..).collect();
        let moto = entries
            .iter()
            .filter_map(|e| e.moto)
            .fold(None, |acc: Option<f64>, m| Some(acc.unwrap_or(0.0) + m));
        Row {
            name: name.to_owned(),
            requests,
            rru: entries.iter().map(|e| e.rru).sum(),
            wru_table: entries.iter().map(|e| e.wru_table).sum(),
            wru_index: entries.iter().map(|e| e.wru_index).sum(),
            moto,
            details: entries.into_iter().map(|e| e.detail).collect(),
        }
    }
}

fn counts(pairs: &[(&str, usize)]) -> BTreeMap<String, usize> {
    pairs
        .iter()
        .filter(|(_, n)| *n > 0)
        .map(|(k, v)| ((*k).to_owned(), *v))
        .collect()
}

/// Capacity within `[lo, hi]`: the budgets are the measured values with room for items to
/// grow by a few hundred bytes. Leaving them means an operation got cheaper or dearer:
/// update BENCHMARKS.md and docs/deploy.md, then the budget.
fn budget(row: &Row, rru: (f64, f64), wru: (f64, f64)) {
    assert!(
        (rru.0..=rru.1).contains(&row.rru),
        "{}: {} RRU, budget {rru:?}\n{}",
        row.name,
        row.rru,
        row.details.join("\n")
    );
    assert!(
        (wru.0..=wru.1).contains(&row.wru()),
        "{}: {} WRU, budget {wru:?}\n{}",
        row.name,
        row.wru(),
        row.details.join("\n")
    );
}

// ---------------------------------------------------------------------------------------
// The data set and the scenarios.

fn at(s: &str) -> Timestamp {
    Timestamp::parse_rfc3339(s).unwrap()
}

fn plus(t: Timestamp, seconds: i64) -> Timestamp {
    Timestamp::from_millis(t.as_millis() + seconds * 1000).unwrap()
}

const FIRST: [&str; 10] = [
    "Carla", "Carlos", "María", "Mario", "Ana", "Andrés", "Lucía", "Luis", "Sofía", "Diego",
];
const LAST: [&str; 2] = ["Gómez", "Mendoza"];

/// A typical first message: 150 characters.
const TEXT: &str = "Hi, my order #48213 never arrived. I paid on the 3rd and the tracking page \
                    still says label created. Can you check what happened, please?";

fn tg() -> ChannelId {
    ChannelId::parse("tg").unwrap()
}

fn alice() -> AgentId {
    AgentId::parse("alice").unwrap()
}

/// The `n`th contact's name in the data set.
fn name(n: usize) -> (&'static str, &'static str) {
    (FIRST[n % FIRST.len()], LAST[(n / FIRST.len()) % LAST.len()])
}

fn inbound(n: usize, (first, last): (&str, &str), event: &str, when: Timestamp) -> InboundRecord {
    InboundRecord {
        channel: tg(),
        kind: ChannelKind::Telegram,
        external_id: ExternalId::parse(&format!("{}", 7_000_000_000_u64 + n as u64)).unwrap(),
        provider_event_id: event.to_owned(),
        opener: Opener::Message,
        occurred_at: when,
        received_at: when,
        profile: ProfileFields::parse(Some(first), Some(last), None, None).unwrap(),
        content: Some(Content::from_text(TEXT).unwrap()),
        state_horizon: ChannelRules::default_for(ChannelKind::Telegram).state_horizon(),
    }
}

fn inbox(
    view: InboxView,
    status: StatusFilter,
    search: Option<&str>,
    now: Timestamp,
) -> InboxQuery {
    InboxQuery {
        agent: alice(),
        view,
        status,
        search: search.map(|s| SearchQuery::parse(s).unwrap()),
        sort: SortOrder::Newest,
        limit: PageSize::DEFAULT,
        cursor: None,
        now,
    }
}

fn reply(contact: &replyline_domain::ContactId, key: &str, now: Timestamp) -> OutboundRequest {
    OutboundRequest {
        contact_id: contact.clone(),
        channel: tg(),
        sender: Sender::Agent(alice()),
        content: Content::from_text(
            "Sorry about that! Let me check with the carrier and come back to you today.",
        )
        .unwrap(),
        idempotency_key: Some(IdempotencyKey::parse(key).unwrap()),
        rules: ChannelRules::default_for(ChannelKind::Telegram),
        assign: AssignOnOutbound::Always,
        now,
    }
}

// The data set: alice (who asks) has more than a page (25) open and closed, a few
// snoozed (two past their time, which read as open); a few contacts are unassigned or
// bob's.
const MINE_OPEN: std::ops::Range<usize> = 0..26;
const UNASSIGNED_OPEN: std::ops::Range<usize> = 26..34;
const MINE_CLOSED: std::ops::Range<usize> = 34..60;
const MINE_SNOOZED: std::ops::Range<usize> = 60..62;
const MINE_SNOOZE_EXPIRED: std::ops::Range<usize> = 62..64;
const BOB_OPEN: std::ops::Range<usize> = 64..68;

/// moto serves one request at a time for every test run on the machine (and copies a
/// table for each item of a transaction), so it stalls for minutes on a busy machine; a
/// retried attempt would count twice (and a retried command fails its condition).
const PATIENT: Timeouts = Timeouts {
    operation: Duration::from_secs(1200),
    attempt: Duration::from_secs(600),
    connect: Duration::from_secs(10),
    max_attempts: 1,
};

#[test]
fn capacity_rules_match_the_developer_guide_examples() {
    // Reads round each item (GetItem, each BatchGetItem key) up to 4 KB: 1.5 KB and
    // 6.5 KB read strongly cost 1 + 2 units; a Query sums first: 8 KB, 2 units.
    assert_eq!(read_units(3500, true), 1.0);
    assert_eq!(read_units(10 * KB, true), 3.0);
    assert_eq!(read_units(10 * KB, false), 1.5);
    assert_eq!(read_units(1536, true) + read_units(6656, true), 3.0);
    assert_eq!(read_units(1536 + 6656, true), 2.0);
    assert_eq!(
        read_units(0, false),
        0.5,
        "an absent item costs the minimum"
    );
    // Writes round up to 1 KB, take the larger of before and after, double in a transaction.
    assert_eq!(write_units(0, 500, false), 1.0);
    assert_eq!(write_units(1500, 900, false), 2.0);
    assert_eq!(write_units(0, 1500, true), 4.0);
    // An index: a key that moves is a delete and a put; an entry that stays is one write.
    let item = |gsi1sk: &str, extra: &str| -> Item {
        [
            ("PK", "p"),
            ("SK", "s"),
            ("GSI1PK", "g"),
            ("GSI1SK", gsi1sk),
            ("x", extra),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), AttributeValue::S(v.to_owned())))
        .collect()
    };
    let (a, b, c) = (item("1", "a"), item("2", "a"), item("1", "b"));
    let total = |w: Vec<(&str, f64, String)>| w.iter().map(|x| x.1).sum::<f64>();
    assert_eq!(total(index_writes(None, Some(&a))), 1.0);
    assert_eq!(total(index_writes(Some(&a), Some(&b))), 2.0);
    assert_eq!(total(index_writes(Some(&a), Some(&c))), 1.0);
    assert_eq!(total(index_writes(Some(&a), None)), 1.0);
    let no_index: Item = key_of(&a);
    assert!(index_writes(Some(&no_index), Some(&no_index)).is_empty());
    assert_eq!(
        placeholders("#pk = :pk AND #sk < :pos"),
        ["#pk", ":pk", "#sk", ":pos"]
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn capacity_per_operation() {
    let endpoint = dynamo_support::endpoint();
    let plain = Client::from_conf(configure(local_config_builder(&endpoint), PATIENT));
    let meter = Meter::new(Oracle {
        client: plain.clone(),
        handle: tokio::runtime::Handle::current(),
    });
    let metered = Client::from_conf(configure(
        local_config_builder(&endpoint).interceptor(meter.clone()),
        PATIENT,
    ));
    let table = dynamo_support::fresh_table(&plain, "capacity").await;
    // The data set goes in through an unmetered store; what is measured, through the meter.
    let seed = DynamoStore::new(plain.clone(), table.clone(), "default", Faults::default());
    let store = DynamoStore::new(metered, table.clone(), "default", Faults::default());

    let t0 = at("2026-11-10T08:00:00Z");
    let now = at("2026-11-10T12:00:00Z");
    let mut ids = Vec::new();
    for n in 0..BOB_OPEN.end {
        let when = plus(t0, i64::try_from(n).unwrap() * 60);
        let out = seed
            .record_inbound(&inbound(n, name(n), &format!("seed-{n}"), when))
            .await
            .unwrap();
        let ctx = CommandContext {
            actor: alice(),
            now: plus(when, 1),
        };
        let id = out.contact_id;
        if !UNASSIGNED_OPEN.contains(&n) {
            let agent = if BOB_OPEN.contains(&n) {
                AgentId::parse("bob").unwrap()
            } else {
                alice()
            };
            seed.assign(&id, Some(agent), &ctx).await.unwrap();
        }
        if MINE_CLOSED.contains(&n) {
            seed.close(&id, None, false, &ctx).await.unwrap();
        }
        if MINE_SNOOZED.contains(&n) {
            seed.snooze(&id, plus(now, 86_400), &ctx).await.unwrap();
        }
        if MINE_SNOOZE_EXPIRED.contains(&n) {
            seed.snooze(&id, plus(now, -3600), &ctx).await.unwrap();
        }
        ids.push(id);
    }
    meter.take("seed");
    let mut rows: Vec<Row> = Vec::new();

    // Inbox pages: each view and status, 25 rows a page, without and with a search.
    for search in [None, Some("carla gom")] {
        for view in [InboxView::Mine, InboxView::Unassigned, InboxView::All] {
            for status in [
                StatusFilter::Open,
                StatusFilter::Snoozed,
                StatusFilter::Closed,
                StatusFilter::All,
            ] {
                let page = store
                    .list_inbox(&inbox(view, status, search, now))
                    .await
                    .unwrap();
                let name = format!(
                    "inbox `view={}&status={}{}` ({} row{})",
                    view.as_str(),
                    status.as_str(),
                    search.map_or(String::new(), |q| format!("&q={}", q.replace(' ', "+"))),
                    page.items.len(),
                    if page.items.len() == 1 { "" } else { "s" }
                );
                let row = meter.take(&name);
                let rows_read = usize::from(!page.items.is_empty());
                let want = match search {
                    None => {
                        let partitions = match status {
                            StatusFilter::Open => 2,
                            StatusFilter::Snoozed | StatusFilter::Closed => 1,
                            StatusFilter::All => 3,
                        };
                        let expired_snoozes = usize::from(status != StatusFilter::Closed);
                        counts(&[
                            ("Query", partitions + 1 + expired_snoozes),
                            ("BatchGetItem", rows_read),
                        ])
                    }
                    // One Query per term, the candidates, the rows' channel states.
                    Some(_) => counts(&[("Query", 2), ("BatchGetItem", 1 + rows_read)]),
                };
                assert_eq!(row.requests, want, "{name}");
                rows.push(row);
            }
        }
    }

    // Inbound: a new contact, the same contact again, a duplicate delivery, and a known
    // contact whose conversation was closed (a new conversation opens).
    // The newcomer's name has 6 and 7 letters: 11 search tokens (docs/deploy.md's case).
    let newcomer = BOB_OPEN.end;
    let carlos = ("Carlos", "Mendoza");
    let first = inbound(newcomer, carlos, "new-1", now);
    let out = store.record_inbound(&first).await.unwrap();
    assert!(out.contact_created && out.conversation_opened);
    let row = meter.take("inbound, new contact");
    assert_eq!(
        row.requests,
        counts(&[
            ("BatchGetItem", 1),
            ("TransactWriteItems", 1),
            ("UpdateItem", 1)
        ]),
        "{}",
        row.name
    );
    rows.push(row);
    let out = store
        .record_inbound(&inbound(newcomer, carlos, "new-2", plus(now, 60)))
        .await
        .unwrap();
    assert!(!out.contact_created && !out.conversation_opened && !out.duplicate);
    let row = meter.take("inbound, known contact, conversation open");
    assert_eq!(
        row.requests,
        counts(&[
            ("BatchGetItem", 1),
            ("GetItem", 1),
            ("TransactWriteItems", 1),
            ("UpdateItem", 1)
        ]),
        "{}",
        row.name
    );
    rows.push(row);
    assert!(store.record_inbound(&first).await.unwrap().duplicate);
    let row = meter.take("inbound, duplicate delivery");
    assert_eq!(
        row.requests,
        counts(&[("BatchGetItem", 1), ("UpdateItem", 1)]),
        "{}",
        row.name
    );
    rows.push(row);
    let closed = MINE_CLOSED.start;
    let out = store
        .record_inbound(&inbound(closed, name(closed), "again-1", plus(now, 120)))
        .await
        .unwrap();
    assert!(out.conversation_opened && !out.contact_created);
    let row = meter.take("inbound, known contact, conversation closed (reopens)");
    assert_eq!(
        row.requests,
        counts(&[
            ("BatchGetItem", 1),
            ("GetItem", 1),
            ("TransactWriteItems", 1),
            ("UpdateItem", 1)
        ]),
        "{}",
        row.name
    );
    rows.push(row);

    // A reply with an Idempotency-Key: to a contact assigned to the sender, then to an
    // unassigned one (the send assigns it).
    for (label, n) in [
        ("assigned to the sender", MINE_OPEN.start),
        ("unassigned: the send assigns", UNASSIGNED_OPEN.start),
    ] {
        let begun = store
            .begin_outbound(&reply(&ids[n], &format!("reply-{n}"), now))
            .await
            .unwrap();
        assert!(!begun.replayed && !begun.conversation_opened);
        let begin = meter.take(&format!("send ({label}): `begin_outbound`"));
        assert_eq!(
            begin.requests,
            counts(&[("Query", 1), ("TransactWriteItems", 1)]),
            "{}",
            begin.name
        );
        store
            .complete_outbound(
                &MessageKey::of(&begun.message),
                &SendOutcome::Sent {
                    provider_message_id: format!("tg-{n}"),
                },
                plus(now, 1),
            )
            .await
            .unwrap();
        let complete = meter.take(&format!("send ({label}): `complete_outbound`, sent"));
        assert_eq!(
            complete.requests,
            counts(&[("GetItem", 1), ("TransactWriteItems", 1)]),
            "{}",
            complete.name
        );
        let total = Row::sum(&format!("**one reply ({label})**"), &[&begin, &complete]);
        rows.extend([begin, complete, total]);
    }

    // A conversation command: close (no note, the contact stays assigned).
    let ctx = CommandContext {
        actor: alice(),
        now,
    };
    store
        .close(&ids[MINE_OPEN.start + 1], None, false, &ctx)
        .await
        .unwrap();
    let row = meter.take("close");
    assert_eq!(
        row.requests,
        counts(&[("GetItem", 1), ("TransactWriteItems", 1)]),
        "{}",
        row.name
    );
    rows.push(row);

    println!(
        "\nDynamoDB cost per operation (RRU and WRU computed from item sizes; moto's own \
         ConsumedCapacity in the last column)\n"
    );
    println!("| Operation | Requests | RRU | WRU (table + GSI) | $ per million | moto reported |");
    println!("|---|---|---|---|---|---|");
    for row in &rows {
        println!("{}", row.markdown());
    }
    println!("\nPer request:");
    for row in &rows {
        if row.details.is_empty() {
            continue;
        }
        println!("- {}", row.name);
        for d in &row.details {
            println!("    {d}");
        }
    }

    let find = |name: &str| {
        rows.iter()
            .find(|r| r.name.starts_with(name))
            .unwrap_or_else(|| panic!("no row {name}"))
    };
    // RRU are exact here (every item read is under 4 KB); WRU may grow by the writes a
    // contact item crossing 1 KB adds (it is about 850 bytes with this preview).
    budget(find("inbound, new contact"), (2.0, 2.0), (41.0, 47.0));
    budget(
        find("inbound, known contact, conversation open"),
        (3.0, 3.0),
        (11.0, 17.0),
    );
    budget(find("inbound, duplicate"), (2.0, 2.0), (1.0, 1.0));
    budget(
        find("inbound, known contact, conversation closed"),
        (3.0, 3.0),
        (19.0, 25.0),
    );
    budget(
        find("inbox `view=mine&status=open` (25"),
        (30.5, 31.0),
        (0.0, 0.0),
    );
    budget(
        find("inbox `view=all&status=all` (25"),
        (33.5, 35.0),
        (0.0, 0.0),
    );
    budget(find("**one reply (assigned"), (2.0, 2.0), (16.0, 22.0));
    budget(find("**one reply (unassigned"), (2.0, 2.0), (22.0, 28.0));
    budget(find("close"), (1.0, 1.0), (14.0, 20.0));
    // moto keeps every table in memory until it stops: leave it lighter.
    plain.delete_table().table_name(&table).send().await.ok();
}
