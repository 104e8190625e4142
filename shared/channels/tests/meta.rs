//! Messenger, Instagram and WhatsApp adapters: the `hub.challenge` handshake, webhooks
//! signed with `X-Hub-Signature-256` (every signature used here is also checked by pywa,
//! the community WhatsApp SDK, through tests/oracles/meta_sign.py), batched payloads, and
//! sends to a fake Graph API (wiremock on 127.0.0.1) with Graph errors mapped to typed
//! refusals.

mod common;

use bytes::Bytes;
use replyline_channels::signature::hmac_sha256;
use replyline_channels::{
    http_client, Adapter, DeliveryFailure, InboundEvent, OutboundMessage, SendError, WebhookError,
    WebhookOutcome, WebhookReply, WebhookRequest,
};
use replyline_config::Config;
use replyline_domain::{ChannelFlag, Content, ExternalId, MessageId, Template, Timestamp};
use replyline_policy::Opener;
use serde_json::json;
use wiremock::matchers::{
    bearer_token, body_json, body_string_contains, method, path, query_param_is_missing,
};
use wiremock::{Mock, MockServer, ResponseTemplate};

const APP_SECRET: &str = "meta-app-secret";
const VERIFY_TOKEN: &str = "verify-me";
const PAGE_TOKEN: &str = "EAAGpagetoken";
const WA_TOKEN: &str = "EAAGwatoken";

fn adapter(channel_toml: &str) -> Adapter {
    let config = Config::from_toml(&format!(
        "[store]\nkind = \"sqlite\"\npath = \"x.db\"\n[[channels]]\n{channel_toml}"
    ))
    .unwrap();
    Adapter::for_channel(&config.channels[0], http_client().unwrap())
}

fn messenger(api_base: &str) -> Adapter {
    adapter(&format!(
        "id = \"fb\"\nkind = \"messenger\"\napp_secret = \"{APP_SECRET}\"\nverify_token = \"{VERIFY_TOKEN}\"\npage_access_token = \"{PAGE_TOKEN}\"\napi_base = \"{api_base}\""
    ))
}

fn instagram(api_base: &str) -> Adapter {
    adapter(&format!(
        "id = \"ig\"\nkind = \"instagram\"\napp_secret = \"{APP_SECRET}\"\nverify_token = \"{VERIFY_TOKEN}\"\naccess_token = \"{PAGE_TOKEN}\"\napi_base = \"{api_base}\""
    ))
}

fn whatsapp(api_base: &str, app_secret: &str) -> Adapter {
    adapter(&format!(
        "id = \"wa\"\nkind = \"whatsapp\"\napp_secret = \"{app_secret}\"\nverify_token = \"{VERIFY_TOKEN}\"\naccess_token = \"{WA_TOKEN}\"\nphone_number_id = \"277321005464405\"\napi_base = \"{api_base}\""
    ))
}

/// pywa's judgement of `signature` over `body` (tests/oracles/meta_sign.py).
fn pywa_validates(secret: &str, body: &str, signature: &str) -> bool {
    let out = common::run_oracle("meta_sign.py", &[secret, signature], body.as_bytes());
    assert!(
        out.status.success(),
        "meta_sign.py failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    match String::from_utf8_lossy(&out.stdout).trim() {
        "valid" => true,
        "invalid" => false,
        other => panic!("meta_sign.py printed {other:?}"),
    }
}

/// `sha256=<hex HMAC-SHA256>`, as Meta signs; pywa must agree before a test uses it.
fn sign(secret: &str, body: &str) -> String {
    let sig = format!(
        "sha256={}",
        hex::encode(hmac_sha256(secret.as_bytes(), body.as_bytes()))
    );
    assert!(
        pywa_validates(secret, body, &sig),
        "pywa rejects our signature"
    );
    sig
}

fn post(headers: &[(&str, &str)], body: &str) -> WebhookRequest {
    WebhookRequest {
        method: http::Method::POST,
        public_url: "https://hooks.example.com/webhooks/meta".to_owned(),
        headers: WebhookRequest::headers_from(headers.iter().copied()),
        query: Vec::new(),
        body: Bytes::copy_from_slice(body.as_bytes()),
    }
}

fn signed(secret: &str, body: &str) -> WebhookRequest {
    let sig = sign(secret, body);
    post(&[("X-Hub-Signature-256", &sig)], body)
}

