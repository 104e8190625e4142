//! The website chat's webhook: `X-Replyline-Signature` (HMAC-SHA256) and the visitor
//! message parser (our own format, so a bad body is a 400 with a reason).
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use replyline_channels::{webchat, Adapter};
use replyline_fuzz::{adapter, check_outcome, set_header, Input, WEBCHAT_SECRET};

static ADAPTER: LazyLock<Adapter> = LazyLock::new(|| adapter("web"));

fuzz_target!(|data: &[u8]| {
    let Some(input) = Input::parse(data) else {
        return;
    };
    let mut req = input.request("web");
    if input.signed {
        let sig = webchat::sign(WEBCHAT_SECRET, &req.body);
        // Variant 1: the hex in upper case, which must verify too.
        let sig = if input.variant & 1 == 1 {
            format!("sha256={}", sig["sha256=".len()..].to_ascii_uppercase())
        } else {
            sig
        };
        set_header(&mut req, webchat::SIGNATURE_HEADER, sig);
    }
    let result = ADAPTER.handle_webhook(&req);
    check_outcome(input.signed, true, &req, &result);
});
