//! Email through SES: SNS HTTPS notifications signed in the test with a test-only RSA key
//! (tests/fixtures/sns_test_key.pem, generated with `openssl req -x509 -newkey rsa:2048`
//! for these tests only; its self-signed certificate is the configured trust anchor),
//! parsed into events; replies sent to a fake SES v2 (wiremock) through `api_base`.

mod common;

use std::sync::Arc;

use base64::Engine as _;
use bytes::Bytes;
use replyline_channels::email::sns::FixedCert;
use replyline_channels::email::Email;
use replyline_channels::{
    http_client, OutboundMessage, SendError, WebhookError, WebhookOutcome, WebhookRequest,
};
use replyline_config::EmailSettings;
use replyline_domain::{ChannelFlag, Content, ExternalId, MessageId, Timestamp};
use rsa::pkcs1v15::SigningKey;
use rsa::pkcs8::DecodePrivateKey;
use rsa::signature::{SignatureEncoding, Signer};
use rsa::RsaPrivateKey;
use serde_json::{json, Value};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const KEY_PEM: &str = include_str!("fixtures/sns_test_key.pem");
const CERT_PEM: &str = include_str!("fixtures/sns_test_cert.pem");
const TOPIC: &str = "arn:aws:sns:us-east-1:123456789012:inbound-mail";
const CERT_URL: &str = "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-test.pem";

const MIME: &str = "From: Ana Maria Lopez <Ana.Lopez@Example.com>\r\nTo: support@shop.example\r\nSubject: Order 42\r\nMessage-ID: <abc123@mail.example.com>\r\nContent-Type: text/plain; charset=UTF-8\r\n\r\nWhere is my order?\r\n";

fn settings(topics: &[&str]) -> EmailSettings {
    EmailSettings {
        from: "support@shop.example".to_owned(),
        sns_topic_arns: topics.iter().map(|t| (*t).to_owned()).collect(),
        sns_cert_pem_path: Some(
            format!(
                "{}/tests/fixtures/sns_test_cert.pem",
                env!("CARGO_MANIFEST_DIR")
            )
            .into(),
        ),
        region: None,
    }
}

fn email(api_base: &str, topics: &[&str]) -> Email {
    Email::new(
        settings(topics),
        url::Url::parse(api_base).unwrap(),
        http_client().unwrap(),
    )
    .with_credentials(aws_sdk_sesv2::config::Credentials::new(
        "AKIDTEST", "secret", None, None, "test",
    ))
}

fn ses_notification(content: &str) -> String {
    json!({
        "notificationType": "Received",
        "mail": {
            "timestamp": "2015-09-11T20:32:33.936Z",
            "source": "ana.lopez@example.com",
            "messageId": "d6iitobk75ur44p8kdnnp7g2n800",
            "destination": ["support@shop.example"],
            "commonHeaders": {"from": ["Ana Maria Lopez <Ana.Lopez@Example.com>"], "messageId": "<abc123@mail.example.com>", "subject": "Order 42"}
        },
        "receipt": {"spamVerdict": {"status": "PASS"}, "virusVerdict": {"status": "PASS"}, "action": {"type": "SNS", "topicArn": TOPIC, "encoding": "BASE64"}},
        "content": content
    })
    .to_string()
}

/// SNS's canonical string, built here independently of the crate's code.
fn canonical(m: &Value) -> String {
    let keys: &[&str] = if m["Type"] == "Notification" {
        &[
            "Message",
            "MessageId",
            "Subject",
            "Timestamp",
            "TopicArn",
            "Type",
        ]
    } else {
        &[
            "Message",
            "MessageId",
            "SubscribeURL",
            "Timestamp",
            "Token",
            "TopicArn",
            "Type",
        ]
    };
    keys.iter()
        .filter_map(|k| m[*k].as_str().map(|v| format!("{k}\n{v}\n")))
        .collect()
}

/// Signs an SNS message with the test key (SignatureVersion 1 = SHA1, 2 = SHA256).
fn sign(mut m: Value, version: &str) -> String {
    let key = RsaPrivateKey::from_pkcs8_pem(KEY_PEM).unwrap();
    let data = canonical(&m);
    let sig = match version {
        "1" => SigningKey::<sha1::Sha1>::new(key)
            .sign(data.as_bytes())
            .to_vec(),
        _ => SigningKey::<sha2::Sha256>::new(key)
            .sign(data.as_bytes())
            .to_vec(),
    };
    m["SignatureVersion"] = json!(version);
    m["Signature"] = json!(base64::engine::general_purpose::STANDARD.encode(sig));
    m["SigningCertURL"] = json!(CERT_URL);
    m.to_string()
}

