//! The product document's story, end to end over real sockets: a customer writes, the
//! agent replies and closes, later finds the contact under Mine > Closed by a partial name,
//! sends a follow-up that reopens the conversation and assigns them, and closes it again
//! with a note. On Telegram, website chat and SMS (Twilio, signed by Twilio's SDK), against
//! a fake provider; plus the ways it can go wrong.

mod support;

use serde_json::{json, Value};
use support::*;
use wiremock::matchers::{method, path};
use wiremock::{Mock, ResponseTemplate};

const ALICE: &str = "token-alice-123";
const BOB: &str = "token-bob-456";

/// A customer on one of the channels.
#[derive(Clone, Copy)]
enum Customer {
    Telegram(i64),
    Web(&'static str),
    Sms(&'static str),
    Line(&'static str),
    Messenger(&'static str),
    Instagram(&'static str),
    Whatsapp(&'static str),
    Viber(&'static str),
    Wechat(&'static str),
    Email(&'static str),
}

fn now_ms() -> i64 {
    now_secs() * 1000
}

async fn meta_post(s: &DevServer, channel: &str, body: Value) -> (u16, String) {
    let body = serde_json::to_vec(&body).unwrap();
    let sig = format!(
        "sha256={}",
        hex::encode(replyline_channels::signature::hmac_sha256(
            APP_SECRET.as_bytes(),
            &body
        ))
    );
    // Meta's community SDK (pywa) must judge the signature valid.
    assert_eq!(
        oracle("meta_sign.py", &[APP_SECRET, &sig], &body).trim(),
        "valid"
    );
    s.webhook(
        channel,
        &[("X-Hub-Signature-256", sig)],
        body,
        "application/json",
    )
    .await
}

impl Customer {
    fn channel(self) -> &'static str {
        match self {
            Customer::Telegram(_) => "tg",
            Customer::Web(_) => "web",
            Customer::Sms(_) => "sms",
            Customer::Line(_) => "line",
            Customer::Messenger(_) => "fb",
            Customer::Instagram(_) => "ig",
            Customer::Whatsapp(_) => "wa",
            Customer::Viber(_) => "vb",
            Customer::Wechat(_) => "wc",
            Customer::Email(_) => "mail",
        }
    }

    async fn writes(self, s: &DevServer, n: i64, text: &str) -> (u16, String) {
        match self {
            Customer::Telegram(chat) => {
                send_telegram(s, telegram_update(n, chat, "Carlos", "Mendoza", text)).await
            }
            Customer::Web(visitor) => {
                send_webchat(
                    s,
                    webchat_body(visitor, &format!("wm-{n}"), "Carlos Mendoza", text),
                )
                .await
            }
            Customer::Sms(phone) => {
                send_sms(s, &sms_params(&format!("SM{n:032}"), phone, text)).await
            }
            Customer::Line(user) => {
                let body = serde_json::to_vec(&json!({"destination": "U0", "events": [{
                    "type": "message", "mode": "active", "timestamp": now_ms(),
                    "source": {"type": "user", "userId": user}, "webhookEventId": format!("01LINEEVENT{n:015}"),
                    "deliveryContext": {"isRedelivery": false}, "replyToken": "r",
                    "message": {"id": format!("{n}"), "type": "text", "text": text, "quoteToken": "q"}}]}))
                .unwrap();
                // Signed by the oracle, which has LINE's SDK validate and parse it.
                let sig = oracle("line_sign.py", &["line-secret"], &body)
                    .lines()
                    .next()
                    .unwrap()
                    .to_owned();
                s.webhook(
                    "line",
                    &[("x-line-signature", sig)],
                    body,
                    "application/json",
                )
                .await
            }
            Customer::Messenger(psid) | Customer::Instagram(psid) => {
                let object = if matches!(self, Customer::Messenger(_)) {
                    "page"
                } else {
                    "instagram"
                };
                let body = json!({"object": object, "entry": [{"id": "PAGE", "time": now_ms(), "messaging": [
                    {"sender": {"id": psid}, "recipient": {"id": "PAGE"}, "timestamp": now_ms(),
                     "message": {"mid": format!("mid.{n}"), "text": text}}]}]});
                meta_post(s, self.channel(), body).await
            }
            Customer::Whatsapp(wa_id) => {
                let body = json!({"object": "whatsapp_business_account", "entry": [{"id": "WABA", "changes": [{"field": "messages", "value": {
                    "messaging_product": "whatsapp",
                    "metadata": {"display_phone_number": "15550953877", "phone_number_id": "277321005464405"},
                    "contacts": [{"profile": {"name": "Carlos Mendoza"}, "wa_id": wa_id}],
                    "messages": [{"from": wa_id, "id": format!("wamid.{n}"), "timestamp": now_secs().to_string(), "type": "text", "text": {"body": text}}]}}]}]});
                meta_post(s, "wa", body).await
            }
            Customer::Viber(id) => {
                let body = serde_json::to_vec(&json!({"event": "message", "timestamp": now_ms(),
                    "message_token": 4_912_661_846_655_238_145u64 + n as u64,
                    "sender": {"id": id, "name": "Carlos Mendoza", "api_version": 2},
                    "message": {"type": "text", "text": text}, "silent": false}))
                .unwrap();
                let sig = oracle("viber_sign.py", &["viber-token"], &body)
                    .lines()
                    .next()
                    .unwrap()
                    .to_owned();
                s.webhook(
                    "vb",
                    &[("X-Viber-Content-Signature", sig)],
                    body,
                    "application/json",
                )
                .await
            }
            Customer::Email(address) => {
                let mime = format!(
                    "From: \"Carlos Mendoza\" <{address}>\r\nTo: support@shop.example\r\nSubject: Order #123\r\nMessage-ID: <m{n}@mail.example>\r\nDate: Wed, 25 Nov 2026 10:00:00 +0000\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{text}\r\n"
                );
                let ses = json!({"notificationType": "Received",
                    "mail": {"timestamp": "2026-11-25T10:00:00.000Z", "source": address, "messageId": format!("ses-in-{n}"),
                             "destination": ["support@shop.example"],
                             "commonHeaders": {"from": [format!("Carlos Mendoza <{address}>")], "to": ["support@shop.example"], "messageId": format!("<m{n}@mail.example>"), "subject": "Order #123"}},
                    "receipt": {"spamVerdict": {"status": "PASS"}, "virusVerdict": {"status": "PASS"}, "action": {"type": "SNS", "topicArn": "arn:aws:sns:us-east-1:123456789012:ses-inbound", "encoding": "UTF8"}},
                    "content": mime});
                let sns = json!({"Type": "Notification", "MessageId": format!("sns-{n}"),
                    "TopicArn": "arn:aws:sns:us-east-1:123456789012:ses-inbound",
                    "Subject": "Amazon SES Email Receipt Notification", "Message": ses.to_string(),
                    "Timestamp": "2026-11-25T10:00:01.000Z",
                    "SigningCertURL": "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-test.pem"});
                // Signed with the SNS message validator package's own canonical string.
                let cert = sns_fixture("sns_test_cert.pem");
                let key = sns_fixture("sns_test_key.pem");
                let signed = oracle(
                    "sns_sign.py",
                    &["sign", &cert, &key],
                    sns.to_string().as_bytes(),
                );
                s.webhook(
                    "mail",
                    &[("x-amz-sns-message-type", "Notification".to_owned())],
                    signed.trim().as_bytes().to_vec(),
                    "text/plain; charset=UTF-8",
                )
                .await
            }
            Customer::Wechat(openid) => {
                let (timestamp, nonce) = (now_secs().to_string(), format!("{n}"));
                let signature = oracle(
                    "wechat_sign.py",
                    &["plain", "wechat-token", &timestamp, &nonce],
                    b"",
                );
                let xml = format!("<xml><ToUserName><![CDATA[gh_acct]]></ToUserName><FromUserName><![CDATA[{openid}]]></FromUserName><CreateTime>{timestamp}</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[{text}]]></Content><MsgId>{}</MsgId></xml>", 6_054_768_590_064_713_728u64 + n as u64);
                let url = format!("{}/webhooks/wc?signature={}&timestamp={timestamp}&nonce={nonce}&openid={openid}", s.url, signature.trim());
                let resp = s
                    .http
                    .post(url)
                    .header("content-type", "text/xml")
                    .body(xml)
                    .send()
                    .await
                    .unwrap();
                (resp.status().as_u16(), resp.text().await.unwrap())
            }
        }
    }
}

/// Messages the fake provider received (POSTs; WeChat's token fetch is a GET).
async fn provider_calls(s: &DevServer) -> usize {
    s.provider
        .received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .filter(|r| r.method == wiremock::http::Method::POST)
        .count()
}

fn only_item(page: &Value) -> &Value {
    let items = page["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{page:#}");
    &items[0]
}

async fn story(customer: Customer, store: StoreKind) {
    let s = DevServer::start_with_channels(store, more_channels).await;
    fake_provider_accepts_everything(&s).await;
    let ch = customer.channel();

    // 1. The customer writes.
    let (status, _) = customer
        .writes(&s, 1, "Hi, my order #123 never arrived")
        .await;
    assert_eq!(status, 200);

    // 2. It lands in Unassigned > Open, with the channel's reply status.
    let (status, page) = s.get(ALICE, "/v1/inbox?view=unassigned&status=open").await;
    assert_eq!(status, 200, "{page}");
    let row = only_item(&page);
    let id = row["contact"]["id"].as_str().unwrap().to_owned();
    if row["contact"]["first_name"] != "Carlos" {
        // SMS, LINE, Messenger, Instagram and WeChat carry no name (WhatsApp and Viber a
        // whole display name): the agent names the contact.
        if let Customer::Sms(phone) = customer {
            assert_eq!(row["contact"]["phone"], phone);
        }
        let (status, named) = s
            .agent(
                ALICE,
                reqwest::Method::PATCH,
                &format!("/v1/contacts/{id}"),
                Some(json!({"first_name": "Carlos", "last_name": "Mendoza"})),
                None,
            )
            .await;
        assert_eq!(status, 200, "{named}");
    }
    assert_eq!(row["channels"][0]["channel"], ch);
    assert_eq!(row["channels"][0]["reply"]["mode"], "free");
    assert_eq!(page["counts"]["unassigned"], 1);

    // 3. Alice replies: she is assigned.
    let (status, sent) = s
        .post(
            ALICE,
            &format!("/v1/contacts/{id}/messages"),
            json!({"channel": ch, "text": "Sorry! Checking now."}),
        )
        .await;
    assert_eq!(status, 201, "{sent}");
    assert_eq!(sent["assignee"], "alice");
    assert_eq!(sent["message"]["status"]["state"], "sent");
    let first_conversation = sent["conversation"]["id"].clone();

    // 4. She closes the conversation.
    let (status, closed) = s
        .post(ALICE, &format!("/v1/contacts/{id}/close"), json!({}))
        .await;
    assert_eq!(status, 200, "{closed}");
    assert_eq!(closed["conversation"]["status"], "closed");
    assert_eq!(
        closed["assignee"], "alice",
        "closing keeps the assignee by default"
    );

    // 5. Days later: Mine > Closed > a partial name.
    let (status, found) = s
        .get(ALICE, "/v1/inbox?view=mine&status=closed&q=arlo")
        .await;
    assert_eq!(status, 200, "{found}");
    assert_eq!(only_item(&found)["contact"]["id"], id.as_str());
    let (_, not_bobs) = s.get(BOB, "/v1/inbox?view=mine&status=closed&q=arlo").await;
    assert!(not_bobs["items"].as_array().unwrap().is_empty());
    let (_, all_closed) = s.get(BOB, "/v1/inbox?view=all&status=closed&q=mendo").await;
    assert_eq!(only_item(&all_closed)["contact"]["id"], id.as_str());

    // 6. A follow-up reopens the conversation and keeps it assigned to the sender.
    let (status, follow) = s
        .post(
            ALICE,
            &format!("/v1/contacts/{id}/messages"),
            json!({"channel": ch, "text": "Your refund went out today."}),
        )
        .await;
    assert_eq!(status, 201, "{follow}");
    assert_eq!(follow["conversation_opened"], true);
    assert_ne!(follow["conversation"]["id"], first_conversation);
    assert_eq!(follow["conversation"]["status"], "open");
    assert_eq!(follow["assignee"], "alice");
    let (_, mine_open) = s.get(ALICE, "/v1/inbox?view=mine&status=open").await;
    assert_eq!(only_item(&mine_open)["contact"]["id"], id.as_str());

    // 7. Closed again, with a note.
    let (status, closed) = s
        .post(
            ALICE,
            &format!("/v1/contacts/{id}/close"),
            json!({"category": "resolved", "summary": "Refund issued"}),
        )
        .await;
    assert_eq!(status, 200, "{closed}");
    assert_eq!(
        closed["conversation"]["closing_note"]["category"],
        "resolved"
    );
    assert_eq!(
        closed["conversation"]["closing_note"]["summary"],
        "Refund issued"
    );

    // The timeline has all three messages, newest first; the provider got both replies.
    let (_, timeline) = s.get(ALICE, &format!("/v1/contacts/{id}/messages")).await;
    let texts: Vec<&str> = timeline["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["content"]["text"].as_str().unwrap())
        .collect();
    assert_eq!(
        texts,
        [
            "Your refund went out today.",
            "Sorry! Checking now.",
            "Hi, my order #123 never arrived"
        ]
    );
    assert_eq!(provider_calls(&s).await, 2);
}

#[tokio::test]
async fn story_on_telegram() {
    story(Customer::Telegram(1111111), StoreKind::Sqlite).await;
}

#[tokio::test]
async fn story_on_website_chat() {
    story(Customer::Web("visitor-42"), StoreKind::Sqlite).await;
}

#[tokio::test]
async fn story_on_sms() {
    story(Customer::Sms("+14155550100"), StoreKind::Sqlite).await;
}

#[tokio::test]
async fn story_on_line() {
    story(
        Customer::Line("U206d25c2ea6bd87c17655609a1c37cb8"),
        StoreKind::Sqlite,
    )
    .await;
}

#[tokio::test]
async fn story_on_messenger() {
    story(Customer::Messenger("psid-1001"), StoreKind::Sqlite).await;
}

#[tokio::test]
async fn story_on_instagram() {
    story(Customer::Instagram("igsid-2002"), StoreKind::Sqlite).await;
}

#[tokio::test]
async fn story_on_whatsapp() {
    story(Customer::Whatsapp("972544401243"), StoreKind::Sqlite).await;
}

#[tokio::test]
async fn story_on_viber() {
    story(Customer::Viber("01234567890A="), StoreKind::Sqlite).await;
}

#[tokio::test]
async fn story_on_wechat() {
    story(Customer::Wechat("oUserStory"), StoreKind::Sqlite).await;
}

#[tokio::test]
async fn story_on_email() {
    story(Customer::Email("carlos@example.com"), StoreKind::Sqlite).await;
}

#[tokio::test]
async fn email_replies_thread_in_the_customers_mail_client() {
    let s = DevServer::start_with_channels(StoreKind::Sqlite, more_channels).await;
    fake_provider_accepts_everything(&s).await;
    let (status, text) = Customer::Email("ana@example.com")
        .writes(&s, 7, "Is my refund done?")
        .await;
    assert_eq!(status, 200, "{text}");
    let (_, page) = s
        .get(ALICE, "/v1/inbox?view=all&status=all&q=ana@example.com")
        .await;
    let id = only_item(&page)["contact"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, body) = s
        .post(
            ALICE,
            &format!("/v1/contacts/{id}/messages"),
            json!({"channel": "mail", "text": "Yes, it went out."}),
        )
        .await;
    assert_eq!(status, 201, "{body}");
    let sent: Vec<String> = s
        .provider
        .received_requests()
        .await
        .unwrap()
        .iter()
        .filter(|r| r.url.path() == "/v2/email/outbound-emails")
        .map(|r| String::from_utf8_lossy(&r.body).into_owned())
        .collect();
    assert_eq!(sent.len(), 1);
    assert!(
        sent[0].contains("In-Reply-To") && sent[0].contains("<m7@mail.example>"),
        "{}",
        sent[0]
    );
}

#[tokio::test]
async fn story_on_telegram_with_dynamodb() {
    story(Customer::Telegram(2222222), StoreKind::Dynamo).await;
}

#[tokio::test]
async fn story_on_website_chat_with_dynamodb() {
    story(Customer::Web("visitor-43"), StoreKind::Dynamo).await;
}

#[tokio::test]
async fn story_on_sms_with_dynamodb() {
    story(Customer::Sms("+14155550199"), StoreKind::Dynamo).await;
}

async fn contact_count(s: &DevServer) -> u64 {
    let (_, page) = s.get(ALICE, "/v1/inbox?view=all&status=all").await;
    page["counts"]["all"].as_u64().unwrap()
}

#[tokio::test]
async fn bad_signatures_are_refused_and_nothing_is_stored() {
    let s = DevServer::start().await;
    let body = telegram_update(1, 7, "Eve", "Mallory", "hi");
    let (status, text) = s
        .webhook(
            "tg",
            &[("X-Telegram-Bot-Api-Secret-Token", "wrong".into())],
            body.clone(),
            "application/json",
        )
        .await;
    assert_eq!(status, 401, "{text}");
    let (status, _) = s.webhook("tg", &[], body, "application/json").await;
    assert_eq!(status, 401);
    let web = webchat_body("v", "m1", "Eve", "hi");
    let (status, _) = s
        .webhook(
            "web",
            &[("X-Replyline-Signature", "sha256=00ff".into())],
            web,
            "application/json",
        )
        .await;
    assert_eq!(status, 401);
    let params = sms_params("SM1", "+14155550101", "hi");
    let form = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(params.iter())
        .finish();
    // Signed by Twilio's SDK for another URL: refused.
    let wrong_url_sig = twilio_sdk_signature("https://elsewhere.test/webhooks/sms", &params);
    let (status, _) = s
        .webhook(
            "sms",
            &[("X-Twilio-Signature", wrong_url_sig)],
            form.into_bytes(),
            "application/x-www-form-urlencoded",
        )
        .await;
    assert_eq!(status, 401);
    assert_eq!(contact_count(&s).await, 0);
}

#[tokio::test]
async fn redelivered_webhooks_are_recorded_once() {
    let s = DevServer::start().await;
    let body = telegram_update(77, 5, "Dup", "Licate", "same message");
    for _ in 0..3 {
        assert_eq!(send_telegram(&s, body.clone()).await.0, 200);
    }
    let params = sms_params("SMdup", "+14155550102", "twice");
    assert_eq!(send_sms(&s, &params).await.0, 200);
    assert_eq!(send_sms(&s, &params).await.0, 200);
    let (_, page) = s.get(ALICE, "/v1/inbox?view=all&status=all").await;
    assert_eq!(page["counts"]["all"], 2);
    for item in page["items"].as_array().unwrap() {
        let id = item["contact"]["id"].as_str().unwrap();
        let (_, t) = s.get(ALICE, &format!("/v1/contacts/{id}/messages")).await;
        assert_eq!(t["items"].as_array().unwrap().len(), 1);
    }
}

#[tokio::test]
async fn unknown_channels_malformed_bodies_and_unknown_agents() {
    let s = DevServer::start().await;
    let (status, text) = s
        .webhook("nope", &[], b"{}".to_vec(), "application/json")
        .await;
    assert_eq!(status, 404, "{text}");
    let error: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(error["error"]["code"], "not_found");

    // Our own channel tells the developer what is wrong.
    let (status, text) = send_webchat(&s, b"{\"visitor_id\":\"v\"".to_vec()).await;
    assert_eq!(status, 400, "{text}");
    let error: Value = serde_json::from_str(&text).unwrap();
    assert_eq!(error["error"]["code"], "invalid_payload");
    // A provider's verified but unreadable payload is acknowledged (no retry storm).
    let (status, _) = send_telegram(&s, b"[1,2,3]".to_vec()).await;
    assert_eq!(status, 200);
    assert_eq!(contact_count(&s).await, 0);

    let (status, body) = s.get("not-a-token", "/v1/inbox").await;
    assert_eq!(status, 401);
    assert_eq!(body["error"]["code"], "unauthorized");
    let resp = s
        .http
        .get(format!("{}/v1/inbox", s.url))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 401);
    let (status, body) = s.get(ALICE, "/v1/inbox?view=everything").await;
    assert_eq!(status, 400);
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("everything"));
    let (status, body) = s
        .agent(
            ALICE,
            reqwest::Method::POST,
            "/v1/contacts/01ARZ3NDEKTSV4RRFFQ69G5FAV/messages",
            None,
            None,
        )
        .await;
    assert_eq!(status, 400, "{body}");
    let (status, _) = s
        .get(ALICE, "/v1/contacts/01ARZ3NDEKTSV4RRFFQ69G5FAV")
        .await;
    assert_eq!(status, 404);
}

async fn first_contact(s: &DevServer) -> String {
    let (_, page) = s.get(ALICE, "/v1/inbox?view=all&status=all").await;
    page["items"][0]["contact"]["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn refused_sends_explain_themselves_and_store_nothing() {
    let s = DevServer::start().await;
    fake_provider_accepts_everything(&s).await;
    // An SMS customer opts out.
    send_sms(
        &s,
        &sms_params("SMa", "+14155550103", "Where is my parcel?"),
    )
    .await;
    send_sms(&s, &sms_params("SMb", "+14155550103", "STOP")).await;
    let id = first_contact(&s).await;
    let (status, body) = s
        .post(
            ALICE,
            &format!("/v1/contacts/{id}/messages"),
            json!({"channel": "sms", "text": "Hello?"}),
        )
        .await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["error"]["code"], "opted_out");
    assert_eq!(body["error"]["reply"]["mode"], "none");
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("opted out"));
    // START lets us write again.
    send_sms(&s, &sms_params("SMc", "+14155550103", "START")).await;
    let (status, _) = s
        .post(
            ALICE,
            &format!("/v1/contacts/{id}/messages"),
            json!({"channel": "sms", "text": "Welcome back"}),
        )
        .await;
    assert_eq!(status, 201);

    // A blocked contact.
    send_telegram(&s, telegram_update(9, 99, "Block", "Me", "spam")).await;
    let (_, page) = s.get(ALICE, "/v1/inbox?view=all&status=all&q=block").await;
    let blocked = page["items"][0]["contact"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let (status, _) = s
        .post(ALICE, &format!("/v1/contacts/{blocked}/block"), json!({}))
        .await;
    assert_eq!(status, 200);
    let before = provider_calls(&s).await;
    let (status, body) = s
        .post(
            ALICE,
            &format!("/v1/contacts/{blocked}/messages"),
            json!({"channel": "tg", "text": "hi"}),
        )
        .await;
    assert_eq!(status, 409);
    assert_eq!(body["error"]["code"], "contact_blocked");
    let (status, body) = s
        .post(ALICE, &format!("/v1/contacts/{blocked}/close"), json!({}))
        .await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(
        provider_calls(&s).await,
        before,
        "nothing reached the provider"
    );
    // Wrong channel for the contact, unknown channel.
    let (status, body) = s
        .post(
            ALICE,
            &format!("/v1/contacts/{id}/messages"),
            json!({"channel": "tg", "text": "hi"}),
        )
        .await;
    assert_eq!(status, 422, "{body}");
    let (status, body) = s
        .post(
            ALICE,
            &format!("/v1/contacts/{id}/messages"),
            json!({"channel": "fax", "text": "hi"}),
        )
        .await;
    assert_eq!(status, 422, "{body}");
}

#[tokio::test]
async fn provider_failures_keep_the_message_as_failed() {
    let s = DevServer::start().await;
    Mock::given(method("POST"))
        .and(path("/bot42:bot/sendMessage"))
        .respond_with(
            ResponseTemplate::new(500)
                .set_body_json(json!({"ok": false, "error_code": 500, "description": "Internal"})),
        )
        .mount(&s.provider)
        .await;
    send_telegram(&s, telegram_update(1, 12, "Fail", "Case", "hello")).await;
    let id = first_contact(&s).await;
    let (status, body) = s
        .post(
            ALICE,
            &format!("/v1/contacts/{id}/messages"),
            json!({"channel": "tg", "text": "will fail"}),
        )
        .await;
    assert_eq!(status, 502, "{body}");
    assert_eq!(body["error"]["code"], "provider_unavailable");
    let (_, t) = s.get(ALICE, &format!("/v1/contacts/{id}/messages")).await;
    let m = &t["items"][0];
    assert_eq!(m["content"]["text"], "will fail");
    assert_eq!(m["status"]["state"], "failed");

    // The bot was blocked: rejected, failed, and the channel is marked unsubscribed.
    s.provider.reset().await;
    Mock::given(method("POST"))
        .and(path("/bot42:bot/sendMessage"))
        .respond_with(ResponseTemplate::new(403).set_body_json(json!({"ok": false, "error_code": 403, "description": "Forbidden: bot was blocked by the user"})))
        .mount(&s.provider)
        .await;
    let (status, body) = s
        .post(
            ALICE,
            &format!("/v1/contacts/{id}/messages"),
            json!({"channel": "tg", "text": "again"}),
        )
        .await;
    assert_eq!(status, 502);
    assert_eq!(body["error"]["code"], "provider_rejected");
    let (_, c) = s.get(ALICE, &format!("/v1/contacts/{id}")).await;
    assert_eq!(c["channels"][0]["reply"]["mode"], "none");
    assert_eq!(c["channels"][0]["reply"]["reason"], "unsubscribed");
}

#[tokio::test]
async fn a_retried_send_with_the_same_idempotency_key_is_sent_once() {
    let s = DevServer::start().await;
    fake_provider_accepts_everything(&s).await;
    send_webchat(&s, webchat_body("v-9", "m-1", "Ida", "hello")).await;
    let id = first_contact(&s).await;
    let path = format!("/v1/contacts/{id}/messages");
    let body = json!({"channel": "web", "text": "exactly once"});
    let (s1, first) = s
        .agent(
            ALICE,
            reqwest::Method::POST,
            &path,
            Some(body.clone()),
            Some("retry-1"),
        )
        .await;
    let (s2, second) = s
        .agent(
            ALICE,
            reqwest::Method::POST,
            &path,
            Some(body),
            Some("retry-1"),
        )
        .await;
    assert_eq!(s1, 201, "{first}");
    assert_eq!(s2, 200, "{second}");
    assert_eq!(first["message"]["id"], second["message"]["id"]);
    assert_eq!(provider_calls(&s).await, 1);
    let (status, body) = s
        .agent(
            ALICE,
            reqwest::Method::POST,
            &path,
            Some(json!({"channel": "web", "text": "different"})),
            Some("retry-1"),
        )
        .await;
    assert_eq!(status, 422, "{body}");
}
