//! The requests the adapter sends, in one place: limits AWS enforces (and moto does not)
//! are checked here before anything goes out, every request asks for its consumed
//! capacity (logged at debug level), and every SDK failure becomes a short
//! [`StoreError::Unavailable`].
//!
//! Checked limits: at most 100 items per `TransactWriteItems` and no item twice in one;
//! at most 25 writes per `BatchWriteItem` and 100 keys per `BatchGetItem` (larger sets are
//! split), no duplicate keys in a batch; items of at most 400 KB; key attributes (`PK`, `SK`, GSI keys) are
//! non-empty strings within DynamoDB's size limits.

use std::collections::{HashMap, HashSet};
use std::time::Duration;

use aws_sdk_dynamodb::operation::put_item::PutItemError;
use aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError;
use aws_sdk_dynamodb::operation::update_item::UpdateItemError;
use aws_sdk_dynamodb::types::{
    AttributeValue, ConditionCheck, ConsumedCapacity, Delete, DeleteRequest, KeysAndAttributes,
    Put, PutRequest, ReturnConsumedCapacity, ReturnValue, ReturnValuesOnConditionCheckFailure,
    TransactWriteItem, Update, WriteRequest,
};
use aws_sdk_dynamodb::Client;

use super::errors::{
    is_conditional_failure, unavailable, Cancellation, TxError, TRANSACTION_CANCELED,
};
use super::items::Item;
use super::keys::{GSI1PK, GSI1SK, GSI2PK, GSI2SK, MAX_PK_BYTES, MAX_SK_BYTES, PK, SK};
use crate::error::{StoreError, StoreResult};

/// DynamoDB's limit of items in one `TransactWriteItems`.
pub const MAX_TRANSACTION_ITEMS: usize = 100;
/// DynamoDB's limit of writes in one `BatchWriteItem`.
pub const MAX_BATCH_WRITE: usize = 25;
/// DynamoDB's limit of keys in one `BatchGetItem`.
pub const MAX_BATCH_GET: usize = 100;
/// How often unprocessed batch keys are retried before giving up.
const BATCH_RETRIES: u32 = 8;

/// Placeholders of one expression: `#names` and `:values`.
#[derive(Clone, Debug, Default)]
pub struct Expr {
    names: HashMap<String, String>,
    values: Item,
}

impl Expr {
    pub fn new() -> Self {
        Expr::default()
    }

    pub fn name(mut self, placeholder: &str, attribute: &str) -> Self {
        self.names
            .insert(placeholder.to_owned(), attribute.to_owned());
        self
    }

    pub fn value(mut self, placeholder: &str, value: AttributeValue) -> Self {
        self.values.insert(placeholder.to_owned(), value);
        self
    }

    /// DynamoDB rejects empty placeholder maps: absent instead.
    fn names(&self) -> Option<HashMap<String, String>> {
        (!self.names.is_empty()).then(|| self.names.clone())
    }

    fn values(&self) -> Option<Item> {
        (!self.values.is_empty()).then(|| self.values.clone())
    }
}

/// One write of a transaction.
#[derive(Clone, Debug)]
pub enum Write {
    Put {
        item: Item,
        condition: Option<String>,
        expr: Expr,
    },
    Update {
        key: Item,
        update: String,
        condition: Option<String>,
        expr: Expr,
    },
    Delete {
        key: Item,
    },
    Check {
        key: Item,
        condition: String,
        expr: Expr,
    },
}

impl Write {
    pub fn put(item: Item) -> Self {
        Write::Put {
            item,
            condition: None,
            expr: Expr::new(),
        }
    }

    pub fn put_if(item: Item, condition: &str, expr: Expr) -> Self {
        Write::Put {
            item,
            condition: Some(condition.to_owned()),
            expr,
        }
    }

    /// A put that creates: fails if the item exists.
    pub fn create(item: Item) -> Self {
        Write::put_if(item, "attribute_not_exists(PK)", Expr::new())
    }

    pub fn update(key: Item, update: &str, condition: Option<&str>, expr: Expr) -> Self {
        Write::Update {
            key,
            update: update.to_owned(),
            condition: condition.map(str::to_owned),
            expr,
        }
    }

