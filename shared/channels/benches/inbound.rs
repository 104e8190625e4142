//! The CPU work of one inbound message, per channel: verify the signature over the raw
//! bytes, parse the provider's payload, and the policy step the webhook then performs
//! (the window moves with `record_inbound`, the state horizon for its TTL, and the reply
//! status the inbox shows). Storage and network are not included. Goal (issue 7): under
//! 5 µs median per message. Each request is signed once, in Rust, outside the timed loop
//! (the tests prove the same signatures against the providers' SDKs).
//!
//! Email over SNS's HTTPS subscription carries an RSA signature (the test key and its
//! certificate in tests/fixtures, configured as `sns_cert_pem_path`, so nothing is
//! fetched); its parts are measured apart (`email_parts/*`) to show where the time goes.
//! In AWS, SNS invokes the email function instead (IAM-authenticated, no RSA):
//! `inbound/email_lambda_sns_event`.

use std::hint::black_box;
use std::time::Duration;

use aes::cipher::block_padding::NoPadding;
use aes::cipher::{BlockModeEncrypt, KeyIvInit};
use base64::Engine as _;
use bytes::Bytes;
use criterion::{criterion_group, criterion_main, Criterion};
use replyline_channels::email::Email;
use replyline_channels::signature::{hmac_sha256, sorted_sha1};
use replyline_channels::{
    http_client, line, twilio, viber, webchat, Adapter, WebhookOutcome, WebhookRequest,
};
use replyline_config::Config;
use replyline_domain::Timestamp;
use replyline_policy::{
    reply_status, ChannelRules, ContactChannelState, Opener, ReplyStatus, SenderKind,
};
use rsa::pkcs1v15::{SigningKey, VerifyingKey};
use rsa::pkcs8::{DecodePrivateKey, DecodePublicKey};
use rsa::signature::{SignatureEncoding, Signer, Verifier};
use rsa::{RsaPrivateKey, RsaPublicKey};
use serde_json::json;
use x509_cert::der::{DecodePem, Encode};
use x509_cert::Certificate;

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// A configured channel, as the webhook function builds it from the configuration.
struct Channel {
    adapter: Adapter,
    rules: ChannelRules,
}

fn channel(channel_toml: &str) -> Channel {
    let config = Config::from_toml(&format!(
        "[store]\nkind = \"sqlite\"\npath = \"x.db\"\n[[channels]]\n{channel_toml}"
    ))
    .expect("valid channel configuration");
    let c = &config.channels[0];
    Channel {
        adapter: Adapter::for_channel(c, http_client().expect("HTTP client")),
        rules: c.rules.clone(),
    }
}

fn request(url: &str, headers: &[(&str, &str)], body: &[u8]) -> WebhookRequest {
    let parsed = url::Url::parse(url).expect("valid URL");
    WebhookRequest {
        method: http::Method::POST,
        public_url: url.to_owned(),
        headers: WebhookRequest::headers_from(headers.iter().copied()),
        query: parsed
            .query_pairs()
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect(),
        body: Bytes::copy_from_slice(body),
    }
}

/// What is timed: verify + parse, then the policy step for each event (what
/// `record_event` and the store's `move_window` do before any I/O, and the reply status
/// the inbox then shows). The contact's state starts empty, as for a new contact.
fn inbound(
    ch: &Channel,
    req: &WebhookRequest,
    now: Timestamp,
) -> (usize, Option<Duration>, Option<ReplyStatus>) {
    let outcome = ch.adapter.handle_webhook(req).expect("verified and parsed");
    policy(&ch.rules, outcome, now)
}

/// The policy step for each event of a verified webhook.
fn policy(
    rules: &ChannelRules,
    outcome: WebhookOutcome,
    now: Timestamp,
) -> (usize, Option<Duration>, Option<ReplyStatus>) {
    let WebhookOutcome::Events { events, .. } = outcome else {
        panic!("expected events")
    };
    let horizon = rules.state_horizon();
    let mut status = None;
    let n = events.len();
    for event in events {
        let mut state = ContactChannelState::default();
        if event.opener.is_some() || event.content.is_some() {
            let at = event.occurred_at.map(|t| t.min(now)).unwrap_or(now);
            state.record_inbound(event.opener.unwrap_or(Opener::Message), at);
        }
        status = Some(reply_status(rules, &state, SenderKind::Human, now));
        black_box(&event);
    }
    (n, horizon, status)
}

