//! Twilio's SMS webhook: `X-Twilio-Signature` over the public URL (and its default-port
//! variants) plus the sorted form parameters, or over the URL with `bodySHA256` for JSON
//! bodies; then the form parser and the opt-out keywords.
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use replyline_channels::{twilio, Adapter};
use replyline_fuzz::{adapter, check_outcome, parse_query, set_header, Input, TWILIO_TOKEN};
use sha2::{Digest, Sha256};

static ADAPTER: LazyLock<Adapter> = LazyLock::new(|| adapter("sms"));

fuzz_target!(|data: &[u8]| {
    let Some(input) = Input::parse(data) else {
        return;
    };
    let mut req = input.request("sms");
    // The URL as the provider saw it: a fuzzer-chosen one (`x-fuzz-url` header) exercises
    // the port-variant logic on odd URLs.
    if let Some(url) = req.headers.remove("x-fuzz-url") {
        req.public_url = url;
    }
    let json_mode = input.variant & 1 == 1;
    if json_mode {
        // A JSON body: the URL carries the body's hash, the HMAC covers the URL only.
        let hash = hex::encode(Sha256::digest(&req.body));
        let hash = if input.variant & 2 == 2 {
            hash.to_ascii_uppercase()
        } else {
            hash
        };
        let sep = if req.public_url.contains('?') {
            '&'
        } else {
            '?'
        };
        req.public_url = format!("{}{sep}bodySHA256={hash}", req.public_url);
        req.query.insert(0, ("bodySHA256".to_owned(), hash));
    }
    if input.signed {
        let params = if json_mode {
            Vec::new()
        } else {
            parse_query(&req.body)
        };
        let sig = twilio::signature(TWILIO_TOKEN, &req.public_url, &params);
        set_header(&mut req, "X-Twilio-Signature", sig);
    }
    let result = ADAPTER.handle_webhook(&req);
    check_outcome(input.signed, true, &req, &result);
});