    fn target(&self) -> &Item {
        match self {
            Write::Put { item, .. } => item,
            Write::Update { key, .. } | Write::Delete { key } | Write::Check { key, .. } => key,
        }
    }

    fn validate(&self) -> StoreResult<()> {
        match self {
            Write::Put { item, .. } => check_item(item),
            Write::Update { key, .. } | Write::Delete { key } | Write::Check { key, .. } => {
                check_item_keys(key)
            }
        }
    }

    fn into_transact(self, table: &str) -> StoreResult<TransactWriteItem> {
        let built = match self {
            Write::Put {
                item,
                condition,
                expr,
            } => TransactWriteItem::builder().put(
                Put::builder()
                    .table_name(table)
                    .set_item(Some(item))
                    .set_condition_expression(condition)
                    .set_expression_attribute_names(expr.names())
                    .set_expression_attribute_values(expr.values())
                    .return_values_on_condition_check_failure(
                        ReturnValuesOnConditionCheckFailure::AllOld,
                    )
                    .build()
                    .map_err(build_error)?,
            ),
            Write::Update {
                key,
                update,
                condition,
                expr,
            } => TransactWriteItem::builder().update(
                Update::builder()
                    .table_name(table)
                    .set_key(Some(key))
                    .update_expression(update)
                    .set_condition_expression(condition)
                    .set_expression_attribute_names(expr.names())
                    .set_expression_attribute_values(expr.values())
                    .return_values_on_condition_check_failure(
                        ReturnValuesOnConditionCheckFailure::AllOld,
                    )
                    .build()
                    .map_err(build_error)?,
            ),
            Write::Delete { key } => TransactWriteItem::builder().delete(
                Delete::builder()
                    .table_name(table)
                    .set_key(Some(key))
                    .build()
                    .map_err(build_error)?,
            ),
            Write::Check {
                key,
                condition,
                expr,
            } => TransactWriteItem::builder().condition_check(
                ConditionCheck::builder()
                    .table_name(table)
                    .set_key(Some(key))
                    .condition_expression(condition)
                    .set_expression_attribute_names(expr.names())
                    .set_expression_attribute_values(expr.values())
                    .return_values_on_condition_check_failure(
                        ReturnValuesOnConditionCheckFailure::AllOld,
                    )
                    .build()
                    .map_err(build_error)?,
            ),
        };
        Ok(built.build())
    }
}

/// The writes of one transaction, each with a label so a cancellation can be traced to
/// the condition that failed.
#[derive(Debug, Default)]
pub struct Tx {
    writes: Vec<(&'static str, Write)>,
}

impl Tx {
    pub fn new() -> Self {
        Tx::default()
    }

    pub fn push(&mut self, label: &'static str, write: Write) {
        self.writes.push((label, write));
    }