// ------------------------------------------------------------------ the requests

const TG_UPDATE: &str = r#"{"update_id":10000,"message":{"date":1441645532,"chat":{"last_name":"Test Lastname","id":1111111,"type":"private","first_name":"Test","username":"Test"},"message_id":1365,"from":{"last_name":"Test Lastname","id":1111111,"is_bot":false,"first_name":"Test","username":"Test"},"text":"/start"}}"#;

fn telegram() -> (Channel, WebhookRequest) {
    let ch = channel("id = \"tg\"\nkind = \"telegram\"\nbot_token = \"123:abc\"\nsecret_token = \"s3cret\"\napi_base = \"http://127.0.0.1:1\"");
    let req = request(
        "https://hooks.example.com/webhooks/tg",
        &[
            ("x-telegram-bot-api-secret-token", "s3cret"),
            ("content-type", "application/json"),
        ],
        TG_UPDATE.as_bytes(),
    );
    (ch, req)
}

fn webchat() -> (Channel, WebhookRequest) {
    let ch = channel("id = \"web\"\nkind = \"webchat\"\nsecret = \"web-secret\"\ncallback_url = \"http://127.0.0.1:1/cb\"");
    let body = r#"{"visitor_id":"v-1","message_id":"m-1","text":"Hi there","name":"Ana María López","email":"ANA@example.com","timestamp":"2026-11-25T10:00:00Z"}"#;
    let sig = webchat::sign("web-secret", body.as_bytes());
    let req = request(
        "https://hooks.example.com/webhooks/web",
        &[
            ("x-replyline-signature", &sig),
            ("content-type", "application/json"),
        ],
        body.as_bytes(),
    );
    (ch, req)
}