fn get(query: &[(&str, &str)]) -> WebhookRequest {
    WebhookRequest {
        method: http::Method::GET,
        public_url: "https://hooks.example.com/webhooks/meta".to_owned(),
        headers: Default::default(),
        query: query
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        body: Bytes::new(),
    }
}

struct Parsed {
    events: Vec<InboundEvent>,
    ignored: Vec<String>,
    failures: Vec<DeliveryFailure>,
}

fn parsed(outcome: WebhookOutcome) -> Parsed {
    match outcome {
        WebhookOutcome::Events {
            events,
            ignored,
            failures,
            reply,
        } => {
            assert_eq!(reply.status, 200);
            Parsed {
                events,
                ignored,
                failures,
            }
        }
        other => panic!("expected events, got {other:?}"),
    }
}

fn text(e: &InboundEvent) -> Option<&str> {
    e.content.as_ref().and_then(|c| c.text())
}

#[test]
fn pywa_judges_signatures_and_rejects_wrong_ones() {
    // (pywa's own published vector is checked in `whatsapp_accepts_pywas_published_vector`.)
    // Our signature is valid to pywa...
    let body = r#"{"object":"whatsapp_business_account","entry":[]}"#;
    let good = sign(APP_SECRET, body);
    // ...and a signature under another secret, or over another body, is not.
    assert!(!pywa_validates("other-secret", body, &good));
    assert!(!pywa_validates(
        APP_SECRET,
        &body.replace("[]", "[ ]"),
        &good
    ));
}

#[test]
fn the_handshake_echoes_the_challenge_only_for_our_token() {
    for a in [
        messenger("http://127.0.0.1:1"),
        instagram("http://127.0.0.1:1"),
        whatsapp("http://127.0.0.1:1", APP_SECRET),
    ] {
        let ok = a
            .handle_webhook(&get(&[
                ("hub.mode", "subscribe"),
                ("hub.challenge", "1158201444"),
                ("hub.verify_token", VERIFY_TOKEN),
            ]))
            .unwrap();
        assert_eq!(
            ok,
            WebhookOutcome::Handshake(WebhookReply::text(200, "1158201444"))
        );
        if let WebhookOutcome::Handshake(r) = ok {
            assert!(r.content_type.starts_with("text/plain"));
        }
        for query in [
            vec![
                ("hub.mode", "subscribe"),
                ("hub.challenge", "1"),
                ("hub.verify_token", "wrong"),
            ],
            vec![
                ("hub.mode", "unsubscribe"),
                ("hub.challenge", "1"),
                ("hub.verify_token", VERIFY_TOKEN),
            ],
            vec![("hub.mode", "subscribe"), ("hub.challenge", "1")],
        ] {
            assert!(matches!(
                a.handle_webhook(&get(&query)),
                Err(WebhookError::Unauthorized(_))
            ));
        }
        let mut put = get(&[]);
        put.method = http::Method::PUT;
        assert_eq!(a.handle_webhook(&put), Err(WebhookError::MethodNotAllowed));
    }
}

// Two entries, many messaging items: each message is its own event; the rest is ignored.
const MESSENGER_BATCH: &str = r#"{"object":"page","entry":[
{"id":"PAGE","time":1458692752478,"messaging":[
 {"sender":{"id":"PSID1"},"recipient":{"id":"PAGE"},"timestamp":1458692752478,"message":{"mid":"mid.1457764197618:41d102a3e1ae206a38","text":"hello, world! \u00e9"}},
 {"sender":{"id":"PSID1"},"recipient":{"id":"PAGE"},"timestamp":1458692752500,"message":{"mid":"m_img","attachments":[{"type":"image","payload":{"url":"https://x/y.jpg"}}]}},
 {"sender":{"id":"PAGE"},"recipient":{"id":"PSID1"},"timestamp":1458692752600,"message":{"mid":"m_echo","is_echo":true,"text":"our reply"}},
 {"sender":{"id":"PSID1"},"recipient":{"id":"PAGE"},"timestamp":1458692752700,"delivery":{"mids":["m_x"],"watermark":1458668856253}},
 {"sender":{"id":"PSID1"},"recipient":{"id":"PAGE"},"timestamp":1458692752800,"read":{"watermark":1458668856253}}
]},
{"id":"PAGE","time":1458692753000,"messaging":[
 {"sender":{"id":"PSID2"},"recipient":{"id":"PAGE"},"timestamp":1458692753000,"message":{"mid":"m_ad","text":"Is this still available?","referral":{"source":"ADS","type":"OPEN_THREAD","ad_id":"6045246247433"}}},
 {"sender":{"id":"PSID2"},"recipient":{"id":"PAGE"},"timestamp":1458692753100,"postback":{"mid":"m_pb","title":"Talk to a human","payload":"HUMAN"}},
 {"sender":{"id":"PSID3"},"recipient":{"id":"PAGE"},"timestamp":1458692753200,"referral":{"source":"ADS","type":"OPEN_THREAD","ad_id":"6045246247433"}},
 {"sender":{"id":"PSID3"},"recipient":{"id":"PAGE"},"timestamp":1458692753300,"referral":{"source":"SHORTLINK","type":"OPEN_THREAD","ref":"x"}},
 {"sender":{"id":"PSID2"},"recipient":{"id":"PAGE"},"timestamp":1458692753400,"reaction":{"mid":"m_x","action":"react","emoji":"\u2764"}}
]}]}"#;