    pub fn len(&self) -> usize {
        self.writes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.writes.is_empty()
    }
}

/// An item's primary key as one string, to spot the same item twice in one request.
fn key_id(item: &Item) -> String {
    let text = |name: &str| match item.get(name) {
        Some(AttributeValue::S(s)) => s.as_str(),
        _ => "",
    };
    format!("{}\u{1f}{}", text(PK), text(SK))
}

fn build_error(e: aws_smithy_types::error::operation::BuildError) -> StoreError {
    StoreError::Unavailable(format!("DynamoDB request could not be built: {e}"))
}

/// Key attributes must be non-empty strings within DynamoDB's size limits (moto accepts
/// other types and sizes; AWS does not).
pub fn check_item_keys(item: &Item) -> StoreResult<()> {
    for (name, required, max) in [
        (PK, true, MAX_PK_BYTES),
        (SK, true, MAX_SK_BYTES),
        (GSI1PK, false, MAX_PK_BYTES),
        (GSI1SK, false, MAX_SK_BYTES),
        (GSI2PK, false, MAX_PK_BYTES),
        (GSI2SK, false, MAX_SK_BYTES),
    ] {
        match item.get(name) {
            None if !required => {}
            None => {
                return Err(StoreError::Invalid(format!(
                    "key attribute {name} is missing"
                )))
            }
            Some(AttributeValue::S(v)) if v.is_empty() => {
                return Err(StoreError::Invalid(format!(
                    "key attribute {name} is empty"
                )))
            }
            Some(AttributeValue::S(v)) if v.len() > max => {
                return Err(StoreError::Invalid(format!(
                    "key attribute {name} is {} bytes long; DynamoDB allows at most {max}",
                    v.len()
                )))
            }
            Some(AttributeValue::S(_)) => {}
            Some(_) => {
                return Err(StoreError::Invalid(format!(
                    "key attribute {name} must be a string"
                )))
            }
        }
    }
    Ok(())
}

/// DynamoDB's largest item, in bytes.
pub const MAX_ITEM_BYTES: usize = 400 * 1024;

/// An upper estimate of an item's size as DynamoDB counts it (names plus values).
pub fn item_size(item: &Item) -> usize {
    fn value(v: &AttributeValue) -> usize {
        match v {
            AttributeValue::S(s) => s.len(),
            AttributeValue::N(n) => n.len().div_ceil(2) + 1,
            AttributeValue::B(b) => b.as_ref().len(),
            AttributeValue::Ss(l) => l.iter().map(String::len).sum(),
            AttributeValue::Ns(l) => l.iter().map(|n| n.len().div_ceil(2) + 1).sum(),
            AttributeValue::Bs(l) => l.iter().map(|b| b.as_ref().len()).sum(),
            AttributeValue::L(l) => 3 + l.iter().map(|v| 1 + value(v)).sum::<usize>(),
            AttributeValue::M(m) => {
                3 + m.iter().map(|(k, v)| 1 + k.len() + value(v)).sum::<usize>()
            }
            _ => 1,
        }
    }
    item.iter().map(|(k, v)| k.len() + value(v)).sum()
}

/// An item to write must have valid keys and fit DynamoDB's item size limit.
pub fn check_item(item: &Item) -> StoreResult<()> {
    check_item_keys(item)?;
    let size = item_size(item);
    if size > MAX_ITEM_BYTES {
        return Err(StoreError::Invalid(format!(
            "an item of about {size} bytes exceeds DynamoDB's limit of {MAX_ITEM_BYTES}"
        )));
    }
    Ok(())
}

/// A `Query` request.
#[derive(Clone, Debug, Default)]
pub struct QuerySpec {
    pub index: Option<&'static str>,
    pub key_condition: String,
    pub filter: Option<String>,
    pub projection: Option<String>,
    pub expr: Expr,
    pub forward: bool,
    pub limit: Option<i32>,
    pub consistent: bool,
}

impl QuerySpec {
    /// Every item of one partition of the base table, strongly consistent, in key order.
    pub fn partition(pk: String) -> Self {
        QuerySpec {
            key_condition: "PK = :pk".to_owned(),
            expr: Expr::new().value(":pk", AttributeValue::S(pk)),
            forward: true,
            consistent: true,
            ..QuerySpec::default()
        }
    }
}

/// A failed single-item conditional write.
#[derive(Debug)]
pub enum WriteError {
    /// The condition failed; the item as it was (if any).
    Condition(Option<Item>),
    Store(StoreError),
}

impl From<StoreError> for WriteError {
    fn from(e: StoreError) -> Self {
        WriteError::Store(e)
    }
}

/// The table and the client that reaches it.
#[derive(Clone, Debug)]
pub struct Db {
    client: Client,
    table: String,
}

fn log_capacity(op: &'static str, table: &str, capacity: Option<&ConsumedCapacity>) {
    if let Some(c) = capacity {
        tracing::debug!(
            op,
            table,
            units = c.capacity_units(),
            "dynamodb consumed capacity"
        );
    }
}

fn log_capacities(op: &'static str, table: &str, capacity: &[ConsumedCapacity]) {
    if !capacity.is_empty() {
        let units: f64 = capacity.iter().filter_map(|c| c.capacity_units()).sum();
        tracing::debug!(op, table, units, "dynamodb consumed capacity");
    }
}

/// A short random pause before retrying after a conflict: up to 5 ms × 2^attempt, capped
/// at 200 ms, so writers that collided spread out.
pub async fn backoff(attempt: u32) {
    use std::hash::BuildHasher;
    let cap = 5u64.saturating_mul(1 << attempt.min(6)).min(200);
    let random = std::collections::hash_map::RandomState::new().hash_one(std::time::Instant::now());
    tokio::time::sleep(Duration::from_millis(1 + random % cap.max(1))).await;
}

impl Db {
    pub fn new(client: Client, table: String) -> Self {
        Db { client, table }
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    /// DescribeTable: free, allowed on the table alone, and served by the same endpoint as
    /// the data calls, so it opens the TLS connection they will reuse.
    pub async fn describe(&self) -> StoreResult<()> {
        self.client
            .describe_table()
            .table_name(&self.table)
            .send()
            .await
            .map_err(|e| unavailable("DescribeTable", &e))?;
        Ok(())
    }

    /// A strongly consistent GetItem.
    pub async fn get(&self, key: Item) -> StoreResult<Option<Item>> {
        check_item_keys(&key)?;
        let out = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(key))
            .consistent_read(true)
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await
            .map_err(|e| unavailable("GetItem", &e))?;
        log_capacity("GetItem", &self.table, out.consumed_capacity());
        Ok(out.item)
    }

