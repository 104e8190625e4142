//! # replyline-config
//!
//! The one configuration document of a Replyline deployment, in TOML: on the dev server a
//! file (`--config PATH` or `REPLYLINE_CONFIG`), in AWS the same text from a Secrets
//! Manager secret. Parsing is strict: unknown keys and missing required keys are errors
//! that name the key, so a typo never silently keeps a default. Secrets are
//! [`SecretString`]s: their `Debug` is redacted, so they cannot reach a log by accident.

mod channel;
mod error;

use std::collections::HashSet;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use replyline_domain::{AgentId, ChannelId, WorkspaceSettings};
pub use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use subtle::ConstantTimeEq;
use url::Url;

pub use channel::{
    ChannelConfig, ChannelSettings, CustomSettings, EmailSettings, LineSettings, MetaSettings,
    SmsProvider, SmsSettings, TelegramSettings, TiktokSettings, ViberSettings, WebchatSettings,
    WechatSettings, WhatsappSettings,
};
pub use error::ConfigError;

/// A whole configuration, checked.
#[derive(Debug, Clone)]
pub struct Config {
    pub server: ServerConfig,
    pub store: StoreConfig,
    pub workspace: WorkspaceSettings,
    pub agents: Vec<AgentConfig>,
    pub channels: Vec<ChannelConfig>,
}

/// The dev server's socket and the public base URL providers call (Twilio signs it).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServerConfig {
    #[serde(default = "default_listen")]
    pub listen: SocketAddr,
    /// The base URL of the webhooks as providers see it, without a trailing slash.
    pub public_url: Url,
}

fn default_listen() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 8080))
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            listen: default_listen(),
            public_url: Url::parse("http://127.0.0.1:8080").expect("a constant, valid URL"),
        }
    }
}

/// Where the data lives.
#[derive(Debug, Clone, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase", deny_unknown_fields)]
pub enum StoreConfig {
    /// The embedded store: one SQLite file.
    Sqlite { path: PathBuf },
    /// DynamoDB: the endpoint and credentials come from the AWS environment.
    Dynamodb {
        table: String,
        #[serde(default = "default_tenant")]
        tenant: String,
    },
}

fn default_tenant() -> String {
    "default".to_owned()
}

/// What a deployment decides rather than the operator's document: in AWS the table name
/// and the API's public URL exist only once the stack does, so `template.yaml` passes them
/// to the functions as environment variables and they override the document.
#[derive(Debug, Clone, Default)]
pub struct Deployment {
    /// The DynamoDB table (`REPLYLINE_TABLE`); the document's tenant is kept.
    pub table: Option<String>,
    /// The webhooks' base URL as providers see it (`REPLYLINE_PUBLIC_URL`).
    pub public_url: Option<Url>,
}

/// A dev-server agent and its bearer token. In AWS the JWT authorizer names the agent.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AgentConfig {
    pub id: AgentId,
    #[serde(default)]
    pub token: Option<SecretString>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    server: Option<ServerConfig>,
    store: Option<StoreConfig>,
    #[serde(default)]
    workspace: WorkspaceSettings,
    #[serde(default)]
    agents: Vec<AgentConfig>,
    #[serde(default)]
    channels: Vec<toml::Value>,
}

impl Config {
    /// Parses and checks a configuration document.
    pub fn from_toml(text: &str) -> Result<Config, ConfigError> {
        Config::from_toml_deployed(text, &Deployment::default())
    }

