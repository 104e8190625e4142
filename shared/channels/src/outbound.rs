//! Outbound delivery: what we ask a provider to send, and what it answered.

use std::time::Duration;

use replyline_domain::{ChannelFlag, Content, ExternalId, MessageId};

/// One message to deliver.
#[derive(Clone, Debug)]
pub struct OutboundMessage<'a> {
    /// Our id: providers that support idempotency get a key derived from it.
    pub id: &'a MessageId,
    pub to: &'a ExternalId,
    pub content: &'a Content,
    /// The tag the policy applied (Meta's HUMAN_AGENT...).
    pub tag: Option<&'a str>,
    /// The RFC Message-ID of the customer's last inbound message, on channels that thread
    /// replies on it (email `In-Reply-To`/`References`); `None` elsewhere.
    pub in_reply_to: Option<&'a str>,
}

/// The provider accepted the message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Delivered {
    pub provider_message_id: String,
}

/// The provider did not take the message.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    /// The provider answered and refused: stored as failed with its code and text; never
    /// retried as is. `flag` is the hard stop the refusal reveals (bot blocked, STOP).
    #[error("provider rejected the message ({code}): {text}")]
    Rejected {
        code: String,
        text: String,
        flag: Option<ChannelFlag>,
    },
    /// The provider says the messaging window is closed (Meta code 10 / subcode 2018278 or
    /// 2534022, WhatsApp 131047, WeChat 45015) or its quota is used (WeChat 45047): stored
    /// as failed, and our window state is corrected so the policy agrees next time.
    #[error("provider says the window is closed ({code}): {text}")]
    OutsideWindow {
        code: String,
        text: String,
        /// The window's message quota is used up rather than the window closed.
        quota: bool,
    },
    /// The provider could not be reached, timed out, or failed on its side (5xx, rate
    /// limit): stored as failed and retryable.
    #[error("provider unavailable: {0}")]
    Unavailable(String),
    /// This channel kind cannot send this content (e.g. a template on Telegram).
    #[error("{0}")]
    Unsupported(String),
}

impl SendError {
    /// The code stored on the failed message.
    pub fn code(&self) -> String {
        match self {
            SendError::Rejected { code, .. } | SendError::OutsideWindow { code, .. } => {
                code.clone()
            }
            SendError::Unavailable(_) => "unavailable".to_owned(),
            SendError::Unsupported(_) => "unsupported".to_owned(),
        }
    }
    /// The text stored on the failed message.
    pub fn text(&self) -> String {
        match self {
            SendError::Rejected { text, .. } | SendError::OutsideWindow { text, .. } => {
                text.clone()
            }
            SendError::Unavailable(t) | SendError::Unsupported(t) => t.clone(),
        }
    }
}

/// Timeouts for every provider call: a provider that hangs must not hold an agent's
/// request (or a Lambda) hostage.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);

/// The HTTP client every adapter shares: built once, with timeouts.
pub fn http_client() -> Result<reqwest::Client, reqwest::Error> {
    reqwest::Client::builder()
        .connect_timeout(CONNECT_TIMEOUT)
        .timeout(REQUEST_TIMEOUT)
        .user_agent(concat!("replyline/", env!("CARGO_PKG_VERSION")))
        .build()
}

/// Maps a transport error to `Unavailable` without leaking URLs (they may hold tokens).
pub(crate) fn transport(e: reqwest::Error) -> SendError {
    let what = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "could not connect"
    } else if e.is_decode() {
        "answered with an unreadable body"
    } else {
        "request failed"
    };
    SendError::Unavailable(format!("provider {what}"))
}

/// The plain text of a message, for channels that only send text.
pub(crate) fn plain_text<'a>(content: &'a Content, channel: &str) -> Result<&'a str, SendError> {
    match (content.text(), content.template()) {
        (Some(t), None) => Ok(t),
        (_, Some(_)) => Err(SendError::Unsupported(format!(
            "{channel} does not send templates"
        ))),
        (None, None) => Err(SendError::Unsupported("the message has no text".to_owned())),
    }
}