    /// BatchGetItem in requests of at most 100 keys, retrying unprocessed keys. Duplicate
    /// keys are asked once. The order of the answer is unspecified.
    pub async fn batch_get(&self, keys: Vec<Item>, consistent: bool) -> StoreResult<Vec<Item>> {
        let mut seen = HashSet::new();
        let mut unique = Vec::with_capacity(keys.len());
        for key in keys {
            check_item_keys(&key)?;
            let id = key_id(&key);
            if seen.insert(id) {
                unique.push(key);
            }
        }
        let mut found = Vec::new();
        for chunk in unique.chunks(MAX_BATCH_GET) {
            let mut pending = chunk.to_vec();
            let mut attempt = 0;
            while !pending.is_empty() {
                let request = KeysAndAttributes::builder()
                    .set_keys(Some(std::mem::take(&mut pending)))
                    .consistent_read(consistent);
                let out = self
                    .client
                    .batch_get_item()
                    .request_items(&self.table, request.build().map_err(build_error)?)
                    .return_consumed_capacity(ReturnConsumedCapacity::Total)
                    .send()
                    .await
                    .map_err(|e| unavailable("BatchGetItem", &e))?;
                log_capacities("BatchGetItem", &self.table, out.consumed_capacity());
                if let Some(items) = out.responses().and_then(|r| r.get(&self.table)) {
                    found.extend(items.iter().cloned());
                }
                if let Some(unprocessed) = out.unprocessed_keys().and_then(|u| u.get(&self.table)) {
                    pending = unprocessed.keys().to_vec();
                }
                if !pending.is_empty() {
                    attempt += 1;
                    if attempt > BATCH_RETRIES {
                        return Err(StoreError::Unavailable(
                            "DynamoDB BatchGetItem: keys left unprocessed (throttled)".into(),
                        ));
                    }
                    backoff(attempt).await;
                }
            }
        }
        Ok(found)
    }

