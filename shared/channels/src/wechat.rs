//! WeChat Official Account: the `echostr` handshake, XML callbacks signed with a sorted
//! SHA-1 of the token, timestamp and nonce (plain mode) or of those and `Encrypt` (safe
//! mode, AES-256-CBC), and the customer-service message API behind a cached access
//! token. (providers.md §3.8, §4.4, §4.5; channel-rules.md §3 WeChat OA.)
//!
//! WeChat retries a callback that is not answered within 5 s, so the webhook does only
//! hashing, one AES decryption and an XML parse, and answers `success`.
//!
//! The plain-mode signature covers the query, not the body: anyone who saw a signed
//! query could replay it with another body. Safe mode signs the encrypted body; prefer it.

mod crypto;
mod token;

use quick_xml::de::from_str as from_xml;
use replyline_config::{ExposeSecret, WechatSettings};
use replyline_domain::{ChannelFlag, Content, ExternalId, ProfileFields, Timestamp};
use replyline_policy::Opener;
use serde::Deserialize;
use url::Url;

use crate::outbound::{plain_text, transport, Delivered, OutboundMessage, SendError};
use crate::signature::{sorted_sha1, verify_hex};
use crate::webhook::{
    FlagSignal, InboundEvent, WebhookError, WebhookOutcome, WebhookReply, WebhookRequest,
};
use crypto::{AesKey, DecryptError};
use token::{TokenAnswer, TokenCache};

/// Send errors that mean the access token is invalid or expired: refresh once, retry.
const TOKEN_ERRORS: [i64; 3] = [40001, 40014, 42001];
/// System busy, API call quotas (daily, per minute): retry later.
const BUSY_ERRORS: [i64; 3] = [-1, 45009, 45011];

#[derive(Debug, Clone)]
pub struct Wechat {
    settings: WechatSettings,
    /// The decoded `encoding_aes_key`: `None` without one, `Some(None)` if it is invalid.
    aes_key: Option<Option<AesKey>>,
    api_base: Url,
    http: reqwest::Client,
    token: TokenCache,
}

/// The safe-mode envelope: only `Encrypt` matters (the signature covers it).
#[derive(Deserialize)]
struct Envelope {
    #[serde(rename = "Encrypt")]
    encrypt: String,
}

/// A callback's XML, messages and events alike.
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct WxMessage {
    from_user_name: String,
    create_time: i64,
    msg_type: String,
    #[serde(default)]
    content: Option<String>,
    /// 64-bit: kept as the decimal string.
    #[serde(default)]
    msg_id: Option<String>,
    #[serde(default)]
    event: Option<String>,
    #[serde(default)]
    event_key: Option<String>,
    /// Voice messages, when the account has speech recognition on.
    #[serde(default)]
    recognition: Option<String>,
    /// Location messages.
    #[serde(default)]
    label: Option<String>,
    /// Link messages.
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    url: Option<String>,
}

/// The send API's answer (also its error shape).
#[derive(Deserialize)]
struct ApiAnswer {
    #[serde(default)]
    errcode: Option<i64>,
    #[serde(default)]
    errmsg: Option<String>,
    #[serde(default)]
    msgid: Option<serde_json::Value>,
}

impl Wechat {
    pub fn new(settings: WechatSettings, api_base: Url, http: reqwest::Client) -> Self {
        let aes_key = settings
            .encoding_aes_key
            .as_ref()
            .map(|k| AesKey::from_encoding_aes_key(k.expose_secret()));
        Wechat {
            settings,
            aes_key,
            api_base,
            http,
            token: TokenCache::default(),
        }
    }

