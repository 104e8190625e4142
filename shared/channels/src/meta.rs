//! What Messenger, Instagram and WhatsApp share: the `hub.challenge` handshake, the
//! `X-Hub-Signature-256` check, and the Graph API's error envelope. (providers.md §3.6,
//! §4.6.)

use replyline_config::{ExposeSecret, SecretString};
use serde::Deserialize;
use url::Url;

use crate::outbound::{transport, SendError};
use crate::signature::{secret_eq, verify_hex_sha256};
use crate::webhook::{WebhookError, WebhookOutcome, WebhookReply, WebhookRequest};

/// The Graph API version every send uses: pinned, so a Meta default change cannot alter
/// request or error shapes under us.
pub(crate) const GRAPH_VERSION: &str = "v21.0";

const SIGNATURE_HEADER: &str = "x-hub-signature-256";

/// What a Meta webhook request is, once authenticated.
pub(crate) enum Verified {
    /// The subscription handshake, already answered.
    Handshake(WebhookOutcome),
    /// A signed POST: parse its body.
    Notification,
}

/// Answers the GET handshake or checks the POST signature; anything else is refused.
pub(crate) fn verify(
    req: &WebhookRequest,
    app_secret: &SecretString,
    verify_token: &SecretString,
) -> Result<Verified, WebhookError> {
    if req.method == http::Method::GET {
        return handshake(req, verify_token).map(Verified::Handshake);
    }
    if req.method != http::Method::POST {
        return Err(WebhookError::MethodNotAllowed);
    }
    // The legacy SHA-1 `X-Hub-Signature` is deliberately not accepted.
    let given = req
        .header(SIGNATURE_HEADER)
        .ok_or(WebhookError::Unauthorized("missing X-Hub-Signature-256"))?;
    let hex = given
        .trim()
        .strip_prefix("sha256=")
        .ok_or(WebhookError::Unauthorized(
            "X-Hub-Signature-256 does not start with sha256=",
        ))?;
    if !verify_hex_sha256(app_secret.expose_secret().as_bytes(), &req.body, hex) {
        return Err(WebhookError::Unauthorized(
            "X-Hub-Signature-256 does not match",
        ));
    }
    Ok(Verified::Notification)
}

/// `GET ?hub.mode=subscribe&hub.challenge=<n>&hub.verify_token=<token>`: echo the
/// challenge only when the token is ours (Meta only needs a non-200 otherwise).
fn handshake(
    req: &WebhookRequest,
    verify_token: &SecretString,
) -> Result<WebhookOutcome, WebhookError> {
    if req.query_param("hub.mode") != Some("subscribe") {
        return Err(WebhookError::Unauthorized("hub.mode is not subscribe"));
    }
    let token = req
        .query_param("hub.verify_token")
        .ok_or(WebhookError::Unauthorized("missing hub.verify_token"))?;
    if !secret_eq(token, verify_token.expose_secret()) {
        return Err(WebhookError::Unauthorized("wrong hub.verify_token"));
    }
    let challenge = req
        .query_param("hub.challenge")
        .ok_or(WebhookError::Unauthorized("missing hub.challenge"))?;
    Ok(WebhookOutcome::Handshake(WebhookReply::text(
        200, challenge,
    )))
}

/// The envelope of every Meta webhook: `object` says which product sent it.
#[derive(Deserialize)]
pub(crate) struct Envelope<E> {
    pub object: String,
    #[serde(default = "Vec::new")]
    pub entry: Vec<E>,
}

/// Parses a verified body and checks its `object`.
pub(crate) fn envelope<E: serde::de::DeserializeOwned>(
    body: &[u8],
    object: &str,
) -> Result<Vec<E>, WebhookError> {
    let env: Envelope<E> = serde_json::from_slice(body)
        .map_err(|e| WebhookError::Unparseable(format!("not a Meta webhook payload: {e}")))?;
    if env.object != object {
        return Err(WebhookError::Unparseable(format!(
            "expected object \"{object}\", got \"{}\"",
            env.object
        )));
    }
    Ok(env.entry)
}

/// `{"error":{...}}`, the Graph API's refusal.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct GraphError {
    #[serde(default)]
    pub code: Option<i64>,
    #[serde(default)]
    pub error_subcode: Option<i64>,
    #[serde(default)]
    pub message: Option<String>,
    #[serde(default)]
    pub error_data: Option<ErrorData>,
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct ErrorData {
    #[serde(default)]
    pub details: Option<String>,
}

#[derive(Deserialize)]
struct ErrorBody {
    error: GraphError,
}

/// How a product reads a Graph refusal.
pub(crate) enum Refusal {
    OutsideWindow,
    Unavailable,
    Rejected(Option<replyline_domain::ChannelFlag>),
}