    /// BatchWriteItem in requests of at most 25 writes, retrying unprocessed ones.
    pub async fn batch_write(&self, puts: Vec<Item>, deletes: Vec<Item>) -> StoreResult<()> {
        let mut seen = HashSet::new();
        let mut requests = Vec::with_capacity(puts.len() + deletes.len());
        for item in puts {
            check_item(&item)?;
            if seen.insert(key_id(&item)) {
                requests.push(
                    WriteRequest::builder()
                        .put_request(
                            PutRequest::builder()
                                .set_item(Some(item))
                                .build()
                                .map_err(build_error)?,
                        )
                        .build(),
                );
            }
        }
        for key in deletes {
            check_item_keys(&key)?;
            if seen.insert(key_id(&key)) {
                requests.push(
                    WriteRequest::builder()
                        .delete_request(
                            DeleteRequest::builder()
                                .set_key(Some(key))
                                .build()
                                .map_err(build_error)?,
                        )
                        .build(),
                );
            }
        }
        for chunk in requests.chunks(MAX_BATCH_WRITE) {
            let mut pending = chunk.to_vec();
            let mut attempt = 0;
            while !pending.is_empty() {
                let out = self
                    .client
                    .batch_write_item()
                    .request_items(&self.table, std::mem::take(&mut pending))
                    .return_consumed_capacity(ReturnConsumedCapacity::Total)
                    .send()
                    .await
                    .map_err(|e| unavailable("BatchWriteItem", &e))?;
                log_capacities("BatchWriteItem", &self.table, out.consumed_capacity());
                if let Some(left) = out.unprocessed_items().and_then(|u| u.get(&self.table)) {
                    pending = left.clone();
                }
                if !pending.is_empty() {
                    attempt += 1;
                    if attempt > BATCH_RETRIES {
                        return Err(StoreError::Unavailable(
                            "DynamoDB BatchWriteItem: writes left unprocessed (throttled)".into(),
                        ));
                    }
                    backoff(attempt).await;
                }
            }
        }
        Ok(())
    }

    /// One page of a Query.
    pub async fn query_page(
        &self,
        spec: &QuerySpec,
        start: Option<Item>,
    ) -> StoreResult<(Vec<Item>, Option<Item>)> {
        let out = self
            .client
            .query()
            .table_name(&self.table)
            .set_index_name(spec.index.map(str::to_owned))
            .key_condition_expression(&spec.key_condition)
            .set_filter_expression(spec.filter.clone())
            .set_projection_expression(spec.projection.clone())
            .set_expression_attribute_names(spec.expr.names())
            .set_expression_attribute_values(spec.expr.values())
            .scan_index_forward(spec.forward)
            .set_limit(spec.limit)
            .set_exclusive_start_key(start)
            .consistent_read(spec.consistent && spec.index.is_none())
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await
            .map_err(|e| unavailable("Query", &e))?;
        log_capacity("Query", &self.table, out.consumed_capacity());
        Ok((out.items.unwrap_or_default(), out.last_evaluated_key))
    }

    /// Every item a Query returns, following pages, stopping once `cap` items are in hand.
    pub async fn query_all(&self, spec: &QuerySpec, cap: usize) -> StoreResult<Vec<Item>> {
        let mut out = Vec::new();
        let mut start = None;
        loop {
            let (items, next) = self.query_page(spec, start).await?;
            out.extend(items);
            match next {
                Some(key) if out.len() < cap => start = Some(key),
                _ => return Ok(out),
            }
        }
    }

    /// A conditional UpdateItem returning the item as written (`ALL_NEW`); a failed
    /// condition returns the item as it was.
    pub async fn update(
        &self,
        key: Item,
        update: &str,
        condition: Option<&str>,
        expr: Expr,
    ) -> Result<Item, WriteError> {
        check_item_keys(&key)?;
        let out = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(key))
            .update_expression(update)
            .set_condition_expression(condition.map(str::to_owned))
            .set_expression_attribute_names(expr.names())
            .set_expression_attribute_values(expr.values())
            .return_values(ReturnValue::AllNew)
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await;
        match out {
            Ok(out) => {
                log_capacity("UpdateItem", &self.table, out.consumed_capacity());
                Ok(out.attributes.unwrap_or_default())
            }
            Err(e) if is_conditional_failure(&e) => {
                let old = match e.as_service_error() {
                    Some(UpdateItemError::ConditionalCheckFailedException(c)) => c.item().cloned(),
                    _ => None,
                };
                Err(WriteError::Condition(old))
            }
            Err(e) => Err(WriteError::Store(unavailable("UpdateItem", &e))),
        }
    }

