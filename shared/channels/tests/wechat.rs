//! WeChat Official Account adapter: the `echostr` handshake and callbacks signed (plain
//! mode) or signed and encrypted (safe mode) by wechatpy, the provider SDK from PyPI
//! (through tests/oracles/wechat_sign.py); sends through a fake WeChat API (wiremock on
//! 127.0.0.1) with the access token fetched once, refreshed on 40001, and refusals mapped.

mod common;

use bytes::Bytes;
use replyline_channels::{
    http_client, Adapter, InboundEvent, OutboundMessage, SendError, WebhookError, WebhookOutcome,
    WebhookReply, WebhookRequest,
};
use replyline_config::Config;
use replyline_domain::{ChannelFlag, Content, ExternalId, MessageId, Timestamp};
use replyline_policy::Opener;
use serde_json::{json, Value};
use wiremock::matchers::{body_json, body_string_contains, header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

const TOKEN: &str = "wx-callback-token";
const APP_ID: &str = "wx1234567890abcdef";
const APP_SECRET: &str = "wx-app-secret-value";
const AES_KEY: &str = "kWxPEV2UEDyxWpmPdKC3F4dgPDmOvfKX1HGnEUDS1aR";
const TS: &str = "1411525903";
const NONCE: &str = "461056294";

fn wechat(api_base: &str, app_id: &str, aes: bool) -> Adapter {
    let key = if aes {
        format!("encoding_aes_key = \"{AES_KEY}\"\n")
    } else {
        String::new()
    };
    let toml = format!(
        "[store]\nkind = \"sqlite\"\npath = \"x.db\"\n[[channels]]\nid = \"wx\"\nkind = \"wechat\"\ntoken = \"{TOKEN}\"\napp_id = \"{app_id}\"\napp_secret = \"{APP_SECRET}\"\n{key}api_base = \"{api_base}\""
    );
    let config = Config::from_toml(&toml).unwrap();
    Adapter::for_channel(&config.channels[0], http_client().unwrap())
}

fn offline() -> Adapter {
    wechat("http://127.0.0.1:1", APP_ID, true)
}

/// Runs tests/oracles/wechat_sign.py (wechatpy) and returns what it printed.
fn oracle(args: &[&str], stdin: &str) -> String {
    let out = common::run_oracle("wechat_sign.py", args, stdin.as_bytes());
    assert!(
        out.status.success(),
        "wechatpy refused: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

/// wechatpy's plain-mode signature for our token.
fn sdk_signature(timestamp: &str, nonce: &str) -> String {
    oracle(&["plain", TOKEN, timestamp, nonce], "")
}

/// wechatpy's safe-mode POST body and signatures for `xml`.
fn sdk_encrypt(xml: &str, app_id: &str) -> (String, String, String) {
    let out: Value = serde_json::from_str(&oracle(
        &["encrypt", TOKEN, AES_KEY, app_id, TS, NONCE],
        xml,
    ))
    .unwrap();
    let s = |k: &str| out[k].as_str().unwrap().to_owned();
    (s("body"), s("msg_signature"), s("signature"))
}

fn request(method: http::Method, query: &[(&str, &str)], body: &str) -> WebhookRequest {
    WebhookRequest {
        method,
        public_url: "https://hooks.example.com/webhooks/wx".to_owned(),
        headers: WebhookRequest::headers_from([("content-type", "text/xml")]),
        query: query
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        body: Bytes::copy_from_slice(body.as_bytes()),
    }
}

/// A plain-mode callback signed by wechatpy.
fn plain_post(body: &str) -> WebhookRequest {
    let sig = sdk_signature(TS, NONCE);
    request(
        http::Method::POST,
        &[
            ("signature", &sig),
            ("timestamp", TS),
            ("nonce", NONCE),
            ("openid", "oUser"),
        ],
        body,
    )
}

fn one_event(outcome: WebhookOutcome) -> InboundEvent {
    match outcome {
        WebhookOutcome::Events {
            mut events,
            ignored,
            reply,
            ..
        } => {
            assert_eq!(reply, WebhookReply::text(200, "success"));
            assert!(ignored.is_empty(), "{ignored:?}");
            assert_eq!(events.len(), 1);
            events.remove(0)
        }
        other => panic!("expected events, got {other:?}"),
    }
}

fn message_xml(from: &str, msg_type: &str, inner: &str, msg_id: &str) -> String {
    format!(
        "<xml><ToUserName><![CDATA[gh_account]]></ToUserName><FromUserName><![CDATA[{from}]]></FromUserName><CreateTime>1348831860</CreateTime><MsgType><![CDATA[{msg_type}]]></MsgType>{inner}<MsgId>{msg_id}</MsgId></xml>"
    )
}

fn event_xml(event: &str, key: Option<&str>) -> String {
    let key = key
        .map(|k| format!("<EventKey><![CDATA[{k}]]></EventKey>"))
        .unwrap_or_default();
    format!(
        "<xml><ToUserName><![CDATA[gh_account]]></ToUserName><FromUserName><![CDATA[oUser]]></FromUserName><CreateTime>1700000000</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[{event}]]></Event>{key}</xml>"
    )
}

#[test]
fn handshake_echoes_echostr_when_signed() {
    let a = offline();
    let sig = sdk_signature("1410685589", "n0nce");
    let q = |sig: &str| {
        request(
            http::Method::GET,
            &[
                ("signature", sig),
                ("timestamp", "1410685589"),
                ("nonce", "n0nce"),
                ("echostr", "7203916187265634"),
            ],
            "",
        )
    };
    match a.handle_webhook(&q(&sig)).unwrap() {
        WebhookOutcome::Handshake(reply) => {
            assert_eq!(reply.status, 200);
            assert!(reply.content_type.starts_with("text/plain"));
            assert_eq!(reply.body, "7203916187265634");
        }
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        a.handle_webhook(&q("f21891de399b4e33a1a93c9a7b8a8fffb5a443ff")),
        Err(WebhookError::Unauthorized(_))
    ));
    assert!(matches!(
        a.handle_webhook(&request(http::Method::GET, &[("echostr", "1")], "")),
        Err(WebhookError::Unauthorized(_))
    ));
    assert_eq!(
        a.handle_webhook(&request(http::Method::PUT, &[], "")),
        Err(WebhookError::MethodNotAllowed)
    );
}

#[test]
fn plain_mode_text_message_signed_by_wechatpy() {
    let a = offline();
    // The official sample, with a MsgId above 2^53 (it must survive exactly).
    let xml = message_xml(
        "fromUser",
        "text",
        "<Content><![CDATA[this is a test]]></Content>",
        "6054768590064713728",
    );
    let e = one_event(a.handle_webhook(&plain_post(&xml)).unwrap());
    assert_eq!(e.external_id.as_str(), "fromUser");
    assert_eq!(e.event_id, "6054768590064713728");
    assert_eq!(e.opener, Some(Opener::Message));
    assert_eq!(
        e.occurred_at,
        Some(Timestamp::from_secs(1_348_831_860).unwrap())
    );
    assert_eq!(e.content.as_ref().unwrap().text(), Some("this is a test"));
    assert_eq!(e.flag, None);

    // Signed over another timestamp, or no signature: refused.
    let other = sdk_signature("1411525904", NONCE);
    let forged = request(
        http::Method::POST,
        &[("signature", &other), ("timestamp", TS), ("nonce", NONCE)],
        &xml,
    );
    assert!(matches!(
        a.handle_webhook(&forged),
        Err(WebhookError::Unauthorized(_))
    ));
    let unsigned = request(
        http::Method::POST,
        &[("timestamp", TS), ("nonce", NONCE)],
        &xml,
    );
    assert!(matches!(
        a.handle_webhook(&unsigned),
        Err(WebhookError::Unauthorized(_))
    ));
}

#[test]
fn verified_junk_is_unparseable() {
    let a = offline();
    for body in [
        "<xml><FromUserName>",
        "not xml at all",
        "<xml><MsgType>text</MsgType></xml>",
    ] {
        assert!(
            matches!(
                a.handle_webhook(&plain_post(body)),
                Err(WebhookError::Unparseable(_))
            ),
            "{body}"
        );
    }
    let bad_id = message_xml("o", "text", "<Content>x</Content>", "12.5");
    assert!(matches!(
        a.handle_webhook(&plain_post(&bad_id)),
        Err(WebhookError::Unparseable(_))
    ));
}

#[test]
fn safe_mode_message_encrypted_by_wechatpy() {
    let a = offline();
    let xml = message_xml(
        "oSafeUser",
        "text",
        "<Content><![CDATA[你好, safe mode]]></Content>",
        "1234567890123456",
    );
    let (body, msg_sig, sig) = sdk_encrypt(&xml, APP_ID);
    let query = |msg_sig: &str| {
        vec![
            ("signature".to_owned(), sig.clone()),
            ("timestamp".to_owned(), TS.to_owned()),
            ("nonce".to_owned(), NONCE.to_owned()),
            ("openid".to_owned(), "oSafeUser".to_owned()),
            ("encrypt_type".to_owned(), "aes".to_owned()),
            ("msg_signature".to_owned(), msg_sig.to_owned()),
        ]
    };
    let req = |msg_sig: &str, body: &str| {
        let mut r = request(http::Method::POST, &[], body);
        r.query = query(msg_sig);
        r
    };
    let e = one_event(a.handle_webhook(&req(&msg_sig, &body)).unwrap());
    assert_eq!(e.external_id.as_str(), "oSafeUser");
    assert_eq!(e.event_id, "1234567890123456");
    assert_eq!(e.content.as_ref().unwrap().text(), Some("你好, safe mode"));

    // A changed ciphertext, a wrong msg_signature, or none: refused before decryption.
    let start = body.find("<![CDATA[").unwrap() + 9;
    let mut tampered = body.clone();
    let swap = if &body[start..start + 1] == "A" {
        "B"
    } else {
        "A"
    };
    tampered.replace_range(start..start + 1, swap);
    for r in [
        req(&msg_sig, &tampered),
        req("0000000000000000000000000000000000000000", &body),
    ] {
        assert!(matches!(
            a.handle_webhook(&r),
            Err(WebhookError::Unauthorized(_))
        ));
    }
    let mut no_msg_sig = req(&msg_sig, &body);
    no_msg_sig.query.retain(|(k, _)| k != "msg_signature");
    assert!(matches!(
        a.handle_webhook(&no_msg_sig),
        Err(WebhookError::Unauthorized(_))
    ));

    // Encrypted for another AppID: not ours.
    let (body, msg_sig, _) = sdk_encrypt(&xml, "wxsomeoneelse00000");
    assert!(matches!(
        a.handle_webhook(&req(&msg_sig, &body)),
        Err(WebhookError::Unauthorized(_))
    ));

    // A safe-mode callback to a channel without a key: verified, but unreadable.
    let plain_only = wechat("http://127.0.0.1:1", APP_ID, false);
    let (body, msg_sig, _) = sdk_encrypt(&xml, APP_ID);
    assert!(matches!(
        plain_only.handle_webhook(&req(&msg_sig, &body)),
        Err(WebhookError::Unparseable(_))
    ));
}

#[test]
fn safe_mode_event_encrypted_by_wechatpy() {
    let a = offline();
    let (body, msg_sig, sig) = sdk_encrypt(&event_xml("subscribe", None), APP_ID);
    let mut r = request(http::Method::POST, &[], &body);
    r.query = [
        ("signature", sig.as_str()),
        ("timestamp", TS),
        ("nonce", NONCE),
        ("encrypt_type", "aes"),
        ("msg_signature", msg_sig.as_str()),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    let e = one_event(a.handle_webhook(&r).unwrap());
    assert_eq!(e.opener, Some(Opener::Follow));
    assert_eq!(e.event_id, "oUser:1700000000:subscribe");
}

#[test]
fn events_open_windows_and_change_the_follow_flag() {
    let a = offline();
    let unsub = |v| {
        Some(replyline_channels::FlagSignal {
            flag: ChannelFlag::Unsubscribed,
            value: v,
        })
    };
    let cases = [
        (
            event_xml("subscribe", None),
            Some(Opener::Follow),
            unsub(false),
        ),
        (
            event_xml("subscribe", Some("qrscene_123123")),
            Some(Opener::QrScan),
            unsub(false),
        ),
        (event_xml("unsubscribe", None), None, unsub(true)),
        (
            event_xml("SCAN", Some("123123")),
            Some(Opener::QrScan),
            None,
        ),
        (
            event_xml("CLICK", Some("MENU_HELP")),
            Some(Opener::MenuClick),
            None,
        ),
        (
            event_xml("VIEW", Some("https://example.com/")),
            Some(Opener::MenuClick),
            None,
        ),
    ];
    for (xml, opener, flag) in cases {
        let e = one_event(a.handle_webhook(&plain_post(&xml)).unwrap());
        assert_eq!(e.opener, opener, "{xml}");
        assert_eq!(e.flag, flag, "{xml}");
        assert_eq!(e.external_id.as_str(), "oUser");
        assert!(
            e.event_id.starts_with("oUser:1700000000:"),
            "{}",
            e.event_id
        );
        assert_eq!(
            e.occurred_at,
            Some(Timestamp::from_secs(1_700_000_000).unwrap())
        );
        assert_eq!(e.content, None);
    }
    // Location reports and other events: ignored, still `success`.
    match a
        .handle_webhook(&plain_post(&event_xml("LOCATION", None)))
        .unwrap()
    {
        WebhookOutcome::Events {
            events,
            ignored,
            reply,
            ..
        } => {
            assert!(events.is_empty());
            assert_eq!(ignored, vec!["event LOCATION".to_owned()]);
            assert_eq!(reply.body, "success");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn media_messages_become_markers() {
    let a = offline();
    let cases = [
        ("image", "<PicUrl><![CDATA[http://p/1.jpg]]></PicUrl><MediaId><![CDATA[m]]></MediaId>", "(image)"),
        ("voice", "<MediaId><![CDATA[m]]></MediaId><Format><![CDATA[amr]]></Format>", "(voice message)"),
        ("video", "<MediaId><![CDATA[m]]></MediaId>", "(video)"),
        (
            "location",
            "<Location_X>23.134521</Location_X><Location_Y>113.358803</Location_Y><Scale>20</Scale><Label><![CDATA[Guangzhou]]></Label>",
            "(location) Guangzhou",
        ),
        (
            "link",
            "<Title><![CDATA[Docs]]></Title><Description><![CDATA[d]]></Description><Url><![CDATA[https://example.com/a]]></Url>",
            "(link) Docs https://example.com/a",
        ),
    ];
    for (kind, inner, marker) in cases {
        let xml = message_xml("oUser", kind, inner, "42");
        let e = one_event(a.handle_webhook(&plain_post(&xml)).unwrap());
        assert_eq!(e.content.as_ref().unwrap().text(), Some(marker), "{kind}");
        assert_eq!(e.opener, Some(Opener::Message));
        assert_eq!(e.event_id, "42");
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

fn token_mock(token: &str) -> Mock {
    Mock::given(method("GET"))
        .and(path("/cgi-bin/token"))
        .and(query_param("grant_type", "client_credential"))
        .and(query_param("appid", APP_ID))
        .and(query_param("secret", APP_SECRET))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"access_token": token, "expires_in": 7200})),
        )
}

fn send_mock(token: &str) -> wiremock::MockBuilder {
    Mock::given(method("POST"))
        .and(path("/cgi-bin/message/custom/send"))
        .and(query_param("access_token", token))
}

#[tokio::test]
async fn sends_with_one_cached_token_shared_by_clones() {
    let server = MockServer::start().await;
    token_mock("ACCESS_TOKEN_1").expect(1).mount(&server).await;
    send_mock("ACCESS_TOKEN_1")
        .and(header("content-type", "application/json"))
        .and(body_json(json!({
            "touser": "oUser", "msgtype": "text", "text": {"content": "Hello from support"}
        })))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"errcode": 0, "errmsg": "ok"})),
        )
        .expect(2)
        .mount(&server)
        .await;
    let a = wechat(&server.uri(), APP_ID, false);
    let b = a.clone();
    let id = MessageId::generate(Timestamp::EPOCH);
    let to = ExternalId::parse("oUser").unwrap();
    let content = Content::from_text("Hello from support").unwrap();
    // WeChat gives custom messages no id: ours stands in.
    let d = a.send(&msg(&id, &to, &content)).await.unwrap();
    assert_eq!(d.provider_message_id, id.as_str());
    let d = b.send(&msg(&id, &to, &content)).await.unwrap();
    assert_eq!(d.provider_message_id, id.as_str());
}

