//! The conversation function: close, open, snooze, assign, block, and profile edits.

use axum::extract::State;
use axum::http::{Method, StatusCode};
use axum::routing::{patch, post, put};
use axum::Json;
use replyline_domain::{AgentId, ClosingNote, ProfileFields, Timestamp};
use replyline_store::{CommandContext, CommandOutcome};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::auth::Agent;
use crate::error::ApiError;
use crate::extract::{json_object, optional_json_object, required_nullable, JsonBody, PathParam};
use crate::inbox::contact_id;
use crate::routes::Route;
use crate::state::AppState;

/// The conversation commands of one contact.
pub(crate) fn routes() -> Vec<Route> {
    vec![
        Route::new(
            Method::PATCH,
            "/v1/contacts/{contact_id}",
            patch(update_profile),
        ),
        Route::new(Method::POST, "/v1/contacts/{contact_id}/close", post(close)),
        Route::new(Method::POST, "/v1/contacts/{contact_id}/open", post(open)),
        Route::new(
            Method::POST,
            "/v1/contacts/{contact_id}/snooze",
            post(snooze),
        ),
        Route::new(
            Method::PUT,
            "/v1/contacts/{contact_id}/assignee",
            put(assign),
        ),
        Route::new(Method::POST, "/v1/contacts/{contact_id}/block", post(block)),
        Route::new(
            Method::POST,
            "/v1/contacts/{contact_id}/unblock",
            post(unblock),
        ),
    ]
}

fn done(outcome: CommandOutcome) -> Json<Value> {
    Json(json!({
        "contact": outcome.contact,
        "conversation": outcome.conversation,
        "assignee": outcome.contact.assignee,
        "changed": outcome.changed,
    }))
}

fn ctx(state: &AppState, agent: AgentId) -> CommandContext {
    CommandContext {
        actor: agent,
        now: state.clock.now(),
    }
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct CloseBody {
    #[serde(default)]
    category: Option<String>,
    #[serde(default)]
    summary: Option<String>,
}

async fn close(
    State(state): State<AppState>,
    Agent(agent): Agent,
    PathParam(id): PathParam,
    b: JsonBody,
) -> Result<Json<Value>, ApiError> {
    let b: CloseBody = optional_json_object(b)?;
    let id = contact_id(&id)?;
    let note = (b.category.is_some() || b.summary.is_some()).then_some(ClosingNote {
        category: b.category,
        summary: b.summary,
    });
    let workspace = &state.config.workspace;
    let note = workspace.check_closing_note(note).map_err(|e| {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_closing_note",
            e.to_string(),
        )
    })?;
    let ctx = ctx(&state, agent);
    let out = state
        .store
        .close(&id, note, workspace.unassign_on_close, &ctx)
        .await?;
    Ok(done(out))
}

async fn open(
    State(state): State<AppState>,
    Agent(agent): Agent,
    PathParam(id): PathParam,
) -> Result<Json<Value>, ApiError> {
    let id = contact_id(&id)?;
    let ctx = ctx(&state, agent);
    Ok(done(state.store.open(&id, &ctx).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SnoozeBody {
    until: Timestamp,
}

async fn snooze(
    State(state): State<AppState>,
    Agent(agent): Agent,
    PathParam(id): PathParam,
    b: JsonBody,
) -> Result<Json<Value>, ApiError> {
    let b: SnoozeBody = json_object(b)?;
    let id = contact_id(&id)?;
    let ctx = ctx(&state, agent);
    Ok(done(state.store.snooze(&id, b.until, &ctx).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AssignBody {
    /// Required: `null` unassigns, and an empty body is a mistake, not an unassignment.
    #[serde(deserialize_with = "required_nullable")]
    agent_id: Option<AgentId>,
}

async fn assign(
    State(state): State<AppState>,
    Agent(agent): Agent,
    PathParam(id): PathParam,
    b: JsonBody,
) -> Result<Json<Value>, ApiError> {
    let b: AssignBody = json_object(b)?;
    let id = contact_id(&id)?;
    if let Some(target) = &b.agent_id {
        // With dev tokens the configuration knows every agent; behind a JWT authorizer
        // agents live in the identity provider, so any well-formed id is accepted.
        let known =
            state.config.agents.is_empty() || state.config.agents.iter().any(|a| &a.id == target);
        if !known {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "unknown_agent",
                format!("No agent has the id '{target}'."),
            ));
        }
    }
    let ctx = ctx(&state, agent);
    Ok(done(state.store.assign(&id, b.agent_id, &ctx).await?))
}

async fn block(
    State(state): State<AppState>,
    Agent(agent): Agent,
    PathParam(id): PathParam,
) -> Result<Json<Value>, ApiError> {
    let id = contact_id(&id)?;
    let ctx = ctx(&state, agent);
    Ok(done(state.store.set_blocked(&id, true, &ctx).await?))
}

async fn unblock(
    State(state): State<AppState>,
    Agent(agent): Agent,
    PathParam(id): PathParam,
) -> Result<Json<Value>, ApiError> {
    let id = contact_id(&id)?;
    let ctx = ctx(&state, agent);
    Ok(done(state.store.set_blocked(&id, false, &ctx).await?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ProfileBody {
    #[serde(default)]
    first_name: Option<String>,
    #[serde(default)]
    last_name: Option<String>,
    #[serde(default)]
    email: Option<String>,
    #[serde(default)]
    phone: Option<String>,
}

async fn update_profile(
    State(state): State<AppState>,
    Agent(agent): Agent,
    PathParam(id): PathParam,
    b: JsonBody,
) -> Result<Json<Value>, ApiError> {
    let b: ProfileBody = json_object(b)?;
    let id = contact_id(&id)?;
    let fields = ProfileFields::parse(
        b.first_name.as_deref(),
        b.last_name.as_deref(),
        b.email.as_deref(),
        b.phone.as_deref(),
    )
    .map_err(|e| {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "invalid_profile",
            e.to_string(),
        )
    })?;
    let ctx = ctx(&state, agent);
    Ok(done(state.store.update_profile(&id, fields, &ctx).await?))
}
