//! Runs the real dev server binary on 127.0.0.1 (port 0) with a temporary SQLite store and
//! a wiremock fake provider, and talks to it over real sockets.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use replyline_channels::{twilio, webchat};
use serde_json::{json, Value};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// The base URL providers "call" (Twilio signs it); the server is told the same.
pub const PUBLIC_URL: &str = "https://hooks.replyline.test";
pub const TG_SECRET: &str = "tg-hook-secret";
pub const WEB_SECRET: &str = "web-secret-123";
pub const TWILIO_TOKEN: &str = "twilio-auth-token";

pub struct DevServer {
    child: Child,
    pub url: String,
    pub provider: MockServer,
    pub http: reqwest::Client,
    _dir: TempDir,
}

/// A temporary directory removed on drop.
pub struct TempDir(pub std::path::PathBuf);

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

impl Drop for DevServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Which store the dev server runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StoreKind {
    Sqlite,
    /// DynamoDB on moto (`REPLYLINE_DYNAMODB_ENDPOINT`), a fresh table per server.
    Dynamo,
}

fn store_section(kind: StoreKind, dir: &std::path::Path) -> String {
    match kind {
        StoreKind::Sqlite => format!(
            "kind = \"sqlite\"\npath = \"{}\"",
            dir.join("store.db").display()
        ),
        StoreKind::Dynamo => format!(
            "kind = \"dynamodb\"\ntable = \"e2e-{}\"\ntenant = \"e2e\"",
            dir.file_name()
                .unwrap()
                .to_string_lossy()
                .to_ascii_lowercase()
        ),
    }
}

fn config(provider: &str, store: &str, extra: &str) -> String {
    format!(
        r#"
[server]
listen = "127.0.0.1:0"
public_url = "{PUBLIC_URL}"

[store]
{store}

[workspace]
unassign_on_close = false
assign_on_outbound = "always"
closing_notes = "optional"
closing_categories = ["resolved", "follow_up", "spam"]

[[agents]]
id = "alice"
token = "token-alice-123"

[[agents]]
id = "bob"
token = "token-bob-456"

[[channels]]
id = "tg"
kind = "telegram"
bot_token = "42:bot"
secret_token = "{TG_SECRET}"
api_base = "{provider}"

[[channels]]
id = "web"
kind = "webchat"
secret = "{WEB_SECRET}"
callback_url = "{provider}/webchat/callback"

[[channels]]
id = "sms"
kind = "sms"
provider = "twilio"
account_sid = "AC123"
auth_token = "{TWILIO_TOKEN}"
from = "+15005550006"
api_base = "{provider}"
{extra}
"#
    )
}

impl DevServer {
    pub async fn start() -> DevServer {
        Self::start_on(StoreKind::Sqlite).await
    }

    pub async fn start_on(kind: StoreKind) -> DevServer {
        Self::start_with(kind, "").await
    }

    pub async fn start_with(kind: StoreKind, extra_config: &str) -> DevServer {
        Self::start_with_channels(kind, |_| extra_config.to_owned()).await
    }

    /// More configuration, written knowing the fake provider's URL.
    pub async fn start_with_channels(kind: StoreKind, extra: impl Fn(&str) -> String) -> DevServer {
        let provider = MockServer::start().await;
        let extra_config = extra(&provider.uri());
        let dir = std::env::temp_dir().join(format!(
            "replyline-e2e-{}-{}",
            std::process::id(),
            replyline_domain::MessageId::generate(replyline_domain::Timestamp::EPOCH)
        ));
        std::fs::create_dir_all(&dir).unwrap();
        let cfg = dir.join("config.toml");
        std::fs::write(
            &cfg,
            config(&provider.uri(), &store_section(kind, &dir), &extra_config),
        )
        .unwrap();
        if kind == StoreKind::Dynamo {
            assert!(
                std::env::var("REPLYLINE_DYNAMODB_ENDPOINT").is_ok(),
                "REPLYLINE_DYNAMODB_ENDPOINT is not set: run ./scripts/test.sh (it starts moto)"
            );
        }
        let mut child = Command::new(env!("CARGO_BIN_EXE_replyline-devserver"))
            .arg("--config")
            .arg(&cfg)
            .env("RUST_LOG", "warn")
            // SES signs its requests: dummy credentials for the fake provider.
            .env("AWS_ACCESS_KEY_ID", "test")
            .env("AWS_SECRET_ACCESS_KEY", "test")
            .env("AWS_REGION", "us-east-1")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("the dev server starts");
        let stdout = child.stdout.take().unwrap();
        let url = tokio::task::spawn_blocking(move || {
            let mut line = String::new();
            BufReader::new(stdout).read_line(&mut line).unwrap();
            line.trim()
                .strip_prefix("Replyline dev server listening on ")
                .unwrap_or_else(|| panic!("unexpected first line: {line}"))
                .to_owned()
        })
        .await
        .unwrap();
        DevServer {
            child,
            url,
            provider,
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(20))
                .build()
                .unwrap(),
            _dir: TempDir(dir),
        }
    }

    /// An agent's API call; returns (status, JSON body).
    pub async fn agent(
        &self,
        token: &str,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
        idempotency_key: Option<&str>,
    ) -> (u16, Value) {
        let mut req = self
            .http
            .request(method, format!("{}{path}", self.url))
            .bearer_auth(token);
        if let Some(k) = idempotency_key {
            req = req.header("Idempotency-Key", k);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        let text = resp.text().await.unwrap();
        let json = serde_json::from_str(&text).unwrap_or(Value::String(text));
        (status, json)
    }

    pub async fn get(&self, token: &str, path: &str) -> (u16, Value) {
        self.agent(token, reqwest::Method::GET, path, None, None)
            .await
    }

    pub async fn post(&self, token: &str, path: &str, body: Value) -> (u16, Value) {
        self.agent(token, reqwest::Method::POST, path, Some(body), None)
            .await
    }

    /// A raw webhook call; returns (status, body text).
    pub async fn webhook(
        &self,
        channel: &str,
        headers: &[(&str, String)],
        body: Vec<u8>,
        content_type: &str,
    ) -> (u16, String) {
        let mut req = self
            .http
            .post(format!("{}/webhooks/{channel}", self.url))
            .header("content-type", content_type)
            .body(body);
        for (k, v) in headers {
            req = req.header(*k, v);
        }
        let resp = req.send().await.unwrap();
        (resp.status().as_u16(), resp.text().await.unwrap())
    }
}

