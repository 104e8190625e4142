//! `replyline-load coldstart`: each Lambda function binary started under a local Runtime
//! API, as Lambda starts it: the time from process start to its first `next` (init), the
//! time to answer one event, and the peak resident memory. The store is SQLite in a
//! temporary directory, so no network call is in the figures (in AWS, init adds the
//! Secrets Manager read and one DynamoDB warm-up call).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use replyline_load::runtime_api::{lambda_environment, peak_rss_kib, RuntimeApi};
use serde_json::{json, Value};

const FUNCTIONS: [&str; 5] = ["webhook", "inbox", "send", "conversation", "email-inbound"];
const CONTACT: &str = "01KAW0000000000000000000AA";

fn http_event(method: &str, path: &str, body: Option<Value>, headers: Value) -> Value {
    json!({
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": "",
        "headers": headers,
        "requestContext": {
            "accountId": "123456789012", "apiId": "local",
            "domainName": "local.execute-api.us-east-1.amazonaws.com", "domainPrefix": "local",
            "authorizer": {"jwt": {"claims": {"sub": "alice"}, "scopes": null}},
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1",
                     "sourceIp": "192.0.2.1", "userAgent": "coldstart"},
            "requestId": "api", "routeKey": "$default", "stage": "$default",
            "time": "25/Nov/2026:12:00:00 +0000", "timeEpoch": 1_795_608_000_000_i64
        },
        "isBase64Encoded": false,
        "body": body.map(|b| b.to_string())
    })
}

/// One representative event per function.
fn event(function: &str) -> Value {
    let json_headers = json!({"content-type": "application/json"});
    match function {
        "webhook" => http_event(
            "POST",
            "/webhooks/tg",
            Some(
                json!({"update_id": 1, "message": {"message_id": 1, "date": 1_795_608_000,
                "text": "hola", "chat": {"id": 5, "type": "private", "first_name": "Ana"},
                "from": {"id": 5, "is_bot": false, "first_name": "Ana"}}}),
            ),
            json!({"content-type": "application/json", "x-telegram-bot-api-secret-token": "cold-secret"}),
        ),
        "inbox" => http_event("GET", "/v1/channels", None, json!({})),
        "send" => http_event(
            "POST",
            &format!("/v1/contacts/{CONTACT}/messages"),
            Some(json!({"channel": "tg", "text": "hi"})),
            json_headers,
        ),
        "conversation" => http_event(
            "POST",
            &format!("/v1/contacts/{CONTACT}/close"),
            None,
            json!({}),
        ),
        _ => json!({"Records": [{"EventSource": "aws:sns", "EventVersion": "1.0",
            "EventSubscriptionArn": "arn:aws:sns:us-east-1:123456789012:mail:1",
            "Sns": {"Type": "Notification", "MessageId": "m1",
                "TopicArn": "arn:aws:sns:us-east-1:123456789012:mail", "Subject": null,
                "Message": "not a notification", "Timestamp": "2026-11-25T12:00:00.000Z",
                "SignatureVersion": "1", "Signature": "x", "SigningCertUrl": "https://x",
                "UnsubscribeUrl": "https://x", "MessageAttributes": {}}}]}),
    }
}

fn config(dir: &Path) -> Result<PathBuf, String> {
    let path = dir.join("coldstart.toml");
    let text = format!(
        r#"[store]
kind = "sqlite"
path = "{}"

[[channels]]
id = "tg"
kind = "telegram"
bot_token = "1:cold"
secret_token = "cold-secret"

[[channels]]
id = "email"
kind = "email"
from = "support@example.com"
"#,
        dir.join("store.db").display()
    );
    std::fs::write(&path, text).map_err(|e| e.to_string())?;
    Ok(path)
}

struct Run {
    init: Duration,
    first_answer: Duration,
    peak_kib: u64,
}

async fn run_once(binary: &Path, function: &str, config: &Path) -> Result<Run, String> {
    let api = RuntimeApi::default();
    api.invoke("cold-1", event(function));
    let addr = api.start().await.map_err(|e| e.to_string())?;
    let started = Instant::now();
    let mut child = Command::new(binary)
        .env_clear()
        .envs(lambda_environment(addr, &format!("replyline-{function}")))
        .env("REPLYLINE_CONFIG", config)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", binary.display()))?;
    let answered = api.wait_answer(Duration::from_secs(30)).await;
    let answered_at = Instant::now();
    let peak = peak_rss_kib(child.id()).unwrap_or(0);
    let _ = child.kill();
    let _ = child.wait();
    if !answered {
        return Err(format!("{function}: no answer within 30 s"));
    }
    if let Some(e) = api.errors().first() {
        return Err(format!("{function}: the function reported an error: {e}"));
    }
    let init = api
        .first_next()
        .ok_or("the function never asked for work")?
        .duration_since(started);
    Ok(Run {
        init,
        first_answer: answered_at.duration_since(started),
        peak_kib: peak,
    })
}

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn p90(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[(v.len() * 9 / 10).min(v.len() - 1)]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// Runs every function `runs` times (after one unmeasured run that creates the store)
/// and prints a table.
pub async fn coldstart(bin_dir: &Path, runs: usize) -> Result<(), String> {
    let dir = std::env::temp_dir().join(format!("replyline-coldstart-{}", std::process::id()));
    std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
    let config = config(&dir)?;
    // Baseline in the same run: the cost of starting a process at all (`true`).
    let mut baseline = Vec::new();
    for _ in 0..runs {
        let t = Instant::now();
        Command::new("true")
            .status()
            .map_err(|e| format!("cannot run `true`: {e}"))?;
        baseline.push(t.elapsed());
    }
    let base = median(baseline);
    println!(
        "\n{runs} cold starts per function (+1 unmeasured), SQLite store, binaries from {}\n",
        bin_dir.display()
    );
    println!("| function | bootstrap size | init median | init p90 | first answer median | peak RSS | init / process spawn |");
    println!("|---|---|---|---|---|---|---|");
    for function in FUNCTIONS {
        let binary = bin_dir.join(format!("replyline-{function}"));
        if !binary.exists() {
            return Err(format!(
                "{} not found: cargo build --release -p replyline-{function}",
                binary.display()
            ));
        }
        run_once(&binary, function, &config).await?;
        let mut inits = Vec::new();
        let mut answers = Vec::new();
        let mut peak = 0;
        for _ in 0..runs {
            let r = run_once(&binary, function, &config).await?;
            inits.push(r.init);
            answers.push(r.first_answer);
            peak = peak.max(r.peak_kib);
        }
        let size = std::fs::metadata(&binary).map(|m| m.len()).unwrap_or(0);
        let init = median(inits.clone());
        println!(
            "| replyline-{function} | {:.1} MiB | {:.1} ms | {:.1} ms | {:.1} ms | {:.1} MiB | {:.1}× |",
            size as f64 / 1_048_576.0,
            ms(init),
            ms(p90(inits)),
            ms(median(answers)),
            peak as f64 / 1024.0,
            init.as_secs_f64() / base.as_secs_f64()
        );
    }
    println!(
        "\nBaseline: spawning `true` and waiting for it, median {:.2} ms.",
        ms(base)
    );
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