fn sms() -> (Channel, WebhookRequest) {
    let ch = channel("id = \"sms\"\nkind = \"sms\"\nprovider = \"twilio\"\naccount_sid = \"AC123\"\nauth_token = \"12345\"\nfrom = \"+15005550006\"\napi_base = \"http://127.0.0.1:1\"");
    let url = "https://hooks.example.com/webhooks/sms";
    // The fields Twilio posts for one inbound SMS.
    let body = "ToCountry=US&ToState=CA&SmsMessageSid=SM1234567890abcdef1234567890abcdef&NumMedia=0&ToCity=&FromZip=94105&SmsSid=SM1234567890abcdef1234567890abcdef&FromState=CA&SmsStatus=received&FromCity=SAN+FRANCISCO&Body=My+order+%23123+never+arrived&FromCountry=US&To=%2B15005550006&ToZip=&NumSegments=1&MessageSid=SM1234567890abcdef1234567890abcdef&AccountSid=AC123&From=%2B14155550100&ApiVersion=2010-04-01";
    let params: Vec<(String, String)> = form_urlencoded::parse(body.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let sig = twilio::signature("12345", url, &params);
    let req = request(
        url,
        &[
            ("x-twilio-signature", &sig),
            ("content-type", "application/x-www-form-urlencoded"),
        ],
        body.as_bytes(),
    );
    (ch, req)
}

/// The first event of line-bot-sdk-python's `tests/v3/text/webhook.json`.
const LINE_BODY: &str = r#"{"destination":"U123","events":[{"replyToken":"nHuyWiB7yP5Zw52FIkcQobQuGDXCTA","type":"message","mode":"active","timestamp":1462629479859,"source":{"type":"user","userId":"U206d25c2ea6bd87c17655609a1c37cb8"},"webhookEventId":"testwebhookeventid","deliveryContext":{"isRedelivery":false},"message":{"id":"325708","type":"text","text":"Hello, world","quoteToken":"quoteToken"}}]}"#;

fn line() -> (Channel, WebhookRequest) {
    let ch = channel("id = \"line\"\nkind = \"line\"\nchannel_secret = \"line-channel-secret\"\nchannel_access_token = \"line-access-token\"\napi_base = \"http://127.0.0.1:1\"");
    let sig = line::signature("line-channel-secret", LINE_BODY.as_bytes());
    let req = request(
        "https://hooks.example.com/webhooks/line",
        &[
            ("x-line-signature", &sig),
            ("content-type", "application/json"),
        ],
        LINE_BODY.as_bytes(),
    );
    (ch, req)
}

const META_SECRET: &str = "meta-app-secret";

fn meta_signed(url: &str, body: &str) -> WebhookRequest {
    let sig = format!(
        "sha256={}",
        hex::encode(hmac_sha256(META_SECRET.as_bytes(), body.as_bytes()))
    );
    request(
        url,
        &[
            ("x-hub-signature-256", &sig),
            ("content-type", "application/json"),
        ],
        body.as_bytes(),
    )
}

fn messenger() -> (Channel, WebhookRequest) {
    let ch = channel(&format!("id = \"fb\"\nkind = \"messenger\"\napp_secret = \"{META_SECRET}\"\nverify_token = \"verify-me\"\npage_access_token = \"EAAGpagetoken\"\napi_base = \"http://127.0.0.1:1\""));
    let body = r#"{"object":"page","entry":[{"id":"PAGE","time":1458692752478,"messaging":[{"sender":{"id":"PSID1"},"recipient":{"id":"PAGE"},"timestamp":1458692752478,"message":{"mid":"mid.1457764197618:41d102a3e1ae206a38","text":"hello, world! \u00e9"}}]}]}"#;
    (
        ch,
        meta_signed("https://hooks.example.com/webhooks/fb", body),
    )
}

fn instagram() -> (Channel, WebhookRequest) {
    let ch = channel(&format!("id = \"ig\"\nkind = \"instagram\"\napp_secret = \"{META_SECRET}\"\nverify_token = \"verify-me\"\naccess_token = \"EAAGpagetoken\"\napi_base = \"http://127.0.0.1:1\""));
    let body = r#"{"object":"instagram","entry":[{"id":"17841400000000000","time":1569262486134,"messaging":[{"sender":{"id":"IGSID1"},"recipient":{"id":"17841400000000000"},"timestamp":1569262485349,"message":{"mid":"aWdfZAG1faXRlbToxOklH","text":"Hola!"}}]}]}"#;
    (
        ch,
        meta_signed("https://hooks.example.com/webhooks/ig", body),
    )
}

/// pywa's published test payload: one text message.
const WHATSAPP_BODY: &str = r#"{"object":"whatsapp_business_account","entry":[{"id":"264937493375603","changes":[{"value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550953877","phone_number_id":"277321005464405"},"contacts":[{"profile":{"name":"PyWa Tests"},"wa_id":"972544401243"}],"messages":[{"from":"972544401243","id":"wamid.HBgMOTcyNTQ0NDAxMjQzFQIAEhggM0RFQTNCMEEwRTY3QzUwODYzMDc4NjQ4QzM4ODAxM0YA","timestamp":"1730231903","text":{"body":"Hey there! I am using PyWa."},"type":"text"}]},"field":"messages"}]}]}"#;

fn whatsapp() -> (Channel, WebhookRequest) {
    let ch = channel(&format!("id = \"wa\"\nkind = \"whatsapp\"\napp_secret = \"{META_SECRET}\"\nverify_token = \"verify-me\"\naccess_token = \"EAAGwatoken\"\nphone_number_id = \"277321005464405\"\napi_base = \"http://127.0.0.1:1\""));
    (
        ch,
        meta_signed("https://hooks.example.com/webhooks/wa", WHATSAPP_BODY),
    )
}

const VIBER_TOKEN: &str = "44dafb7e0f40021e-61a47a1e6778d187-f2c5a676a07050b3";
const VIBER_BODY: &str = r#"{"event":"message","timestamp":1457764197627,"message_token":4912661846655238145,"sender":{"id":"01234567890A=","name":"Ana María López","avatar":"http://avatar_url","api_version":2},"message":{"type":"text","text":"Hola, ¿qué tal?","tracking_data":"tracking data"},"silent":false}"#;

fn viber() -> (Channel, WebhookRequest) {
    let ch = channel(&format!("id = \"viber\"\nkind = \"viber\"\nauth_token = \"{VIBER_TOKEN}\"\nsender_name = \"Shop\"\napi_base = \"http://127.0.0.1:1\""));
    let sig = viber::signature(VIBER_TOKEN, VIBER_BODY.as_bytes());
    let req = request(
        "https://hooks.example.com/webhooks/viber",
        &[
            ("x-viber-content-signature", &sig),
            ("content-type", "application/json"),
        ],
        VIBER_BODY.as_bytes(),
    );
    (ch, req)
}

const WX_TOKEN: &str = "wx-callback-token";
const WX_APP_ID: &str = "wx1234567890abcdef";
const WX_AES_KEY: &str = "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR";
const WX_TS: &str = "1411525903";
const WX_NONCE: &str = "461056294";
/// The official sample text message (a MsgId above 2^53).
const WX_XML: &str = "<xml><ToUserName><![CDATA[gh_account]]></ToUserName><FromUserName><![CDATA[oUser]]></FromUserName><CreateTime>1348831860</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[this is a test]]></Content><MsgId>6054768590064713728</MsgId></xml>";

fn wechat_channel(aes: bool) -> Channel {
    let key = if aes {
        format!("encoding_aes_key = \"{WX_AES_KEY}\"\n")
    } else {
        String::new()
    };
    channel(&format!("id = \"wx\"\nkind = \"wechat\"\ntoken = \"{WX_TOKEN}\"\napp_id = \"{WX_APP_ID}\"\napp_secret = \"wx-app-secret\"\n{key}api_base = \"http://127.0.0.1:1\""))
}

fn wechat_plain() -> (Channel, WebhookRequest) {
    let sig = hex::encode(sorted_sha1(&[WX_TOKEN, WX_TS, WX_NONCE]));
    let url = format!("https://hooks.example.com/webhooks/wx?signature={sig}&timestamp={WX_TS}&nonce={WX_NONCE}&openid=oUser");
    let req = request(&url, &[("content-type", "text/xml")], WX_XML.as_bytes());
    (wechat_channel(false), req)
}

/// WeChat's safe mode: AES-256-CBC (IV = the key's first 16 bytes) of 16 random bytes ‖
/// the XML's length (4 bytes, big-endian) ‖ the XML ‖ the AppID, PKCS#7-padded to 32.
fn wechat_encrypt(xml: &str) -> String {
    let key = base64::engine::GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        base64::engine::GeneralPurposeConfig::new().with_decode_allow_trailing_bits(true),
    )
    .decode(format!("{WX_AES_KEY}="))
    .expect("a valid EncodingAESKey");
    let mut plain = b"0123456789abcdef".to_vec();
    plain.extend_from_slice(&u32::try_from(xml.len()).expect("short").to_be_bytes());
    plain.extend_from_slice(xml.as_bytes());
    plain.extend_from_slice(WX_APP_ID.as_bytes());
    let pad = 32 - plain.len() % 32;
    plain.extend(std::iter::repeat_n(u8::try_from(pad).expect("pad"), pad));
    let len = plain.len();
    let cipher = cbc::Encryptor::<aes::Aes256>::new_from_slices(&key, &key[..16]).expect("key");
    let out = cipher
        .encrypt_padded::<NoPadding>(&mut plain, len)
        .expect("whole blocks");
    B64.encode(out)
}

