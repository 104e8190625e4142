//! Email: SES mail delivered by SNS (variant % 8):
//! - 0, 4: the body as an SNS message, unsigned: the JSON, the certificate and the RSA
//!   signature check;
//! - 1: the body as the SES notification inside an SNS message that the target signs
//!   with the test key (version 1 or 2 by variant bit 4; variant bit 5 another topic,
//!   bit 6 a subscription confirmation), so the whole HTTPS path is reached;
//! - 2, 5, 6: the body as an SES notification delivered to Lambda
//!   (`Email::parse_lambda_notification`): the notification JSON and everything after;
//! - 3, 7: the body as raw MIME (base64-encoded when variant bit 4 is set, as SES's
//!   Base64 encoding sends it) inside a valid notification: the MIME parser and the
//!   sender, name and text extraction.
#![no_main]

use std::sync::LazyLock;

use base64::Engine;
use libfuzzer_sys::fuzz_target;
use replyline_channels::email::Email;
use replyline_channels::Adapter;
use replyline_fuzz::{adapter, check_outcome, set_header, Input, SNS_TEST_KEY, SNS_TOPIC};
use rsa::pkcs1v15::SigningKey;
use rsa::pkcs8::DecodePrivateKey;
use rsa::signature::{SignatureEncoding, Signer};
use rsa::RsaPrivateKey;
use serde_json::{json, Value};

static ADAPTER: LazyLock<Adapter> = LazyLock::new(|| adapter("mail"));
static KEY: LazyLock<RsaPrivateKey> =
    LazyLock::new(|| RsaPrivateKey::from_pkcs8_pem(SNS_TEST_KEY).expect("the test key"));

const CERT_URL: &str = "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-test.pem";

/// SNS's canonical string for `m`, in the documented order.
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

fn signed_sns(message: &str, variant: u8) -> (String, String) {
    let kind = if variant & 0x40 != 0 {
        "SubscriptionConfirmation"
    } else {
        "Notification"
    };
    let topic = if variant & 0x20 != 0 {
        "arn:aws:sns:us-east-1:123456789012:other"
    } else {
        SNS_TOPIC
    };
    let mut m = json!({
        "Type": kind,
        "MessageId": "22b80b92-fdea-4c2c-8f9d-bdfb0c7bf324",
        "TopicArn": topic,
        "Subject": "Amazon SES Email Receipt Notification",
        "Message": message,
        "Timestamp": "2015-09-11T20:32:34.000Z",
        "SubscribeURL": "https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription",
        "Token": "2336412f37",
    });
    let data = canonical(&m);
    let key = KEY.clone();
    let (version, sig) = if variant & 0x10 != 0 {
        (
            "2",
            SigningKey::<sha2::Sha256>::new(key)
                .sign(data.as_bytes())
                .to_vec(),
        )
    } else {
        (
            "1",
            SigningKey::<sha1::Sha1>::new(key)
                .sign(data.as_bytes())
                .to_vec(),
        )
    };
    m["SignatureVersion"] = json!(version);
    m["Signature"] = json!(base64::engine::general_purpose::STANDARD.encode(sig));
    m["SigningCertURL"] = json!(CERT_URL);
    (kind.to_owned(), m.to_string())
}

fn ses_notification(content: &str) -> String {
    json!({
        "notificationType": "Received",
        "mail": {
            "timestamp": "2015-09-11T20:32:33.936Z",
            "source": "ana.lopez@example.com",
            "messageId": "d6iitobk75ur44p8kdnnp7g2n800",
            "destination": ["support@shop.example"],
            "commonHeaders": {"messageId": "<abc123@mail.example.com>"}
        },
        "receipt": {"spamVerdict": {"status": "PASS"}, "virusVerdict": {"status": "PASS"}},
        "content": content
    })
    .to_string()
}

fuzz_target!(|data: &[u8]| {
    let Some(input) = Input::parse(data) else {
        return;
    };
    let body = String::from_utf8_lossy(input.body);
    match input.variant % 8 {
        0 | 4 => {
            let req = input.request("mail");
            let result = ADAPTER.handle_webhook(&req);
            check_outcome(false, true, &req, &result);
        }
        1 => {
            let mut req = input.request("mail");
            let (kind, signed) = signed_sns(&body, input.variant);
            req.method = http::Method::POST;
            req.body = signed.into_bytes().into();
            set_header(&mut req, "x-amz-sns-message-type", kind);
            let result = ADAPTER.handle_webhook(&req);
            check_outcome(true, true, &req, &result);
        }
        2 | 5 | 6 => {
            let _ = Email::parse_lambda_notification(&body);
        }
        _ => {
            let content = if input.variant & 0x10 != 0 {
                base64::engine::general_purpose::STANDARD.encode(input.body)
            } else {
                body.into_owned()
            };
            let _ = Email::parse_lambda_notification(&ses_notification(&content));
        }
    }
});