fn notification(message: &str, topic: &str) -> Value {
    json!({
        "Type": "Notification",
        "MessageId": "22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324",
        "TopicArn": topic,
        "Subject": "Amazon SES Email Receipt Notification",
        "Message": message,
        "Timestamp": "2015-09-11T20:32:34.000Z",
        "UnsubscribeURL": "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe"
    })
}

fn post(kind: &str, body: &str) -> WebhookRequest {
    WebhookRequest {
        method: http::Method::POST,
        public_url: "https://hooks.example/webhooks/mail".to_owned(),
        headers: WebhookRequest::headers_from([
            ("x-amz-sns-message-type", kind),
            ("content-type", "text/plain; charset=UTF-8"),
        ]),
        query: Vec::new(),
        body: Bytes::copy_from_slice(body.as_bytes()),
    }
}

fn outcome(
    r: Result<WebhookOutcome, WebhookError>,
) -> (Vec<replyline_channels::InboundEvent>, Vec<String>) {
    match r {
        Ok(WebhookOutcome::Events {
            events, ignored, ..
        }) => (events, ignored),
        other => panic!("expected events, got {other:?}"),
    }
}

#[test]
fn signed_notification_becomes_a_message_event_with_both_signature_versions() {
    let a = email("http://127.0.0.1:1", &[TOPIC]);
    let b64 = base64::engine::general_purpose::STANDARD.encode(MIME);
    for version in ["1", "2"] {
        let body = sign(notification(&ses_notification(&b64), TOPIC), version);
        let (events, ignored) = outcome(a.handle_webhook(&post("Notification", &body)));
        assert!(ignored.is_empty());
        let e = &events[0];
        assert_eq!(e.external_id.as_str(), "ana.lopez@example.com");
        assert_eq!(e.event_id, "<abc123@mail.example.com>");
        assert_eq!(e.profile.first_name.as_ref().unwrap().as_str(), "Ana");
        assert_eq!(
            e.profile.last_name.as_ref().unwrap().as_str(),
            "Maria Lopez"
        );
        assert_eq!(
            e.content.as_ref().unwrap().text(),
            Some("Where is my order?")
        );
        assert_eq!(
            e.occurred_at,
            Some(Timestamp::parse_rfc3339("2015-09-11T20:32:33.936Z").unwrap())
        );
    }
}