#[test]
fn messenger_batches_are_split_into_events() {
    let a = messenger("http://127.0.0.1:1");
    let p = parsed(
        a.handle_webhook(&signed(APP_SECRET, MESSENGER_BATCH))
            .unwrap(),
    );
    let ids: Vec<&str> = p.events.iter().map(|e| e.event_id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "mid.1457764197618:41d102a3e1ae206a38",
            "m_img",
            "m_ad",
            "m_pb",
            "referral:PSID3:1458692753200",
            "reaction:PSID2:m_x:1458692753400"
        ]
    );
    let first = &p.events[0];
    assert_eq!(first.external_id.as_str(), "PSID1");
    assert_eq!(first.opener, Some(Opener::Message));
    assert_eq!(
        first.occurred_at,
        Some(Timestamp::from_millis(1_458_692_752_478).unwrap())
    );
    // Verified over the raw bytes: the \u escape is decoded only after the check.
    assert_eq!(text(first), Some("hello, world! é"));
    assert_eq!(text(&p.events[1]), Some("(image)"));
    assert_eq!(p.events[2].opener, Some(Opener::AdReferral));
    assert_eq!(text(&p.events[2]), Some("Is this still available?"));
    assert_eq!(p.events[3].opener, Some(Opener::Message));
    assert_eq!(text(&p.events[3]), Some("Talk to a human"));
    // A bare ad click opens the extended window without any content.
    assert_eq!(p.events[4].opener, Some(Opener::AdReferral));
    assert_eq!(p.events[4].content, None);
    assert_eq!(p.events[4].external_id.as_str(), "PSID3");
    // A reaction restarts the window (channel-rules.md §2) but carries no message.
    assert_eq!(p.events[5].opener, Some(Opener::Message));
    assert_eq!(p.events[5].content, None);
    assert_eq!(p.events[5].external_id.as_str(), "PSID2");
    assert_eq!(p.ignored.len(), 4, "{:?}", p.ignored);
    assert!(p.failures.is_empty());
}

#[test]
fn messenger_refuses_bad_signatures_and_reports_junk() {
    let a = messenger("http://127.0.0.1:1");
    let body = MESSENGER_BATCH;
    let wrong = format!(
        "sha256={}",
        hex::encode(hmac_sha256(b"not-the-secret", body.as_bytes()))
    );
    assert!(!pywa_validates(APP_SECRET, body, &wrong));
    let legacy = sign(APP_SECRET, body).replace("sha256=", "sha1=");
    for req in [
        post(&[("X-Hub-Signature-256", &wrong)], body),
        post(&[("X-Hub-Signature", &legacy)], body),
        post(&[], body),
        // Signed, then altered in transit.
        post(
            &[("X-Hub-Signature-256", &sign(APP_SECRET, body))],
            &body.replace("hello", "hullo"),
        ),
    ] {
        assert!(matches!(
            a.handle_webhook(&req),
            Err(WebhookError::Unauthorized(_))
        ));
    }
    for junk in [
        "{not json",
        r#"{"object":"instagram","entry":[]}"#,
        r#"{"object":"page","entry":[{"messaging":[{"sender":{},"timestamp":1}]}]}"#,
    ] {
        assert!(
            matches!(
                a.handle_webhook(&signed(APP_SECRET, junk)),
                Err(WebhookError::Unparseable(_))
            ),
            "{junk}"
        );
    }
}