fn wechat_aes() -> (Channel, WebhookRequest) {
    let encrypt = wechat_encrypt(WX_XML);
    let body = format!(
        "<xml><ToUserName><![CDATA[gh_account]]></ToUserName><Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>"
    );
    let signature = hex::encode(sorted_sha1(&[WX_TOKEN, WX_TS, WX_NONCE]));
    let msg_signature = hex::encode(sorted_sha1(&[WX_TOKEN, WX_TS, WX_NONCE, &encrypt]));
    let url = format!("https://hooks.example.com/webhooks/wx?signature={signature}&timestamp={WX_TS}&nonce={WX_NONCE}&openid=oUser&encrypt_type=aes&msg_signature={msg_signature}");
    let req = request(&url, &[("content-type", "text/xml")], body.as_bytes());
    (wechat_channel(true), req)
}

const SNS_KEY_PEM: &str = include_str!("../tests/fixtures/sns_test_key.pem");
const SNS_CERT_PEM: &str = include_str!("../tests/fixtures/sns_test_cert.pem");
const SNS_TOPIC: &str = "arn:aws:sns:us-east-1:123456789012:inbound-mail";
const SNS_CERT_URL: &str = "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-test.pem";
const MIME: &str = "From: Ana Maria Lopez <Ana.Lopez@Example.com>\r\nTo: support@shop.example\r\nSubject: Order 42\r\nMessage-ID: <abc123@mail.example.com>\r\nDate: Fri, 11 Sep 2015 20:32:33 +0000\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\n\r\nWhere is my order?\r\n";

