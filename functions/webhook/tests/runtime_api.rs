//! The real `replyline-webhook` binary under a minimal Lambda Runtime API (the protocol
//! Lambda speaks to a `provided.al2023` bootstrap: long-poll `next`, post `response`),
//! configured the way `template.yaml` configures it: the table from `REPLYLINE_TABLE`
//! (DynamoDB on moto, warmed at init), the document without `[store]`.
//!
//! It checks what only a whole process shows: init reads the configuration once and warms
//! the table, the invocation is answered, every log line is JSON, the lines written while
//! handling the event carry the Lambda request id (and the channel and contact), and no
//! secret and no message text reaches the logs at info level. It prints the init time
//! and peak memory (measured, not asserted; BENCHMARKS.md has release figures).
//!
//! Needs moto: `./scripts/test.sh` starts it and sets `REPLYLINE_DYNAMODB_ENDPOINT`.

use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use replyline_load::runtime_api::{lambda_environment, peak_rss_kib, RuntimeApi};
use serde_json::{json, Value};

const BOT_TOKEN: &str = "42:BOT-TOKEN-must-not-be-logged";
const SECRET_TOKEN: &str = "SECRET-TOKEN-must-not-be-logged";
const MESSAGE_TEXT: &str = "MESSAGE-TEXT-must-not-be-logged";
const REQUEST_ID: &str = "8f5c3e2a-0c1d-4c55-9d1e-3b1f7a9c0001";

fn telegram_event() -> Value {
    let update = json!({
        "update_id": 9001,
        "message": {
            "message_id": 1, "date": 1_795_608_000, "text": MESSAGE_TEXT,
            "chat": {"id": 7001, "type": "private", "first_name": "Ana", "last_name": "Pérez"},
            "from": {"id": 7001, "is_bot": false, "first_name": "Ana", "last_name": "Pérez"}
        }
    });
    json!({
        "version": "2.0",
        "routeKey": "POST /webhooks/{channel_id}",
        "rawPath": "/webhooks/tg",
        "rawQueryString": "",
        "headers": {
            "content-type": "application/json",
            "host": "abc123.execute-api.us-east-1.amazonaws.com",
            "x-telegram-bot-api-secret-token": SECRET_TOKEN
        },
        "pathParameters": {"channel_id": "tg"},
        "requestContext": {
            "accountId": "123456789012", "apiId": "abc123",
            "domainName": "abc123.execute-api.us-east-1.amazonaws.com", "domainPrefix": "abc123",
            "http": {"method": "POST", "path": "/webhooks/tg", "protocol": "HTTP/1.1",
                     "sourceIp": "192.0.2.1", "userAgent": "TelegramBot"},
            "requestId": "api-req-1", "routeKey": "POST /webhooks/{channel_id}", "stage": "$default",
            "time": "25/Nov/2026:12:00:00 +0000", "timeEpoch": 1_795_608_000_000_i64
        },
        "isBase64Encoded": false,
        "body": update.to_string()
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_bootstrap_serves_one_webhook_with_request_ids_in_its_logs_and_no_secrets() {
    let endpoint = std::env::var("REPLYLINE_DYNAMODB_ENDPOINT")
        .expect("REPLYLINE_DYNAMODB_ENDPOINT is not set: run ./scripts/test.sh (it starts moto)");
    let table = format!(
        "runtime-api-{}",
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos()
    );
    let client = replyline_store::dynamo::local_client(&endpoint);
    replyline_store::dynamo::create_table(&client, &table)
        .await
        .unwrap();

    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("replyline.toml");
    std::fs::write(
        &config,
        format!(
            "[[channels]]\nid = \"tg\"\nkind = \"telegram\"\nbot_token = \"{BOT_TOKEN}\"\nsecret_token = \"{SECRET_TOKEN}\"\n"
        ),
    )
    .unwrap();

    let rt = RuntimeApi::default();
    rt.invoke(REQUEST_ID, telegram_event());
    let addr = rt.start().await.unwrap();

    let started = Instant::now();
    let mut child = Command::new(env!("CARGO_BIN_EXE_replyline-webhook"))
        .env_clear()
        .env("PATH", std::env::var("PATH").unwrap_or_default())
        .envs(lambda_environment(addr, "replyline-webhook"))
        .env("AWS_ENDPOINT_URL_DYNAMODB", &endpoint)
        .env("REPLYLINE_CONFIG", &config)
        .env("REPLYLINE_TABLE", &table)
        .env("REPLYLINE_PUBLIC_URL", "")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the webhook binary starts");

    let answered = rt.wait_answer(Duration::from_secs(60)).await;
    let peak = peak_rss_kib(child.id());
    child.kill().ok();
    let _ = child.wait();
    let mut stdout = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut stdout)
        .unwrap();
    let mut stderr = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    assert!(
        answered,
        "no answer within 60 s\nstdout:\n{stdout}\nstderr:\n{stderr}"
    );
    assert!(
        rt.errors().is_empty(),
        "errors: {:?}\n{stdout}",
        rt.errors()
    );

    let init = rt.first_next().map(|t| t.duration_since(started));
    eprintln!(
        "replyline-webhook (debug build): process start to first `next` {:?}; peak RSS {} KiB",
        init,
        peak.map_or("?".to_owned(), |k| k.to_string())
    );

    let responses = rt.responses();
    assert_eq!(responses.len(), 1);
    assert_eq!(responses[0].0, REQUEST_ID);
    assert_eq!(responses[0].1["statusCode"], 200, "{}", responses[0].1);

    let lines: Vec<Value> = stdout
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    assert!(
        lines
            .iter()
            .any(|l| l["fields"]["message"] == "initialised"),
        "init logs that it is ready:\n{stdout}"
    );
    let recorded: Vec<&Value> = lines
        .iter()
        .filter(|l| l["fields"]["message"] == "inbound recorded")
        .collect();
    assert_eq!(recorded.len(), 1, "{stdout}");
    let spans = recorded[0]["spans"]
        .as_array()
        .expect("the line lists its spans");
    assert!(
        spans.iter().any(|s| s["requestId"] == REQUEST_ID),
        "the Lambda request id is on the line: {}",
        recorded[0]
    );
    assert!(
        spans
            .iter()
            .any(|s| s["channel"] == "tg" && s["route"] == "/webhooks/{channel_id}"),
        "the route and channel are on the line: {}",
        recorded[0]
    );
    assert!(
        recorded[0]["fields"]["contact"].is_string(),
        "the contact id is on the line: {}",
        recorded[0]
    );
    for secret in [BOT_TOKEN, SECRET_TOKEN, MESSAGE_TEXT] {
        assert!(
            !stdout.contains(secret) && !stderr.contains(secret),
            "{secret} reached the logs:\n{stdout}\n{stderr}"
        );
    }
}
