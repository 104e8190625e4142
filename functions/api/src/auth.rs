//! Which agent is calling: a dev-server bearer token, or the API Gateway JWT authorizer's
//! claim (the gateway has already verified the token).

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use replyline_domain::AgentId;

use crate::error::ApiError;
use crate::state::{AppState, Auth};

/// The authenticated agent.
#[derive(Clone, Debug)]
pub struct Agent(pub AgentId);

/// Claims the Lambda adapter found in the request context, put in the request's
/// extensions by the Lambda entry point.
#[derive(Clone, Debug, Default)]
pub struct GatewayClaims(pub std::collections::HashMap<String, String>);

impl FromRequestParts<AppState> for Agent {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        match &state.auth {
            Auth::DevTokens => {
                let header = parts
                    .headers
                    .get(axum::http::header::AUTHORIZATION)
                    .and_then(|v| v.to_str().ok())
                    .ok_or_else(|| {
                        ApiError::unauthorized("Send `Authorization: Bearer <token>`.")
                    })?;
                let token = header
                    .strip_prefix("Bearer ")
                    .or_else(|| header.strip_prefix("bearer "))
                    .ok_or_else(|| {
                        ApiError::unauthorized("The Authorization header must be `Bearer <token>`.")
                    })?;
                state
                    .config
                    .agent_by_token(token.trim())
                    .cloned()
                    .map(Agent)
                    .ok_or_else(|| ApiError::unauthorized("Unknown token."))
            }
            Auth::GatewayJwt { claim } => {
                let claims = parts.extensions.get::<GatewayClaims>().ok_or_else(|| {
                    ApiError::unauthorized("No authorizer claims on the request.")
                })?;
                let id = claims.0.get(claim).ok_or_else(|| {
                    ApiError::unauthorized(format!("The token has no `{claim}` claim."))
                })?;
                AgentId::parse(id).map(Agent).map_err(|e| {
                    ApiError::unauthorized(format!("The `{claim}` claim is not an agent id: {e}"))
                })
            }
        }
    }
}
