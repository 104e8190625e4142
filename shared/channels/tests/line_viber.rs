//! LINE and Viber adapters: webhooks signed by the providers' own SDKs (line-bot-sdk and
//! viberbot from PyPI, through tests/oracles/*_sign.py) and parsed; sends delivered to a
//! fake provider (wiremock on 127.0.0.1) with refusals mapped to typed errors.

mod common;

use bytes::Bytes;
use replyline_channels::{
    http_client, line, viber, Adapter, InboundEvent, OutboundMessage, SendError, WebhookError,
    WebhookOutcome, WebhookRequest,
};
use replyline_config::Config;
use replyline_domain::{ChannelFlag, Content, ExternalId, MessageId, Timestamp};
use replyline_policy::Opener;
use serde_json::{json, Value};
use wiremock::matchers::{body_json, body_string_contains, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const LINE_SECRET: &str = "line-channel-secret";
const LINE_TOKEN: &str = "line-access-token";
const VIBER_TOKEN: &str = "44dafb7e0f40021e-61a47a1e6778d187-f2c5a676a07050b3";

fn adapter(channel_toml: &str) -> Adapter {
    let config = Config::from_toml(&format!(
        "[store]\nkind = \"sqlite\"\npath = \"x.db\"\n[[channels]]\n{channel_toml}"
    ))
    .unwrap();
    Adapter::for_channel(&config.channels[0], http_client().unwrap())
}

fn line_adapter(api_base: &str) -> Adapter {
    adapter(&format!(
        "id = \"line\"\nkind = \"line\"\nchannel_secret = \"{LINE_SECRET}\"\nchannel_access_token = \"{LINE_TOKEN}\"\napi_base = \"{api_base}\""
    ))
}

fn viber_adapter(api_base: &str, sender_name: &str) -> Adapter {
    adapter(&format!(
        "id = \"viber\"\nkind = \"viber\"\nauth_token = \"{VIBER_TOKEN}\"\nsender_name = \"{sender_name}\"\napi_base = \"{api_base}\""
    ))
}

fn post(headers: &[(&str, &str)], body: &[u8]) -> WebhookRequest {
    WebhookRequest {
        method: http::Method::POST,
        public_url: "https://hooks.example.com/webhooks/x".to_owned(),
        headers: WebhookRequest::headers_from(headers.iter().copied()),
        query: Vec::new(),
        body: Bytes::copy_from_slice(body),
    }
}

/// Runs a tests/oracles script with `body` on stdin: the signature it printed (after the
/// provider's SDK accepted it) and what the SDK parsed.
fn oracle(script: &str, secret: &str, body: &str) -> (String, Value) {
    let out = common::run_oracle(script, &[secret], body.as_bytes());
    assert!(
        out.status.success(),
        "the provider SDK refused: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stdout = String::from_utf8(out.stdout).unwrap();
    let mut lines = stdout.lines();
    let signature = lines.next().unwrap().to_owned();
    let parsed = serde_json::from_str(lines.next().unwrap()).unwrap();
    (signature, parsed)
}

fn events(outcome: WebhookOutcome) -> (Vec<InboundEvent>, Vec<String>) {
    match outcome {
        WebhookOutcome::Events {
            events, ignored, ..
        } => (events, ignored),
        other => panic!("expected events, got {other:?}"),
    }
}

fn flag(e: &InboundEvent) -> Option<(ChannelFlag, bool)> {
    e.flag.map(|f| (f.flag, f.value))
}

fn msg<'a>(id: &'a MessageId, to: &'a ExternalId, content: &'a Content) -> OutboundMessage<'a> {
    OutboundMessage {
        id,
        to,
        content,
        tag: None,
        in_reply_to: None,
    }
}

// ---------------------------------------------------------------- LINE webhooks

