//! The agent API end to end: JSON bodies, query strings, path ids and headers of every
//! agent route (and signed webhooks in between), through the real routers on an in-memory
//! SQLite store, with providers answered by a local sink that accepts everything.
//!
//! No request may panic or answer 5xx: the store is in memory and the providers accept
//! every send, so a 5xx can only be a bug (a body, query or id the code did not expect).
//!
//! The routers, store and seeded contacts are built once and shared by the inputs (as in a
//! running function); every 1000 inputs they are rebuilt, so the store stays small and
//! the clock near its start. A failure names the request and the answer, and most
//! reproduce alone (`api_json <artifact>` replays on a fresh world).
//!
//! Each input is a sequence of up to 6 steps separated by `\n--\n`; a step is
//! `[route][aux] headers \0 payload` (without a `\0` the whole rest is the payload):
//! - `route % 16`: which request (see `build`); the payload is its JSON body or query;
//! - `aux` bits 0-2: the contact (0-4 seeded, 5 unknown, 6 lower-cased, 7 the
//!   `x-fuzz-id` header's text); bits 3-4: as alice, alice, bob, or without a token;
//!   bit 5: no `content-type: application/json`; bits 6-7: advance the clock first
//!   (0, 1 minute, 25 hours, 8 days);
//! - `headers`: `name: value` lines added to the request.
#![no_main]

use std::sync::{Arc, LazyLock};
use std::time::Duration;

use axum::body::Body;
use axum::Router;
use http::{HeaderName, HeaderValue, Method, Request};
use libfuzzer_sys::fuzz_target;
use replyline_api::{AppState, Auth};
use replyline_channels::signature::{hmac_sha256, sorted_sha1};
use replyline_channels::webchat;
use replyline_config::Config;
use replyline_domain::{Clock, FixedClock, Timestamp};
use replyline_fuzz::header_lines;
use replyline_store::sqlite::SqliteStore;
use replyline_store::Faults;
use tokio::runtime::Runtime;
use tower::ServiceExt;

const T0: &str = "2026-11-25T12:00:00Z";

/// What every provider's send API answers with on success, in one body.
const SINK_ANSWER: &str = r#"{"ok":true,"result":{"message_id":1},"sid":"SM1","message_id":"m.1","messages":[{"id":"wamid.1"}],"status":0,"status_message":"ok","message_token":1,"errcode":0,"errmsg":"ok","msgid":1,"access_token":"sink-token","expires_in":7200,"sentMessages":[{"id":"1"}]}"#;

const CONFIG: &str = r#"
[server]
public_url = "https://hooks.example.test"
[store]
kind = "sqlite"
path = "unused.db"
[workspace]
closing_notes = "optional"
closing_categories = ["resolved", "follow_up", "spam"]
[[agents]]
id = "alice"
token = "dev-token-alice"
[[agents]]
id = "bob"
token = "dev-token-bob"
[[channels]]
id = "web"
kind = "webchat"
secret = "webchat-secret"
callback_url = "SINK/webchat"
[[channels]]
id = "tg"
kind = "telegram"
bot_token = "1:bot"
secret_token = "tg-secret-token"
api_base = "SINK"
[[channels]]
id = "wa"
kind = "whatsapp"
app_secret = "meta-app-secret"
verify_token = "meta-verify-token"
access_token = "meta-token"
phone_number_id = "1234567890"
api_base = "SINK"
[[channels]]
id = "fb"
kind = "messenger"
app_secret = "meta-app-secret"
verify_token = "meta-verify-token"
access_token = "meta-token"
api_base = "SINK"
[[channels]]
id = "wx"
kind = "wechat"
token = "wechat-token"
app_id = "wx49f0ab532d5d035a"
app_secret = "wechat-app-secret"
api_base = "SINK"
[[channels]]
id = "vb"
kind = "viber"
auth_token = "viber-auth-token"
api_base = "SINK"
[[channels]]
id = "sms"
kind = "sms"
provider = "twilio"
account_sid = "AC123"
auth_token = "twilio-auth-token"
from = "+15005550006"
api_base = "SINK"
"#;

struct World {
    rt: Runtime,
    config: Config,
    http: replyline_channels::HttpClient,
}

