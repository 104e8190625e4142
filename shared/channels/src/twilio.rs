//! SMS through Twilio: `X-Twilio-Signature` over the public URL and the sorted form
//! parameters, opt-out keywords, and the Messages API. (providers.md §3.4, §4.2;
//! channel-rules.md §3 SMS.)

use base64::Engine;
use replyline_config::{ExposeSecret, SmsSettings};
use replyline_domain::{ChannelFlag, Content, ExternalId, Phone, ProfileFields};
use replyline_policy::Opener;
use serde::Deserialize;
use sha2::{Digest, Sha256};
use url::Url;

use crate::outbound::{plain_text, transport, Delivered, OutboundMessage, SendError};
use crate::signature::{hmac_sha1, verify_base64};
use crate::webhook::{
    FlagSignal, InboundEvent, WebhookError, WebhookOutcome, WebhookReply, WebhookRequest,
};

const SIGNATURE_HEADER: &str = "x-twilio-signature";

/// Twilio's standard opt-out and opt-in keywords (the whole message, any case).
const OPT_OUT: [&str; 8] = [
    "STOP",
    "STOPALL",
    "UNSUBSCRIBE",
    "CANCEL",
    "END",
    "QUIT",
    "REVOKE",
    "OPTOUT",
];
const OPT_IN: [&str; 3] = ["START", "YES", "UNSTOP"];

#[derive(Debug, Clone)]
pub struct Twilio {
    settings: SmsSettings,
    api_base: Url,
    http: reqwest::Client,
}

/// Twilio's signature for a request to `url` with these form parameters.
pub fn signature(auth_token: &str, url: &str, params: &[(String, String)]) -> String {
    let mut sorted: Vec<&(String, String)> = params.iter().collect();
    sorted.sort();
    let mut data = String::from(url);
    for (k, v) in sorted {
        data.push_str(k);
        data.push_str(v);
    }
    base64::engine::general_purpose::STANDARD
        .encode(hmac_sha1(auth_token.as_bytes(), data.as_bytes()))
}

/// The URL as signed, and its variants with the default port added or removed: Twilio's
/// own validators accept any of them, since proxies add or drop the port.
fn url_variants(url: &str) -> Vec<String> {
    let mut out = vec![url.to_owned()];
    if let Ok(mut u) = Url::parse(url) {
        if u.port().is_some() {
            if u.set_port(None).is_ok() {
                out.push(u.to_string());
            }
        } else if let Some(default) = u.port_or_known_default() {
            if u.set_port(Some(default)).is_ok() {
                // `Url` drops a default port when printing: splice it in by hand.
                let host = u.host_str().unwrap_or_default().to_owned();
                out.push(url.replacen(&host, &format!("{host}:{default}"), 1));
            }
        }
    }
    out
}

#[derive(Deserialize)]
struct ApiError {
    #[serde(default)]
    code: Option<i64>,
    #[serde(default)]
    message: Option<String>,
}

impl Twilio {
    pub fn new(settings: SmsSettings, api_base: Url, http: reqwest::Client) -> Self {
        Twilio {
            settings,
            api_base,
            http,
        }
    }

    fn verify(
        &self,
        req: &WebhookRequest,
        params: &[(String, String)],
    ) -> Result<(), WebhookError> {
        let given = req
            .header(SIGNATURE_HEADER)
            .ok_or(WebhookError::Unauthorized("missing X-Twilio-Signature"))?;
        let token = self.settings.auth_token.expose_secret();
        let json_body = req
            .query_param("bodySHA256")
            .map(|hash| hex::encode(Sha256::digest(&req.body)).eq_ignore_ascii_case(hash));
        for url in url_variants(&req.public_url) {
            // JSON bodies: the URL carries the body's hash and the HMAC covers the URL only.
            let signed_params: &[(String, String)] = if json_body.is_some() { &[] } else { params };
            let expected = signature(token, &url, signed_params);
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(&expected)
                .unwrap_or_default();
            if verify_base64(&decoded, given) {
                return match json_body {
                    Some(false) => Err(WebhookError::Unauthorized(
                        "bodySHA256 does not match the body",
                    )),
                    _ => Ok(()),
                };
            }
        }
        Err(WebhookError::Unauthorized(
            "X-Twilio-Signature does not match",
        ))
    }