/// The first event of line-bot-sdk-python's `tests/v3/text/webhook.json` (providers.md §3.2).
const LINE_FIXTURE: &str = r#"{"destination":"U123","events":[{"replyToken":"nHuyWiB7yP5Zw52FIkcQobQuGDXCTA","type":"message","mode":"active","timestamp":1462629479859,"source":{"type":"user","userId":"U206d25c2ea6bd87c17655609a1c37cb8"},"webhookEventId":"testwebhookeventid","deliveryContext":{"isRedelivery":false},"message":{"id":"325708","type":"text","text":"Hello, world","quoteToken":"quoteToken"}}]}"#;

fn line_event(kind: &str, id: &str, source: Value, extra: Value) -> Value {
    let mut e = json!({
        "type": kind, "mode": "active", "timestamp": 1_700_000_000_123_i64,
        "source": source, "webhookEventId": id,
        "deliveryContext": {"isRedelivery": false},
    });
    if let (Some(e), Some(extra)) = (e.as_object_mut(), extra.as_object()) {
        e.extend(extra.clone());
    }
    e
}

fn user(id: &str) -> Value {
    json!({"type": "user", "userId": id})
}

#[test]
fn line_sdk_fixture_is_verified_and_parsed_like_the_sdk_does() {
    let a = line_adapter("http://127.0.0.1:1");
    let (sig, sdk) = oracle("line_sign.py", LINE_SECRET, LINE_FIXTURE);
    let (ev, ignored) = events(
        a.handle_webhook(&post(
            &[("X-Line-Signature", &sig)],
            LINE_FIXTURE.as_bytes(),
        ))
        .unwrap(),
    );
    assert!(ignored.is_empty(), "{ignored:?}");
    assert_eq!(ev.len(), 1);
    let e = &ev[0];
    assert_eq!(e.event_id, sdk[0]["webhookEventId"].as_str().unwrap());
    assert_eq!(e.external_id.as_str(), sdk[0]["userId"].as_str().unwrap());
    assert_eq!(e.external_id.as_str(), "U206d25c2ea6bd87c17655609a1c37cb8");
    assert_eq!(e.event_id, "testwebhookeventid");
    assert_eq!(e.opener, Some(Opener::Message));
    // LINE timestamps are milliseconds.
    assert_eq!(
        e.occurred_at,
        Some(Timestamp::from_millis(1_462_629_479_859).unwrap())
    );
    assert_eq!(e.content.as_ref().unwrap().text(), Some("Hello, world"));
    assert_eq!(e.flag, None);
}

#[test]
fn line_bad_or_missing_signatures_are_refused() {
    let a = line_adapter("http://127.0.0.1:1");
    let (sig, _) = oracle("line_sign.py", LINE_SECRET, LINE_FIXTURE);
    let other_secret = line::signature("another-secret", LINE_FIXTURE.as_bytes());
    let tampered = LINE_FIXTURE.replace("Hello", "Hullo");
    for (headers, body) in [
        (vec![], LINE_FIXTURE),
        (vec![("x-line-signature", "not base64!")], LINE_FIXTURE),
        (
            vec![("x-line-signature", other_secret.as_str())],
            LINE_FIXTURE,
        ),
        (vec![("x-line-signature", sig.as_str())], tampered.as_str()),
    ] {
        assert!(matches!(
            a.handle_webhook(&post(&headers, body.as_bytes())),
            Err(WebhookError::Unauthorized(_))
        ));
    }
    let mut get = post(&[("x-line-signature", &sig)], LINE_FIXTURE.as_bytes());
    get.method = http::Method::GET;
    assert_eq!(a.handle_webhook(&get), Err(WebhookError::MethodNotAllowed));
}

#[test]
fn line_console_verify_is_a_handshake_and_junk_is_unparseable() {
    let a = line_adapter("http://127.0.0.1:1");
    let verify = r#"{"destination":"xxxxxxxxxx","events":[]}"#;
    let (sig, sdk) = oracle("line_sign.py", LINE_SECRET, verify);
    assert_eq!(sdk, json!([]));
    match a.handle_webhook(&post(&[("x-line-signature", &sig)], verify.as_bytes())) {
        Ok(WebhookOutcome::Handshake(reply)) => assert_eq!(reply.status, 200),
        other => panic!("{other:?}"),
    }
    let junk = r#"{"destination":"U1"}"#;
    let sig = line::signature(LINE_SECRET, junk.as_bytes());
    assert!(matches!(
        a.handle_webhook(&post(&[("x-line-signature", &sig)], junk.as_bytes())),
        Err(WebhookError::Unparseable(_))
    ));
}