#[tokio::test]
async fn an_invalid_token_is_refreshed_once_and_the_send_retried() {
    let server = MockServer::start().await;
    token_mock("OLD_TOKEN")
        .up_to_n_times(1)
        .with_priority(1)
        .expect(1)
        .mount(&server)
        .await;
    token_mock("NEW_TOKEN")
        .with_priority(2)
        .expect(1)
        .mount(&server)
        .await;
    send_mock("OLD_TOKEN")
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "errcode": 40001, "errmsg": "invalid credential, access_token is invalid or not latest"
        })))
        .expect(1)
        .mount(&server)
        .await;
    send_mock("NEW_TOKEN")
        .respond_with(
            ResponseTemplate::new(200).set_body_json(
                json!({"errcode": 0, "errmsg": "ok", "msgid": 6054768590064713728u64}),
            ),
        )
        .expect(2)
        .mount(&server)
        .await;
    let a = wechat(&server.uri(), APP_ID, false);
    let id = MessageId::generate(Timestamp::EPOCH);
    let to = ExternalId::parse("oUser").unwrap();
    let content = Content::from_text("hi").unwrap();
    let d = a.send(&msg(&id, &to, &content)).await.unwrap();
    assert_eq!(d.provider_message_id, "6054768590064713728");
    // The refreshed token is cached.
    a.send(&msg(&id, &to, &content)).await.unwrap();
}