/// A Telegram update from user `chat_id` with `text`.
pub fn telegram_update(
    update_id: i64,
    chat_id: i64,
    first: &str,
    last: &str,
    text: &str,
) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "update_id": update_id,
        "message": {
            "message_id": update_id,
            "date": now_secs(),
            "chat": {"id": chat_id, "type": "private", "first_name": first, "last_name": last},
            "from": {"id": chat_id, "is_bot": false, "first_name": first, "last_name": last},
            "text": text
        }
    }))
    .unwrap()
}

pub fn now_secs() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as i64
}

pub async fn send_telegram(s: &DevServer, body: Vec<u8>) -> (u16, String) {
    s.webhook(
        "tg",
        &[("X-Telegram-Bot-Api-Secret-Token", TG_SECRET.to_owned())],
        body,
        "application/json",
    )
    .await
}

pub fn webchat_body(visitor: &str, message_id: &str, name: &str, text: &str) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "visitor_id": visitor, "message_id": message_id, "text": text, "name": name,
    }))
    .unwrap()
}

pub async fn send_webchat(s: &DevServer, body: Vec<u8>) -> (u16, String) {
    let sig = webchat::sign(WEB_SECRET, &body);
    s.webhook(
        "web",
        &[("X-Replyline-Signature", sig)],
        body,
        "application/json",
    )
    .await
}