/// SNS's canonical string of a notification.
fn sns_canonical(m: &serde_json::Value) -> String {
    [
        "Message",
        "MessageId",
        "Subject",
        "Timestamp",
        "TopicArn",
        "Type",
    ]
    .iter()
    .filter_map(|k| m[*k].as_str().map(|v| format!("{k}\n{v}\n")))
    .collect()
}

fn email_channel() -> Channel {
    channel(&format!(
        "id = \"mail\"\nkind = \"email\"\nfrom = \"support@shop.example\"\nsns_topic_arns = [\"{SNS_TOPIC}\"]\nsns_cert_pem_path = \"{}/tests/fixtures/sns_test_cert.pem\"",
        env!("CARGO_MANIFEST_DIR")
    ))
}

/// The SES "Received" notification: the SNS `Message`.
fn ses_notification() -> String {
    json!({
        "notificationType": "Received",
        "mail": {
            "timestamp": "2015-09-11T20:32:33.936Z",
            "source": "ana.lopez@example.com",
            "messageId": "d6iitobk75ur44p8kdnnp7g2n800",
            "destination": ["support@shop.example"],
            "commonHeaders": {"from": ["Ana Maria Lopez <Ana.Lopez@Example.com>"], "messageId": "<abc123@mail.example.com>", "subject": "Order 42"}
        },
        "receipt": {"spamVerdict": {"status": "PASS"}, "virusVerdict": {"status": "PASS"}, "action": {"type": "SNS", "topicArn": SNS_TOPIC, "encoding": "BASE64"}},
        "content": B64.encode(MIME),
    })
    .to_string()
}

/// The SES notification over SNS's HTTPS subscription, signed with the test key
/// (SignatureVersion 1 = RSA-SHA1, SES's default; 2 = RSA-SHA256).
fn email(version: &str) -> (Channel, WebhookRequest) {
    let ses = ses_notification();
    let mut m = json!({
        "Type": "Notification",
        "MessageId": "22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324",
        "TopicArn": SNS_TOPIC,
        "Subject": "Amazon SES Email Receipt Notification",
        "Message": ses,
        "Timestamp": "2015-09-11T20:32:34.000Z",
        "UnsubscribeURL": "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe"
    });
    let key = RsaPrivateKey::from_pkcs8_pem(SNS_KEY_PEM).expect("the test key");
    let data = sns_canonical(&m);
    let sig = match version {
        "1" => SigningKey::<sha1::Sha1>::new(key)
            .sign(data.as_bytes())
            .to_vec(),
        _ => SigningKey::<sha2::Sha256>::new(key)
            .sign(data.as_bytes())
            .to_vec(),
    };
    m["SignatureVersion"] = json!(version);
    m["Signature"] = json!(B64.encode(sig));
    m["SigningCertURL"] = json!(SNS_CERT_URL);
    let req = request(
        "https://hooks.example.com/webhooks/mail",
        &[
            ("x-amz-sns-message-type", "Notification"),
            ("content-type", "text/plain; charset=UTF-8"),
        ],
        m.to_string().as_bytes(),
    );
    (email_channel(), req)
}

