//! What the fuzz targets share: the input framing, the configured channels they fuzz, and
//! the signing helpers that let the fuzzer past each signature check.
//!
//! # Input framing (webhook targets)
//!
//! `[ctl][variant] headers \0 query \0 body`
//!
//! - `ctl`: bits 0-1 the method (POST, GET, PUT, DELETE); bit 2 set: the target signs the
//!   request validly (so the parser behind the check is reached); the other bits are free.
//! - `variant`: a target-specific choice (product, mode...).
//! - `headers`: `name: value` lines (names lower-cased, as the API and Lambda pass them).
//! - `query`: the raw query string (`a=1&b=2`), also appended to the public URL.
//! - `body`: the rest, byte for byte (it may contain `\0`).
//!
//! A missing section is empty, so `\x04\x00\0\0{"update_id":1}` is a signed POST.

use std::collections::HashMap;
use std::sync::{Arc, LazyLock};

use bytes::Bytes;
use replyline_channels::email::sns::FixedCert;
use replyline_channels::{Adapter, WebhookError, WebhookOutcome, WebhookRequest};
use replyline_config::Config;

/// The base URL providers call in the fuzzed requests.
pub const PUBLIC_BASE: &str = "https://hooks.example.test";

/// Secrets of [`CHANNELS`], for signing.
pub const TELEGRAM_SECRET: &str = "tg-secret-token";
pub const WEBCHAT_SECRET: &str = "webchat-secret";
pub const TWILIO_TOKEN: &str = "twilio-auth-token";
pub const LINE_SECRET: &str = "line-channel-secret";
pub const META_APP_SECRET: &str = "meta-app-secret";
pub const META_VERIFY_TOKEN: &str = "meta-verify-token";
pub const VIBER_TOKEN: &str = "viber-auth-token";
pub const WECHAT_TOKEN: &str = "wechat-token";
pub const WECHAT_APP_ID: &str = "wx49f0ab532d5d035a";
/// wechatpy's test key (providers.md §4.5).
pub const WECHAT_AES_KEY: &str = "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR";
pub const SNS_TOPIC: &str = "arn:aws:sns:us-east-1:123456789012:inbound";

/// The fuzzing-only SNS signing key and certificate (`fuzz/keys/README.md`): RSA-512, so
/// that signing every input stays cheap.
pub const SNS_TEST_KEY: &str = include_str!("../keys/sns_fuzz_key.pem");
pub const SNS_TEST_CERT: &str = include_str!("../keys/sns_fuzz_cert.pem");

/// One channel of every kind with a webhook, pointing at a provider that never answers
/// (webhook targets never send).
pub const CHANNELS: &str = r#"
[server]
public_url = "https://hooks.example.test"
[store]
kind = "sqlite"
path = "unused.db"
[[agents]]
id = "alice"
token = "dev-token-alice"
[[channels]]
id = "tg"
kind = "telegram"
bot_token = "1:bot"
secret_token = "tg-secret-token"
[[channels]]
id = "web"
kind = "webchat"
secret = "webchat-secret"
callback_url = "http://127.0.0.1:9/webchat"
[[channels]]
id = "sms"
kind = "sms"
provider = "twilio"
account_sid = "AC123"
auth_token = "twilio-auth-token"
from = "+15005550006"
[[channels]]
id = "line"
kind = "line"
channel_secret = "line-channel-secret"
channel_access_token = "line-token"
[[channels]]
id = "fb"
kind = "messenger"
app_secret = "meta-app-secret"
verify_token = "meta-verify-token"
access_token = "meta-token"
[[channels]]
id = "ig"
kind = "instagram"
app_secret = "meta-app-secret"
verify_token = "meta-verify-token"
access_token = "meta-token"
[[channels]]
id = "wa"
kind = "whatsapp"
app_secret = "meta-app-secret"
verify_token = "meta-verify-token"
access_token = "meta-token"
phone_number_id = "1234567890"
[[channels]]
id = "vb"
kind = "viber"
auth_token = "viber-auth-token"
[[channels]]
id = "wx"
kind = "wechat"
token = "wechat-token"
app_id = "wx49f0ab532d5d035a"
app_secret = "wechat-app-secret"
[[channels]]
id = "wxaes"
kind = "wechat"
token = "wechat-token"
app_id = "wx49f0ab532d5d035a"
app_secret = "wechat-app-secret"
encoding_aes_key = "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR"
[[channels]]
id = "mail"
kind = "email"
from = "support@shop.example"
sns_topic_arns = ["arn:aws:sns:us-east-1:123456789012:inbound"]
"#;

static CONFIG: LazyLock<Config> =
    LazyLock::new(|| Config::from_toml(CHANNELS).expect("the fuzz channels parse"));

/// The adapter of one channel of [`CHANNELS`]; the email channel trusts
/// [`SNS_TEST_CERT`].
pub fn adapter(channel_id: &str) -> Adapter {
    let config = CONFIG
        .channel(channel_id)
        .unwrap_or_else(|| panic!("no fuzz channel {channel_id}"));
    let http = replyline_channels::http_client().expect("an HTTP client");
    match Adapter::for_channel(config, http) {
        Adapter::Email(email) => {
            Adapter::Email(email.with_cert_source(Arc::new(FixedCert(SNS_TEST_CERT.to_owned()))))
        }
        other => other,
    }
}

