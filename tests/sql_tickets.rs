//! What inbound events do to tickets, run against SQLite with the real migrations.

mod support;

use kefu_edge::event::{Inbound, QueuedEvent};
use kefu_edge::platforms::oa::{Envelope, EventBody, OaEvent};
use kefu_edge::sql::StoreError;
use kefu_edge::tickets;
use support::Db;

fn envelope(openid: &str) -> Envelope<'static> {
    Envelope {
        account: "gh_1".into(),
        openid: openid.to_owned().into(),
        create_time: 100,
    }
}

fn text(openid: &str, msg_id: &str, content: &str) -> QueuedEvent {
    support::oa_text(openid, msg_id, content, 100)
        .event()
        .unwrap()
}

fn session(openid: &str, key: &str, event: EventBody<'static>) -> QueuedEvent {
    QueuedEvent {
        dedup_key: key.into(),
        received_at: 100,
        inbound: Inbound::OaEvent(OaEvent {
            envelope: envelope(openid),
            event,
        }),
    }
}

#[test]
fn a_first_message_opens_a_ticket_with_its_timeline_and_one_alert() {
    let mut db = Db::new();
    db.transaction(&tickets::plan(
        &text("oCustomer12345", "1", "where is my key"),
        1000,
    ))
    .unwrap();
    let tickets = db.rows("SELECT channel, customer_id, status, priority, first_response_due, resolution_due FROM tickets");
    assert_eq!(tickets.len(), 1);
    assert_eq!(tickets[0]["status"], "open");
    assert_eq!(tickets[0]["first_response_due"], 1000 + 3600);
    assert_eq!(tickets[0]["resolution_due"], 1000 + 24 * 3600);
    let timeline = db.rows("SELECT kind, actor, body FROM ticket_timeline");
    assert_eq!(timeline.len(), 1);
    assert_eq!(timeline[0]["body"], "where is my key");
    assert_eq!(db.count("SELECT COUNT(*) FROM alerts"), 1);
    assert_eq!(db.count("SELECT COUNT(*) FROM events"), 1);
}

#[test]
fn a_second_message_appends_without_a_second_ticket_or_alert() {
    let mut db = Db::new();
    db.transaction(&tickets::plan(&text("oA", "1", "hi"), 1000))
        .unwrap();
    db.transaction(&tickets::plan(&text("oA", "2", "still there?"), 1100))
        .unwrap();
    assert_eq!(db.count("SELECT COUNT(*) FROM tickets"), 1);
    assert_eq!(db.count("SELECT COUNT(*) FROM ticket_timeline"), 2);
    assert_eq!(db.count("SELECT COUNT(*) FROM alerts"), 1);
}

#[test]
fn the_same_event_twice_leaves_one_row_and_the_second_batch_rolls_back_whole() {
    let mut db = Db::new();
    let event = text("oA", "1", "hi");
    db.transaction(&tickets::plan(&event, 1000)).unwrap();
    assert_eq!(
        db.transaction(&tickets::plan(&event, 1005)),
        Err(StoreError::Duplicate)
    );
    assert_eq!(db.count("SELECT COUNT(*) FROM events"), 1);
    assert_eq!(db.count("SELECT COUNT(*) FROM tickets"), 1);
    assert_eq!(db.count("SELECT COUNT(*) FROM ticket_timeline"), 1);
    assert_eq!(db.count("SELECT COUNT(*) FROM alerts"), 1);
    assert_eq!(db.count("SELECT updated_at FROM tickets"), 1000);
}

#[test]
fn two_opens_planned_concurrently_share_one_active_ticket() {
    // Two consumers plan from the same (empty) state; the partial unique index makes the
    // second open a no-op and its message lands on the first one's ticket.
    let mut db = Db::new();
    let first = tickets::plan(&text("oA", "1", "one"), 1000);
    let second = tickets::plan(&text("oA", "2", "two"), 1000);
    db.transaction(&first).unwrap();
    db.transaction(&second).unwrap();
    assert_eq!(db.count("SELECT COUNT(*) FROM tickets"), 1);
    assert_eq!(
        db.count("SELECT COUNT(*) FROM ticket_timeline WHERE ticket_id = (SELECT id FROM tickets)"),
        2
    );
    assert_eq!(
        db.count("SELECT COUNT(*) FROM alerts"),
        1,
        "only the opener alerts"
    );
    // Another customer is another ticket.
    db.transaction(&tickets::plan(&text("oB", "3", "hello"), 1000))
        .unwrap();
    assert_eq!(db.count("SELECT COUNT(*) FROM tickets"), 2);
}

