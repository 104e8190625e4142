//! What every handler shares, built once at start-up.

use std::collections::HashMap;
use std::sync::Arc;

use replyline_channels::{Adapter, HttpClient};
use replyline_config::{ChannelConfig, Config};
use replyline_domain::Clock;
use replyline_store::Store;

/// How agents prove who they are.
#[derive(Clone, Debug)]
pub enum Auth {
    /// `Authorization: Bearer <token>` against the configuration's agents (dev server).
    DevTokens,
    /// The API Gateway JWT authorizer already checked the token; the agent id is this
    /// claim of the request context (`sub` by default).
    GatewayJwt { claim: String },
}

/// Shared state: configuration, store, channel adapters, clock.
#[derive(Clone)]
pub struct AppState {
    pub config: Arc<Config>,
    pub store: Arc<dyn Store>,
    pub adapters: Arc<HashMap<String, (ChannelConfig, Adapter)>>,
    pub clock: Arc<dyn Clock>,
    pub auth: Auth,
}

impl std::fmt::Debug for AppState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("channels", &self.adapters.keys().collect::<Vec<_>>())
            .field("auth", &self.auth)
            .finish_non_exhaustive()
    }
}

impl AppState {
    /// Builds the adapters for every configured channel, sharing one HTTP client.
    pub fn new(
        config: Config,
        store: Arc<dyn Store>,
        http: HttpClient,
        clock: Arc<dyn Clock>,
        auth: Auth,
    ) -> Self {
        let adapters = config
            .channels
            .iter()
            .map(|c| {
                (
                    c.id.to_string(),
                    (c.clone(), Adapter::for_channel(c, http.clone())),
                )
            })
            .collect();
        AppState {
            config: Arc::new(config),
            store,
            adapters: Arc::new(adapters),
            clock,
            auth,
        }
    }

    /// A configured channel and its adapter.
    pub fn channel(&self, id: &str) -> Option<&(ChannelConfig, Adapter)> {
        self.adapters.get(id)
    }
}
