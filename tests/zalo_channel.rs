//! Zalo OA as a channel, run as the shell runs it on SQLite with the real migrations: webhook
//! events into tickets.

mod support;

use kefu_edge::event::{Platform, QueuedPush};
use kefu_edge::settings::Settings;
use serde_json::{json, Value};
use support::World;

const NOW: i64 = 1_700_000_000;
const USER: &str = "4829463028765424516";

fn settings() -> Settings {
    support::settings_with(&[
        ("ADMIN_TOKEN", "owner-token"),
        ("STAFF_TOKENS", "anna:anna-token"),
        ("ZALO_APP_ID", "3620184551288361477"),
        ("ZALO_APP_SECRET", "app-secret"),
        ("ZALO_OA_SECRET_KEY", "oa-secret"),
        ("ZALO_API_BASE", "http://zalo.test"),
        ("ZALO_OAUTH_BASE", "http://oauth.zalo.test"),
        ("CARESOFT_BASE_URL", "http://caresoft.test/d"),
        ("CARESOFT_API_TOKEN", "cs-token"),
    ])
}

fn push(body: Value, at: i64) -> QueuedPush {
    QueuedPush {
        platform: Platform::Zalo,
        received_at: at,
        text: body.to_string(),
    }
}

fn text_message(msg_id: &str, text: &str, at: i64) -> QueuedPush {
    push(
        json!({"app_id": "3620184551288361477", "event_name": "user_send_text",
               "timestamp": (at * 1000).to_string(), "sender": {"id": USER},
               "recipient": {"id": "OA1"}, "message": {"msg_id": msg_id, "text": text}}),
        at,
    )
}

fn store(world: &mut World, push: QueuedPush, now: i64) -> String {
    let settings = settings();
    world.run(support::inbound(&settings, push, now)).unwrap()
}

#[test]
fn a_storm_of_one_msg_id_is_one_event_on_one_ticket() {
    let mut world = World::new();
    for _ in 0..5 {
        store(&mut world, text_message("m1", "Xin chào", NOW), NOW);
    }
    store(
        &mut world,
        text_message("m2", "Đơn hàng chưa tới", NOW + 5),
        NOW + 5,
    );
    assert_eq!(
        world
            .db
            .count("SELECT COUNT(*) FROM events WHERE kind = 'zalo_message'"),
        2
    );
    let tickets = world
        .db
        .rows("SELECT channel, customer_id, status FROM tickets");
    assert_eq!(
        tickets,
        [json!({"channel": "zalo", "customer_id": USER, "status": "open"})]
    );
    let lines = world
        .db
        .rows("SELECT kind, body FROM ticket_timeline ORDER BY id");
    assert_eq!(
        lines,
        [
            json!({"kind": "inbound", "body": "Xin chào"}),
            json!({"kind": "inbound", "body": "Đơn hàng chưa tới"})
        ]
    );
    assert_eq!(
        world.db.count("SELECT COUNT(*) FROM alerts"),
        1,
        "one alert for the new ticket"
    );
}

#[test]
fn follow_and_unfollow_go_on_the_timeline_and_other_events_are_kept_raw() {
    let mut world = World::new();
    let follow = |event: &str, at: i64| {
        push(
            json!({"app_id": "1", "event_name": event, "timestamp": at * 1000, "follower": {"id": USER}}),
            at,
        )
    };
    // Before any ticket: stored as an event only.
    store(&mut world, follow("follow", NOW - 10), NOW - 10);
    store(&mut world, text_message("m1", "hi", NOW), NOW);
    store(&mut world, follow("unfollow", NOW + 1), NOW + 1);
    store(&mut world, follow("unfollow", NOW + 1), NOW + 1);
    store(
        &mut world,
        push(
            json!({"event_name": "oa_send_text", "timestamp": 5, "sender": {"id": "OA"}, "extra": [1, 2]}),
            NOW,
        ),
        NOW,
    );
    let lines = world
        .db
        .rows("SELECT kind, body FROM ticket_timeline ORDER BY id");
    assert_eq!(
        lines,
        [
            json!({"kind": "inbound", "body": "hi"}),
            json!({"kind": "status", "body": "unfollowed the Official Account"})
        ]
    );
    assert_eq!(
        world
            .db
            .count("SELECT COUNT(*) FROM events WHERE kind = 'zalo_event'"),
        3
    );
    let raw = world.db.rows("SELECT json_extract(payload, '$.raw.extra[1]') AS kept FROM events WHERE dedup_key LIKE 'zalo:event:oa_send_text:%'");
    assert_eq!(raw, [json!({"kept": 2})]);
}

#[test]
fn a_shared_phone_links_the_ticket_to_the_card_shop_order() {
    let mut world = World::new();
    world
        .db
        .transaction(&[kefu_edge::sql::Statement::new(
            "INSERT INTO orders (id, status, customer_phone, updated_at) VALUES ('O-77', 'paid', '+84983123148', 1)",
            vec![],
        )])
        .unwrap();
    let info = push(
        json!({"event_name": "user_submit_info", "timestamp": NOW * 1000, "sender": {"id": USER},
               "info": {"name": "Nguyễn Hải Hà", "phone": "84983123148"}}),
        NOW,
    );
    store(&mut world, info, NOW);
    let ticket = world
        .db
        .rows("SELECT customer_phone, customer_name, order_id FROM tickets");
    assert_eq!(
        ticket,
        [
            json!({"customer_phone": "0983123148", "customer_name": "Nguyễn Hải Hà", "order_id": "O-77"})
        ]
    );
    // A later ticket of the same customer knows the phone too.
    world
        .db
        .transaction(&[kefu_edge::sql::Statement::new(
            "UPDATE tickets SET status = 'closed'",
            vec![],
        )])
        .unwrap();
    store(
        &mut world,
        text_message("m9", "lại là tôi", NOW + 60),
        NOW + 60,
    );
    let phones = world
        .db
        .rows("SELECT customer_phone, order_id FROM tickets WHERE status = 'open'");
    assert_eq!(
        phones,
        [json!({"customer_phone": "0983123148", "order_id": "O-77"})]
    );
}