#[test]
fn line_batches_map_each_event_and_ignore_the_rest() {
    let a = line_adapter("http://127.0.0.1:1");
    let body = json!({"destination": "U123", "events": [
        line_event("message", "01EV-TEXT", user("Uaaa"),
            json!({"replyToken": "r1", "message": {"id": "1", "type": "text", "text": "Hi"}})),
        line_event("message", "01EV-STICKER", user("Uaaa"),
            json!({"replyToken": "r2", "message": {"id": "2", "type": "sticker", "packageId": "1", "stickerId": "1"}})),
        line_event("message", "01EV-IMAGE", user("Ubbb"),
            json!({"replyToken": "r3", "message": {"id": "3", "type": "image", "contentProvider": {"type": "line"}}})),
        line_event("follow", "01EV-FOLLOW", user("Uccc"),
            json!({"replyToken": "r4", "follow": {"isUnblocked": false}})),
        line_event("unfollow", "01EV-UNFOLLOW", user("Uddd"), json!({})),
        line_event("message", "01EV-GROUP", json!({"type": "group", "groupId": "Cg1", "userId": "Ueee"}),
            json!({"replyToken": "r5", "message": {"id": "5", "type": "text", "text": "in a group"}})),
        line_event("postback", "01EV-POSTBACK", user("Uaaa"),
            json!({"replyToken": "r6", "postback": {"data": "x"}})),
    ]})
    .to_string();
    let (sig, sdk) = oracle("line_sign.py", LINE_SECRET, &body);
    assert_eq!(sdk.as_array().unwrap().len(), 7, "the SDK parsed {sdk}");
    let (ev, ignored) = events(
        a.handle_webhook(&post(&[("x-line-signature", &sig)], body.as_bytes()))
            .unwrap(),
    );
    let ids: Vec<&str> = ev.iter().map(|e| e.event_id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "01EV-TEXT",
            "01EV-STICKER",
            "01EV-IMAGE",
            "01EV-FOLLOW",
            "01EV-UNFOLLOW"
        ]
    );
    assert_eq!(ev[0].content.as_ref().unwrap().text(), Some("Hi"));
    assert_eq!(ev[1].content.as_ref().unwrap().text(), Some("(sticker)"));
    assert_eq!(ev[2].content.as_ref().unwrap().text(), Some("(image)"));
    assert_eq!(ev[2].external_id.as_str(), "Ubbb");
    assert!(ev[..3].iter().all(|e| e.opener == Some(Opener::Message)));
    for (e, value) in [(&ev[3], false), (&ev[4], true)] {
        assert_eq!(e.opener, None);
        assert_eq!(e.content, None);
        assert_eq!(flag(e), Some((ChannelFlag::Unsubscribed, value)));
        assert_eq!(
            e.occurred_at,
            Some(Timestamp::from_millis(1_700_000_000_123).unwrap())
        );
    }
    assert_eq!(ev[3].external_id.as_str(), "Uccc");
    assert_eq!(ev[4].external_id.as_str(), "Uddd");
    assert_eq!(ignored.len(), 2, "{ignored:?}");
    assert!(ignored[0].contains("group"), "{ignored:?}");
    assert!(ignored[1].contains("postback"), "{ignored:?}");
}

// ---------------------------------------------------------------- LINE sends