/// POSTs JSON to a Graph endpoint with the token as a Bearer header (never in the URL, so
/// it cannot leak into errors or logs) and returns the success body, or the refusal as
/// `classify` reads it. 5xx and HTTP 429 are always `Unavailable`.
pub(crate) async fn graph_post(
    http: &reqwest::Client,
    url: Url,
    token: &SecretString,
    body: &serde_json::Value,
    product: &str,
    classify: impl Fn(&GraphError) -> Refusal,
) -> Result<serde_json::Value, SendError> {
    let resp = http
        .post(url)
        .bearer_auth(token.expose_secret())
        .json(body)
        .send()
        .await
        .map_err(transport)?;
    let status = resp.status();
    let bytes = resp.bytes().await.map_err(transport)?;
    if status.is_success() {
        return serde_json::from_slice(&bytes).map_err(|_| {
            SendError::Unavailable(format!("{product} answered with an unreadable body"))
        });
    }
    let error = serde_json::from_slice::<ErrorBody>(&bytes)
        .map(|b| b.error)
        .unwrap_or_default();
    let code = error
        .code
        .map(|c| c.to_string())
        .unwrap_or_else(|| status.as_u16().to_string());
    let mut text = error
        .message
        .clone()
        .unwrap_or_else(|| format!("HTTP {status}"));
    if let Some(details) = error.error_data.as_ref().and_then(|d| d.details.as_ref()) {
        text = format!("{text}: {details}");
    }
    if status.is_server_error() || status.as_u16() == 429 {
        return Err(SendError::Unavailable(format!(
            "{product} answered {status} ({code}): {text}"
        )));
    }
    Err(match classify(&error) {
        Refusal::OutsideWindow => SendError::OutsideWindow {
            code,
            text,
            quota: false,
        },
        Refusal::Unavailable => SendError::Unavailable(format!("{product} ({code}): {text}")),
        Refusal::Rejected(flag) => SendError::Rejected { code, text, flag },
    })
}

/// `{api_base}/v21.0/{path}`.
pub(crate) fn graph_url(api_base: &Url, path: &str) -> Result<Url, SendError> {
    let base = api_base.as_str().trim_end_matches('/');
    Url::parse(&format!("{base}/{GRAPH_VERSION}/{path}"))
        .map_err(|e| SendError::Unavailable(format!("invalid Graph API URL: {e}")))
}

/// A length limit in characters, as the product documents it.
pub(crate) fn check_length(text: &str, max: usize, product: &str) -> Result<(), SendError> {
    let len = text.chars().count();
    if len > max {
        return Err(SendError::Unsupported(format!(
            "{product} messages are limited to {max} characters; this one has {len}: split it"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    /// pywa's vector (providers.md §4.6, `david-lev/pywa` tests/test_server.py).
    const PYWA_SECRET: &str = "1222e786b144d0e85b9f365372d93676";
    const PYWA_BODY: &str = r#"{"object":"whatsapp_business_account","entry":[{"id":"264937493375603","changes":[{"value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550953877","phone_number_id":"277321005464405"},"contacts":[{"profile":{"name":"PyWa Tests"},"wa_id":"972544401243"}],"messages":[{"from":"972544401243","id":"wamid.HBgMOTcyNTQ0NDAxMjQzFQIAEhggM0RFQTNCMEEwRTY3QzUwODYzMDc4NjQ4QzM4ODAxM0YA","timestamp":"1730231903","text":{"body":"Hey there! I am using PyWa."},"type":"text"}]},"field":"messages"}]}]}"#;
    const PYWA_SIG: &str =
        "sha256=54edfa1d7259e0eb13c677cc7d73d1b5c86cfa12433d19156e058ab9251bc441";

    fn post(sig: Option<&str>, body: &str) -> WebhookRequest {
        WebhookRequest {
            method: http::Method::POST,
            public_url: "https://h/webhooks/wa".to_owned(),
            headers: WebhookRequest::headers_from(sig.map(|s| ("X-Hub-Signature-256", s))),
            query: Vec::new(),
            body: Bytes::copy_from_slice(body.as_bytes()),
        }
    }

    fn secret(s: &str) -> SecretString {
        SecretString::from(s.to_owned())
    }

    #[test]
    fn pywa_sdk_vector() {
        assert_eq!(
            format!(
                "sha256={}",
                hex::encode(crate::signature::hmac_sha256(
                    PYWA_SECRET.as_bytes(),
                    PYWA_BODY.as_bytes()
                ))
            ),
            PYWA_SIG
        );
        let (s, t) = (secret(PYWA_SECRET), secret("vt"));
        assert!(matches!(
            verify(&post(Some(PYWA_SIG), PYWA_BODY), &s, &t),
            Ok(Verified::Notification)
        ));
        // One byte changed, the legacy header, a missing prefix, another secret: refused.
        let tampered = PYWA_BODY.replace("Hey", "Hoy");
        let legacy = PYWA_SIG.replace("sha256=", "sha1=");
        let bare = PYWA_SIG.trim_start_matches("sha256=");
        for req in [
            post(Some(PYWA_SIG), &tampered),
            post(Some(&legacy), PYWA_BODY),
            post(Some(bare), PYWA_BODY),
            post(None, PYWA_BODY),
        ] {
            assert!(matches!(
                verify(&req, &s, &t),
                Err(WebhookError::Unauthorized(_))
            ));
        }
        assert!(verify(&post(Some(PYWA_SIG), PYWA_BODY), &secret("other"), &t).is_err());
    }

    #[test]
    fn other_methods_are_not_allowed() {
        let mut req = post(Some(PYWA_SIG), PYWA_BODY);
        req.method = http::Method::PUT;
        assert!(matches!(
            verify(&req, &secret(PYWA_SECRET), &secret("vt")),
            Err(WebhookError::MethodNotAllowed)
        ));
    }
}
