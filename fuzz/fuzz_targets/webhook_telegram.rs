//! Telegram's webhook: the secret-token check and the `Update` parser.
#![no_main]

use std::sync::LazyLock;

use libfuzzer_sys::fuzz_target;
use replyline_channels::Adapter;
use replyline_fuzz::{adapter, check_outcome, set_header, Input, TELEGRAM_SECRET};

static ADAPTER: LazyLock<Adapter> = LazyLock::new(|| adapter("tg"));

fuzz_target!(|data: &[u8]| {
    let Some(input) = Input::parse(data) else {
        return;
    };
    let mut req = input.request("tg");
    if input.signed {
        set_header(&mut req, "X-Telegram-Bot-Api-Secret-Token", TELEGRAM_SECRET);
    }
    let result = ADAPTER.handle_webhook(&req);
    // A plain shared secret, not an HMAC: only the outcome's shape is checked.
    check_outcome(input.signed, false, &req, &result);
});