static WORLD: LazyLock<World> = LazyLock::new(|| {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let sink = rt.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("a local port");
        let addr = listener.local_addr().expect("an address");
        let app = Router::new().fallback(|| async {
            (
                [(http::header::CONTENT_TYPE, "application/json")],
                SINK_ANSWER,
            )
        });
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        format!("http://{addr}")
    });
    let config = Config::from_toml(&CONFIG.replace("SINK", &sink)).expect("the config parses");
    let http = replyline_channels::http_client().expect("an HTTP client");
    World { rt, config, http }
});

fn at(offset_secs: i64) -> Timestamp {
    let t0 = Timestamp::parse_rfc3339(T0).expect("T0");
    Timestamp::from_millis(t0.as_millis() + offset_secs * 1000).expect("an instant")
}

async fn call(router: &Router, req: Request<Body>) -> (u16, String) {
    let resp = router.clone().oneshot(req).await.expect("infallible");
    let status = resp.status().as_u16();
    let body = axum::body::to_bytes(resp.into_body(), 1 << 24)
        .await
        .expect("a body");
    (status, String::from_utf8_lossy(&body).into_owned())
}

fn post(uri: &str, headers: &[(&str, &str)], body: impl Into<Body>) -> Request<Body> {
    let mut b = Request::builder().method(Method::POST).uri(uri);
    for (k, v) in headers {
        b = b.header(*k, *v);
    }
    b.body(body.into()).expect("a request")
}

fn meta_sig(body: &str) -> String {
    format!(
        "sha256={}",
        hex::encode(hmac_sha256(b"meta-app-secret", body.as_bytes()))
    )
}

/// Five contacts, one per channel, whose last messages are 3 days (Messenger), 30 hours
/// (WhatsApp), 1 hour (WeChat), 10 minutes (Telegram) and 1 minute (website chat) old.
async fn seed(router: &Router, clock: &FixedClock) -> Vec<String> {
    let json = ("content-type", "application/json");
    let mut seeded = Vec::new();

    clock.set(at(-3 * 86400));
    let ms = at(-3 * 86400).as_millis();
    let fb = format!(
        r#"{{"object":"page","entry":[{{"id":"p1","time":{ms},"messaging":[{{"sender":{{"id":"psid-1"}},"recipient":{{"id":"p1"}},"timestamp":{ms},"message":{{"mid":"m.fb1","text":"Is the blue one in stock?"}}}}]}}]}}"#
    );
    let sig = meta_sig(&fb);
    seeded.push(
        call(
            router,
            post("/webhooks/fb", &[json, ("x-hub-signature-256", &sig)], fb),
        )
        .await,
    );

    clock.set(at(-30 * 3600));
    let secs = at(-30 * 3600).as_secs();
    let wa = format!(
        r#"{{"object":"whatsapp_business_account","entry":[{{"id":"1","changes":[{{"field":"messages","value":{{"messaging_product":"whatsapp","contacts":[{{"profile":{{"name":"Wanda Ng"}},"wa_id":"972544401243"}}],"messages":[{{"from":"972544401243","id":"wamid.in1","timestamp":"{secs}","type":"text","text":{{"body":"Hi there"}}}}]}}}}]}}]}}"#
    );
    let sig = meta_sig(&wa);
    seeded.push(
        call(
            router,
            post("/webhooks/wa", &[json, ("x-hub-signature-256", &sig)], wa),
        )
        .await,
    );

    clock.set(at(-3600));
    let secs = at(-3600).as_secs();
    let wx = format!("<xml><ToUserName><![CDATA[gh_1]]></ToUserName><FromUserName><![CDATA[oWx-user-1]]></FromUserName><CreateTime>{secs}</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[你好]]></Content><MsgId>1234567890123456</MsgId></xml>");
    let sig = hex::encode(sorted_sha1(&["wechat-token", "1411525903", "461056294"]));
    let uri = format!("/webhooks/wx?signature={sig}&timestamp=1411525903&nonce=461056294");
    seeded.push(call(router, post(&uri, &[("content-type", "text/xml")], wx)).await);

    clock.set(at(-600));
    let secs = at(-600).as_secs();
    let tg = format!(
        r#"{{"update_id":1,"message":{{"message_id":1,"date":{secs},"chat":{{"id":1111111,"type":"private"}},"from":{{"id":1111111,"is_bot":false,"first_name":"Carlos","last_name":"Mendoza"}},"text":"My order #123 never arrived"}}}}"#
    );
    seeded.push(
        call(
            router,
            post(
                "/webhooks/tg",
                &[json, ("x-telegram-bot-api-secret-token", "tg-secret-token")],
                tg,
            ),
        )
        .await,
    );

    clock.set(at(-60));
    let web = r#"{"visitor_id":"v-ana","message_id":"w1","text":"Hola, where is my parcel?","name":"Ana María López","email":"Ana.Lopez@Example.com","phone":"+61 412 345 678"}"#;
    let sig = webchat::sign("webchat-secret", web.as_bytes());
    seeded.push(
        call(
            router,
            post(
                "/webhooks/web",
                &[json, (webchat::SIGNATURE_HEADER, &sig)],
                web,
            ),
        )
        .await,
    );

    for (status, body) in &seeded {
        assert_eq!(*status, 200, "seeding failed: {body}");
    }
    clock.set(at(0));
    let req = Request::builder()
        .uri("/v1/inbox?view=all&status=all&sort=oldest&limit=50")
        .header("authorization", "Bearer dev-token-alice")
        .body(Body::empty())
        .expect("a request");
    let (status, body) = call(router, req).await;
    assert_eq!(status, 200, "{body}");
    let page: serde_json::Value = serde_json::from_str(&body).expect("JSON");
    let ids: Vec<String> = page["items"]
        .as_array()
        .expect("items")
        .iter()
        .filter_map(|i| i["contact"]["id"].as_str().map(str::to_owned))
        .collect();
    assert_eq!(ids.len(), 5, "{body}");
    ids
}