fn msg<'a>(
    id: &'a MessageId,
    to: &'a ExternalId,
    content: &'a Content,
    tag: Option<&'a str>,
) -> OutboundMessage<'a> {
    OutboundMessage {
        id,
        to,
        content,
        tag,
        in_reply_to: None,
    }
}

fn graph_error(code: i64, subcode: Option<i64>, message: &str) -> serde_json::Value {
    json!({"error": {"message": message, "type": "OAuthException", "code": code,
        "error_subcode": subcode, "fbtrace_id": "AbCdEf"}})
}

/// Mounts a Graph refusal for any send whose body contains `marker`.
async fn refuse(server: &MockServer, at: &str, marker: &str, status: u16, body: serde_json::Value) {
    Mock::given(method("POST"))
        .and(path(at))
        .and(body_string_contains(marker))
        .respond_with(ResponseTemplate::new(status).set_body_json(body))
        .mount(server)
        .await;
}

#[tokio::test]
async fn messenger_sends_response_or_tagged_and_maps_graph_errors() {
    let server = MockServer::start().await;
    let at = "/v21.0/me/messages";
    Mock::given(method("POST"))
        .and(path(at))
        .and(bearer_token(PAGE_TOKEN))
        .and(query_param_is_missing("access_token"))
        .and(body_json(json!({
            "recipient": {"id": "PSID1"},
            "messaging_type": "RESPONSE",
            "message": {"text": "Hi, how can we help?"},
        })))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"recipient_id": "PSID1", "message_id": "m_sent1"})),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(at))
        .and(bearer_token(PAGE_TOKEN))
        .and(body_json(json!({
            "recipient": {"id": "PSID1"},
            "messaging_type": "MESSAGE_TAG",
            "tag": "HUMAN_AGENT",
            "message": {"text": "Following up on your order"},
        })))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"recipient_id": "PSID1", "message_id": "m_sent2"})),
        )
        .expect(1)
        .mount(&server)
        .await;
    refuse(&server, at, "late", 400, graph_error(10, Some(2_018_278),
        "(#10) This message is sent outside of allowed window. Learn more about the new policy here: https://developers.facebook.com/docs/messenger-platform/policy-overview")).await;
    refuse(
        &server,
        at,
        "gone",
        400,
        graph_error(
            551,
            Some(1_545_041),
            "This person isn't available right now.",
        ),
    )
    .await;
    refuse(
        &server,
        at,
        "busy",
        400,
        graph_error(613, None, "Calls to this api have exceeded the rate limit."),
    )
    .await;
    refuse(
        &server,
        at,
        "outage",
        500,
        graph_error(
            2,
            None,
            "An unexpected error has occurred. Please retry your request later.",
        ),
    )
    .await;
    refuse(
        &server,
        at,
        "token",
        401,
        graph_error(
            190,
            Some(463),
            "Error validating access token: Session has expired",
        ),
    )
    .await;

    let a = messenger(&server.uri());
    let id = MessageId::generate(Timestamp::EPOCH);
    let to = ExternalId::parse("PSID1").unwrap();
    let send = |content: &'static str, tag: Option<&'static str>| {
        let a = a.clone();
        let (id, to) = (id.clone(), to.clone());
        async move {
            let c = Content::from_text(content).unwrap();
            a.send(&msg(&id, &to, &c, tag)).await
        }
    };
    assert_eq!(
        send("Hi, how can we help?", None)
            .await
            .unwrap()
            .provider_message_id,
        "m_sent1"
    );
    assert_eq!(
        send("Following up on your order", Some("HUMAN_AGENT"))
            .await
            .unwrap()
            .provider_message_id,
        "m_sent2"
    );
    match send("late reply", None).await {
        Err(SendError::OutsideWindow { code, text, quota }) => {
            assert_eq!(code, "10");
            assert!(text.contains("outside of allowed window"));
            assert!(!quota);
        }
        other => panic!("{other:?}"),
    }
    match send("gone", None).await {
        Err(SendError::Rejected { code, flag, .. }) => {
            assert_eq!(code, "551");
            assert_eq!(flag, Some(ChannelFlag::Unsubscribed));
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        send("busy", None).await,
        Err(SendError::Unavailable(_))
    ));
    assert!(matches!(
        send("outage", None).await,
        Err(SendError::Unavailable(_))
    ));
    match send("token", None).await {
        Err(e @ SendError::Rejected { .. }) => {
            assert_eq!(e.code(), "190");
            assert!(!e.text().contains(PAGE_TOKEN));
        }
        other => panic!("{other:?}"),
    }

    // Too long, or a template: refused before any request.
    let long = Content::from_text("x".repeat(2001)).unwrap();
    match a.send(&msg(&id, &to, &long, None)).await {
        Err(SendError::Unsupported(why)) => assert!(why.contains("2000"), "{why}"),
        other => panic!("{other:?}"),
    }
    let exact = Content::from_text("y".repeat(2000)).unwrap();
    assert!(!matches!(
        a.send(&msg(&id, &to, &exact, None)).await,
        Err(SendError::Unsupported(_))
    ));
    let t = Content::new(
        None,
        Some(Template::new("order_update", "en_US", vec![]).unwrap()),
        None,
    )
    .unwrap();
    assert!(matches!(
        a.send(&msg(&id, &to, &t, None)).await,
        Err(SendError::Unsupported(_))
    ));

    // Nobody listening: unavailable, without the token.
    match messenger("http://127.0.0.1:9")
        .send(&msg(&id, &to, &exact, None))
        .await
    {
        Err(SendError::Unavailable(text)) => assert!(!text.contains(PAGE_TOKEN), "{text}"),
        other => panic!("{other:?}"),
    }
}

