//! Personal data a parser quotes in its error (serde's `invalid type: string "0983123148"`)
//! is masked before the queue's log line, the dead letter's reason and the staff alert carry it.

mod support;

use kefu_edge::event::{Platform, QueueMessage, QueuedPush};
use kefu_edge::log;
use kefu_edge::pipeline::{consume, Context};
use kefu_edge::usage::Usage;
use serde_json::json;
use support::World;

const NOW: i64 = 1_732_400_000;

#[test]
fn a_serde_error_quoting_a_phone_or_an_openid_is_masked_in_the_log_line() {
    let settings = support::settings_with(&[]);
    let cx = Context {
        settings: &settings,
        now: NOW,
        random: 0,
        unique: "u".into(),
    };
    // A card-shop event this version cannot read (a field of the wrong type, an unknown kind):
    // its text quotes the customer's phone and OpenID.
    for (order, secret) in [
        (json!({"id": "O1", "amount": "0983123148"}), "0983123148"),
        (
            json!({"id": "O1", "goods_kind": "oAbcdefghijklmnop"}),
            "oAbcdefghijklmnop",
        ),
    ] {
        let mut world = World::new();
        let text = json!({"id": "e1", "type": "order.paid", "order": order}).to_string();
        let message = QueueMessage::Inbound(QueuedPush {
            platform: Platform::Order,
            received_at: NOW,
            text,
        });
        let report = world.run(consume(&message.to_json(), false, &cx));
        let line = log::queue_message("kefu-events", &report, None, 1, &Usage::default());
        assert!(line.contains("dead letter: unreadable push"), "{line}");
        assert!(!line.contains(secret), "{line}");
        assert!(
            line.contains(&secret[..3]) && line.contains("***"),
            "{line}"
        );
        for stored in [
            world.db.rows("SELECT reason FROM dead_letters")[0]["reason"].to_string(),
            world.db.rows("SELECT text FROM alerts")[0]["text"].to_string(),
        ] {
            assert!(!stored.contains(secret), "{stored}");
        }
    }
    // An unreadable queue message too.
    let mut world = World::new();
    let report = world.run(consume(
        r#"{"deliver": {"delivery_id": 983123148}}"#,
        false,
        &cx,
    ));
    let line = log::queue_message("kefu-events", &report, None, 1, &Usage::default());
    assert!(line.contains("unreadable queue message"), "{line}");
    assert!(!line.contains("983123148"), "{line}");
}