#[test]
fn agent_sessions_assign_respond_and_resolve_then_a_message_reopens() {
    let mut db = Db::new();
    db.transaction(&tickets::plan(&text("oA", "1", "hi"), 1000))
        .unwrap();
    let created = session(
        "oA",
        "oa:event:c",
        EventBody::KfCreateSession {
            kf_account: Some("anna@gh".into()),
        },
    );
    db.transaction(&tickets::plan(&created, 1200)).unwrap();
    let t = &db.rows("SELECT assignee, first_response_at, status FROM tickets")[0];
    assert_eq!(
        (t["assignee"].as_str(), t["first_response_at"].as_i64()),
        (Some("anna@gh"), Some(1200))
    );
    let switched = session(
        "oA",
        "oa:event:s",
        EventBody::KfSwitchSession {
            from_kf_account: Some("anna@gh".into()),
            to_kf_account: Some("bob@gh".into()),
        },
    );
    db.transaction(&tickets::plan(&switched, 1300)).unwrap();
    assert_eq!(
        db.rows("SELECT assignee FROM tickets")[0]["assignee"],
        "bob@gh"
    );
    let closed = session(
        "oA",
        "oa:event:x",
        EventBody::KfCloseSession {
            kf_account: Some("bob@gh".into()),
        },
    );
    db.transaction(&tickets::plan(&closed, 1400)).unwrap();
    let t = &db.rows("SELECT status, resolved_at FROM tickets")[0];
    assert_eq!(
        (t["status"].as_str(), t["resolved_at"].as_i64()),
        (Some("resolved"), Some(1400))
    );
    assert_eq!(
        db.count("SELECT COUNT(*) FROM ticket_timeline"),
        4,
        "every session event is on the timeline"
    );

    db.transaction(&tickets::plan(&text("oA", "2", "one more thing"), 1500))
        .unwrap();
    let t = &db.rows("SELECT status, resolved_at, resolution_due FROM tickets")[0];
    assert_eq!(t["status"], "open");
    assert!(t["resolved_at"].is_null());
    assert_eq!(t["resolution_due"], 1500 + 24 * 3600);
    assert_eq!(db.count("SELECT COUNT(*) FROM tickets"), 1);
    assert_eq!(
        db.count("SELECT COUNT(*) FROM alerts"),
        1,
        "a reopen is not a new ticket"
    );
}

#[test]
fn events_without_a_ticket_effect_are_stored_only() {
    let mut db = Db::new();
    let subscribe = session(
        "oA",
        "oa:event:sub",
        EventBody::Subscribe {
            event_key: None,
            ticket: None,
        },
    );
    db.transaction(&tickets::plan(&subscribe, 1000)).unwrap();
    assert_eq!(db.count("SELECT COUNT(*) FROM events"), 1);
    assert_eq!(db.count("SELECT COUNT(*) FROM tickets"), 0);
}

#[test]
fn a_customer_cannot_put_links_or_mentions_into_the_staff_alert() {
    let mut db = Db::new();
    let attack = "[免费领取](http://evil.example) <@all> **urgent**\n# boss says pay";
    db.transaction(&tickets::plan(&text("oCustomer12345", "1", attack), 1000))
        .unwrap();
    let alert = db.rows("SELECT text FROM alerts")[0]["text"].clone();
    let (_, quoted) = alert.as_str().unwrap().split_once(": ").unwrap();
    for forbidden in ["[", "](", "<@", "**", "\n", "#"] {
        assert!(!quoted.contains(forbidden), "{forbidden:?} in {quoted}");
    }
    // The timeline keeps what the customer wrote, marked as text since it starts like a
    // media line (`[image] …`).
    assert_eq!(
        db.rows("SELECT body FROM ticket_timeline")[0]["body"],
        format!("[text] {attack}")
    );
}
