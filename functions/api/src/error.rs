//! Every error answer: `{"error":{"code","message",...}}` with a fitting status. Codes are
//! stable; messages are sentences for people; nothing internal leaks.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use replyline_store::StoreError;
use serde_json::{json, Value};

/// An error answer.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
    /// More fields inside `error` (e.g. the reply status of a refused send).
    pub extra: Option<serde_json::Map<String, Value>>,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        ApiError {
            status,
            code,
            message: message.into(),
            extra: None,
        }
    }
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", message)
    }
    pub fn unauthorized(message: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthorized", message)
    }
    pub fn with(mut self, key: &str, value: Value) -> Self {
        self.extra
            .get_or_insert_with(serde_json::Map::new)
            .insert(key.to_owned(), value);
        self
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut error = serde_json::Map::new();
        error.insert("code".into(), json!(self.code));
        error.insert("message".into(), json!(self.message));
        if let Some(extra) = self.extra {
            error.extend(extra);
        }
        (self.status, Json(json!({ "error": error }))).into_response()
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        let status = match &e {
            StoreError::NotFound { .. } => StatusCode::NOT_FOUND,
            StoreError::Blocked(_) | StoreError::NoOpenConversation(_) => StatusCode::CONFLICT,
            StoreError::Conflict { .. } | StoreError::NotPending { .. } => StatusCode::CONFLICT,
            StoreError::IdempotencyMismatch(_) => StatusCode::UNPROCESSABLE_ENTITY,
            StoreError::NotOnChannel { .. } | StoreError::Invalid(_) => {
                StatusCode::UNPROCESSABLE_ENTITY
            }
            StoreError::InvalidCursor(_) => StatusCode::BAD_REQUEST,
            StoreError::Refused(_) => StatusCode::CONFLICT,
            StoreError::Unavailable(_) | StoreError::Corrupt(_) => StatusCode::SERVICE_UNAVAILABLE,
        };
        let message = match &e {
            StoreError::Refused(d) => d.explain(),
            StoreError::Unavailable(_) | StoreError::Corrupt(_) => {
                tracing::error!(error = %e, "store failure");
                "The store is unavailable; try again shortly.".to_owned()
            }
            other => sentence(other.to_string()),
        };
        let mut err = ApiError::new(status, e.code(), message);
        if let StoreError::Refused(d) = &e {
            err = err.with(
                "reply",
                serde_json::to_value(&d.status).unwrap_or(Value::Null),
            );
        }
        err
    }
}

/// Error texts from lower layers read as sentences.
fn sentence(s: String) -> String {
    let mut c = s.chars();
    let mut out: String = match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => return s,
    };
    if !out.ends_with('.') {
        out.push('.');
    }
    out
}
