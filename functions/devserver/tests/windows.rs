//! The channels with a messaging window, end to end: the product story's refusals as an
//! agent meets them. Time travels through the providers' own timestamps: a message sent
//! "2 days ago" opens a window that closed a day ago.

mod support;

use replyline_channels::signature::hmac_sha256;
use serde_json::{json, Value};
use support::*;
use wiremock::matchers::{method, path};
use wiremock::{Mock, ResponseTemplate};

const ALICE: &str = "token-alice-123";
const DAY_MS: i64 = 86_400_000;

async fn start() -> DevServer {
    let s = DevServer::start_with_channels(StoreKind::Sqlite, more_channels).await;
    fake_provider_accepts_everything(&s).await;
    s
}

fn now_ms() -> i64 {
    now_secs() * 1000
}

/// Meta publishes no SDK that signs; the test signs and Meta's community SDK (pywa)
/// must judge the signature valid before it is used.
fn meta_signature(body: &[u8]) -> String {
    let sig = format!(
        "sha256={}",
        hex::encode(hmac_sha256(APP_SECRET.as_bytes(), body))
    );
    assert_eq!(
        oracle("meta_sign.py", &[APP_SECRET, &sig], body).trim(),
        "valid"
    );
    sig
}

async fn messenger_writes(s: &DevServer, psid: &str, mid: &str, at_ms: i64) {
    let body = serde_json::to_vec(&json!({"object": "page", "entry": [{"id": "PAGE", "time": at_ms, "messaging": [
        {"sender": {"id": psid}, "recipient": {"id": "PAGE"}, "timestamp": at_ms, "message": {"mid": mid, "text": "Where is my order?"}}
    ]}]}))
    .unwrap();
    let sig = meta_signature(&body);
    let (status, text) = s
        .webhook(
            "fb",
            &[("X-Hub-Signature-256", sig)],
            body,
            "application/json",
        )
        .await;
    assert_eq!(status, 200, "{text}");
}

async fn contact_id(s: &DevServer, q: &str) -> String {
    let (_, page) = s
        .get(ALICE, &format!("/v1/inbox?view=all&status=all&q={q}"))
        .await;
    page["items"][0]["contact"]["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no contact for {q}: {page}"))
        .to_owned()
}

async fn send(s: &DevServer, id: &str, body: Value) -> (u16, Value) {
    s.post(ALICE, &format!("/v1/contacts/{id}/messages"), body)
        .await
}

async fn provider_bodies(s: &DevServer, path_part: &str) -> Vec<String> {
    s.provider
        .received_requests()
        .await
        .unwrap_or_default()
        .into_iter()
        .filter(|r| r.url.path().contains(path_part))
        .map(|r| String::from_utf8_lossy(&r.body).into_owned())
        .collect()
}

#[tokio::test]
async fn messenger_inside_24h_untagged_after_2_days_human_agent_after_8_days_nothing() {
    let s = start().await;
    // Three customers: wrote an hour ago, 2 days ago, 8 days ago.
    messenger_writes(&s, "psid-fresh", "mid.1", now_ms() - 3_600_000).await;
    messenger_writes(&s, "psid-2days", "mid.2", now_ms() - 2 * DAY_MS).await;
    messenger_writes(&s, "psid-8days", "mid.3", now_ms() - 8 * DAY_MS).await;
    let (_, page) = s.get(ALICE, "/v1/inbox?view=all&status=all").await;
    let by_psid = |psid: &str| {
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["channels"][0]["external_id"] == psid)
            .unwrap_or_else(|| panic!("{psid} missing: {page}"))
            .clone()
    };
    let fresh = by_psid("psid-fresh");
    assert_eq!(fresh["channels"][0]["reply"]["mode"], "free");
    let two = by_psid("psid-2days");
    assert_eq!(two["channels"][0]["reply"]["mode"], "tag_only");
    assert_eq!(
        two["channels"][0]["reply"]["allowed_tags"],
        json!(["HUMAN_AGENT"])
    );
    let eight = by_psid("psid-8days");
    assert_eq!(eight["channels"][0]["reply"]["mode"], "none");

    // Inside 24 h: nothing is tagged.
    let (status, body) = send(
        &s,
        fresh["contact"]["id"].as_str().unwrap(),
        json!({"channel": "fb", "text": "Checking!"}),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    assert!(body["message"]["applied_tag"].is_null());
    // 2 days after: a human's plain text goes out with HUMAN_AGENT.
    let (status, body) = send(
        &s,
        two["contact"]["id"].as_str().unwrap(),
        json!({"channel": "fb", "text": "Following up"}),
    )
    .await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["message"]["applied_tag"], "HUMAN_AGENT");
    // 8 days after: refused, with why and what instead.
    let (status, body) = send(
        &s,
        eight["contact"]["id"].as_str().unwrap(),
        json!({"channel": "fb", "text": "Hello?"}),
    )
    .await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["error"]["code"], "window_closed");
    assert!(body["error"]["message"]
        .as_str()
        .unwrap()
        .contains("until the customer writes again"));

    let sent = provider_bodies(&s, "/me/messages").await;
    assert_eq!(sent.len(), 2, "the refused one never reached Meta");
    assert!(sent
        .iter()
        .any(|b| b.contains("\"RESPONSE\"") && !b.contains("HUMAN_AGENT")));
    assert!(sent
        .iter()
        .any(|b| b.contains("\"MESSAGE_TAG\"") && b.contains("HUMAN_AGENT")));
}

