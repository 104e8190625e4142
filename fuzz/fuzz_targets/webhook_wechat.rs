//! WeChat's webhook, every mode (variant % 4):
//! - 0: plain mode: the query signature and the XML parser;
//! - 1: a safe-mode (AES) envelope as fuzzed: the envelope parser and `msg_signature`
//!   (signed over the `Encrypt` it holds);
//! - 2: a well-formed safe-mode message: the fuzzed XML encrypted with WeChat's framing
//!   (for our AppID, or another when variant bit 4 is set) and signed, so the decryption,
//!   the AppID check and the XML parser are reached;
//! - 3: fuzzed bytes as the whole decrypted plaintext (random prefix, length, XML, AppID,
//!   padding), encrypted and signed: the framing checks behind the decryption.
//!
//! A GET is the `echostr` handshake (plain signature). Variant bit 5 uses the channel
//! with an AES key for plain mode too, bit 6 the one without for safe mode.
#![no_main]

use std::sync::LazyLock;

use base64::alphabet;
use base64::engine::{GeneralPurpose, GeneralPurposeConfig};
use base64::Engine;
use cbc::cipher::block_padding::NoPadding;
use cbc::cipher::{BlockModeEncrypt, KeyIvInit};
use libfuzzer_sys::fuzz_target;
use replyline_channels::signature::sorted_sha1;
use replyline_channels::{Adapter, WebhookRequest};
use replyline_fuzz::{
    adapter, check_outcome, put_query_first, Input, WECHAT_AES_KEY, WECHAT_APP_ID, WECHAT_TOKEN,
};
use serde::Deserialize;

static PLAIN: LazyLock<Adapter> = LazyLock::new(|| adapter("wx"));
static SAFE: LazyLock<Adapter> = LazyLock::new(|| adapter("wxaes"));

const LENIENT_B64: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_allow_trailing_bits(true),
);

static KEY: LazyLock<[u8; 32]> = LazyLock::new(|| {
    let bytes = LENIENT_B64
        .decode(format!("{WECHAT_AES_KEY}="))
        .expect("the key is base64");
    <[u8; 32]>::try_from(bytes.as_slice()).expect("a 32-byte key")
});

/// The safe-mode envelope, read as the adapter reads it.
#[derive(Deserialize)]
struct Envelope {
    #[serde(rename = "Encrypt")]
    encrypt: String,
}

/// AES-256-CBC (IV: the key's first 16 bytes) of `plain`, zero-filled to whole blocks.
fn encrypt(plain: &[u8]) -> String {
    let mut buf = plain.to_vec();
    let len = buf.len();
    buf.resize(len.div_ceil(16).max(1) * 16, 0);
    let total = buf.len();
    let key = &*KEY;
    let cipher = cbc::Encryptor::<aes::Aes256>::new_from_slices(key, &key[..16])
        .expect("key and IV lengths");
    let out = cipher
        .encrypt_padded::<NoPadding>(&mut buf, total)
        .expect("whole blocks")
        .to_vec();
    base64::engine::general_purpose::STANDARD.encode(out)
}

/// WeChat's framing: 16 random bytes, the big-endian length, the XML, the AppID, and
/// PKCS#7 padding to 32 bytes.
fn frame(xml: &[u8], app_id: &str) -> Vec<u8> {
    let mut plain = vec![0x5a; 16];
    plain.extend_from_slice(&(xml.len() as u32).to_be_bytes());
    plain.extend_from_slice(xml);
    plain.extend_from_slice(app_id.as_bytes());
    let pad = 32 - plain.len() % 32;
    plain.extend(std::iter::repeat_n(pad as u8, pad));
    plain
}

/// The timestamp and nonce the request carries, adding them when absent.
fn ts_nonce(req: &mut WebhookRequest) -> (String, String) {
    let mut get = |name: &str, default: &str| match req.query.iter().find(|(k, _)| k == name) {
        Some((_, v)) => v.clone(),
        None => {
            put_query_first(req, name, default);
            default.to_owned()
        }
    };
    let ts = get("timestamp", "1411525903");
    let nonce = get("nonce", "461056294");
    (ts, nonce)
}

fn sign(req: &mut WebhookRequest, param: &str, encrypt: Option<&str>) {
    let (ts, nonce) = ts_nonce(req);
    let mut parts = vec![WECHAT_TOKEN, ts.as_str(), nonce.as_str()];
    parts.extend(encrypt);
    put_query_first(req, param, hex::encode(sorted_sha1(&parts)));
}

fn envelope(encrypt: &str) -> String {
    format!("<xml><ToUserName><![CDATA[gh_0123456789ab]]></ToUserName><Encrypt><![CDATA[{encrypt}]]></Encrypt></xml>")
}

fuzz_target!(|data: &[u8]| {
    let Some(input) = Input::parse(data) else {
        return;
    };
    let mode = input.variant % 4;
    let safe = mode != 0 || input.method != http::Method::POST;
    let adapter = match (safe, input.variant & 0x20 != 0, input.variant & 0x40 != 0) {
        (false, false, _) => &*PLAIN,
        (false, true, _) => &*SAFE,
        (true, _, false) => &*SAFE,
        (true, _, true) => &*PLAIN,
    };
    let mut req = input.request("wx");
    if input.method == http::Method::GET || mode == 0 {
        if input.signed {
            sign(&mut req, "signature", None);
        }
    } else {
        put_query_first(&mut req, "encrypt_type", "aes");
        let encrypt = match mode {
            1 => std::str::from_utf8(&req.body)
                .ok()
                .and_then(|b| quick_xml::de::from_str::<Envelope>(b).ok())
                .map(|e| e.encrypt),
            2 => {
                let app_id = if input.variant & 0x10 != 0 {
                    "wxsomeoneelse00000"
                } else {
                    WECHAT_APP_ID
                };
                Some(encrypt(&frame(&req.body, app_id)))
            }
            _ => Some(encrypt(&req.body)),
        };
        if mode != 1 {
            if let Some(e) = &encrypt {
                req.body = envelope(e).into_bytes().into();
            }
        }
        if input.signed {
            if let Some(e) = &encrypt {
                sign(&mut req, "msg_signature", Some(e));
            }
        }
    }
    let result = adapter.handle_webhook(&req);
    check_outcome(input.signed, true, &req, &result);
});
