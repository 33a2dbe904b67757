//! `POST /hooks/orders` on any body, as sent and correctly signed: never a panic; an event that
//! opens survives the queue's JSON round trip and reads back as the same event in the consumer.
#![no_main]
use kefu_edge::event::{Platform, QueueMessage, QueuedEvent, QueuedPush};
use kefu_edge::platforms::orders::{open, signature, HookRequest};
use libfuzzer_sys::fuzz_target;

const SECRET: &str = "fuzz-webhook-secret";
const NOW: i64 = 1_700_000_000;

fuzz_target!(|data: &[u8]| {
    let unsigned = HookRequest {
        timestamp: Some("1700000000"),
        signature: Some("sha256=00"),
        body: data,
    };
    assert!(open(&unsigned, Some(SECRET), NOW, 300).is_err());
    let sig = format!("sha256={}", signature(SECRET, "1700000000", data).unwrap());
    let signed = HookRequest {
        timestamp: Some("1700000000"),
        signature: Some(&sig),
        body: data,
    };
    if let Ok((event, text)) = open(&signed, Some(SECRET), NOW, 300) {
        let push = QueuedPush {
            platform: Platform::Order,
            received_at: NOW,
            text: text.to_owned(),
        };
        let message = QueueMessage::Inbound(push.clone());
        assert_eq!(
            QueueMessage::from_json(&message.to_json()).unwrap(),
            message
        );
        assert_eq!(push.event().unwrap(), QueuedEvent::accepted(event, NOW));
    }
});