fn bench(c: &mut Criterion) {
    // Baseline for the ratios in BENCHMARKS.md, as in replyline-policy's decision bench.
    let tag = String::from("HUMAN_AGENT");
    c.bench_function("baseline/clone_short_string", |b| {
        b.iter(|| black_box(&tag).clone())
    });

    let cases: [(&str, (Channel, WebhookRequest)); 12] = [
        ("telegram", telegram()),
        ("webchat", webchat()),
        ("sms_twilio", sms()),
        ("line", line()),
        ("messenger", messenger()),
        ("instagram", instagram()),
        ("whatsapp", whatsapp()),
        ("viber", viber()),
        ("wechat_plain", wechat_plain()),
        ("wechat_aes", wechat_aes()),
        ("email_sns_v1_rsa_sha1", email("1")),
        ("email_sns_v2_rsa_sha256", email("2")),
    ];
    let mut group = c.benchmark_group("inbound");
    for (name, (ch, req)) in &cases {
        // Once, untimed: the request must give exactly one message event, and "now" is a
        // minute after the provider's timestamp, so the window is open.
        let outcome = ch.adapter.handle_webhook(req).expect("verified and parsed");
        let WebhookOutcome::Events { events, .. } = outcome else {
            panic!("{name}: expected events")
        };
        assert_eq!(events.len(), 1, "{name}: one message");
        assert!(events[0].content.is_some(), "{name}: a message");
        let now = events[0]
            .occurred_at
            .unwrap_or(Timestamp::EPOCH)
            .saturating_add(Duration::from_secs(60));
        assert!(inbound(ch, req, now).2.is_some());
        group.bench_function(*name, |b| {
            b.iter(|| inbound(black_box(ch), black_box(req), black_box(now)))
        });
    }
    // Email in AWS: SNS invokes the email function with the same notification; Lambda's
    // invocation is authenticated by IAM, so there is no RSA signature to check.
    let mail = email_channel();
    let message = ses_notification();
    let now = Timestamp::parse_rfc3339("2015-09-11T20:33:33Z").expect("valid instant");
    assert_eq!(
        policy(
            &mail.rules,
            Email::parse_lambda_notification(&message).expect("parsed"),
            now
        )
        .0,
        1
    );
    group.bench_function("email_lambda_sns_event", |b| {
        b.iter(|| {
            let outcome = Email::parse_lambda_notification(black_box(&message)).expect("parsed");
            policy(black_box(&mail.rules), outcome, black_box(now))
        })
    });
    group.finish();

    // Where the email's time goes.
    let mut group = c.benchmark_group("email_parts");
    let cert = || Certificate::from_pem(SNS_CERT_PEM.as_bytes()).expect("the test certificate");
    group.bench_function("certificate_pem_to_rsa_key", |b| {
        b.iter(|| {
            let cert = Certificate::from_pem(black_box(SNS_CERT_PEM).as_bytes()).expect("cert");
            let spki = cert
                .tbs_certificate
                .subject_public_key_info
                .to_der()
                .expect("spki");
            RsaPublicKey::from_public_key_der(&spki).expect("RSA key")
        })
    });
    let spki = cert()
        .tbs_certificate
        .subject_public_key_info
        .to_der()
        .expect("spki");
    let public = RsaPublicKey::from_public_key_der(&spki).expect("RSA key");
    let private = RsaPrivateKey::from_pkcs8_pem(SNS_KEY_PEM).expect("the test key");
    let data = vec![b'x'; 3000];
    let sig1 = SigningKey::<sha1::Sha1>::new(private.clone()).sign(&data);
    let sig2 = SigningKey::<sha2::Sha256>::new(private).sign(&data);
    let v1 = VerifyingKey::<sha1::Sha1>::new(public.clone());
    let v2 = VerifyingKey::<sha2::Sha256>::new(public);
    group.bench_function("rsa2048_pkcs1v15_sha1_verify_3kB", |b| {
        b.iter(|| black_box(&v1).verify(black_box(&data), black_box(&sig1)))
    });
    group.bench_function("rsa2048_pkcs1v15_sha256_verify_3kB", |b| {
        b.iter(|| black_box(&v2).verify(black_box(&data), black_box(&sig2)))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
