//! Viber's webhook: `X-Viber-Content-Signature` (hex HMAC-SHA256) and the callback parser.
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use replyline_channels::{viber, Adapter};
use replyline_fuzz::{adapter, check_outcome, set_header, Input, VIBER_TOKEN};

static ADAPTER: LazyLock<Adapter> = LazyLock::new(|| adapter("vb"));

fuzz_target!(|data: &[u8]| {
    let Some(input) = Input::parse(data) else {
        return;
    };
    let mut req = input.request("vb");
    if input.signed {
        let sig = viber::signature(VIBER_TOKEN, &req.body);
        set_header(&mut req, "X-Viber-Content-Signature", sig);
    }
    let result = ADAPTER.handle_webhook(&req);
    check_outcome(input.signed, true, &req, &result);
});
