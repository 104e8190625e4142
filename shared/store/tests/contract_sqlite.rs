//! The store contract, on the embedded SQLite adapter (a fresh database file per test).

#[macro_use]
mod contract;

use std::sync::Arc;

use contract::fixtures::{Harness, Scratch};
use replyline_store::sqlite::SqliteStore;
use replyline_store::Faults;

async fn sqlite() -> Harness {
    let faults = Faults::default();
    let dir = std::env::temp_dir().join(format!(
        "replyline-contract-{}-{}",
        std::process::id(),
        replyline_domain::MessageId::generate(replyline_domain::Timestamp::EPOCH)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let store = SqliteStore::open(&dir.join("store.db"), faults.clone()).unwrap();
    Harness {
        store: Arc::new(store),
        faults,
        scratch: Some(Scratch(dir)),
    }
}

contract_suite!(sqlite);
