//! The rules document: any text is refused or accepted, never a panic; what is accepted is
//! written and read back the same, and every lookup answers.
#![no_main]
use kefu_edge::rules::{CustomerText, Rules};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(rules) = Rules::parse(text) {
        let written = serde_json::to_string(&rules).unwrap();
        assert_eq!(Rules::parse(&written).unwrap(), rules);
        let customer_text = CustomerText::new(text);
        let _ = rules.faq_reply(&customer_text);
        let _ = rules.route_for_text(&customer_text);
        let _ = rules.faq_reply_for_problem("general", Some(text));
        let _ = rules.route_for_problem("refund", Some(text));
    }
});
