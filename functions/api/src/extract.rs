//! Request parts every handler reads the same way, so that every refusal is an API error
//! (`{"error":{...}}` in JSON, with a documented status), never one of axum's plain-text
//! rejections.

use axum::extract::rejection::{BytesRejection, JsonRejection, PathRejection};
use axum::extract::{FromRequestParts, Path};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::Json;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::Value;

use crate::error::ApiError;

/// The one path parameter of a route (`{contact_id}`, `{channel_id}`), as text. A
/// parameter that does not decode to UTF-8 cannot name anything: 404, like any other id
/// that names nothing.
#[derive(Debug)]
pub(crate) struct PathParam(pub String);

impl<S: Send + Sync> FromRequestParts<S> for PathParam {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match Path::<String>::from_request_parts(parts, state).await {
            Ok(Path(p)) => Ok(PathParam(p)),
            Err(PathRejection::FailedToDeserializePathParams(e)) => Err(ApiError::not_found(
                format!("Nothing has that id ({}).", e.body_text()),
            )),
            Err(e) => Err(ApiError::new(e.status(), "invalid_path", e.body_text())),
        }
    }
}

/// A JSON body as axum extracts it; the handler decides what a rejection means.
pub(crate) type JsonBody = Result<Json<Value>, JsonRejection>;

/// A required JSON body, which must be an object (serde would also read a struct from an
/// array of its fields, `[null, null]`, which the API does not accept).
pub(crate) fn json_object<T: DeserializeOwned>(body: JsonBody) -> Result<T, ApiError> {
    let Json(value) = body.map_err(json_rejection)?;
    if !value.is_object() {
        return Err(ApiError::bad_request(
            "invalid_json",
            "The body must be a JSON object.",
        ));
    }
    T::deserialize(&value).map_err(|e| {
        ApiError::bad_request(
            "invalid_json",
            format!("The JSON body does not fit this request: {e}."),
        )
    })
}

/// An optional JSON body (`POST .../close` with no note): a request without a JSON
/// `Content-Type` has none, and reads as `T::default()`.
pub(crate) fn optional_json_object<T: DeserializeOwned + Default>(
    body: JsonBody,
) -> Result<T, ApiError> {
    match body {
        Err(JsonRejection::MissingJsonContentType(_)) => Ok(T::default()),
        other => json_object(other),
    }
}

/// Too large: 413. Anything else (no JSON `Content-Type`, which includes no body at all;
/// not JSON; not the expected shape): 400 `invalid_json`, with axum's explanation.
fn json_rejection(e: JsonRejection) -> ApiError {
    match e {
        JsonRejection::BytesRejection(e) => body_rejection(e),
        other => ApiError::bad_request("invalid_json", other.body_text()),
    }
}

/// A request body that could not be read: too large (413), or cut off (400).
pub(crate) fn body_rejection(e: BytesRejection) -> ApiError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "payload_too_large",
            "The request body is too large.",
        )
    } else {
        ApiError::bad_request("invalid_body", e.body_text())
    }
}

/// A field that must be present but may be `null` (serde would read a missing `Option`
/// field as `None`): `#[serde(deserialize_with = "required_nullable")]`.
pub(crate) fn required_nullable<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d)
}
