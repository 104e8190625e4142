//! Configuration errors: each names the key (and the channel) at fault.

/// Why a configuration document cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read configuration file {path}: {source}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    /// TOML syntax, an unknown key, a missing required key or a value of the wrong type.
    #[error("configuration: {0}")]
    Toml(String),
    #[error("channel '{channel}': {message}")]
    Channel { channel: String, message: String },
    #[error("configuration: {0}")]
    Invalid(String),
    #[error("no configuration: pass --config PATH or set REPLYLINE_CONFIG")]
    Missing,
}
