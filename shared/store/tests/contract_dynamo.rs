//! The store contract, on the DynamoDB adapter (a fresh moto table per test).
//!
//! Needs moto: `scripts/moto.sh start` and
//! `export REPLYLINE_DYNAMODB_ENDPOINT=http://127.0.0.1:5055`.

#[macro_use]
mod contract;
mod dynamo_support;

use std::sync::Arc;

use contract::fixtures::Harness;

async fn dynamo() -> Harness {
    let (store, faults, _, _) = dynamo_support::fresh_store("contract").await;
    Harness {
        store: Arc::new(store),
        faults,
        scratch: None,
    }
}

contract_suite!(dynamo);