    pub fn handle_webhook(&self, req: &WebhookRequest) -> Result<WebhookOutcome, WebhookError> {
        if req.method == http::Method::GET {
            return self.handshake(req);
        }
        if req.method != http::Method::POST {
            return Err(WebhookError::MethodNotAllowed);
        }
        let safe_mode = req.query_param("encrypt_type") == Some("aes");
        let xml = match (&self.aes_key, safe_mode) {
            (Some(key), true) => self.open_safe(req, key.as_ref())?,
            (None, true) => {
                self.verify_plain(req)?;
                return Err(WebhookError::Unparseable(
                    "a safe-mode (AES) message, but the channel has no encoding_aes_key".into(),
                ));
            }
            (_, false) => {
                self.verify_plain(req)?;
                std::str::from_utf8(&req.body)
                    .map_err(|_| WebhookError::Unparseable("body is not UTF-8".into()))?
                    .to_owned()
            }
        };
        let message: WxMessage = from_xml(&xml)
            .map_err(|e| WebhookError::Unparseable(format!("not a WeChat message: {e}")))?;
        let (events, ignored) = match to_event(message)? {
            Ok(event) => (vec![event], Vec::new()),
            Err(why) => (Vec::new(), vec![why]),
        };
        Ok(WebhookOutcome::Events {
            events,
            ignored,
            failures: Vec::new(),
            reply: WebhookReply::text(200, "success"),
        })
    }

    /// Whether `signature` is the sorted SHA-1 of the token, timestamp and nonce.
    fn verify_plain(&self, req: &WebhookRequest) -> Result<(), WebhookError> {
        let (Some(sig), Some(ts), Some(nonce)) = (
            req.query_param("signature"),
            req.query_param("timestamp"),
            req.query_param("nonce"),
        ) else {
            return Err(WebhookError::Unauthorized(
                "missing signature, timestamp or nonce",
            ));
        };
        let token = self.settings.token.expose_secret();
        if verify_hex(&sorted_sha1(&[token, ts, nonce]), sig) {
            Ok(())
        } else {
            Err(WebhookError::Unauthorized("signature does not match"))
        }
    }

    /// `GET ?signature&timestamp&nonce&echostr`: echo `echostr` once verified.
    fn handshake(&self, req: &WebhookRequest) -> Result<WebhookOutcome, WebhookError> {
        self.verify_plain(req)?;
        let echo = req
            .query_param("echostr")
            .ok_or_else(|| WebhookError::Unparseable("handshake without echostr".into()))?;
        Ok(WebhookOutcome::Handshake(WebhookReply::text(200, echo)))
    }

    /// Safe mode: `msg_signature` over the token, timestamp, nonce and `Encrypt`, then
    /// the decrypted XML (for our AppID only).
    fn open_safe(
        &self,
        req: &WebhookRequest,
        key: Option<&AesKey>,
    ) -> Result<String, WebhookError> {
        let (Some(sig), Some(ts), Some(nonce)) = (
            req.query_param("msg_signature"),
            req.query_param("timestamp"),
            req.query_param("nonce"),
        ) else {
            return Err(WebhookError::Unauthorized(
                "missing msg_signature, timestamp or nonce",
            ));
        };
        // The signature covers `Encrypt`, so the envelope is read (not trusted) first.
        let envelope: Envelope = std::str::from_utf8(&req.body)
            .ok()
            .and_then(|body| from_xml(body).ok())
            .ok_or(WebhookError::Unauthorized(
                "safe-mode body without an Encrypt element",
            ))?;
        let token = self.settings.token.expose_secret();
        if !verify_hex(&sorted_sha1(&[token, ts, nonce, &envelope.encrypt]), sig) {
            return Err(WebhookError::Unauthorized("msg_signature does not match"));
        }
        let key = key.ok_or_else(|| {
            WebhookError::Unparseable("encoding_aes_key is not a 43-character key".into())
        })?;
        crypto::decrypt(key, &envelope.encrypt, &self.settings.app_id).map_err(|e| match e {
            DecryptError::WrongAppId => WebhookError::Unauthorized("encrypted for another AppID"),
            DecryptError::Malformed(why) => {
                WebhookError::Unparseable(format!("could not decrypt Encrypt: {why}"))
            }
        })
    }