// The sample of providers.md §3.6, plus a story reply with an attachment and an echo.
const INSTAGRAM_BODY: &str = r#"{"object":"instagram","entry":[{"id":"17841400000000000","time":1569262486134,"messaging":[
{"sender":{"id":"IGSID1"},"recipient":{"id":"17841400000000000"},"timestamp":1569262485349,"message":{"mid":"aWdfZAG1faXRlbToxOklH","text":"Hola!"}},
{"sender":{"id":"IGSID1"},"recipient":{"id":"17841400000000000"},"timestamp":1569262485400,"message":{"mid":"aWdfZAG1faXRlbToxOklI","attachments":[{"type":"story_mention","payload":{"url":"https://x"}}]}},
{"sender":{"id":"IGSID2"},"recipient":{"id":"17841400000000000"},"timestamp":1569262485500,"message":{"mid":"aWdfZAG1faXRlbToxOklJ","text":"Saw your ad","referral":{"source":"ADS","type":"OPEN_THREAD","ad_id":"123"}}},
{"sender":{"id":"17841400000000000"},"recipient":{"id":"IGSID1"},"timestamp":1569262485600,"message":{"mid":"echo","is_echo":true,"text":"ours"}}
]}]}"#;

#[test]
fn instagram_messages_are_parsed_like_messenger_ones() {
    let a = instagram("http://127.0.0.1:1");
    let p = parsed(
        a.handle_webhook(&signed(APP_SECRET, INSTAGRAM_BODY))
            .unwrap(),
    );
    assert_eq!(p.events.len(), 3);
    assert_eq!(p.events[0].external_id.as_str(), "IGSID1");
    assert_eq!(p.events[0].event_id, "aWdfZAG1faXRlbToxOklH");
    assert_eq!(text(&p.events[0]), Some("Hola!"));
    assert_eq!(
        p.events[0].occurred_at,
        Some(Timestamp::from_millis(1_569_262_485_349).unwrap())
    );
    assert_eq!(text(&p.events[1]), Some("(story_mention)"));
    assert_eq!(p.events[2].opener, Some(Opener::AdReferral));
    assert_eq!(p.ignored.len(), 1);
    // A Page payload reaching the Instagram channel is a misconfiguration, not an event.
    assert!(matches!(
        a.handle_webhook(&signed(APP_SECRET, MESSENGER_BATCH)),
        Err(WebhookError::Unparseable(_))
    ));
    assert!(matches!(
        a.handle_webhook(&post(
            &[("x-hub-signature-256", "sha256=00")],
            INSTAGRAM_BODY
        )),
        Err(WebhookError::Unauthorized(_))
    ));
}