/// Bytes made safe for a URI path segment or query: everything but unreserved characters
/// and (in a query) `=&%+,;:@/?` is percent-encoded.
fn encode(raw: &[u8], query: bool) -> String {
    let mut out = String::new();
    for &b in raw {
        let keep = b.is_ascii_alphanumeric()
            || matches!(b, b'-' | b'.' | b'_' | b'~')
            || (query
                && matches!(
                    b,
                    b'=' | b'&' | b'%' | b'+' | b',' | b';' | b':' | b'@' | b'/' | b'?'
                ));
        if keep {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

struct Step {
    request: Request<Body>,
    advance: Duration,
}

fn build(step: &[u8], contacts: &[String]) -> Option<Step> {
    let ([route, aux], rest) = step.split_first_chunk::<2>()?;
    let (hdr, payload) = match rest.iter().position(|b| *b == 0) {
        Some(i) => (&rest[..i], &rest[i + 1..]),
        None => (&[][..], rest),
    };
    let headers = header_lines(hdr);
    let id = match aux & 7 {
        i @ 0..=4 => contacts[usize::from(i)].clone(),
        5 => "01ARZ3NDEKTSV4RRFFQ69G5FAV".to_owned(),
        6 => contacts[0].to_ascii_lowercase(),
        _ => {
            let raw = headers
                .iter()
                .find(|(k, _)| k == "x-fuzz-id")
                .map(|(_, v)| v.as_str())
                .unwrap_or_default();
            encode(raw.as_bytes(), false)
        }
    };
    let contact = format!("/v1/contacts/{id}");
    let query = encode(payload, true);
    let body = Body::from(payload.to_vec());
    let (method, uri, body) = match route % 16 {
        0 | 1 => (Method::POST, format!("{contact}/messages"), body),
        2 => (Method::POST, format!("{contact}/close"), body),
        3 => (Method::POST, format!("{contact}/open"), body),
        4 => (Method::POST, format!("{contact}/snooze"), body),
        5 => (Method::PUT, format!("{contact}/assignee"), body),
        6 => (Method::PATCH, contact, body),
        7 => (Method::POST, format!("{contact}/block"), body),
        8 => (Method::POST, format!("{contact}/unblock"), body),
        9 | 10 => (Method::GET, format!("/v1/inbox?{query}"), Body::empty()),
        11 => (Method::GET, contact, Body::empty()),
        12 => (
            Method::GET,
            format!("{contact}/messages?{query}"),
            Body::empty(),
        ),
        13 => (Method::GET, "/v1/channels".to_owned(), Body::empty()),
        14 => {
            let sig = webchat::sign("webchat-secret", payload);
            let mut b = Request::builder()
                .method(Method::POST)
                .uri("/webhooks/web")
                .header(webchat::SIGNATURE_HEADER, sig);
            b = b.header("content-type", "application/json");
            return Some(Step {
                request: b.body(body).ok()?,
                advance: advance(*aux),
            });
        }
        _ => {
            let b = Request::builder()
                .method(Method::POST)
                .uri("/webhooks/tg")
                .header("x-telegram-bot-api-secret-token", "tg-secret-token")
                .header("content-type", "application/json");
            return Some(Step {
                request: b.body(body).ok()?,
                advance: advance(*aux),
            });
        }
    };
    let mut b = Request::builder().method(method).uri(uri);
    match (aux >> 3) & 3 {
        0 | 1 => b = b.header("authorization", "Bearer dev-token-alice"),
        2 => b = b.header("authorization", "Bearer dev-token-bob"),
        _ => {}
    }
    if aux & 0x20 == 0 {
        b = b.header("content-type", "application/json");
    }
    for (k, v) in &headers {
        if let (Ok(k), Ok(v)) = (
            HeaderName::from_bytes(k.as_bytes()),
            HeaderValue::from_str(v),
        ) {
            b = b.header(k, v);
        }
    }
    Some(Step {
        request: b.body(body).ok()?,
        advance: advance(*aux),
    })
}

fn advance(aux: u8) -> Duration {
    match aux >> 6 {
        0 => Duration::ZERO,
        1 => Duration::from_secs(60),
        2 => Duration::from_secs(25 * 3600),
        _ => Duration::from_secs(8 * 86400),
    }
}

fn split_steps(data: &[u8]) -> Vec<&[u8]> {
    const SEP: &[u8] = b"\n--\n";
    let mut steps = Vec::new();
    let mut rest = data;
    while steps.len() < 6 {
        match rest.windows(SEP.len()).position(|w| w == SEP) {
            Some(i) => {
                steps.push(&rest[..i]);
                rest = &rest[i + SEP.len()..];
            }
            None => {
                steps.push(rest);
                break;
            }
        }
    }
    steps
}

/// The shared routers and what the seeding left.
struct Session {
    router: Router,
    clock: Arc<FixedClock>,
    contacts: Vec<String>,
    inputs: u32,
}

const REBUILD_EVERY: u32 = 1000;

thread_local! {
    static SESSION: std::cell::RefCell<Option<Session>> = const { std::cell::RefCell::new(None) };
}

async fn session(world: &World) -> Session {
    let store = Arc::new(SqliteStore::open_in_memory(Faults::default()).expect("a store"));
    let clock = Arc::new(FixedClock::new(at(0)));
    let state = AppState::new(
        world.config.clone(),
        store,
        world.http.clone(),
        clock.clone() as Arc<dyn Clock>,
        Auth::DevTokens,
    );
    let router = replyline_api::all(state);
    let contacts = seed(&router, &clock).await;
    Session {
        router,
        clock,
        contacts,
        inputs: 0,
    }
}

fuzz_target!(|data: &[u8]| {
    let world = &*WORLD;
    SESSION.with_borrow_mut(|slot| {
        world.rt.block_on(async {
            if slot.as_ref().is_none_or(|s| s.inputs >= REBUILD_EVERY) {
                *slot = Some(session(world).await);
            }
            let s = slot.as_mut().expect("a session");
            s.inputs += 1;
            for raw in split_steps(data) {
                let Some(step) = build(raw, &s.contacts) else {
                    continue;
                };
                s.clock.advance(step.advance);
                let what = format!("{} {}", step.request.method(), step.request.uri());
                let (status, body) = call(&s.router, step.request).await;
                assert!(
                    status < 500,
                    "{what} answered {status}: {body}\nstep: {:?}",
                    String::from_utf8_lossy(raw)
                );
            }
        })
    });
});