    pub async fn send(&self, msg: &OutboundMessage<'_>) -> Result<Delivered, SendError> {
        let text = plain_text(msg.content, "WeChat")?;
        let body = serde_json::json!({
            "touser": msg.to.as_str(),
            "msgtype": "text",
            "text": { "content": text },
        });
        let token = self.access_token(None).await?;
        let mut answer = self.post_custom(&token, &body).await?;
        if answer.errcode.is_some_and(|c| TOKEN_ERRORS.contains(&c)) {
            let fresh = self.access_token(Some(&token)).await?;
            answer = self.post_custom(&fresh, &body).await?;
        }
        let code = answer.errcode.unwrap_or(0);
        if code == 0 {
            let id = match answer.msgid {
                Some(serde_json::Value::String(s)) => s,
                Some(serde_json::Value::Number(n)) => n.to_string(),
                _ => msg.id.as_str().to_owned(),
            };
            return Ok(Delivered {
                provider_message_id: id,
            });
        }
        let text = self.scrub(answer.errmsg.unwrap_or_default(), &token);
        Err(send_error(code, text))
    }

    /// `POST /cgi-bin/message/custom/send`. The URL carries the token: never logged,
    /// and transport errors are mapped without it.
    async fn post_custom(
        &self,
        token: &str,
        body: &serde_json::Value,
    ) -> Result<ApiAnswer, SendError> {
        let mut url = self.endpoint("cgi-bin/message/custom/send")?;
        url.query_pairs_mut().append_pair("access_token", token);
        let resp = self
            .http
            .post(url)
            .json(body)
            .send()
            .await
            .map_err(transport)?;
        let status = resp.status();
        if status.is_server_error() || status.as_u16() == 429 {
            return Err(SendError::Unavailable(format!("WeChat answered {status}")));
        }
        resp.json().await.map_err(transport)
    }

    /// The cached access token, or a new one (replacing `stale`).
    async fn access_token(&self, stale: Option<&str>) -> Result<String, SendError> {
        self.token.get(stale, || self.fetch_token()).await
    }

    /// `GET /cgi-bin/token?grant_type=client_credential&appid=…&secret=…`.
    async fn fetch_token(&self) -> Result<(String, u64), SendError> {
        let mut url = self.endpoint("cgi-bin/token")?;
        url.query_pairs_mut()
            .append_pair("grant_type", "client_credential")
            .append_pair("appid", &self.settings.app_id)
            .append_pair("secret", self.settings.app_secret.expose_secret());
        let resp = self.http.get(url).send().await.map_err(transport)?;
        let status = resp.status();
        if status.is_server_error() || status.as_u16() == 429 {
            return Err(SendError::Unavailable(format!(
                "WeChat token endpoint answered {status}"
            )));
        }
        let answer: TokenAnswer = resp.json().await.map_err(transport)?;
        match answer.access_token {
            Some(t) if !t.is_empty() => Ok((t, answer.expires_in.unwrap_or(7200))),
            _ => {
                let code = answer.errcode.unwrap_or(-1);
                let text = self.scrub(answer.errmsg.unwrap_or_default(), "");
                if BUSY_ERRORS.contains(&code) {
                    return Err(SendError::Unavailable(format!(
                        "WeChat access token unavailable ({code}): {text}"
                    )));
                }
                // Wrong AppID/AppSecret, IP not whitelisted...: retrying will not help.
                Err(SendError::Rejected {
                    code: code.to_string(),
                    text: format!("WeChat refused an access token: {text}"),
                    flag: None,
                })
            }
        }
    }

    fn endpoint(&self, path: &str) -> Result<Url, SendError> {
        let base = self.api_base.as_str().trim_end_matches('/');
        Url::parse(&format!("{base}/{path}"))
            .map_err(|_| SendError::Unavailable("the WeChat api_base is not a URL".to_owned()))
    }