#[tokio::test]
async fn line_pushes_with_bearer_token_and_a_stable_retry_key() {
    let server = MockServer::start().await;
    let id = MessageId::generate(Timestamp::EPOCH);
    let key = line::retry_key(&id);
    Mock::given(method("POST"))
        .and(path("/v2/bot/message/push"))
        .and(header(
            "authorization",
            format!("Bearer {LINE_TOKEN}").as_str(),
        ))
        .and(header("x-line-retry-key", key.as_str()))
        .and(body_json(json!({
            "to": "U206d25c2ea6bd87c17655609a1c37cb8",
            "messages": [{"type": "text", "text": "Hello from support"}],
        })))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("x-line-request-id", "req-1")
                .set_body_json(
                    json!({"sentMessages": [{"id": "461230966842064897", "quoteToken": "q"}]}),
                ),
        )
        .expect(2)
        .mount(&server)
        .await;
    let a = line_adapter(&server.uri());
    let to = ExternalId::parse("U206d25c2ea6bd87c17655609a1c37cb8").unwrap();
    let hello = Content::from_text("Hello from support").unwrap();
    for _ in 0..2 {
        // The same message sent twice carries the same key (the mock checks it).
        let d = a.send(&msg(&id, &to, &hello)).await.unwrap();
        assert_eq!(d.provider_message_id, "461230966842064897");
    }
}

#[tokio::test]
async fn line_maps_refusals_and_takes_409_as_already_delivered() {
    let server = MockServer::start().await;
    let reply = |status: u16, body: Value| ResponseTemplate::new(status).set_body_json(body);
    Mock::given(method("POST"))
        .and(body_string_contains("retried"))
        .respond_with(
            reply(409, json!({"message": "The retry key is already accepted"}))
                .insert_header("x-line-accepted-request-id", "req-first"),
        )
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(body_string_contains("again"))
        .respond_with(
            reply(
                409,
                json!({"message": "The retry key is already accepted",
                       "sentMessages": [{"id": "461230966842064897"}]}),
            )
            .insert_header("x-line-accepted-request-id", "req-first"),
        )
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(body_string_contains("no-request-id"))
        .respond_with(ResponseTemplate::new(200).insert_header("x-line-request-id", "req-9"))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(body_string_contains("quota"))
        .respond_with(reply(
            429,
            json!({"message": "You have reached your monthly limit."}),
        ))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(body_string_contains("invalid"))
        .respond_with(reply(
            400,
            json!({"message": "The request body has 1 error(s)",
                   "details": [{"message": "May not be empty", "property": "messages[0].text"}]}),
        ))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(body_string_contains("forbidden"))
        .respond_with(reply(
            403,
            json!({"message": "Not authorized to use this API"}),
        ))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(body_string_contains("outage"))
        .respond_with(ResponseTemplate::new(500))
        .mount(&server)
        .await;

    let a = line_adapter(&server.uri());
    let id = MessageId::generate(Timestamp::EPOCH);
    let to = ExternalId::parse("Uaaa").unwrap();
    let send = |text: &'static str| {
        let a = a.clone();
        let id = id.clone();
        let to = to.clone();
        async move {
            let content = Content::from_text(text).unwrap();
            a.send(&msg(&id, &to, &content)).await
        }
    };
    assert_eq!(
        send("retried").await.unwrap().provider_message_id,
        "req-first"
    );
    // When the 409 lists the messages, their id is the one the first attempt returned.
    assert_eq!(
        send("again").await.unwrap().provider_message_id,
        "461230966842064897"
    );
    assert_eq!(
        send("no-request-id").await.unwrap().provider_message_id,
        "req-9"
    );
    assert!(matches!(send("quota").await, Err(SendError::Unavailable(t)) if t.contains("monthly")));
    assert!(matches!(
        send("outage").await,
        Err(SendError::Unavailable(_))
    ));
    match send("invalid").await {
        Err(SendError::Rejected { code, text, flag }) => {
            assert_eq!(code, "400");
            assert!(text.contains("messages[0].text"), "{text}");
            assert_eq!(flag, None);
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        send("forbidden").await,
        Err(SendError::Rejected { code, .. }) if code == "403"
    ));
    let template = Content::new(
        None,
        Some(replyline_domain::Template::new("order_update", "en_US", vec![]).unwrap()),
        None,
    )
    .unwrap();
    assert!(matches!(
        a.send(&msg(&id, &to, &template)).await,
        Err(SendError::Unsupported(_))
    ));
    // Nobody listening: unavailable, and the access token is in no error text.
    match line_adapter("http://127.0.0.1:9")
        .send(&msg(&id, &to, &Content::from_text("x").unwrap()))
        .await
    {
        Err(SendError::Unavailable(text)) => assert!(!text.contains(LINE_TOKEN), "{text}"),
        other => panic!("{other:?}"),
    }
}

