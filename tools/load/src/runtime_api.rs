//! A minimal Lambda Runtime API on 127.0.0.1: what Lambda speaks to a `provided.al2023`
//! bootstrap (long-poll `next`, post `response` or `error`), enough to run the real
//! function binaries locally, measure their init, and read what they answer.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use axum::Router;
use serde_json::Value;
use tokio::sync::Notify;

/// One emulated Runtime API: events to hand out, answers received.
#[derive(Clone, Debug, Default)]
pub struct RuntimeApi {
    events: Arc<Mutex<VecDeque<(String, Value)>>>,
    responses: Arc<Mutex<Vec<(String, Value)>>>,
    errors: Arc<Mutex<Vec<String>>>,
    first_next: Arc<Mutex<Option<Instant>>>,
    answered: Arc<Notify>,
}

impl RuntimeApi {
    /// Serves the API on an ephemeral 127.0.0.1 port; returns its address
    /// (`AWS_LAMBDA_RUNTIME_API`).
    pub async fn start(&self) -> std::io::Result<SocketAddr> {
        let app = Router::new()
            .route("/2018-06-01/runtime/invocation/next", get(next))
            .route(
                "/2018-06-01/runtime/invocation/{id}/response",
                post(response),
            )
            .route("/2018-06-01/runtime/invocation/{id}/error", post(error))
            .route("/2018-06-01/runtime/init/error", post(error))
            .with_state(self.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        let addr = listener.local_addr()?;
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Ok(addr)
    }

    /// Queues an invocation.
    pub fn invoke(&self, request_id: &str, event: Value) {
        if let Ok(mut q) = self.events.lock() {
            q.push_back((request_id.to_owned(), event));
        }
    }

    /// Waits until a response or an error arrives (or `timeout` passes); true if one did.
    pub async fn wait_answer(&self, timeout: Duration) -> bool {
        tokio::time::timeout(timeout, self.answered.notified())
            .await
            .is_ok()
    }

    /// When the function first asked for work: the end of its init.
    pub fn first_next(&self) -> Option<Instant> {
        self.first_next.lock().ok().and_then(|t| *t)
    }

    /// (request id, response body as JSON, or as a string when it is not JSON).
    pub fn responses(&self) -> Vec<(String, Value)> {
        self.responses.lock().map(|r| r.clone()).unwrap_or_default()
    }

    /// Error bodies posted to `/error` (invocation or init).
    pub fn errors(&self) -> Vec<String> {
        self.errors.lock().map(|e| e.clone()).unwrap_or_default()
    }
}

async fn next(State(rt): State<RuntimeApi>) -> (StatusCode, HeaderMap, String) {
    if let Ok(mut first) = rt.first_next.lock() {
        first.get_or_insert_with(Instant::now);
    }
    loop {
        let event = rt.events.lock().ok().and_then(|mut q| q.pop_front());
        if let Some((id, body)) = event {
            let deadline = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_millis() + 10_000)
                .unwrap_or_default();
            let mut headers = HeaderMap::new();
            let pairs = [
                ("lambda-runtime-aws-request-id", id),
                ("lambda-runtime-deadline-ms", deadline.to_string()),
                (
                    "lambda-runtime-invoked-function-arn",
                    "arn:aws:lambda:us-east-1:123456789012:function:replyline".to_owned(),
                ),
                (
                    "lambda-runtime-trace-id",
                    "Root=1-5759e988-bd862e3fe1be46a994272793;Sampled=1".to_owned(),
                ),
            ];
            for (name, value) in pairs {
                if let Ok(v) = value.parse() {
                    headers.insert(name, v);
                }
            }
            return (StatusCode::OK, headers, body.to_string());
        }
        // Long poll, as Lambda does between invocations.
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

async fn response(
    State(rt): State<RuntimeApi>,
    Path(id): Path<String>,
    body: String,
) -> StatusCode {
    let value = serde_json::from_str(&body).unwrap_or(Value::String(body));
    if let Ok(mut r) = rt.responses.lock() {
        r.push((id, value));
    }
    rt.answered.notify_one();
    StatusCode::ACCEPTED
}

async fn error(State(rt): State<RuntimeApi>, body: String) -> StatusCode {
    if let Ok(mut e) = rt.errors.lock() {
        e.push(body);
    }
    rt.answered.notify_one();
    StatusCode::ACCEPTED
}

/// The environment Lambda gives a function (the function's own variables come on top).
pub fn lambda_environment(api: SocketAddr, function: &str) -> Vec<(String, String)> {
    [
        ("AWS_LAMBDA_RUNTIME_API", api.to_string()),
        ("AWS_LAMBDA_FUNCTION_NAME", function.to_owned()),
        ("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256".to_owned()),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".to_owned()),
        (
            "AWS_LAMBDA_LOG_STREAM_NAME",
            "2026/11/25/[$LATEST]local".to_owned(),
        ),
        (
            "AWS_LAMBDA_LOG_GROUP_NAME",
            format!("/aws/lambda/{function}"),
        ),
        ("AWS_LAMBDA_LOG_FORMAT", "JSON".to_owned()),
        ("AWS_LAMBDA_LOG_LEVEL", "INFO".to_owned()),
        ("AWS_REGION", "us-east-1".to_owned()),
        ("AWS_ACCESS_KEY_ID", "test".to_owned()),
        ("AWS_SECRET_ACCESS_KEY", "test".to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

/// The peak resident set of a running process (`VmHWM`), in KiB (Linux).
pub fn peak_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}