/// One fuzz input, framed as the module documentation says.
#[derive(Debug)]
pub struct Input<'a> {
    pub method: http::Method,
    /// The target should sign the request validly.
    pub signed: bool,
    pub ctl: u8,
    pub variant: u8,
    pub headers: Vec<(String, String)>,
    pub raw_query: &'a [u8],
    pub body: &'a [u8],
}

impl<'a> Input<'a> {
    pub fn parse(data: &'a [u8]) -> Option<Input<'a>> {
        let ([ctl, variant], rest) = data.split_first_chunk::<2>()?;
        let mut parts = rest.splitn(3, |b| *b == 0);
        let headers = parts.next().unwrap_or_default();
        let raw_query = parts.next().unwrap_or_default();
        let body = parts.next().unwrap_or_default();
        let method = match ctl & 3 {
            0 => http::Method::POST,
            1 => http::Method::GET,
            2 => http::Method::PUT,
            _ => http::Method::DELETE,
        };
        Some(Input {
            method,
            signed: ctl & 4 != 0,
            ctl: *ctl,
            variant: *variant,
            headers: header_lines(headers),
            raw_query,
            body,
        })
    }

    /// The query string as text (lossy), as a URL carries it.
    pub fn query_text(&self) -> String {
        String::from_utf8_lossy(self.raw_query).into_owned()
    }

    /// The request as the webhook function builds it for `POST /webhooks/{channel}`.
    pub fn request(&self, channel: &str) -> WebhookRequest {
        let query = self.query_text();
        let mut public_url = format!("{PUBLIC_BASE}/webhooks/{channel}");
        if !query.is_empty() {
            public_url.push('?');
            public_url.push_str(&query);
        }
        WebhookRequest {
            method: self.method.clone(),
            public_url,
            headers: WebhookRequest::headers_from(
                self.headers.iter().map(|(k, v)| (k.as_str(), v.as_str())),
            ),
            query: parse_query(self.raw_query),
            body: Bytes::copy_from_slice(self.body),
        }
    }
}

/// `name: value` lines; lines without a colon are skipped.
pub fn header_lines(raw: &[u8]) -> Vec<(String, String)> {
    String::from_utf8_lossy(raw)
        .lines()
        .filter_map(|line| {
            let (k, v) = line.split_once(':')?;
            Some((k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        })
        .collect()
}

/// A query string decoded as the webhook function decodes it.
pub fn parse_query(raw: &[u8]) -> Vec<(String, String)> {
    form_urlencoded::parse(raw)
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// Sets a header, replacing any the fuzzer chose.
pub fn set_header(req: &mut WebhookRequest, name: &str, value: impl Into<String>) {
    req.headers.insert(name.to_ascii_lowercase(), value.into());
}

/// Puts a query parameter first, where `query_param` finds it.
pub fn put_query_first(req: &mut WebhookRequest, name: &str, value: impl Into<String>) {
    req.query.insert(0, (name.to_owned(), value.into()));
}

/// What every webhook outcome must satisfy, whatever the input:
/// - a request the target did not sign is never accepted by an HMAC check (`hmac`: the
///   channel's POSTs are signed with an HMAC or hash the fuzzer cannot forge);
/// - what is accepted is well-formed: events have an id, replies a sane status.
pub fn check_outcome(
    signed: bool,
    hmac: bool,
    req: &WebhookRequest,
    result: &Result<WebhookOutcome, WebhookError>,
) {
    if hmac && !signed && req.method == http::Method::POST {
        assert!(
            !matches!(result, Ok(WebhookOutcome::Events { .. })),
            "an unsigned POST was accepted: {result:?}"
        );
    }
    match result {
        Ok(WebhookOutcome::Events { events, reply, .. }) => {
            assert!((200..300).contains(&reply.status), "{reply:?}");
            for e in events {
                assert!(!e.event_id.is_empty(), "an event without an id: {e:?}");
            }
        }
        Ok(WebhookOutcome::Handshake(reply)) => {
            assert!((200..600).contains(&reply.status), "{reply:?}");
        }
        Err(_) => {}
    }
}

/// Reads fuzz bytes as little numbers, for choices inside a target.
#[derive(Debug)]
pub struct Bytes8<'a>(pub &'a [u8]);

impl Bytes8<'_> {
    pub fn u8(&mut self) -> u8 {
        match self.0.split_first() {
            Some((b, rest)) => {
                self.0 = rest;
                *b
            }
            None => 0,
        }
    }
    pub fn i64(&mut self) -> i64 {
        let mut out = [0u8; 8];
        for b in &mut out {
            *b = self.u8();
        }
        i64::from_le_bytes(out)
    }
}

/// Header lines as a map (for targets that build HTTP requests themselves).
pub fn header_map(lines: &[(String, String)]) -> HashMap<String, String> {
    lines.iter().cloned().collect()
}
