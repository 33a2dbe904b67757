//! The callback query string: any text parses, never a panic.
#![no_main]
use kefu_edge::wechat::callback::CallbackQuery;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let q = CallbackQuery::parse(text);
        let _ = kefu_edge::wechat::callback::check_timestamp(
            q.timestamp.as_deref().unwrap_or(text),
            1_700_000_000,
            300,
        );
    }
});
