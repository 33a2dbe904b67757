//! `POST /wechat/payfeedback` on any body: never a panic; a notification that parses, re-signed
//! with the right key, is accepted exactly when its other checks pass.
#![no_main]
use kefu_edge::inline::body_text;
use kefu_edge::platforms::payfeedback::{handle_post, Notification};
use kefu_edge::settings::Settings;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let settings =
        Settings::from_lookup(|name| (name == "PAY_SIGN_KEY").then(|| "fuzz-key".to_owned()));
    let _ = handle_post(data, &settings, 1_700_000_000);
    if let Ok(n) = body_text(data).and_then(Notification::parse) {
        let _ = n.verify("fuzz-key");
        let _ = n.dedup_key();
        let _ = n.complained_at(1_700_000_000);
    }
});
