//! The constraint audit of the consumer's planners (issue 25): events a platform may validly
//! send, in an order it may send them, each answered 200 already, are stored on SQLite (with
//! foreign keys on, as D1 has them) rather than refused by a NOT NULL, CHECK, UNIQUE or foreign
//! key and retried until lost. The card shop's cases are in `sql_orders.rs`.

mod support;

use kefu_edge::event::{Platform, QueuedPush};
use kefu_edge::platforms::payfeedback::MsgType;
use serde_json::json;
use support::World;

const NOW: i64 = 1_732_400_000;

fn stored(world: &mut World, push: QueuedPush) {
    let settings = support::settings_with(&[]);
    let report = world.run(support::inbound(&settings, push, NOW));
    assert!(
        report.as_deref().is_ok_and(|r| r.starts_with("stored")),
        "{report:?}"
    );
}

#[test]
fn official_account_sessions_without_a_ticket_or_accounts_are_stored() {
    let mut world = World::new();
    // An agent's session events for a customer who never wrote (no ticket), without accounts.
    for event in ["kf_create_session", "kf_switch_session", "kf_close_session"] {
        stored(&mut world, support::oa_event("oQuiet", event, "", NOW));
    }
    // A message without a MsgId, then one with, from the same customer at the same second.
    let no_msg_id = QueuedPush {
        platform: Platform::Oa,
        received_at: NOW,
        text: format!("<xml><ToUserName>gh</ToUserName><FromUserName>oA</FromUserName><CreateTime>{NOW}</CreateTime><MsgType>image</MsgType></xml>"),
    };
    stored(&mut world, no_msg_id);
    stored(&mut world, support::oa_text("oA", "1", "hi", NOW));
    assert_eq!(world.db.count("SELECT COUNT(*) FROM events"), 5);
    assert_eq!(world.db.count("SELECT COUNT(*) FROM tickets"), 1);
}

#[test]
fn complaints_out_of_order_and_sharing_a_transaction_are_stored() {
    let mut world = World::new();
    // A confirm and a reject before the request that opened the complaint; a request without a
    // TransId; two complaints about one transaction.
    let notifications = [
        ("f1", MsgType::Confirm, NOW, Some("4200001")),
        ("f1", MsgType::Reject, NOW + 1, Some("4200001")),
        ("f1", MsgType::Request, NOW - 10, Some("4200001")),
        ("f2", MsgType::Request, NOW, None),
        ("f3", MsgType::Request, NOW, Some("4200001")),
    ];
    for (feedback_id, msg_type, at, trans_id) in notifications {
        let n = support::complaint_notification(feedback_id, "oBuyer", msg_type, at, trans_id);
        stored(&mut world, n);
    }
    assert_eq!(world.db.count("SELECT COUNT(*) FROM events"), 5);
    assert_eq!(world.db.count("SELECT COUNT(*) FROM complaints"), 3);
}

#[test]
fn shop_messages_about_an_unknown_order_are_stored() {
    let mut world = World::new();
    // An order the card shop never told about, shared twice.
    for (msg_id, order_id) in [("1", "3705115058471208704"), ("2", "3705115058471208704")] {
        let text = json!({
            "ToUserName": "gh_shop", "FromUserName": "oShopBuyer", "CreateTime": NOW,
            "MsgType": "event", "Event": "commkf_send_msg_to_kf",
            "msg_id": msg_id, "msg_type": "order_share", "order_share": {"order_id": order_id},
        });
        let push = QueuedPush {
            platform: Platform::Shop,
            received_at: NOW,
            text: text.to_string(),
        };
        stored(&mut world, push);
    }
    assert_eq!(world.db.count("SELECT COUNT(*) FROM tickets"), 1);
}