#[test]
fn tampered_or_unsigned_notifications_are_refused() {
    let a = email("http://127.0.0.1:1", &[]);
    let body = sign(notification(&ses_notification(MIME), TOPIC), "1");
    let tampered = body.replace("Where is my order?", "Where is my refund?");
    assert_ne!(body, tampered);
    for (kind, b) in [
        ("Notification", tampered.as_str()),
        ("Notification", "{not json"),
        ("Notification", r#"{"Type":"Notification"}"#),
        ("SubscriptionConfirmation", body.as_str()),
    ] {
        assert!(
            matches!(
                a.handle_webhook(&post(kind, b)),
                Err(WebhookError::Unauthorized(_))
            ),
            "{kind} {b}"
        );
    }
    let mut no_header = post("Notification", &body);
    no_header.headers.remove("x-amz-sns-message-type");
    assert!(matches!(
        a.handle_webhook(&no_header),
        Err(WebhookError::Unauthorized(_))
    ));
    let mut get = post("Notification", &body);
    get.method = http::Method::GET;
    assert_eq!(a.handle_webhook(&get), Err(WebhookError::MethodNotAllowed));
}

#[test]
fn other_topics_are_refused_when_topics_are_configured() {
    let a = email("http://127.0.0.1:1", &[TOPIC]);
    let other = "arn:aws:sns:us-east-1:999999999999:someone-else";
    let body = sign(notification(&ses_notification(MIME), other), "2");
    assert!(matches!(
        a.handle_webhook(&post("Notification", &body)),
        Err(WebhookError::Unauthorized(_))
    ));
}

#[test]
fn production_cert_source_refuses_cert_urls_off_sns_hosts() {
    // No trust anchor configured: the cert would be fetched, but only from an SNS host.
    let mut s = settings(&[]);
    s.sns_cert_pem_path = None;
    let a = Email::new(
        s,
        url::Url::parse("http://127.0.0.1:1").unwrap(),
        http_client().unwrap(),
    );
    let body = sign(notification(&ses_notification(MIME), TOPIC), "1")
        .replace(CERT_URL, "https://evil.example/cert.pem");
    assert_eq!(
        a.handle_webhook(&post("Notification", &body)),
        Err(WebhookError::Unauthorized(
            "SigningCertURL is not an SNS host"
        ))
    );
    // An injected anchor is accepted whatever the URL says (tests, dev server).
    let a = a.with_cert_source(Arc::new(FixedCert(CERT_PEM.to_owned())));
    let (events, _) = outcome(a.handle_webhook(&post("Notification", &body)));
    assert_eq!(events.len(), 1);
}

#[test]
fn verified_but_unusable_messages_are_unparseable_or_ignored() {
    let a = email("http://127.0.0.1:1", &[]);
    let body = sign(notification("not json", TOPIC), "1");
    assert!(matches!(
        a.handle_webhook(&post("Notification", &body)),
        Err(WebhookError::Unparseable(_))
    ));
    let spam = ses_notification(MIME).replace(
        r#"{"status":"PASS"},"virusVerdict""#,
        r#"{"status":"FAIL"},"virusVerdict""#,
    );
    assert!(spam.contains("FAIL"));
    let (events, ignored) = outcome(a.handle_webhook(&post(
        "Notification",
        &sign(notification(&spam, TOPIC), "1"),
    )));
    assert!(events.is_empty());
    assert_eq!(ignored.len(), 1);
}

#[test]
fn subscription_confirmation_is_logged_for_the_operator_without_its_token() {
    let a = email("http://127.0.0.1:1", &[TOPIC]);
    let m = json!({
        "Type": "SubscriptionConfirmation",
        "MessageId": "165545c9-2a5c-472c-8df2-7ff2be2b3b1b",
        "Token": "2336412f37fb687f5d51e6e241d09c805a5a57b30d712f794cc5f6a988666d92768dd60a747ba6f3beb71854e285d6ad02428b09ceece29417f1f02d609c582afbacc99c583a916b9981dd2728f4ae6fdb82efd087cc3b7849e05798d2d2785c03b0879594eeac82c01f235d0e717736",
        "TopicArn": TOPIC,
        "Message": "You have chosen to subscribe to the topic.",
        "SubscribeURL": "https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription&TopicArn=x&Token=2336",
        "Timestamp": "2012-04-26T20:45:04.751Z"
    });
    let body = sign(m, "1");
    let (events, ignored) = outcome(a.handle_webhook(&post("SubscriptionConfirmation", &body)));
    assert!(events.is_empty());
    assert!(
        ignored[0].contains("confirm the pending subscription"),
        "{ignored:?}"
    );
    assert!(
        !ignored[0].contains("Token") && !ignored[0].contains("2336"),
        "{ignored:?}"
    );
}

fn msg<'a>(
    id: &'a MessageId,
    to: &'a ExternalId,
    content: &'a Content,
    in_reply_to: Option<&'a str>,
) -> OutboundMessage<'a> {
    OutboundMessage {
        id,
        to,
        content,
        tag: None,
        in_reply_to,
    }
}

#[tokio::test]
async fn send_goes_through_ses_v2_with_threading_headers() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v2/email/outbound-emails"))
        .and(header("content-type", "application/json"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"MessageId": "0100018f-ses-id"})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let a = email(&server.uri(), &[]);
    let id = MessageId::generate(Timestamp::EPOCH);
    let to = ExternalId::parse("ana.lopez@example.com").unwrap();
    let content = Content::from_text("It ships today.").unwrap();
    let d = a
        .send(&msg(&id, &to, &content, Some("abc123@mail.example.com")))
        .await
        .unwrap();
    assert_eq!(d.provider_message_id, "0100018f-ses-id");
    let requests: Vec<Request> = server.received_requests().await.unwrap();
    let body: Value = serde_json::from_slice(&requests[0].body).unwrap();
    assert_eq!(body["FromEmailAddress"], "support@shop.example");
    assert_eq!(
        body["Destination"]["ToAddresses"],
        json!(["ana.lopez@example.com"])
    );
    let simple = &body["Content"]["Simple"];
    assert_eq!(simple["Subject"]["Data"], "Re: your message");
    assert_eq!(simple["Body"]["Text"]["Data"], "It ships today.");
    assert_eq!(
        simple["Headers"],
        json!([
            {"Name": "In-Reply-To", "Value": "<abc123@mail.example.com>"},
            {"Name": "References", "Value": "<abc123@mail.example.com>"}
        ])
    );
    assert!(requests[0]
        .headers
        .get("authorization")
        .is_some_and(|v| v.to_str().unwrap_or("").starts_with("AWS4-HMAC-SHA256")));
}

