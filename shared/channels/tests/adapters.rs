//! Telegram, website chat and Twilio SMS adapters: webhooks verified over the raw bytes
//! and parsed; sends delivered to a fake provider (wiremock on 127.0.0.1) through the
//! configurable `api_base`, with provider refusals mapped to typed errors.

use bytes::Bytes;
use replyline_channels::{
    http_client, twilio, webchat, Adapter, OutboundMessage, SendError, WebhookError,
    WebhookOutcome, WebhookRequest,
};
use replyline_config::Config;
use replyline_domain::{ChannelFlag, Content, ExternalId, MessageId, Timestamp};
use replyline_policy::Opener;
use wiremock::matchers::{body_json, body_string_contains, header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn adapter(channel_toml: &str) -> Adapter {
    let config = Config::from_toml(&format!(
        "[store]\nkind = \"sqlite\"\npath = \"x.db\"\n[[channels]]\n{channel_toml}"
    ))
    .unwrap();
    Adapter::for_channel(&config.channels[0], http_client().unwrap())
}

fn telegram(api_base: &str) -> Adapter {
    adapter(&format!(
        "id = \"tg\"\nkind = \"telegram\"\nbot_token = \"123:abc\"\nsecret_token = \"s3cret\"\napi_base = \"{api_base}\""
    ))
}

fn post(url: &str, headers: &[(&str, &str)], body: &[u8]) -> WebhookRequest {
    let parsed = url::Url::parse(url).unwrap();
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

fn events(outcome: WebhookOutcome) -> Vec<replyline_channels::InboundEvent> {
    match outcome {
        WebhookOutcome::Events { events, .. } => events,
        other => panic!("expected events, got {other:?}"),
    }
}

// The Telegram sample of providers.md §3.1.
const TG_UPDATE: &str = r#"{"update_id":10000,"message":{"date":1441645532,"chat":{"last_name":"Test Lastname","id":1111111,"type":"private","first_name":"Test","username":"Test"},"message_id":1365,"from":{"last_name":"Test Lastname","id":1111111,"is_bot":false,"first_name":"Test","username":"Test"},"text":"/start"}}"#;

#[test]
fn telegram_webhook_is_verified_by_its_secret_token_and_parsed() {
    let a = telegram("http://127.0.0.1:1");
    let url = "https://hooks.example/webhooks/tg";
    for headers in [vec![], vec![("X-Telegram-Bot-Api-Secret-Token", "wrong")]] {
        assert!(matches!(
            a.handle_webhook(&post(url, &headers, TG_UPDATE.as_bytes())),
            Err(WebhookError::Unauthorized(_))
        ));
    }
    let ev = events(
        a.handle_webhook(&post(
            url,
            &[("x-telegram-bot-api-secret-token", "s3cret")],
            TG_UPDATE.as_bytes(),
        ))
        .unwrap(),
    );
    assert_eq!(ev.len(), 1);
    let e = &ev[0];
    assert_eq!(e.external_id.as_str(), "1111111");
    assert_eq!(e.event_id, "10000");
    assert_eq!(e.opener, Some(Opener::Message));
    assert_eq!(
        e.occurred_at,
        Some(Timestamp::from_secs(1_441_645_532).unwrap())
    );
    assert_eq!(e.profile.first_name.as_ref().unwrap().as_str(), "Test");
    assert_eq!(
        e.profile.last_name.as_ref().unwrap().as_str(),
        "Test Lastname"
    );
    assert_eq!(e.content.as_ref().unwrap().text(), Some("/start"));
}

#[test]
fn telegram_blocking_the_bot_is_a_hard_stop_and_junk_is_unparseable() {
    let a = telegram("http://127.0.0.1:1");
    let h = [("x-telegram-bot-api-secret-token", "s3cret")];
    let kicked = r#"{"update_id":7,"my_chat_member":{"chat":{"id":42,"type":"private"},"date":1700000000,"new_chat_member":{"status":"kicked"}}}"#;
    let ev = events(
        a.handle_webhook(&post("https://h/webhooks/tg", &h, kicked.as_bytes()))
            .unwrap(),
    );
    assert_eq!(
        ev[0].flag.map(|f| (f.flag, f.value)),
        Some((ChannelFlag::Unsubscribed, true))
    );
    assert_eq!(ev[0].opener, None);
    assert!(matches!(
        a.handle_webhook(&post("https://h/webhooks/tg", &h, b"{not json")),
        Err(WebhookError::Unparseable(_))
    ));
    let edited = r#"{"update_id":8,"edited_message":{}}"#;
    match a
        .handle_webhook(&post("https://h/webhooks/tg", &h, edited.as_bytes()))
        .unwrap()
    {
        WebhookOutcome::Events {
            events, ignored, ..
        } => {
            assert!(events.is_empty());
            assert_eq!(ignored.len(), 1);
        }
        other => panic!("{other:?}"),
    }
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

#[tokio::test]
async fn telegram_sends_and_maps_refusals() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/bot123:abc/sendMessage"))
        .and(body_json(
            serde_json::json!({"chat_id": 1111111, "text": "hello"}),
        ))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(serde_json::json!({"ok": true, "result": {"message_id": 77}})),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/bot123:abc/sendMessage"))
        .and(body_string_contains("blocked-user"))
        .respond_with(ResponseTemplate::new(403).set_body_json(serde_json::json!(
            {"ok": false, "error_code": 403, "description": "Forbidden: bot was blocked by the user"}
        )))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/bot123:abc/sendMessage"))
        .and(body_string_contains("busy"))
        .respond_with(ResponseTemplate::new(429).set_body_json(serde_json::json!(
            {"ok": false, "error_code": 429, "description": "Too Many Requests: retry after 5"}
        )))
        .mount(&server)
        .await;

    let a = telegram(&server.uri());
    let id = MessageId::generate(Timestamp::EPOCH);
    let to = ExternalId::parse("1111111").unwrap();
    let hello = Content::from_text("hello").unwrap();
    let d = a.send(&msg(&id, &to, &hello)).await.unwrap();
    assert_eq!(d.provider_message_id, "77");

    let blocked = Content::from_text("blocked-user").unwrap();
    match a.send(&msg(&id, &to, &blocked)).await {
        Err(SendError::Rejected { code, text, flag }) => {
            assert_eq!(code, "403");
            assert!(text.contains("blocked"));
            assert_eq!(flag, Some(ChannelFlag::Unsubscribed));
        }
        other => panic!("{other:?}"),
    }
    let busy = Content::from_text("busy").unwrap();
    assert!(matches!(
        a.send(&msg(&id, &to, &busy)).await,
        Err(SendError::Unavailable(_))
    ));

    // Nobody listening: unavailable, and the URL (with the bot token) is not in the error.
    let down = telegram("http://127.0.0.1:9");
    match down.send(&msg(&id, &to, &hello)).await {
        Err(SendError::Unavailable(text)) => assert!(!text.contains("123:abc"), "{text}"),
        other => panic!("{other:?}"),
    }
}

fn webchat_adapter(callback: &str) -> Adapter {
    adapter(&format!(
        "id = \"web\"\nkind = \"webchat\"\nsecret = \"web-secret\"\ncallback_url = \"{callback}\""
    ))
}

#[test]
fn webchat_webhook_is_signed_and_malformed_bodies_get_a_reason() {
    let a = webchat_adapter("http://127.0.0.1:1/cb");
    let body = r#"{"visitor_id":"v-1","message_id":"m-1","text":"Hi there","name":"Ana María López","email":"ANA@example.com"}"#.as_bytes();
    let sig = webchat::sign("web-secret", body);
    let url = "https://h/webhooks/web";
    assert!(matches!(
        a.handle_webhook(&post(url, &[("x-replyline-signature", "sha256=00")], body)),
        Err(WebhookError::Unauthorized(_))
    ));
    assert!(matches!(
        a.handle_webhook(&post(url, &[], body)),
        Err(WebhookError::Unauthorized(_))
    ));
    let ev = events(
        a.handle_webhook(&post(url, &[("X-Replyline-Signature", &sig)], body))
            .unwrap(),
    );
    let e = &ev[0];
    assert_eq!(e.external_id.as_str(), "v-1");
    assert_eq!(e.event_id, "m-1");
    assert_eq!(e.profile.first_name.as_ref().unwrap().as_str(), "Ana");
    assert_eq!(
        e.profile.last_name.as_ref().unwrap().as_str(),
        "María López"
    );
    assert_eq!(
        e.profile.email.as_ref().unwrap().as_str(),
        "ana@example.com"
    );

    let bad = br#"{"visitor_id":"v-1","text":"no id"}"#;
    let sig = webchat::sign("web-secret", bad);
    match a.handle_webhook(&post(url, &[("x-replyline-signature", &sig)], bad)) {
        Err(WebhookError::BadRequest(why)) => assert!(why.contains("message_id"), "{why}"),
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn webchat_replies_are_posted_signed_to_the_callback() {
    let server = MockServer::start().await;
    let id = MessageId::generate(Timestamp::EPOCH);
    let expected_body = serde_json::to_vec(&serde_json::json!({
        "visitor_id": "v-1", "message_id": id.as_str(), "text": "Hello from support",
    }))
    .unwrap();
    Mock::given(method("POST"))
        .and(path("/cb"))
        .and(header(
            "x-replyline-signature",
            webchat::sign("web-secret", &expected_body).as_str(),
        ))
        .respond_with(ResponseTemplate::new(204))
        .expect(1)
        .mount(&server)
        .await;
    let a = webchat_adapter(&format!("{}/cb", server.uri()));
    let to = ExternalId::parse("v-1").unwrap();
    let content = Content::from_text("Hello from support").unwrap();
    let d = a.send(&msg(&id, &to, &content)).await.unwrap();
    assert_eq!(d.provider_message_id, id.as_str());
}

fn sms_adapter(api_base: &str) -> Adapter {
    adapter(&format!(
        "id = \"sms\"\nkind = \"sms\"\nprovider = \"twilio\"\naccount_sid = \"AC123\"\nauth_token = \"12345\"\nfrom = \"+15005550006\"\napi_base = \"{api_base}\""
    ))
}

#[test]
fn twilio_webhook_checks_the_signature_over_url_and_params() {
    let a = sms_adapter("http://127.0.0.1:1");
    let url = "https://hooks.example.com/webhooks/sms";
    let body = "MessageSid=SM123&AccountSid=AC123&From=%2B14155550100&To=%2B15005550006&Body=Hello+there&NumMedia=0";
    let params: Vec<(String, String)> = form_urlencoded::parse(body.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    let sig = twilio::signature("12345", url, &params);
    let ev = events(
        a.handle_webhook(&post(url, &[("X-Twilio-Signature", &sig)], body.as_bytes()))
            .unwrap(),
    );
    let e = &ev[0];
    assert_eq!(e.event_id, "SM123");
    assert_eq!(e.external_id.as_str(), "+14155550100");
    assert_eq!(e.profile.phone.as_ref().unwrap().as_str(), "+14155550100");
    assert_eq!(e.content.as_ref().unwrap().text(), Some("Hello there"));
    assert_eq!(e.flag, None);
    // Signed for another URL, or tampered: refused.
    let other = twilio::signature("12345", "https://evil.example/webhooks/sms", &params);
    assert!(a
        .handle_webhook(&post(
            url,
            &[("X-Twilio-Signature", &other)],
            body.as_bytes()
        ))
        .is_err());
    let tampered = body.replace("Hello", "Hullo");
    assert!(a
        .handle_webhook(&post(
            url,
            &[("X-Twilio-Signature", &sig)],
            tampered.as_bytes()
        ))
        .is_err());
}

#[test]
fn twilio_stop_and_start_change_the_opt_out() {
    let a = sms_adapter("http://127.0.0.1:1");
    let url = "https://hooks.example.com/webhooks/sms";
    for (word, value) in [("STOP", true), ("unsubscribe", true), (" Start ", false)] {
        let body = format!(
            "MessageSid=SM9&From=%2B14155550100&Body={}",
            word.replace(' ', "+")
        );
        let params: Vec<(String, String)> = form_urlencoded::parse(body.as_bytes())
            .map(|(k, v)| (k.into_owned(), v.into_owned()))
            .collect();
        let sig = twilio::signature("12345", url, &params);
        let ev = events(
            a.handle_webhook(&post(url, &[("x-twilio-signature", &sig)], body.as_bytes()))
                .unwrap(),
        );
        assert_eq!(
            ev[0].flag.map(|f| (f.flag, f.value)),
            Some((ChannelFlag::OptedOut, value)),
            "{word}"
        );
    }
}

#[tokio::test]
async fn twilio_sends_with_basic_auth_and_maps_21610_to_opted_out() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/2010-04-01/Accounts/AC123/Messages.json"))
        .and(header("authorization", "Basic QUMxMjM6MTIzNDU="))
        .and(body_string_contains("Body=Your+order"))
        .respond_with(ResponseTemplate::new(201).set_body_json(serde_json::json!({"sid": "SMabc"})))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/2010-04-01/Accounts/AC123/Messages.json"))
        .and(body_string_contains("Body=After+STOP"))
        .respond_with(ResponseTemplate::new(400).set_body_json(serde_json::json!(
            {"code": 21610, "message": "Attempt to send to unsubscribed recipient", "status": 400}
        )))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/2010-04-01/Accounts/AC123/Messages.json"))
        .and(body_string_contains("Body=Outage"))
        .respond_with(ResponseTemplate::new(503).set_body_json(serde_json::json!({})))
        .mount(&server)
        .await;
    let a = sms_adapter(&server.uri());
    let id = MessageId::generate(Timestamp::EPOCH);
    let to = ExternalId::parse("+14155550100").unwrap();
    let ok = Content::from_text("Your order shipped").unwrap();
    assert_eq!(
        a.send(&msg(&id, &to, &ok))
            .await
            .unwrap()
            .provider_message_id,
        "SMabc"
    );
    let stop = Content::from_text("After STOP").unwrap();
    match a.send(&msg(&id, &to, &stop)).await {
        Err(SendError::Rejected { code, flag, .. }) => {
            assert_eq!(code, "21610");
            assert_eq!(flag, Some(ChannelFlag::OptedOut));
        }
        other => panic!("{other:?}"),
    }
    let outage = Content::from_text("Outage").unwrap();
    assert!(matches!(
        a.send(&msg(&id, &to, &outage)).await,
        Err(SendError::Unavailable(_))
    ));
}

#[tokio::test]
async fn templates_are_refused_by_text_only_channels() {
    let a = telegram("http://127.0.0.1:1");
    let id = MessageId::generate(Timestamp::EPOCH);
    let to = ExternalId::parse("1").unwrap();
    let t = Content::new(
        None,
        Some(replyline_domain::Template::new("order_update", "en_US", vec![]).unwrap()),
        None,
    )
    .unwrap();
    assert!(matches!(
        a.send(&msg(&id, &to, &t)).await,
        Err(SendError::Unsupported(_))
    ));
}