    /// A conditional PutItem; a failed condition returns the item as it was.
    pub async fn put(
        &self,
        item: Item,
        condition: Option<&str>,
        expr: Expr,
    ) -> Result<(), WriteError> {
        check_item_keys(&item)?;
        let out = self
            .client
            .put_item()
            .table_name(&self.table)
            .set_item(Some(item))
            .set_condition_expression(condition.map(str::to_owned))
            .set_expression_attribute_names(expr.names())
            .set_expression_attribute_values(expr.values())
            .return_values_on_condition_check_failure(ReturnValuesOnConditionCheckFailure::AllOld)
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await;
        match out {
            Ok(out) => {
                log_capacity("PutItem", &self.table, out.consumed_capacity());
                Ok(())
            }
            Err(e) if is_conditional_failure(&e) => {
                let old = match e.as_service_error() {
                    Some(PutItemError::ConditionalCheckFailedException(c)) => c.item().cloned(),
                    _ => None,
                };
                Err(WriteError::Condition(old))
            }
            Err(e) => Err(WriteError::Store(unavailable("PutItem", &e))),
        }
    }

    /// One TransactWriteItems. A cancellation comes back with one reason per write.
    pub async fn transact(&self, tx: &Tx) -> Result<(), TxError> {
        if tx.is_empty() {
            return Ok(());
        }
        if tx.len() > MAX_TRANSACTION_ITEMS {
            return Err(TxError::Store(StoreError::Invalid(format!(
                "a transaction of {} items exceeds DynamoDB's limit of {MAX_TRANSACTION_ITEMS}",
                tx.len()
            ))));
        }
        let mut seen = HashSet::new();
        let mut items = Vec::with_capacity(tx.len());
        for (label, write) in &tx.writes {
            write.validate()?;
            if !seen.insert(key_id(write.target())) {
                return Err(TxError::Store(StoreError::Invalid(format!(
                    "a transaction may not touch one item twice ({label})"
                ))));
            }
            items.push(write.clone().into_transact(&self.table)?);
        }
        let out = self
            .client
            .transact_write_items()
            .set_transact_items(Some(items))
            .return_consumed_capacity(ReturnConsumedCapacity::Total)
            .send()
            .await;
        match out {
            Ok(out) => {
                log_capacities("TransactWriteItems", &self.table, out.consumed_capacity());
                Ok(())
            }
            Err(e) => {
                if let Some(TransactWriteItemsError::TransactionCanceledException(cancelled)) =
                    e.as_service_error()
                {
                    let reasons: Vec<Cancellation> = tx
                        .writes
                        .iter()
                        .zip(cancelled.cancellation_reasons())
                        .map(|((label, _), r)| Cancellation::from_reason(label, r))
                        .collect();
                    let failed: Vec<(&str, Option<&str>)> = reasons
                        .iter()
                        .filter(|r| r.code.as_deref().is_some_and(|c| c != "None"))
                        .map(|r| (r.label, r.code.as_deref()))
                        .collect();
                    tracing::debug!(?failed, "{TRANSACTION_CANCELED}");
                    return Err(TxError::Cancelled(reasons));
                }
                Err(TxError::Store(unavailable("TransactWriteItems", &e)))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dynamo::items::{key, s, ItemBuilder};

    #[test]
    fn key_attributes_must_be_non_empty_strings_within_limits() {
        assert!(check_item_keys(&key("p", "s")).is_ok());
        assert!(check_item_keys(&key("", "s")).is_err());
        assert!(check_item_keys(&key("p".repeat(MAX_PK_BYTES + 1), "s")).is_err());
        assert!(check_item_keys(&key("p", "s".repeat(MAX_SK_BYTES + 1))).is_err());
        let numeric = ItemBuilder::new("p", "s")
            .set(GSI1SK, AttributeValue::N("1".into()))
            .build();
        assert!(
            matches!(check_item_keys(&numeric), Err(StoreError::Invalid(m)) if m.contains(GSI1SK))
        );
        let ok = ItemBuilder::new("p", "s").set(GSI2PK, s("x")).build();
        assert!(check_item_keys(&ok).is_ok());
        let big = ItemBuilder::new("p", "s")
            .set("body", s("x".repeat(MAX_ITEM_BYTES)))
            .build();
        assert!(matches!(check_item(&big), Err(StoreError::Invalid(m)) if m.contains("exceeds")));
    }
}
