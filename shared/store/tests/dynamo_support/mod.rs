//! What the DynamoDB tests share: the moto endpoint, a fresh table per test, a store on it.
//!
//! The tests need a DynamoDB endpoint (moto): run `scripts/moto.sh start` and export
//! `REPLYLINE_DYNAMODB_ENDPOINT=http://127.0.0.1:5055`. Without it they fail, on purpose:
//! a skipped adapter is an untested adapter.

#![allow(dead_code)]

use aws_sdk_dynamodb::Client;
use replyline_domain::{MessageId, Timestamp};
use replyline_store::dynamo::{create_table, local_client, DynamoStore};
use replyline_store::Faults;

pub const ENDPOINT_VAR: &str = "REPLYLINE_DYNAMODB_ENDPOINT";

/// The moto endpoint, or a failure saying how to start it.
pub fn endpoint() -> String {
    match std::env::var(ENDPOINT_VAR) {
        Ok(e) if !e.trim().is_empty() => e,
        _ => panic!(
            "{ENDPOINT_VAR} is not set. The DynamoDB tests need a local endpoint: run \
             `scripts/moto.sh start`, then `export {ENDPOINT_VAR}=http://127.0.0.1:5055`"
        ),
    }
}

/// A table name no other test uses.
pub fn unique_table(prefix: &str) -> String {
    format!(
        "{prefix}-{}-{}",
        std::process::id(),
        MessageId::generate(Timestamp::EPOCH)
            .as_str()
            .to_ascii_lowercase()
    )
}

/// A fresh table on `client`.
pub async fn fresh_table(client: &Client, prefix: &str) -> String {
    let table = unique_table(prefix);
    create_table(client, &table)
        .await
        .unwrap_or_else(|e| panic!("cannot create table {table} at {}: {e}", endpoint()));
    table
}

/// A store on a fresh table, with its fault switches.
pub async fn fresh_store(prefix: &str) -> (DynamoStore, Faults, Client, String) {
    let client = local_client(&endpoint());
    let table = fresh_table(&client, prefix).await;
    let faults = Faults::default();
    let store = DynamoStore::new(client.clone(), table.clone(), "t1", faults.clone());
    (store, faults, client, table)
}