/// What a mapped SES error must look like.
type Check = fn(&SendError) -> bool;

#[tokio::test]
async fn ses_refusals_map_to_typed_errors() {
    let cases: [(u16, &str, &str, Check); 5] = [
        (
            400,
            "MessageRejected",
            "Email address is not verified.",
            |e| matches!(e, SendError::Rejected { code, flag: None, .. } if code == "MessageRejected"),
        ),
        (
            400,
            "MessageRejected",
            "Address is on the suppression list.",
            |e| {
                matches!(
                    e,
                    SendError::Rejected {
                        flag: Some(ChannelFlag::Unsubscribed),
                        ..
                    }
                )
            },
        ),
        (400, "AccountSuspendedException", "suspended", |e| {
            matches!(e, SendError::Rejected { flag: None, .. })
        }),
        (429, "TooManyRequestsException", "slow down", |e| {
            matches!(e, SendError::Unavailable(_))
        }),
        (500, "InternalFailure", "oops", |e| {
            matches!(e, SendError::Unavailable(_))
        }),
    ];
    for (status, kind, text, check) in cases {
        let server = MockServer::start().await;
        Mock::given(method("POST"))
            .and(path("/v2/email/outbound-emails"))
            .respond_with(
                ResponseTemplate::new(status)
                    .insert_header("x-amzn-ErrorType", kind)
                    .set_body_json(json!({"message": text})),
            )
            .mount(&server)
            .await;
        let a = email(&server.uri(), &[]);
        let id = MessageId::generate(Timestamp::EPOCH);
        let to = ExternalId::parse("ana@example.com").unwrap();
        let content = Content::from_text("hi").unwrap();
        let err = a.send(&msg(&id, &to, &content, None)).await.unwrap_err();
        assert!(check(&err), "{kind}: {err:?}");
    }
    // Nobody listening: unavailable.
    let a = email("http://127.0.0.1:1", &[]);
    let id = MessageId::generate(Timestamp::EPOCH);
    let to = ExternalId::parse("ana@example.com").unwrap();
    let content = Content::from_text("hi").unwrap();
    assert!(matches!(
        a.send(&msg(&id, &to, &content, None)).await,
        Err(SendError::Unavailable(_))
    ));
}

/// Runs tests/oracles/sns_sign.py (`aws-sns-message-validator`) with `stdin`.
fn oracle(args: &[&str], stdin: &str) -> std::process::Output {
    let dir = env!("CARGO_MANIFEST_DIR");
    let cert = format!("{dir}/tests/fixtures/sns_test_cert.pem");
    let key = format!("{dir}/tests/fixtures/sns_test_key.pem");
    let mut all: Vec<&str> = args.to_vec();
    all.push(&cert);
    if args.first() == Some(&"sign") {
        all.push(&key);
    }
    common::run_oracle("sns_sign.py", &all, stdin.as_bytes())
}

#[test]
fn sns_signatures_agree_with_aws_sns_message_validator() {
    let a = email("http://127.0.0.1:1", &[TOPIC]);
    // Signed by the oracle (its canonical string), verified by us.
    let unsigned = notification(&ses_notification(MIME), TOPIC);
    let mut m = unsigned.clone();
    m["SigningCertURL"] = json!(CERT_URL);
    let out = oracle(&["sign"], &m.to_string());
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let signed = String::from_utf8(out.stdout).unwrap();
    let (events, _) = outcome(a.handle_webhook(&post("Notification", signed.trim())));
    assert_eq!(events[0].event_id, "<abc123@mail.example.com>");
    // Signed by our test signer, accepted by the oracle; a tampered copy refused by both.
    let ours = sign(unsigned, "1");
    assert!(oracle(&["validate"], &ours).status.success());
    let tampered = ours.replace("inbound-mail", "inbound-mall");
    assert!(!oracle(&["validate"], &tampered).status.success());
    assert!(matches!(
        a.handle_webhook(&post("Notification", &tampered)),
        Err(WebhookError::Unauthorized(_))
    ));
}