#[tokio::test]
async fn instagram_sends_and_maps_its_window_subcode() {
    let server = MockServer::start().await;
    let at = "/v21.0/me/messages";
    Mock::given(method("POST"))
        .and(path(at))
        .and(bearer_token(PAGE_TOKEN))
        .and(body_json(json!({
            "recipient": {"id": "IGSID1"},
            "messaging_type": "RESPONSE",
            "message": {"text": "Gracias"},
        })))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"recipient_id": "IGSID1", "message_id": "aWdf_sent"})),
        )
        .expect(1)
        .mount(&server)
        .await;
    refuse(
        &server,
        at,
        "tarde",
        400,
        graph_error(
            10,
            Some(2_534_022),
            "(#10) This message is sent outside of allowed window.",
        ),
    )
    .await;
    let a = instagram(&server.uri());
    let id = MessageId::generate(Timestamp::EPOCH);
    let to = ExternalId::parse("IGSID1").unwrap();
    let c = Content::from_text("Gracias").unwrap();
    assert_eq!(
        a.send(&msg(&id, &to, &c, None))
            .await
            .unwrap()
            .provider_message_id,
        "aWdf_sent"
    );
    let late = Content::from_text("tarde").unwrap();
    assert!(matches!(
        a.send(&msg(&id, &to, &late, None)).await,
        Err(SendError::OutsideWindow { quota: false, .. })
    ));
    // Instagram takes less than 1000 characters.
    let long = Content::from_text("x".repeat(1000)).unwrap();
    assert!(matches!(
        a.send(&msg(&id, &to, &long, None)).await,
        Err(SendError::Unsupported(_))
    ));
}

// The body of pywa's published vector (providers.md §4.6).
const PYWA_SECRET: &str = "1222e786b144d0e85b9f365372d93676";
const PYWA_BODY: &str = r#"{"object":"whatsapp_business_account","entry":[{"id":"264937493375603","changes":[{"value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550953877","phone_number_id":"277321005464405"},"contacts":[{"profile":{"name":"PyWa Tests"},"wa_id":"972544401243"}],"messages":[{"from":"972544401243","id":"wamid.HBgMOTcyNTQ0NDAxMjQzFQIAEhggM0RFQTNCMEEwRTY3QzUwODYzMDc4NjQ4QzM4ODAxM0YA","timestamp":"1730231903","text":{"body":"Hey there! I am using PyWa."},"type":"text"}]},"field":"messages"}]}]}"#;
const PYWA_SIG: &str = "sha256=54edfa1d7259e0eb13c677cc7d73d1b5c86cfa12433d19156e058ab9251bc441";

#[test]
fn whatsapp_accepts_pywas_published_vector() {
    assert!(pywa_validates(PYWA_SECRET, PYWA_BODY, PYWA_SIG));
    let a = whatsapp("http://127.0.0.1:1", PYWA_SECRET);
    let p = parsed(
        a.handle_webhook(&post(&[("X-Hub-Signature-256", PYWA_SIG)], PYWA_BODY))
            .unwrap(),
    );
    let e = &p.events[0];
    assert_eq!(
        e.event_id,
        "wamid.HBgMOTcyNTQ0NDAxMjQzFQIAEhggM0RFQTNCMEEwRTY3QzUwODYzMDc4NjQ4QzM4ODAxM0YA"
    );
    assert_eq!(e.external_id.as_str(), "972544401243");
    assert_eq!(e.opener, Some(Opener::Message));
    assert_eq!(
        e.occurred_at,
        Some(Timestamp::from_secs(1_730_231_903).unwrap())
    );
    assert_eq!(text(e), Some("Hey there! I am using PyWa."));
    assert_eq!(
        e.profile.first_name.as_ref().unwrap().as_str(),
        "PyWa Tests"
    );
    assert_eq!(e.profile.last_name, None);
    assert_eq!(e.profile.phone.as_ref().unwrap().as_str(), "+972544401243");
    let tampered = PYWA_BODY.replace("Hey", "Hoy");
    assert!(matches!(
        a.handle_webhook(&post(&[("X-Hub-Signature-256", PYWA_SIG)], &tampered)),
        Err(WebhookError::Unauthorized(_))
    ));
}