// ---------------------------------------------------------------- Viber webhooks

/// viber-bot-python's `tests/api/test_data/unicode_request` shape (providers.md §3.7).
const VIBER_MESSAGE: &str = r#"{"event":"message","timestamp":1457764197627,"message_token":4912661846655238145,"sender":{"id":"01234567890A=","name":"Ana María López","avatar":"http://avatar_url","api_version":2},"message":{"type":"text","text":"Hola, ¿qué tal?","tracking_data":"tracking data"},"silent":false}"#;

fn viber_signed(body: &str) -> (WebhookRequest, Value) {
    let (sig, sdk) = oracle("viber_sign.py", VIBER_TOKEN, body);
    (
        post(&[("X-Viber-Content-Signature", &sig)], body.as_bytes()),
        sdk,
    )
}

#[test]
fn viber_message_is_verified_and_keeps_its_64_bit_token() {
    let a = viber_adapter("http://127.0.0.1:1", "Support");
    let (req, sdk) = viber_signed(VIBER_MESSAGE);
    let (ev, _) = events(a.handle_webhook(&req).unwrap());
    let e = &ev[0];
    // Above 2^53: an f64 would have rounded it to ...238144.
    assert_eq!(e.event_id, "4912661846655238145");
    assert_eq!(e.event_id, sdk["message_token"].as_str().unwrap());
    assert_eq!(e.external_id.as_str(), "01234567890A=");
    assert_eq!(e.external_id.as_str(), sdk["user"].as_str().unwrap());
    assert_eq!(e.opener, Some(Opener::Message));
    assert_eq!(
        e.occurred_at,
        Some(Timestamp::from_millis(1_457_764_197_627).unwrap())
    );
    assert_eq!(
        e.profile.first_name.as_ref().unwrap().as_str(),
        "Ana María López"
    );
    assert_eq!(e.profile.last_name, None);
    assert_eq!(e.content.as_ref().unwrap().text(), Some("Hola, ¿qué tal?"));
}

#[test]
fn viber_bad_or_missing_signatures_are_refused_and_junk_is_unparseable() {
    let a = viber_adapter("http://127.0.0.1:1", "Support");
    let (req, _) = viber_signed(VIBER_MESSAGE);
    let sig = req.header("x-viber-content-signature").unwrap().to_owned();
    let tampered = VIBER_MESSAGE.replace("Hola", "Hala");
    for (headers, body) in [
        (vec![], VIBER_MESSAGE),
        (
            vec![("x-viber-content-signature", "sha256=00")],
            VIBER_MESSAGE,
        ),
        (
            vec![("x-viber-content-signature", sig.as_str())],
            tampered.as_str(),
        ),
    ] {
        assert!(matches!(
            a.handle_webhook(&post(&headers, body.as_bytes())),
            Err(WebhookError::Unauthorized(_))
        ));
    }
    for junk in [
        "{not json",
        // A token that is not an integer (a float would lose digits).
        r#"{"event":"message","timestamp":1,"message_token":4.9e18,"sender":{"id":"u"},"message":{"type":"text","text":"x"}}"#,
    ] {
        let sig = viber::signature(VIBER_TOKEN, junk.as_bytes());
        assert!(matches!(
            a.handle_webhook(&post(
                &[("x-viber-content-signature", &sig)],
                junk.as_bytes()
            )),
            Err(WebhookError::Unparseable(_))
        ));
    }
}