async fn whatsapp_writes(s: &DevServer, wa_id: &str, wamid: &str, at_secs: i64) {
    let body = serde_json::to_vec(&json!({"object": "whatsapp_business_account", "entry": [{"id": "WABA", "changes": [{"field": "messages", "value": {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550953877", "phone_number_id": "277321005464405"},
        "contacts": [{"profile": {"name": "Wanda"}, "wa_id": wa_id}],
        "messages": [{"from": wa_id, "id": wamid, "timestamp": at_secs.to_string(), "type": "text", "text": {"body": "Hi"}}]
    }}]}]}))
    .unwrap();
    let sig = meta_signature(&body);
    let (status, text) = s
        .webhook(
            "wa",
            &[("X-Hub-Signature-256", sig)],
            body,
            "application/json",
        )
        .await;
    assert_eq!(status, 200, "{text}");
}

#[tokio::test]
async fn whatsapp_after_24h_only_a_template_reopens() {
    let s = start().await;
    whatsapp_writes(&s, "972544401243", "wamid.in1", now_secs() - 30 * 3600).await;
    let id = contact_id(&s, "wanda").await;
    s.post(ALICE, &format!("/v1/contacts/{id}/close"), json!({}))
        .await;
    let (status, body) = send(&s, &id, json!({"channel": "wa", "text": "Hello again"})).await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["error"]["code"], "template_required");
    assert_eq!(body["error"]["reply"]["mode"], "template_only");
    let (status, body) = send(&s, &id, json!({"channel": "wa", "template": {"name": "order_update", "language": "en_US", "parameters": ["#123"]}})).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["conversation_opened"], true);
    assert_eq!(body["assignee"], "alice");
    let sent = provider_bodies(&s, "/messages").await;
    assert!(
        sent.iter()
            .any(|b| b.contains("\"template\"") && b.contains("order_update")),
        "{sent:?}"
    );
}

#[tokio::test]
async fn viber_after_24h_is_paid_until_the_allowance_is_used() {
    let s = start().await;
    for (i, who) in ["vib-a==", "vib-b==", "vib-c=="].iter().enumerate() {
        let body = serde_json::to_vec(
            &json!({"event": "message", "timestamp": now_ms() - 3 * DAY_MS,
            "message_token": 4_912_661_846_655_238_145u64 + i as u64,
            "sender": {"id": who, "name": format!("Viktor{i}"), "api_version": 2},
            "message": {"type": "text", "text": "hi"}, "silent": false}),
        )
        .unwrap();
        // Signed by the oracle, which has Viber's SDK (viberbot) verify and parse it.
        let sig = oracle("viber_sign.py", &["viber-token"], &body)
            .lines()
            .next()
            .unwrap()
            .to_owned();
        let (status, text) = s
            .webhook(
                "vb",
                &[("X-Viber-Content-Signature", sig)],
                body,
                "application/json",
            )
            .await;
        assert_eq!(status, 200, "{text}");
    }
    let mut outcomes = Vec::new();
    for i in 0..3 {
        let id = contact_id(&s, &format!("viktor{i}")).await;
        let (status, body) = send(
            &s,
            &id,
            json!({"channel": "vb", "text": "A paid follow-up"}),
        )
        .await;
        outcomes.push((status, body));
    }
    assert_eq!(outcomes[0].0, 201, "{}", outcomes[0].1);
    assert_eq!(outcomes[0].1["message"]["paid"], true);
    assert_eq!(outcomes[1].0, 201);
    assert_eq!(
        outcomes[2].0, 409,
        "the monthly allowance of 2 is used: {}",
        outcomes[2].1
    );
    assert_eq!(outcomes[2].1["error"]["code"], "quota_exhausted");
    assert!(outcomes[2].1["error"]["message"]
        .as_str()
        .unwrap()
        .contains("commercial terms"));
}