const WHATSAPP_BATCH: &str = r#"{"object":"whatsapp_business_account","entry":[
{"id":"WABA1","changes":[{"field":"messages","value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550001111","phone_number_id":"277321005464405"},
 "contacts":[{"profile":{"name":"Ana"},"wa_id":"5511987654321"},{"profile":{"name":"Bo Li"},"wa_id":"61412345678"}],
 "messages":[
  {"from":"5511987654321","id":"wamid.btn","timestamp":"1730231910","type":"button","button":{"payload":"YES","text":"Yes, confirm"}},
  {"from":"61412345678","id":"wamid.ia","timestamp":"1730231911","type":"interactive","interactive":{"type":"button_reply","button_reply":{"id":"b1","title":"Track order"}}},
  {"from":"61412345678","id":"wamid.list","timestamp":"1730231912","type":"interactive","interactive":{"type":"list_reply","list_reply":{"id":"l1","title":"Returns","description":"x"}}},
  {"from":"5511987654321","id":"wamid.img","timestamp":"1730231913","type":"image","image":{"caption":"the box","mime_type":"image/jpeg","sha256":"x","id":"123"}},
  {"from":"5511987654321","id":"wamid.audio","timestamp":"1730231914","type":"audio","audio":{"mime_type":"audio/ogg","id":"456","voice":true}},
  {"from":"5511987654321","id":"wamid.react","timestamp":"1730231915","type":"reaction","reaction":{"message_id":"wamid.x","emoji":"\ud83d\udc4d"}}
 ]}}]},
{"id":"WABA1","changes":[
 {"field":"messages","value":{"messaging_product":"whatsapp","metadata":{"display_phone_number":"15550001111","phone_number_id":"277321005464405"},"statuses":[
  {"id":"wamid.out1","status":"delivered","timestamp":"1730231920","recipient_id":"5511987654321"},
  {"id":"wamid.out2","status":"failed","timestamp":"1730231921","recipient_id":"5511987654321","errors":[{"code":131047,"title":"Re-engagement message","message":"Re-engagement message","error_data":{"details":"Message failed to send because more than 24 hours have passed since the customer last replied to this number."}}]},
  {"id":"wamid.out3","status":"failed","timestamp":"1730231922","recipient_id":"61412345678","errors":[{"code":131026,"title":"Message undeliverable"}]}
 ]}},
 {"field":"account_update","value":{"event":"VERIFIED_ACCOUNT"}}
]}]}"#;