#[test]
fn viber_webhook_setup_is_a_handshake() {
    let a = viber_adapter("http://127.0.0.1:1", "Support");
    // The body of viber-bot-python's signature test (providers.md §4.3).
    let body =
        r#"{"event":"webhook","timestamp":4977069964384421269,"message_token":1478683725125}"#;
    let (req, sdk) = viber_signed(body);
    assert_eq!(
        req.header("x-viber-content-signature"),
        Some("d21b343448c8aee33b8e93768ef6ceb64a6ba6163099973a2b8bd028fea510ef")
    );
    assert_eq!(sdk["event"], "webhook");
    match a.handle_webhook(&req) {
        Ok(WebhookOutcome::Handshake(reply)) => assert_eq!(reply.status, 200),
        other => panic!("{other:?}"),
    }
}

#[test]
fn viber_subscriptions_set_the_flag_and_other_callbacks_are_ignored() {
    let a = viber_adapter("http://127.0.0.1:1", "Support");
    let subscribed = r#"{"event":"subscribed","timestamp":1457764197627,"chat_hostname":"SN-376_","user":{"id":"01234567890A=","name":"John McClane","avatar":"http://avatar.example.com","country":"UK","language":"en","api_version":1},"message_token":4912661846655238145}"#;
    let unsubscribed = r#"{"event":"unsubscribed","timestamp":1457764197628,"chat_hostname":"SN-376_","user_id":"01234567890B=","message_token":4912661846655238146}"#;
    for (body, user, value, token) in [
        (subscribed, "01234567890A=", false, "4912661846655238145"),
        (unsubscribed, "01234567890B=", true, "4912661846655238146"),
    ] {
        let (req, sdk) = viber_signed(body);
        assert_eq!(sdk["user"], user);
        let (ev, _) = events(a.handle_webhook(&req).unwrap());
        assert_eq!(ev.len(), 1);
        assert_eq!(ev[0].external_id.as_str(), user);
        assert_eq!(ev[0].event_id, token);
        assert_eq!(ev[0].opener, None);
        assert_eq!(ev[0].content, None);
        assert_eq!(flag(&ev[0]), Some((ChannelFlag::Unsubscribed, value)));
    }
    let others = [
        r#"{"event":"conversation_started","timestamp":1457764197627,"message_token":4912661846655238145,"type":"open","context":"ctx","user":{"id":"01234567890A=","name":"John"},"subscribed":false}"#,
        r#"{"event":"delivered","timestamp":1457764197627,"message_token":4912661846655238145,"user_id":"01234567890A="}"#,
        r#"{"event":"seen","timestamp":1457764197627,"message_token":4912661846655238145,"user_id":"01234567890A="}"#,
        r#"{"event":"failed","timestamp":1457764197627,"message_token":4912661846655238145,"user_id":"01234567890A=","desc":"failure description"}"#,
    ];
    for body in others {
        let (req, sdk) = viber_signed(body);
        let (ev, ignored) = events(a.handle_webhook(&req).unwrap());
        assert!(ev.is_empty(), "{body}");
        assert_eq!(ignored.len(), 1);
        assert!(ignored[0].contains(sdk["event"].as_str().unwrap()));
    }
}