    /// Parses and checks a configuration document, with what the deployment decides
    /// (`template.yaml` sets them as environment variables) taking precedence.
    pub fn from_toml_deployed(text: &str, deployment: &Deployment) -> Result<Config, ConfigError> {
        let raw: RawConfig = toml::from_str(text).map_err(|e| ConfigError::Toml(e.to_string()))?;
        let mut server = raw.server.unwrap_or_default();
        if let Some(url) = &deployment.public_url {
            server.public_url = url.clone();
        }
        let store = match (&deployment.table, raw.store) {
            (None, Some(store)) => store,
            (None, None) => {
                return Err(ConfigError::Invalid(
                    "missing [store]: say where the data lives (kind = \"sqlite\" or \"dynamodb\")"
                        .to_owned(),
                ))
            }
            (Some(table), None) => StoreConfig::Dynamodb {
                table: table.clone(),
                tenant: default_tenant(),
            },
            (Some(table), Some(StoreConfig::Dynamodb { tenant, .. })) => StoreConfig::Dynamodb {
                table: table.clone(),
                tenant,
            },
            (Some(table), Some(StoreConfig::Sqlite { .. })) => {
                return Err(ConfigError::Invalid(format!(
                    "store: this deployment keeps its data in the DynamoDB table {table}; \
                     remove [store] or set kind = \"dynamodb\""
                )))
            }
        };
        let channels = raw
            .channels
            .into_iter()
            .enumerate()
            .map(|(i, v)| channel::parse_channel(i, v))
            .collect::<Result<Vec<_>, _>>()?;
        let config = Config {
            server,
            store,
            workspace: raw.workspace,
            agents: raw.agents,
            channels,
        };
        config.check()?;
        Ok(config)
    }

    /// Reads and parses a configuration file.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Config::from_toml(&text)
    }

    /// The configuration named by `--config PATH` (in `args`) or `REPLYLINE_CONFIG`.
    pub fn path_from(args: &[String], env: Option<String>) -> Result<PathBuf, ConfigError> {
        let mut it = args.iter();
        while let Some(a) = it.next() {
            if a == "--config" {
                return it.next().map(PathBuf::from).ok_or(ConfigError::Missing);
            }
            if let Some(p) = a.strip_prefix("--config=") {
                return Ok(PathBuf::from(p));
            }
        }
        env.map(PathBuf::from).ok_or(ConfigError::Missing)
    }

    /// A channel by its id.
    pub fn channel(&self, id: &str) -> Option<&ChannelConfig> {
        self.channels.iter().find(|c| c.id.as_str() == id)
    }

    /// The agent whose dev-server token this is. Compares in constant time per token.
    pub fn agent_by_token(&self, token: &str) -> Option<&AgentId> {
        self.agents.iter().find_map(|a| {
            let t = a.token.as_ref()?;
            bool::from(t.expose_secret().as_bytes().ct_eq(token.as_bytes())).then_some(&a.id)
        })
    }

    fn check(&self) -> Result<(), ConfigError> {
        let mut ids: HashSet<&ChannelId> = HashSet::new();
        for c in &self.channels {
            if !ids.insert(&c.id) {
                return Err(ConfigError::Channel {
                    channel: c.id.to_string(),
                    message: "the id is used by two channels".to_owned(),
                });
            }
        }
        let mut agents: HashSet<&AgentId> = HashSet::new();
        let mut tokens: HashSet<&str> = HashSet::new();
        for a in &self.agents {
            if !agents.insert(&a.id) {
                return Err(ConfigError::Invalid(format!(
                    "agent '{}' is listed twice",
                    a.id
                )));
            }
            if let Some(t) = &a.token {
                if t.expose_secret().len() < 8 {
                    return Err(ConfigError::Invalid(format!(
                        "agent '{}': `token` must be at least 8 characters",
                        a.id
                    )));
                }
                if !tokens.insert(t.expose_secret()) {
                    return Err(ConfigError::Invalid(format!(
                        "agent '{}': `token` is used by another agent",
                        a.id
                    )));
                }
            }
        }
        if let StoreConfig::Dynamodb { table, tenant } = &self.store {
            if table.is_empty() || tenant.is_empty() || tenant.contains('#') {
                return Err(ConfigError::Invalid(
                    "store: `table` and `tenant` must be non-empty, and `tenant` may not contain '#'"
                        .to_owned(),
                ));
            }
        }
        Ok(())
    }
}
