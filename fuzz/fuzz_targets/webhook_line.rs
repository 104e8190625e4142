//! LINE's webhook: `x-line-signature` (base64 HMAC-SHA256) and the events parser.
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use replyline_channels::{line, Adapter};
use replyline_fuzz::{adapter, check_outcome, set_header, Input, LINE_SECRET};

static ADAPTER: LazyLock<Adapter> = LazyLock::new(|| adapter("line"));

fuzz_target!(|data: &[u8]| {
    let Some(input) = Input::parse(data) else {
        return;
    };
    let mut req = input.request("line");
    if input.signed {
        let sig = line::signature(LINE_SECRET, &req.body);
        set_header(&mut req, "x-line-signature", sig);
    }
    let result = ADAPTER.handle_webhook(&req);
    check_outcome(input.signed, true, &req, &result);
});