    pub fn handle_webhook(&self, req: &WebhookRequest) -> Result<WebhookOutcome, WebhookError> {
        if req.method != http::Method::POST {
            return Err(WebhookError::MethodNotAllowed);
        }
        let params: Vec<(String, String)> = form_urlencoded::parse(&req.body)
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        self.verify(req, &params)?;
        let get = |name: &str| {
            params
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.as_str())
        };
        let reply = WebhookReply {
            status: 200,
            content_type: "text/xml",
            body: "<Response/>".to_owned(),
        };
        // An empty MessageSid is no dedup key: every such message would be "the same" one.
        let sid = get("MessageSid").filter(|s| !s.trim().is_empty());
        let (Some(sid), Some(from)) = (sid, get("From")) else {
            return Ok(WebhookOutcome::Events {
                events: Vec::new(),
                failures: Vec::new(),
                ignored: vec![format!(
                    "callback without MessageSid/From (status {})",
                    get("MessageStatus").or(get("SmsStatus")).unwrap_or("?")
                )],
                reply,
            });
        };
        let body = get("Body").unwrap_or_default();
        let media = get("NumMedia")
            .and_then(|n| n.parse::<u32>().ok())
            .unwrap_or(0);
        let text = if body.trim().is_empty() {
            format!("({media} attachment{})", if media == 1 { "" } else { "s" })
        } else {
            body.to_owned()
        };
        let keyword = body.trim().to_ascii_uppercase();
        let flag = if OPT_OUT.contains(&keyword.as_str()) {
            Some(FlagSignal {
                flag: ChannelFlag::OptedOut,
                value: true,
            })
        } else if OPT_IN.contains(&keyword.as_str()) {
            Some(FlagSignal {
                flag: ChannelFlag::OptedOut,
                value: false,
            })
        } else {
            None
        };
        let unparseable = |e: String| WebhookError::Unparseable(e);
        let event = InboundEvent {
            external_id: ExternalId::parse(from).map_err(|e| unparseable(e.to_string()))?,
            event_id: sid.to_owned(),
            opener: Some(Opener::Message),
            // Twilio sends no timestamp: the receipt time is the message time.
            occurred_at: None,
            profile: ProfileFields {
                phone: Phone::parse(from).ok(),
                ..ProfileFields::default()
            },
            content: Some(Content::from_text(text).map_err(|e| unparseable(e.to_string()))?),
            flag,
        };
        Ok(WebhookOutcome::Events {
            events: vec![event],
            ignored: Vec::new(),
            failures: Vec::new(),
            reply,
        })
    }

    pub async fn send(&self, msg: &OutboundMessage<'_>) -> Result<Delivered, SendError> {
        let text = plain_text(msg.content, "SMS")?;
        let url = format!(
            "{}/2010-04-01/Accounts/{}/Messages.json",
            self.api_base.as_str().trim_end_matches('/'),
            self.settings.account_sid
        );
        let from_key = if self.settings.from.starts_with("MG") {
            "MessagingServiceSid"
        } else {
            "From"
        };
        let form = [
            ("To", msg.to.as_str()),
            (from_key, self.settings.from.as_str()),
            ("Body", text),
        ];
        let resp = self
            .http
            .post(url)
            .basic_auth(
                &self.settings.account_sid,
                Some(self.settings.auth_token.expose_secret()),
            )
            .form(&form)
            .send()
            .await
            .map_err(transport)?;
        let status = resp.status();
        let body: serde_json::Value = resp.json().await.map_err(transport)?;
        if status.is_success() {
            let sid = body.get("sid").and_then(|s| s.as_str()).ok_or_else(|| {
                SendError::Unavailable("Twilio answered without a sid".to_owned())
            })?;
            return Ok(Delivered {
                provider_message_id: sid.to_owned(),
            });
        }
        if status.is_server_error() || status.as_u16() == 429 {
            return Err(SendError::Unavailable(format!("Twilio answered {status}")));
        }
        let err: ApiError = serde_json::from_value(body).unwrap_or(ApiError {
            code: None,
            message: None,
        });
        let code = err
            .code
            .map(|c| c.to_string())
            .unwrap_or_else(|| status.as_u16().to_string());
        // 21610: the recipient replied STOP.
        let flag = (code == "21610").then_some(ChannelFlag::OptedOut);
        Err(SendError::Rejected {
            code,
            text: err.message.unwrap_or_else(|| status.to_string()),
            flag,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params() -> Vec<(String, String)> {
        [
            ("CallSid", "CA1234567890ABCDE"),
            ("Caller", "+14158675309"),
            ("Digits", "1234"),
            ("From", "+14158675309"),
            ("To", "+18005551212"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
    }

    /// twilio-python's RequestValidator vectors (providers.md §4.2).
    #[test]
    fn twilio_sdk_vectors() {
        let url = "https://mycompany.com/myapp.php?foo=1&bar=2";
        assert_eq!(
            signature("12345", url, &params()),
            "RSOYDt4T1cUTdK1PDd93/VVr8B8="
        );
        assert_eq!(
            signature(
                "12345",
                "https://mycompany.com:443/myapp.php?foo=1&bar=2",
                &params()
            ),
            "kvajT1Ptam85bY51eRf/AJRuM3w="
        );
        assert_eq!(
            signature(
                "12345",
                "http://mycompany.com:80/myapp.php?foo=1&bar=2",
                &params()
            ),
            "0ZXoZLH/DfblKGATFgpif+LLRf4="
        );
        let repeated: Vec<(String, String)> = [
            ("Sid", "CA123"),
            ("SidAccount", "AC123"),
            ("Digits", "5678"),
            ("Digits", "1234"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        assert_eq!(
            signature("12345", url, &repeated),
            "IK+Dwps556ElfBT0I3Rgjkr1wJU="
        );
    }

    /// Found by fuzzing (webhook_twilio): a signed message with an empty MessageSid gave an
    /// event whose dedup key was empty; it is now a callback without a message.
    #[test]
    fn an_empty_message_sid_is_no_message() {
        let settings = SmsSettings {
            provider: replyline_config::SmsProvider::Twilio,
            account_sid: "AC123".to_owned(),
            auth_token: "token".to_owned().into(),
            from: "+15005550006".to_owned(),
        };
        let http = crate::outbound::http_client().unwrap();
        let twilio = Twilio::new(settings, Url::parse("http://127.0.0.1:9").unwrap(), http);
        let url = "https://h.example/webhooks/sms";
        let body = "MessageSid=+&From=%2B447700900123&Body=hi";
        let params: Vec<(String, String)> = form_urlencoded::parse(body.as_bytes())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        let req = WebhookRequest {
            method: http::Method::POST,
            public_url: url.to_owned(),
            headers: WebhookRequest::headers_from([(
                "X-Twilio-Signature",
                signature("token", url, &params).as_str(),
            )]),
            query: Vec::new(),
            body: body.as_bytes().to_vec().into(),
        };
        match twilio.handle_webhook(&req) {
            Ok(WebhookOutcome::Events {
                events, ignored, ..
            }) => {
                assert!(events.is_empty(), "{events:?}");
                assert_eq!(ignored.len(), 1);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn url_variants_add_and_drop_default_ports() {
        let v = url_variants("https://mycompany.com/myapp.php?foo=1&bar=2");
        assert!(v.contains(&"https://mycompany.com:443/myapp.php?foo=1&bar=2".to_owned()));
        let v = url_variants("https://mycompany.com:1234/myapp.php?foo=1&bar=2");
        assert!(v.contains(&"https://mycompany.com/myapp.php?foo=1&bar=2".to_owned()));
    }
}
