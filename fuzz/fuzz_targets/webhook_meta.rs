//! Messenger, Instagram and WhatsApp (variant % 3): the `hub.challenge` handshake on GET,
//! `X-Hub-Signature-256` on POST, and each product's payload parser.
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use replyline_channels::signature::hmac_sha256;
use replyline_channels::Adapter;
use replyline_fuzz::{
    adapter, check_outcome, put_query_first, set_header, Input, META_APP_SECRET, META_VERIFY_TOKEN,
};

static ADAPTERS: LazyLock<[(&str, Adapter); 3]> =
    LazyLock::new(|| ["fb", "ig", "wa"].map(|id| (id, adapter(id))));

fuzz_target!(|data: &[u8]| {
    let Some(input) = Input::parse(data) else {
        return;
    };
    let (id, adapter) = &ADAPTERS[usize::from(input.variant % 3)];
    let mut req = input.request(id);
    if input.signed {
        if req.method == http::Method::GET {
            put_query_first(&mut req, "hub.verify_token", META_VERIFY_TOKEN);
        } else {
            let mac = hex::encode(hmac_sha256(META_APP_SECRET.as_bytes(), &req.body));
            set_header(&mut req, "X-Hub-Signature-256", format!("sha256={mac}"));
        }
    }
    let result = adapter.handle_webhook(&req);
    check_outcome(input.signed, true, &req, &result);
});