#[tokio::test]
async fn a_token_still_invalid_after_refresh_is_unavailable() {
    let server = MockServer::start().await;
    token_mock("T").expect(2).mount(&server).await;
    send_mock("T")
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "errcode": 42001, "errmsg": "access_token expired"
        })))
        .expect(2)
        .mount(&server)
        .await;
    let a = wechat(&server.uri(), APP_ID, false);
    let id = MessageId::generate(Timestamp::EPOCH);
    let to = ExternalId::parse("oUser").unwrap();
    let content = Content::from_text("hi").unwrap();
    assert!(matches!(
        a.send(&msg(&id, &to, &content)).await,
        Err(SendError::Unavailable(_))
    ));
}

#[tokio::test]
async fn refusals_are_mapped() {
    let server = MockServer::start().await;
    token_mock("ACCESS_TOKEN_1").mount(&server).await;
    let refusal = |word: &str, code: i64, errmsg: &str| {
        send_mock("ACCESS_TOKEN_1")
            .and(body_string_contains(word))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_json(json!({"errcode": code, "errmsg": errmsg})),
            )
    };
    refusal(
        "late",
        45015,
        "response out of time limit or subscription is canceled",
    )
    .mount(&server)
    .await;
    refusal("sixth", 45047, "out of response count limit")
        .mount(&server)
        .await;
    refusal("gone", 43004, "require subscribe")
        .mount(&server)
        .await;
    refusal("nobody", 40003, "invalid openid")
        .mount(&server)
        .await;
    refusal("busy", -1, "system error").mount(&server).await;
    send_mock("ACCESS_TOKEN_1")
        .and(body_string_contains("outage"))
        .respond_with(ResponseTemplate::new(502))
        .mount(&server)
        .await;
    let a = wechat(&server.uri(), APP_ID, false);
    let id = MessageId::generate(Timestamp::EPOCH);
    let to = ExternalId::parse("oUser").unwrap();
    let send = |text: &'static str| {
        let a = a.clone();
        let id = id.clone();
        let to = to.clone();
        async move {
            let content = Content::from_text(text).unwrap();
            a.send(&msg(&id, &to, &content)).await
        }
    };
    match send("late").await {
        Err(SendError::OutsideWindow { code, quota, .. }) => {
            assert_eq!((code.as_str(), quota), ("45015", false));
        }
        other => panic!("{other:?}"),
    }
    match send("sixth").await {
        Err(SendError::OutsideWindow { code, quota, .. }) => {
            assert_eq!((code.as_str(), quota), ("45047", true));
        }
        other => panic!("{other:?}"),
    }
    match send("gone").await {
        Err(SendError::Rejected { code, flag, .. }) => {
            assert_eq!(code, "43004");
            assert_eq!(flag, Some(ChannelFlag::Unsubscribed));
        }
        other => panic!("{other:?}"),
    }
    match send("nobody").await {
        Err(SendError::Rejected { code, text, flag }) => {
            assert_eq!(code, "40003");
            assert_eq!(text, "invalid openid");
            assert_eq!(flag, None);
        }
        other => panic!("{other:?}"),
    }
    for text in ["busy", "outage"] {
        match send(text).await {
            Err(SendError::Unavailable(t)) => assert!(!t.contains("ACCESS_TOKEN_1"), "{t}"),
            other => panic!("{text}: {other:?}"),
        }
    }
}