#[test]
fn viber_media_without_text_becomes_a_marker() {
    let a = viber_adapter("http://127.0.0.1:1", "Support");
    for (message, text) in [
        (
            r#"{"type":"picture","media":"http://img","thumbnail":"http://t"}"#,
            "(picture)",
        ),
        (
            r#"{"type":"picture","media":"http://img","text":"my receipt"}"#,
            "my receipt",
        ),
        (
            r#"{"type":"url","media":"https://example.com/order/1"}"#,
            "https://example.com/order/1",
        ),
        (r#"{"type":"sticker","sticker_id":46105}"#, "(sticker)"),
    ] {
        let body = format!(
            r#"{{"event":"message","timestamp":1457764197627,"message_token":5,"sender":{{"id":"u1"}},"message":{message}}}"#
        );
        let (req, _) = viber_signed(&body);
        let (ev, _) = events(a.handle_webhook(&req).unwrap());
        assert_eq!(ev[0].content.as_ref().unwrap().text(), Some(text));
        assert_eq!(ev[0].profile.first_name, None);
    }
}

// ---------------------------------------------------------------- Viber sends

#[tokio::test]
async fn viber_sends_with_the_auth_header_and_reads_the_status() {
    let server = MockServer::start().await;
    let answer = |body: Value| ResponseTemplate::new(200).set_body_json(body);
    Mock::given(method("POST"))
        .and(path("/pa/send_message"))
        .and(header("x-viber-auth-token", VIBER_TOKEN))
        .and(body_json(json!({
            "receiver": "01234567890A=",
            "min_api_version": 1,
            // Cut to Viber's 28 characters.
            "sender": {"name": "Replyline Customer Support T"},
            "type": "text",
            "text": "Hello from support",
        })))
        .respond_with(
            // Raw text, so the token is above 2^53 on the wire as Viber sends it.
            ResponseTemplate::new(200).set_body_raw(
                r#"{"status":0,"status_message":"ok","message_token":5741311803571721087,"chat_hostname":"SN-CHAT-05_"}"#,
                "application/json",
            ),
        )
        .expect(1)
        .mount(&server)
        .await;
    for (needle, status, message) in [
        ("not-subscribed", 6, "notSubscribed"),
        ("not-registered", 5, "receiverNotRegistered"),
        ("too-many", 12, "tooManyRequests"),
        ("bad-data", 3, "badData"),
    ] {
        Mock::given(method("POST"))
            .and(body_string_contains(needle))
            .respond_with(answer(
                json!({"status": status, "status_message": message, "chat_hostname": "SN-CHAT-05_"}),
            ))
            .mount(&server)
            .await;
    }
    Mock::given(method("POST"))
        .and(body_string_contains("outage"))
        .respond_with(ResponseTemplate::new(503))
        .mount(&server)
        .await;

    let a = viber_adapter(&server.uri(), "Replyline Customer Support Team");
    let id = MessageId::generate(Timestamp::EPOCH);
    let to = ExternalId::parse("01234567890A=").unwrap();
    let send = |text: &'static str| {
        let a = a.clone();
        let id = id.clone();
        let to = to.clone();
        async move {
            let content = Content::from_text(text).unwrap();
            a.send(&msg(&id, &to, &content)).await
        }
    };
    assert_eq!(
        send("Hello from support")
            .await
            .unwrap()
            .provider_message_id,
        "5741311803571721087"
    );
    for (text, code) in [("not-subscribed", "6"), ("not-registered", "5")] {
        match send(text).await {
            Err(SendError::Rejected {
                code: c,
                flag,
                text: t,
            }) => {
                assert_eq!(c, code);
                assert_eq!(flag, Some(ChannelFlag::Unsubscribed));
                assert!(!t.is_empty());
            }
            other => panic!("{other:?}"),
        }
    }
    assert!(matches!(
        send("too-many").await,
        Err(SendError::Unavailable(_))
    ));
    assert!(matches!(
        send("outage").await,
        Err(SendError::Unavailable(_))
    ));
    match send("bad-data").await {
        Err(SendError::Rejected { code, text, flag }) => {
            assert_eq!((code.as_str(), text.as_str(), flag), ("3", "badData", None));
        }
        other => panic!("{other:?}"),
    }
    let template = Content::new(
        None,
        Some(replyline_domain::Template::new("order_update", "en_US", vec![]).unwrap()),
        None,
    )
    .unwrap();
    assert!(matches!(
        a.send(&msg(&id, &to, &template)).await,
        Err(SendError::Unsupported(_))
    ));
    match viber_adapter("http://127.0.0.1:9", "Support")
        .send(&msg(&id, &to, &Content::from_text("x").unwrap()))
        .await
    {
        Err(SendError::Unavailable(text)) => assert!(!text.contains(VIBER_TOKEN), "{text}"),
        other => panic!("{other:?}"),
    }
}
