//! The inbox function: the read side of the agent API.

use std::collections::HashMap;

use axum::extract::{Query, State};
use axum::http::Method;
use axum::routing::get;
use axum::Json;
use replyline_domain::{
    ContactId, Cursor, InboxView, PageSize, SearchQuery, SortOrder, StatusFilter,
};
use replyline_store::InboxQuery;
use serde_json::{json, Value};

use crate::auth::Agent;
use crate::error::ApiError;
use crate::extract::PathParam;
use crate::routes::Route;
use crate::state::AppState;
use crate::views;

/// `GET /v1/inbox`, `GET /v1/contacts/{id}`, `GET /v1/contacts/{id}/messages`,
/// `GET /v1/channels`.
pub(crate) fn routes() -> Vec<Route> {
    vec![
        Route::new(Method::GET, "/v1/inbox", get(list_inbox)),
        Route::new(Method::GET, "/v1/contacts/{contact_id}", get(get_contact)),
        Route::new(
            Method::GET,
            "/v1/contacts/{contact_id}/messages",
            get(list_messages),
        ),
        Route::new(Method::GET, "/v1/channels", get(list_channels)),
    ]
}

/// A typed query parameter (`limit`, `view`, ...). Given empty (`?limit=`) it is invalid,
/// like any other value that does not parse: only an absent parameter takes the default.
fn param<T: std::str::FromStr>(
    q: &HashMap<String, String>,
    name: &str,
) -> Result<Option<T>, ApiError>
where
    T::Err: std::fmt::Display,
{
    q.get(name)
        .map(|v| {
            v.parse::<T>()
                .map_err(|e| ApiError::bad_request("invalid_query", format!("`{name}`: {e}")))
        })
        .transpose()
}

fn page_size(q: &HashMap<String, String>) -> Result<PageSize, ApiError> {
    match param::<u32>(q, "limit")? {
        None => Ok(PageSize::DEFAULT),
        Some(n) => PageSize::new(n)
            .map_err(|e| ApiError::bad_request("invalid_query", format!("`limit`: {e}"))),
    }
}

fn cursor(q: &HashMap<String, String>) -> Result<Option<Cursor>, ApiError> {
    q.get("cursor")
        .filter(|v| !v.is_empty())
        .map(|c| {
            Cursor::parse(c).map_err(|e| ApiError::bad_request("invalid_cursor", e.to_string()))
        })
        .transpose()
}

pub(crate) fn contact_id(raw: &str) -> Result<ContactId, ApiError> {
    ContactId::parse(raw)
        .map_err(|_| ApiError::not_found(format!("No contact has the id '{raw}'.")))
}

async fn list_inbox(
    State(state): State<AppState>,
    Agent(agent): Agent,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    let now = state.clock.now();
    let search = q
        .get("q")
        .filter(|s| !s.trim().is_empty())
        .map(|s| {
            // No name, phone or email holds a control character (names refuse them), so
            // such a search is a mistake; and SQLite's full-text index cannot take a NUL
            // in a query (it answered 503, found by schemathesis).
            if let Some(c) = s.chars().find(|c| c.is_control() && !c.is_whitespace()) {
                return Err(ApiError::bad_request(
                    "invalid_query",
                    format!("`q`: contains the control character {c:?}"),
                ));
            }
            SearchQuery::parse(s)
                .map_err(|e| ApiError::bad_request("invalid_query", format!("`q`: {e}")))
        })
        .transpose()?;
    let query = InboxQuery {
        agent,
        view: param::<InboxView>(&q, "view")?.unwrap_or_default(),
        status: param::<StatusFilter>(&q, "status")?.unwrap_or_default(),
        search,
        sort: param::<SortOrder>(&q, "sort")?.unwrap_or_default(),
        limit: page_size(&q)?,
        cursor: cursor(&q)?,
        now,
    };
    let page = state.store.list_inbox(&query).await?;
    Ok(Json(views::inbox_page(&state, &page, now)))
}

async fn get_contact(
    State(state): State<AppState>,
    _agent: Agent,
    PathParam(id): PathParam,
) -> Result<Json<Value>, ApiError> {
    let now = state.clock.now();
    let details = state.store.get_contact(&contact_id(&id)?, now).await?;
    Ok(Json(views::contact_details(&state, &details, now)))
}

async fn list_messages(
    State(state): State<AppState>,
    _agent: Agent,
    PathParam(id): PathParam,
    Query(q): Query<HashMap<String, String>>,
) -> Result<Json<Value>, ApiError> {
    let id = contact_id(&id)?;
    // A listing of an unknown contact is a 404, not an empty page.
    state.store.get_contact(&id, state.clock.now()).await?;
    let page = state
        .store
        .list_messages(&id, page_size(&q)?, cursor(&q)?.as_ref())
        .await?;
    Ok(Json(
        json!({ "items": page.items, "next_cursor": page.next_cursor }),
    ))
}

async fn list_channels(State(state): State<AppState>, _agent: Agent) -> Json<Value> {
    let items: Vec<Value> = state
        .config
        .channels
        .iter()
        .map(|c| json!({ "id": c.id, "kind": c.kind, "rules": c.rules }))
        .collect();
    Json(json!({ "items": items }))
}