/// The plain-mode query, signed by WeChat's SDK (wechatpy).
fn wechat_query(token: &str) -> String {
    let timestamp = now_secs().to_string();
    let nonce = "12345";
    let signature = oracle("wechat_sign.py", &["plain", token, &timestamp, nonce], b"");
    format!(
        "signature={}&timestamp={timestamp}&nonce={nonce}&openid=oUser1",
        signature.trim()
    )
}

/// WeChat retries a webhook it has no answer to within 5 seconds: each answer's time is
/// printed for the test log (measured, not asserted).
async fn wechat_writes(s: &DevServer, msg_id: u64, at_secs: i64) {
    let started = std::time::Instant::now();
    let xml = format!(
        "<xml><ToUserName><![CDATA[gh_account]]></ToUserName><FromUserName><![CDATA[oUser1]]></FromUserName><CreateTime>{at_secs}</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[ni hao]]></Content><MsgId>{msg_id}</MsgId></xml>"
    );
    let resp = s
        .http
        .post(format!(
            "{}/webhooks/wc?{}",
            s.url,
            wechat_query("wechat-token")
        ))
        .header("content-type", "text/xml")
        .body(xml)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    println!(
        "WeChat webhook answered in {:?} (budget: 5 s)",
        started.elapsed()
    );
}

