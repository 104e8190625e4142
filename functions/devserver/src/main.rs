//! `replyline-devserver --config config/dev.toml`: the whole API on 127.0.0.1, on the
//! embedded SQLite store (or DynamoDB, if the configuration says so and the AWS
//! environment points somewhere). Prints its URL once it listens.

mod sandbox;

use std::process::ExitCode;
use std::sync::Arc;

use replyline_api::{AppState, Auth};
use replyline_config::{Config, StoreConfig};
use replyline_domain::SystemClock;
use replyline_store::dynamo::{client_config, create_table, local_client, DynamoStore};
use replyline_store::sqlite::SqliteStore;
use replyline_store::{Faults, Store};

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("RUST_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("replyline-devserver: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let path = Config::path_from(&args, std::env::var("REPLYLINE_CONFIG").ok())
        .map_err(|e| e.to_string())?;
    let config = Config::load(&path).map_err(|e| e.to_string())?;
    let store: Arc<dyn Store> = match &config.store {
        StoreConfig::Sqlite { path } => {
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir)
                    .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
            }
            Arc::new(SqliteStore::open(path, Faults::default()).map_err(|e| e.to_string())?)
        }
        StoreConfig::Dynamodb { table, tenant } => Arc::new(dynamo_store(table, tenant).await?),
    };
    let http = replyline_channels::http_client().map_err(|e| e.to_string())?;
    let listen = config.server.listen;
    let state = AppState::new(config, store, http, Arc::new(SystemClock), Auth::DevTokens);
    let listener = tokio::net::TcpListener::bind(listen)
        .await
        .map_err(|e| format!("cannot listen on {listen}: {e}"))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    // Tests read this line to find the port when the configuration asks for port 0.
    println!("Replyline dev server listening on http://{addr}");
    // The sandbox routes come first: the API's fallback answers everything else.
    // `/_ping` is a trivial handler on the same stack: readiness checks, and the ceiling
    // the load tool measures the real routes against.
    let app = sandbox::router()
        .route("/_ping", axum::routing::get(|| async { "ok" }))
        .merge(replyline_api::all(state));
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
        .map_err(|e| e.to_string())
}

/// DynamoDB for the dev server: a local endpoint (moto) when `REPLYLINE_DYNAMODB_ENDPOINT`
/// is set, with the table created if missing; otherwise the AWS environment's, where the
/// table must already exist (the SAM template creates it).
async fn dynamo_store(table: &str, tenant: &str) -> Result<DynamoStore, String> {
    let client = match std::env::var("REPLYLINE_DYNAMODB_ENDPOINT") {
        Ok(endpoint) if !endpoint.is_empty() => {
            let client = local_client(&endpoint);
            let exists = client
                .describe_table()
                .table_name(table)
                .send()
                .await
                .is_ok();
            if !exists {
                create_table(&client, table)
                    .await
                    .map_err(|e| e.to_string())?;
            }
            client
        }
        _ => {
            let sdk = aws_config::load_defaults(aws_config::BehaviorVersion::latest()).await;
            aws_sdk_dynamodb::Client::from_conf(client_config(
                aws_sdk_dynamodb::config::Builder::from(&sdk),
            ))
        }
    };
    Ok(DynamoStore::new(client, table, tenant, Faults::default()))
}