/// Twilio form parameters of an inbound SMS.
pub fn sms_params(sid: &str, from: &str, body: &str) -> Vec<(String, String)> {
    [
        ("MessageSid", sid),
        ("AccountSid", "AC123"),
        ("From", from),
        ("To", "+15005550006"),
        ("Body", body),
        ("NumMedia", "0"),
        ("SmsStatus", "received"),
        ("ApiVersion", "2010-04-01"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

/// The X-Twilio-Signature computed by Twilio's own SDK (the `twilio` PyPI package).
pub fn twilio_sdk_signature(url: &str, params: &[(String, String)]) -> String {
    let python = std::env::var("REPLYLINE_ORACLE_PYTHON").expect(
        "REPLYLINE_ORACLE_PYTHON is not set: run the tests with ./scripts/test.sh (it installs the providers' SDKs)",
    );
    let map: serde_json::Map<String, Value> = params
        .iter()
        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
        .collect();
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/oracles/twilio_sign.py"
    );
    let out = Command::new(python)
        .arg(script)
        .arg(TWILIO_TOKEN)
        .arg(url)
        .arg(Value::Object(map).to_string())
        .output()
        .expect("python runs");
    assert!(
        out.status.success(),
        "twilio SDK failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let sig = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    // Our implementation must agree with the SDK.
    assert_eq!(sig, twilio::signature(TWILIO_TOKEN, url, params));
    sig
}

pub async fn send_sms(s: &DevServer, params: &[(String, String)]) -> (u16, String) {
    let url = format!("{PUBLIC_URL}/webhooks/sms");
    let sig = twilio_sdk_signature(&url, params);
    let body = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(params.iter())
        .finish();
    s.webhook(
        "sms",
        &[("X-Twilio-Signature", sig)],
        body.into_bytes(),
        "application/x-www-form-urlencoded",
    )
    .await
}

/// Runs a provider-SDK oracle script from `tests/oracles` with `stdin`; returns its stdout.
pub fn oracle(script: &str, args: &[&str], stdin: &[u8]) -> String {
    use std::io::Write;
    let python = std::env::var("REPLYLINE_ORACLE_PYTHON").expect(
        "REPLYLINE_ORACLE_PYTHON is not set: run the tests with ./scripts/test.sh (it installs the providers' SDKs)",
    );
    let path = format!(
        "{}/../../tests/oracles/{script}",
        env!("CARGO_MANIFEST_DIR")
    );
    let mut child = Command::new(python)
        .arg(path)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python runs");
    child.stdin.take().unwrap().write_all(stdin).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{script} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

pub const APP_SECRET: &str = "meta-app-secret";

/// The channels beyond the first three, all pointed at the fake provider (Viber with a
/// monthly allowance of 2, so tests can use it up).
pub fn more_channels(provider: &str) -> String {
    let cert = sns_fixture("sns_test_cert.pem");
    format!(
        r#"
[[channels]]
id = "line"
kind = "line"
channel_secret = "line-secret"
channel_access_token = "line-token"
api_base = "{provider}"

[[channels]]
id = "fb"
kind = "messenger"
app_secret = "{APP_SECRET}"
verify_token = "fb-verify"
page_access_token = "fb-token"
api_base = "{provider}"

[[channels]]
id = "ig"
kind = "instagram"
app_secret = "{APP_SECRET}"
verify_token = "ig-verify"
access_token = "ig-token"
api_base = "{provider}"

[[channels]]
id = "wa"
kind = "whatsapp"
app_secret = "{APP_SECRET}"
verify_token = "wa-verify"
access_token = "wa-token"
phone_number_id = "277321005464405"
api_base = "{provider}"

[[channels]]
id = "vb"
kind = "viber"
auth_token = "viber-token"
initiated_allowance_per_month = 2
api_base = "{provider}"

[[channels]]
id = "mail"
kind = "email"
from = "support@shop.example"
sns_cert_pem_path = "{cert}"
api_base = "{provider}"

[[channels]]
id = "wc"
kind = "wechat"
token = "wechat-token"
app_id = "wx0000000000000001"
app_secret = "wechat-secret"
api_base = "{provider}"
"#
    )
}

/// The test-only SNS signing certificate and key of the channels crate's fixtures.
pub fn sns_fixture(name: &str) -> String {
    format!(
        "{}/../../shared/channels/tests/fixtures/{name}",
        env!("CARGO_MANIFEST_DIR")
    )
}

/// A fake provider that accepts every send on every channel.
pub async fn fake_provider_accepts_everything(s: &DevServer) {
    Mock::given(method("POST"))
        .and(path("/v2/email/outbound-emails"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"MessageId": "ses-out-1"})))
        .mount(&s.provider)
        .await;
    Mock::given(method("POST"))
        .and(path("/v2/bot/message/push"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"sentMessages": [{"id": "461230966842064897", "quoteToken": "q"}]}),
        ))
        .mount(&s.provider)
        .await;
    Mock::given(method("POST"))
        .and(path("/v21.0/me/messages"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"recipient_id": "x", "message_id": "m_out"})),
        )
        .mount(&s.provider)
        .await;
    Mock::given(method("POST"))
        .and(path("/v21.0/277321005464405/messages"))
        .respond_with(ResponseTemplate::new(200).set_body_json(
            json!({"messaging_product": "whatsapp", "messages": [{"id": "wamid.out"}]}),
        ))
        .mount(&s.provider)
        .await;
    Mock::given(method("POST"))
        .and(path("/pa/send_message"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"status": 0, "status_message": "ok", "message_token": 5_000_000_000_000_000_001u64})))
        .mount(&s.provider)
        .await;
    Mock::given(method("GET"))
        .and(path("/cgi-bin/token"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"access_token": "wc-access", "expires_in": 7200})),
        )
        .mount(&s.provider)
        .await;
    Mock::given(method("POST"))
        .and(path("/cgi-bin/message/custom/send"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"errcode": 0, "errmsg": "ok"})),
        )
        .mount(&s.provider)
        .await;
    Mock::given(method("POST"))
        .and(path("/bot42:bot/sendMessage"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"ok": true, "result": {"message_id": 501}})),
        )
        .mount(&s.provider)
        .await;
    Mock::given(method("POST"))
        .and(path("/webchat/callback"))
        .respond_with(ResponseTemplate::new(204))
        .mount(&s.provider)
        .await;
    Mock::given(method("POST"))
        .and(path("/2010-04-01/Accounts/AC123/Messages.json"))
        .respond_with(ResponseTemplate::new(201).set_body_json(json!({"sid": "SMout0001"})))
        .mount(&s.provider)
        .await;
}