#[tokio::test]
async fn wechat_allows_five_messages_within_48h_then_nothing() {
    let s = start().await;
    wechat_writes(&s, 1_234_567_890_123_456, now_secs() - 3600).await;
    let (_, page) = s.get(ALICE, "/v1/inbox?view=all&status=all").await;
    let id = page["items"][0]["contact"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    for i in 0..5 {
        let (status, body) = send(
            &s,
            &id,
            json!({"channel": "wc", "text": format!("reply {i}")}),
        )
        .await;
        assert_eq!(status, 201, "{i}: {body}");
    }
    let (status, body) = send(&s, &id, json!({"channel": "wc", "text": "one too many"})).await;
    assert_eq!(status, 409);
    assert_eq!(body["error"]["code"], "quota_exhausted");
    assert_eq!(provider_bodies(&s, "/custom/send").await.len(), 5);
    assert_eq!(
        s.provider
            .received_requests()
            .await
            .unwrap()
            .iter()
            .filter(|r| r.url.path() == "/cgi-bin/token")
            .count(),
        1,
        "the access token is fetched once and cached"
    );

    // Another customer who wrote 49 hours ago: nothing at all.
    let xml = "<xml><ToUserName><![CDATA[gh_account]]></ToUserName><FromUserName><![CDATA[oOld]]></FromUserName><CreateTime>CT</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[old]]></Content><MsgId>99</MsgId></xml>"
        .replace("CT", &(now_secs() - 49 * 3600).to_string());
    let resp = s
        .http
        .post(format!(
            "{}/webhooks/wc?{}",
            s.url,
            wechat_query("wechat-token").replace("oUser1", "oOld")
        ))
        .body(xml)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 200);
    let (_, page) = s.get(ALICE, "/v1/inbox?view=all&status=all").await;
    let old = page["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["channels"][0]["external_id"] == "oOld")
        .unwrap()
        .clone();
    assert_eq!(old["channels"][0]["reply"]["mode"], "none");
    let (status, body) = send(
        &s,
        old["contact"]["id"].as_str().unwrap(),
        json!({"channel": "wc", "text": "late"}),
    )
    .await;
    assert_eq!(status, 409);
    assert_eq!(body["error"]["code"], "window_closed");
}

#[tokio::test]
async fn a_batched_meta_payload_records_every_message() {
    let s = start().await;
    let t = now_ms();
    let msg = |psid: &str, mid: &str, text: &str| json!({"sender": {"id": psid}, "recipient": {"id": "PAGE"}, "timestamp": t, "message": {"mid": mid, "text": text}});
    let body = serde_json::to_vec(&json!({"object": "page", "entry": [
        {"id": "PAGE", "time": t, "messaging": [msg("psid-a", "mid.a1", "one"), msg("psid-b", "mid.b1", "two")]},
        {"id": "PAGE", "time": t, "messaging": [msg("psid-a", "mid.a2", "three"),
            {"sender": {"id": "psid-a"}, "recipient": {"id": "PAGE"}, "timestamp": t, "delivery": {"mids": ["m_out1"], "watermark": t}}]}
    ]}))
    .unwrap();
    let sig = meta_signature(&body);
    let (status, text) = s
        .webhook(
            "fb",
            &[("X-Hub-Signature-256", sig.clone())],
            body.clone(),
            "application/json",
        )
        .await;
    assert_eq!(status, 200, "{text}");
    // Meta redelivers the whole batch: nothing is doubled.
    let (status, _) = s
        .webhook(
            "fb",
            &[("X-Hub-Signature-256", sig)],
            body,
            "application/json",
        )
        .await;
    assert_eq!(status, 200);
    let (_, page) = s.get(ALICE, "/v1/inbox?view=all&status=all").await;
    assert_eq!(page["counts"]["all"], 2, "two customers");
    let mut texts = Vec::new();
    for item in page["items"].as_array().unwrap() {
        let id = item["contact"]["id"].as_str().unwrap();
        let (_, t) = s.get(ALICE, &format!("/v1/contacts/{id}/messages")).await;
        for m in t["items"].as_array().unwrap() {
            texts.push(m["content"]["text"].as_str().unwrap().to_owned());
        }
    }
    texts.sort();
    assert_eq!(texts, ["one", "three", "two"]);
}

#[tokio::test]
async fn a_provider_window_refusal_corrects_the_window() {
    let s = DevServer::start_with_channels(StoreKind::Sqlite, more_channels).await;
    Mock::given(method("POST"))
        .and(path("/v21.0/me/messages"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({"error": {
            "message": "(#10) This message is sent outside of allowed window.",
            "type": "OAuthException", "code": 10, "error_subcode": 2018278, "fbtrace_id": "x"}})))
        .mount(&s.provider)
        .await;
    // By our clock the customer wrote an hour ago; Meta disagrees.
    messenger_writes(&s, "psid-skew", "mid.skew", now_ms() - 3_600_000).await;
    let (_, page) = s.get(ALICE, "/v1/inbox?view=all&status=all").await;
    let id = page["items"][0]["contact"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(page["items"][0]["channels"][0]["reply"]["mode"], "free");
    let (status, body) = send(&s, &id, json!({"channel": "fb", "text": "Hi"})).await;
    assert_eq!(status, 409, "{body}");
    assert_eq!(body["error"]["code"], "window_closed");
    assert_eq!(
        body["error"]["reply"]["mode"], "tag_only",
        "a human can still use HUMAN_AGENT"
    );
    assert_eq!(body["error"]["message_record"]["status"]["state"], "failed");
    let (_, contact) = s.get(ALICE, &format!("/v1/contacts/{id}")).await;
    assert_eq!(contact["channels"][0]["reply"]["mode"], "tag_only");
}

#[tokio::test]
async fn a_whatsapp_failed_status_marks_our_message_failed() {
    let s = start().await;
    whatsapp_writes(&s, "972500000002", "wamid.in2", now_secs() - 3600).await;
    let id = contact_id(&s, "wanda").await;
    let (status, body) = send(&s, &id, json!({"channel": "wa", "text": "On its way"})).await;
    assert_eq!(status, 201, "{body}");
    assert_eq!(body["message"]["provider_message_id"], "wamid.out");
    // Later WhatsApp reports the message failed: the customer's window had closed.
    let report = serde_json::to_vec(&json!({"object": "whatsapp_business_account", "entry": [{"id": "WABA", "changes": [{"field": "messages", "value": {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550953877", "phone_number_id": "277321005464405"},
        "statuses": [{"id": "wamid.out", "status": "failed", "timestamp": now_secs().to_string(), "recipient_id": "972500000002",
            "errors": [{"code": 131047, "title": "Re-engagement message", "message": "Re-engagement message"}]}]
    }}]}]}))
    .unwrap();
    let sig = meta_signature(&report);
    let (status, text) = s
        .webhook(
            "wa",
            &[("X-Hub-Signature-256", sig)],
            report,
            "application/json",
        )
        .await;
    assert_eq!(status, 200, "{text}");
    let (_, t) = s.get(ALICE, &format!("/v1/contacts/{id}/messages")).await;
    let ours = t["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["direction"] == "outbound")
        .unwrap()
        .clone();
    assert_eq!(ours["status"]["state"], "failed");
    assert_eq!(ours["status"]["code"], "131047");
    let (_, contact) = s.get(ALICE, &format!("/v1/contacts/{id}")).await;
    assert_eq!(contact["channels"][0]["reply"]["mode"], "template_only");
}