#[tokio::test]
async fn token_refusals_and_outages_leak_no_secret() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/cgi-bin/token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "errcode": 40125, "errmsg": format!("invalid appsecret {APP_SECRET}")
        })))
        .mount(&server)
        .await;
    let a = wechat(&server.uri(), APP_ID, false);
    let id = MessageId::generate(Timestamp::EPOCH);
    let to = ExternalId::parse("oUser").unwrap();
    let content = Content::from_text("hi").unwrap();
    match a.send(&msg(&id, &to, &content)).await {
        Err(SendError::Rejected { code, text, flag }) => {
            assert_eq!(code, "40125");
            assert!(!text.contains(APP_SECRET), "{text}");
            assert_eq!(flag, None);
        }
        other => panic!("{other:?}"),
    }
    // Nobody listening: unavailable, and neither the URL nor the secret is in the error.
    let down = wechat("http://127.0.0.1:9", APP_ID, false);
    match down.send(&msg(&id, &to, &content)).await {
        Err(e @ SendError::Unavailable(_)) => {
            let shown = format!("{e} {e:?}");
            assert!(
                !shown.contains(APP_SECRET) && !shown.contains("secret="),
                "{shown}"
            );
        }
        other => panic!("{other:?}"),
    }
    // Templates cannot be sent as customer-service messages.
    let t = Content::new(
        None,
        Some(replyline_domain::Template::new("order_update", "zh_CN", vec![]).unwrap()),
        None,
    )
    .unwrap();
    assert!(matches!(
        a.send(&msg(&id, &to, &t)).await,
        Err(SendError::Unsupported(_))
    ));
}