    /// Provider texts go into stored errors: make sure no secret rides along.
    fn scrub(&self, text: String, token: &str) -> String {
        let mut text = text;
        for secret in [self.settings.app_secret.expose_secret(), token] {
            if !secret.is_empty() {
                text = text.replace(secret, "[redacted]");
            }
        }
        text
    }
}

/// A send refusal by errcode (channel-rules.md §3 WeChat OA).
fn send_error(code: i64, text: String) -> SendError {
    let code_s = code.to_string();
    match code {
        // Out of the 48-hour window, or the user unsubscribed.
        45015 => SendError::OutsideWindow {
            code: code_s,
            text,
            quota: false,
        },
        // The window's message count is used up.
        45047 => SendError::OutsideWindow {
            code: code_s,
            text,
            quota: true,
        },
        // The user does not follow the account: a hard stop.
        43004 => SendError::Rejected {
            code: code_s,
            text,
            flag: Some(ChannelFlag::Unsubscribed),
        },
        c if BUSY_ERRORS.contains(&c) => {
            SendError::Unavailable(format!("WeChat busy ({code_s}): {text}"))
        }
        // A token that stayed invalid after a refresh: another client is fetching tokens
        // for this AppID and invalidating ours; retry later.
        c if TOKEN_ERRORS.contains(&c) => SendError::Unavailable(format!(
            "WeChat refused a fresh access token ({code_s}): {text}"
        )),
        // 40003 (invalid OpenID) and everything else.
        _ => SendError::Rejected {
            code: code_s,
            text,
            flag: None,
        },
    }
}

/// One callback as `Ok(event)`, or `Err(why)` when it is an event we do not handle;
/// the outer error is an unparseable callback.
fn to_event(m: WxMessage) -> Result<Result<InboundEvent, String>, WebhookError> {
    let unparseable = |e: String| WebhookError::Unparseable(e);
    let external_id =
        ExternalId::parse(&m.from_user_name).map_err(|e| unparseable(e.to_string()))?;
    let occurred_at = Timestamp::from_secs(m.create_time).ok();
    let base = |event_id: String| InboundEvent {
        external_id: external_id.clone(),
        event_id,
        opener: None,
        occurred_at,
        profile: ProfileFields::default(),
        content: None,
        flag: None,
    };
    if !m.msg_type.eq_ignore_ascii_case("event") {
        let event_id = match &m.msg_id {
            Some(id) if id.trim().parse::<u64>().is_ok() => id.trim().to_owned(),
            Some(id) => return Err(unparseable(format!("MsgId {id:?} is not a 64-bit integer"))),
            None => format!("{}:{}:{}", m.from_user_name, m.create_time, m.msg_type),
        };
        let text = message_text(&m);
        let content = Content::from_text(text).map_err(|e| unparseable(e.to_string()))?;
        return Ok(Ok(InboundEvent {
            opener: Some(Opener::Message),
            content: Some(content),
            ..base(event_id)
        }));
    }
    let event = m.event.clone().unwrap_or_default();
    let event_id = format!("{}:{}:{}", m.from_user_name, m.create_time, event);
    let flag = |value| {
        Some(FlagSignal {
            flag: ChannelFlag::Unsubscribed,
            value,
        })
    };
    let e = base(event_id);
    Ok(Ok(match event.to_ascii_lowercase().as_str() {
        "subscribe" => {
            // Subscribing by scanning a parameterised QR code carries `qrscene_<scene>`.
            let by_qr = m
                .event_key
                .as_deref()
                .is_some_and(|k| k.starts_with("qrscene_"));
            InboundEvent {
                opener: Some(if by_qr {
                    Opener::QrScan
                } else {
                    Opener::Follow
                }),
                flag: flag(false),
                ..e
            }
        }
        "unsubscribe" => InboundEvent {
            flag: flag(true),
            ..e
        },
        "scan" => InboundEvent {
            opener: Some(Opener::QrScan),
            ..e
        },
        "click" | "view" => InboundEvent {
            opener: Some(Opener::MenuClick),
            ..e
        },
        _ => return Ok(Err(format!("event {event}"))),
    }))
}