#[test]
fn whatsapp_batches_give_events_and_delivery_failures() {
    let a = whatsapp("http://127.0.0.1:1", APP_SECRET);
    let p = parsed(
        a.handle_webhook(&signed(APP_SECRET, WHATSAPP_BATCH))
            .unwrap(),
    );
    let got: Vec<(&str, &str, Option<&str>)> = p
        .events
        .iter()
        .map(|e| (e.event_id.as_str(), e.external_id.as_str(), text(e)))
        .collect();
    assert_eq!(
        got,
        [
            ("wamid.btn", "5511987654321", Some("Yes, confirm")),
            ("wamid.ia", "61412345678", Some("Track order")),
            ("wamid.list", "61412345678", Some("Returns")),
            ("wamid.img", "5511987654321", Some("the box")),
            ("wamid.audio", "5511987654321", Some("(audio)")),
        ]
    );
    // Each sender's own name, from the contact whose wa_id matches.
    assert_eq!(
        p.events[0].profile.first_name.as_ref().unwrap().as_str(),
        "Ana"
    );
    assert_eq!(
        p.events[1].profile.first_name.as_ref().unwrap().as_str(),
        "Bo Li"
    );
    assert_eq!(
        p.events[1].profile.phone.as_ref().unwrap().as_str(),
        "+61412345678"
    );
    assert_eq!(
        p.failures,
        [
            DeliveryFailure {
                provider_message_id: "wamid.out2".to_owned(),
                code: "131047".to_owned(),
                text: "Re-engagement message: Message failed to send because more than 24 hours have passed since the customer last replied to this number.".to_owned(),
                outside_window: true,
            },
            DeliveryFailure {
                provider_message_id: "wamid.out3".to_owned(),
                code: "131026".to_owned(),
                text: "Message undeliverable".to_owned(),
                outside_window: false,
            },
        ]
    );
    // The reaction, the delivered status and the account_update change.
    assert_eq!(p.ignored.len(), 3, "{:?}", p.ignored);
    assert!(matches!(
        a.handle_webhook(&signed(APP_SECRET, r#"{"object":"whatsapp_business_account","entry":[{"changes":[{"field":"messages","value":{"messages":[{"id":"w","timestamp":"1"}]}}]}]}"#)),
        Err(WebhookError::Unparseable(_))
    ));
}

#[tokio::test]
async fn whatsapp_sends_text_and_templates_and_maps_errors() {
    let server = MockServer::start().await;
    let at = "/v21.0/277321005464405/messages";
    let answer = |id: &str| {
        ResponseTemplate::new(200).set_body_json(json!({
            "messaging_product": "whatsapp",
            "contacts": [{"input": "5511987654321", "wa_id": "5511987654321"}],
            "messages": [{"id": id}],
        }))
    };
    Mock::given(method("POST"))
        .and(path(at))
        .and(bearer_token(WA_TOKEN))
        .and(body_json(json!({
            "messaging_product": "whatsapp", "recipient_type": "individual",
            "to": "5511987654321", "type": "text", "text": {"body": "Olá!"},
        })))
        .respond_with(answer("wamid.text"))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(at))
        .and(bearer_token(WA_TOKEN))
        .and(body_json(json!({
            "messaging_product": "whatsapp", "recipient_type": "individual",
            "to": "5511987654321", "type": "template",
            "template": {"name": "order_update", "language": {"code": "pt_BR"},
                "components": [{"type": "body", "parameters": [
                    {"type": "text", "text": "Ana"}, {"type": "text", "text": "#1234"}]}]},
        })))
        .respond_with(answer("wamid.tpl"))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(at))
        .and(body_json(json!({
            "messaging_product": "whatsapp", "recipient_type": "individual",
            "to": "5511987654321", "type": "template",
            "template": {"name": "hello_world", "language": {"code": "en_US"}},
        })))
        .respond_with(answer("wamid.hello"))
        .expect(1)
        .mount(&server)
        .await;
    let wa_error = |code: i64, message: &str| {
        json!({"error": {"message": message, "type": "OAuthException", "code": code,
            "error_data": {"messaging_product": "whatsapp", "details": "details here"},
            "fbtrace_id": "Az"}})
    };
    refuse(
        &server,
        at,
        "late",
        400,
        wa_error(131_047, "(#131047) Re-engagement message"),
    )
    .await;
    refuse(
        &server,
        at,
        "legacy",
        400,
        wa_error(
            470,
            "Message failed to send because more than 24 hours have passed",
        ),
    )
    .await;
    refuse(
        &server,
        at,
        "busy",
        400,
        wa_error(130_429, "(#130429) Rate limit hit"),
    )
    .await;
    refuse(
        &server,
        at,
        "nowhere",
        400,
        wa_error(131_026, "(#131026) Message Undeliverable."),
    )
    .await;
    refuse(
        &server,
        at,
        "token",
        401,
        wa_error(190, "Error validating access token"),
    )
    .await;
    refuse(&server, at, "outage", 503, json!({})).await;

    let a = whatsapp(&server.uri(), APP_SECRET);
    let id = MessageId::generate(Timestamp::EPOCH);
    let to = ExternalId::parse("5511987654321").unwrap();
    let send = |content: Content| {
        let a = a.clone();
        let (id, to) = (id.clone(), to.clone());
        async move { a.send(&msg(&id, &to, &content, None)).await }
    };
    let txt = |s: &str| Content::from_text(s).unwrap();
    assert_eq!(
        send(txt("Olá!")).await.unwrap().provider_message_id,
        "wamid.text"
    );
    let tpl = |name: &str, lang: &str, params: Vec<String>| {
        Content::new(None, Some(Template::new(name, lang, params).unwrap()), None).unwrap()
    };
    assert_eq!(
        send(tpl(
            "order_update",
            "pt_BR",
            vec!["Ana".into(), "#1234".into()]
        ))
        .await
        .unwrap()
        .provider_message_id,
        "wamid.tpl"
    );
    assert_eq!(
        send(tpl("hello_world", "en_US", vec![]))
            .await
            .unwrap()
            .provider_message_id,
        "wamid.hello"
    );
    for late in ["late", "legacy"] {
        assert!(matches!(
            send(txt(late)).await,
            Err(SendError::OutsideWindow { quota: false, .. })
        ));
    }
    assert!(matches!(
        send(txt("busy")).await,
        Err(SendError::Unavailable(_))
    ));
    assert!(matches!(
        send(txt("outage")).await,
        Err(SendError::Unavailable(_))
    ));
    match send(txt("nowhere")).await {
        Err(SendError::Rejected { code, text, flag }) => {
            assert_eq!(code, "131026");
            assert!(
                text.contains("Undeliverable") && text.contains("details here"),
                "{text}"
            );
            assert_eq!(flag, None);
        }
        other => panic!("{other:?}"),
    }
    match send(txt("token")).await {
        Err(e @ SendError::Rejected { .. }) => {
            assert_eq!(e.code(), "190");
            assert!(!e.text().contains(WA_TOKEN));
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        send(txt(&"z".repeat(4097))).await,
        Err(SendError::Unsupported(_))
    ));
}