/// The text an agent sees: the message, or a marker for media.
fn message_text(m: &WxMessage) -> String {
    let nonempty = |s: &Option<String>| {
        s.as_deref()
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    match m.msg_type.to_ascii_lowercase().as_str() {
        "text" => m
            .content
            .clone()
            .filter(|c| !c.trim().is_empty())
            .unwrap_or_else(|| "(empty message)".to_owned()),
        "image" => "(image)".to_owned(),
        "voice" => match nonempty(&m.recognition) {
            Some(t) => format!("(voice) {t}"),
            None => "(voice message)".to_owned(),
        },
        "video" | "shortvideo" => "(video)".to_owned(),
        "location" => match nonempty(&m.label) {
            Some(l) => format!("(location) {l}"),
            None => "(location)".to_owned(),
        },
        "link" => {
            let parts: Vec<String> = [nonempty(&m.title), nonempty(&m.url)]
                .into_iter()
                .flatten()
                .collect();
            if parts.is_empty() {
                "(link)".to_owned()
            } else {
                format!("(link) {}", parts.join(" "))
            }
        }
        other => format!("({other})"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// wechatpy's safe-mode vector (providers.md §4.5) decrypts to a message we parse.
    #[test]
    fn wechatpy_vector_decrypts_to_an_event() {
        let key =
            AesKey::from_encoding_aes_key("kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR").unwrap();
        let encrypt = "RgqEoJj5A4EMYlLvWO1F86ioRjZfaex/gePD0gOXTxpsq5Yj4GNglrBb8I2BAJVODGajiFnXBu7mCPatfjsu6IHCrsTyeDXzF6Bv283dGymzxh6ydJRvZsryDyZbLTE7rhnus50qGPMfp2wASFlzEgMW9z1ef/RD8XzaFYgm7iTdaXpXaG4+BiYyolBug/gYNx410cvkKR2/nPwBiT+P4hIiOAQqGp/TywZBtDh1yCF2KOd0gpiMZ5jSw3e29mTvmUHzkVQiMS6td7vXUaWOMZnYZlF3So2SjHnwh4jYFxdgpkHHqIrH/54SNdshoQgWYEvccTKe7FS709/5t6NMxuGhcUGAPOQipvWTT4dShyqio7mlsl5noTrb++x6En749zCpQVhDpbV6GDnTbcX2e8K9QaNWHp91eBdCRxthuL0=";
        let xml = crypto::decrypt(&key, encrypt, "wx49f0ab532d5d035a").unwrap();
        let event = to_event(from_xml(&xml).unwrap()).unwrap().unwrap();
        assert_eq!(event.external_id.as_str(), "messense");
        assert_eq!(event.content.unwrap().text(), Some("test"));
        assert_eq!(event.opener, Some(Opener::Message));
    }

    #[test]
    fn send_errors_by_code() {
        let t = || "x".to_owned();
        assert!(matches!(
            send_error(45015, t()),
            SendError::OutsideWindow { quota: false, .. }
        ));
        assert!(matches!(
            send_error(45047, t()),
            SendError::OutsideWindow { quota: true, .. }
        ));
        assert!(matches!(
            send_error(43004, t()),
            SendError::Rejected {
                flag: Some(ChannelFlag::Unsubscribed),
                ..
            }
        ));
        assert!(matches!(
            send_error(40003, t()),
            SendError::Rejected { flag: None, .. }
        ));
        for busy in [-1, 45009, 45011, 40001] {
            assert!(matches!(send_error(busy, t()), SendError::Unavailable(_)));
        }
    }
}
