//! Zalo ZNS through CareSoft, run as the consumer and the admin API run it on SQLite with the
//! real migrations and scripted CareSoft answers: continuity of the CareSoft ticket, the rate
//! limit and its pause after 429s, a refused token, rules on card-shop events, the fallback
//! from WeChat, and staff sends with an Idempotency-Key.

mod support;

use std::collections::BTreeMap;

use kefu_edge::event::QueuedPush;
use kefu_edge::inline::Rejection;
use kefu_edge::kv;
use kefu_edge::outbound::OutboundCall;
use kefu_edge::pipeline::delivery::DeliverFlow;
use kefu_edge::pipeline::zns::{SendZnsFlow, Sent};
use kefu_edge::platforms::caresoft::ZnsSend;
use kefu_edge::settings::Settings;
use kefu_edge::sql::Statement;
use kefu_edge::wechat::custom_send::CustomMessage;
use kefu_edge::zns;
use serde_json::{json, Value};
use support::{ok, retry_after, status, World};

const NOW: i64 = 1_732_400_000;
const OK: &str = r#"{"status":"OK","ticket":{"ticketId":"297002"}}"#;

fn settings() -> Settings {
    support::settings_with(&[
        ("CARESOFT_BASE_URL", "http://caresoft.test/demo"),
        ("CARESOFT_API_TOKEN", "cs-token"),
        ("WECHAT_APPID", "wx1"),
        ("WECHAT_APPSECRET", "s3cret"),
        ("WECHAT_API_BASE", "http://wechat.test"),
    ])
}

fn zns_call(template_id: u64) -> OutboundCall {
    OutboundCall::Zns {
        send: ZnsSend {
            phone: "0983123148".into(),
            template_id,
            params: Some(BTreeMap::from([("requester".to_owned(), "Hà".to_owned())])),
        },
        caresoft_ticket_id: None,
    }
}

/// A ticket of its own customer, with this phone.
fn ticket(world: &mut World, phone: Option<&str>) -> i64 {
    let customer = format!("C{}", world.db.count("SELECT COUNT(*) FROM tickets"));
    world
        .db
        .transaction(&[Statement::new(
            "INSERT INTO tickets (channel, customer_id, customer_phone, opened_by, created_at, updated_at, first_response_due, resolution_due) \
             VALUES ('orders', ?, ?, 'k', 0, 0, 0, 0)",
            vec![customer.into(), phone.map(str::to_owned).into()],
        )])
        .unwrap();
    world.db.count("SELECT MAX(id) FROM tickets")
}

fn record(world: &mut World, id: &str, call: &OutboundCall, ticket_id: Option<i64>) {
    world
        .db
        .transaction(&[Statement::new(
            "INSERT INTO deliveries (id, target, payload, ticket_id, state, attempts, created_at, updated_at, next_attempt_at) \
             VALUES (?, ?, ?, ?, 'pending', 0, ?, ?, ?)",
            vec![id.into(), call.target().into(), call.payload().into(), ticket_id.into(), NOW.into(), NOW.into(), NOW.into()],
        )])
        .unwrap();
}

fn deliver(world: &mut World, id: &str, now: i64) -> String {
    world
        .run(DeliverFlow::new(&settings(), now, 0, id))
        .unwrap()
}

fn state(world: &World, id: &str) -> Value {
    world
        .db
        .query(&Statement::new(
            "SELECT state, attempts, last_result FROM deliveries WHERE id = ?",
            vec![id.to_owned().into()],
        ))
        .into_iter()
        .next()
        .unwrap()
}

fn bodies(world: &World) -> Vec<Value> {
    world
        .requests_to("/api/v1/zalo/zns")
        .iter()
        .map(|r| serde_json::from_str(r.body.as_deref().unwrap()).unwrap())
        .collect()
}

#[test]
fn a_send_reaches_caresoft_and_the_next_one_on_the_ticket_continues_its_ticket() {
    let mut world = World::new();
    let t = ticket(&mut world, Some("0983123148"));
    record(&mut world, "z1", &zns_call(366), Some(t));
    world.answer([ok(OK)]);
    deliver(&mut world, "z1", NOW);
    let request = &world.requests_to("/api/v1/zalo/zns")[0];
    assert_eq!(request.url, "http://caresoft.test/demo/api/v1/zalo/zns");
    assert!(request
        .headers
        .contains(&("authorization".into(), "Bearer cs-token".into())));
    assert_eq!(
        bodies(&world)[0],
        json!({"zns": {"phone": "0983123148", "template_id": 366, "params": {"requester": "Hà"}}})
    );
    assert_eq!(state(&world, "z1")["state"], "delivered");
    assert_eq!(
        world.db.count("SELECT caresoft_ticket_id FROM tickets"),
        297002
    );
    let timeline = world.db.rows("SELECT body FROM ticket_timeline");
    assert_eq!(
        timeline[0]["body"],
        "ZNS template 366 sent to 098***148 (CareSoft ticket 297002)"
    );

    record(&mut world, "z2", &zns_call(367), Some(t));
    world.answer([ok(r#"{"status":"OK","ticket":{"ticketId":"297002"}}"#)]);
    deliver(&mut world, "z2", NOW + 5);
    assert_eq!(bodies(&world)[1]["zns"]["ticket_id"], 297002);
}

#[test]
fn fifteen_sends_in_two_seconds_then_the_rest_wait() {
    let mut world = World::new();
    for i in 0..16 {
        record(&mut world, &format!("z{i}"), &zns_call(1), None);
        world.answer([ok(OK)]);
    }
    for i in 0..15 {
        deliver(&mut world, &format!("z{i}"), NOW);
    }
    let report = deliver(&mut world, "z15", NOW + 1);
    assert!(report.contains("no rate slot, waiting 1 s"), "{report}");
    assert_eq!(world.requests_to("/api/v1/zalo/zns").len(), 15);
    deliver(&mut world, "z15", NOW + 2);
    assert_eq!(world.requests_to("/api/v1/zalo/zns").len(), 16);
}

#[test]
fn a_429_pauses_the_target_longer_each_time_and_an_answer_ends_the_pause() {
    let mut world = World::new();
    record(&mut world, "a", &zns_call(1), None);
    record(&mut world, "b", &zns_call(1), None);
    world.answer([retry_after(429, 5)]);
    deliver(&mut world, "a", NOW);
    assert_eq!(state(&world, "a")["state"], "retrying");
    // Another send meanwhile gets no slot until the pause (Retry-After 5 s) ends.
    let report = deliver(&mut world, "b", NOW + 1);
    assert!(report.contains("waiting 4 s"), "{report}");
    assert!(world.requests_to("/api/v1/zalo/zns").len() == 1);
    // A second 429 in a row: the pause doubles (2 << 1 = 4 s, more than Retry-After 0).
    world.answer([status(429)]);
    deliver(&mut world, "b", NOW + 5);
    let pause = world.db.rows("SELECT until, strikes FROM target_pauses");
    assert_eq!(pause, [json!({"until": NOW + 5 + 4, "strikes": 2})]);
    // Then CareSoft answers: delivered, and the pause is gone.
    world.answer([ok(OK)]);
    world
        .db
        .transaction(&[Statement::new(
            "UPDATE deliveries SET next_attempt_at = 0",
            vec![],
        )])
        .unwrap();
    deliver(&mut world, "a", NOW + 9);
    assert_eq!(state(&world, "a")["state"], "delivered");
    assert_eq!(world.db.count("SELECT COUNT(*) FROM target_pauses"), 0);
}

#[test]
fn a_refused_token_is_a_dead_letter_with_one_alert_however_many_sends_it_stops() {
    let mut world = World::new();
    for id in ["a", "b"] {
        record(&mut world, id, &zns_call(1), None);
        world.answer([status(401)]);
        deliver(&mut world, id, NOW);
        assert_eq!(state(&world, id)["state"], "dead");
    }
    let reasons = world.db.rows("SELECT reason FROM dead_letters");
    assert_eq!(reasons.len(), 2);
    assert!(reasons[0]["reason"]
        .as_str()
        .unwrap()
        .contains("check CARESOFT_API_TOKEN"));
    let alerts = world.db.rows("SELECT text FROM alerts");
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert!(alerts[0]["text"]
        .as_str()
        .unwrap()
        .contains("CARESOFT_API_TOKEN"));
}

#[test]
fn caresofts_own_errors_are_permanent_with_its_message_and_phones_masked() {
    let mut world = World::new();
    record(&mut world, "a", &zns_call(1), None);
    world.answer([ok(
        r#"{"code":"errors","message":"Không gửi được tới 0983123148"}"#,
    )]);
    deliver(&mut world, "a", NOW);
    let dead = world.db.rows("SELECT reason FROM dead_letters");
    assert_eq!(
        dead[0]["reason"],
        "CareSoft errors (HTTP 200): Không gửi được tới 098***148"
    );
    assert!(!state(&world, "a")["last_result"]
        .as_str()
        .unwrap()
        .contains("0983123148"));
}

fn order_event(id: &str, kind: &str, customer: Value) -> QueuedPush {
    order_event_of("O1", id, kind, customer)
}

fn order_event_of(order_id: &str, id: &str, kind: &str, customer: Value) -> QueuedPush {
    support::order_event(
        &json!({"id": id, "type": kind, "order": {"id": order_id, "product": "Steam"}, "customer": customer}),
        NOW,
    )
}

#[test]
fn a_rule_sends_once_per_event_however_often_it_is_retried() {
    let mut world = World::new();
    world.kv.insert(
        kv::RULES.into(),
        json!({"zns": [{"on": "order.delivery_failed", "template_id": 366,
                        "params": {"order_id": "{order.id}", "requester": "{customer.name}"}}]})
        .to_string(),
    );
    let customer = json!({"phone": "+84 983 123 148", "name": "Hà"});
    for _ in 0..5 {
        let event = order_event("evt1", "order.delivery_failed", customer.clone());
        world
            .run(support::inbound(&settings(), event, NOW))
            .unwrap();
    }
    let deliveries = world
        .db
        .rows("SELECT id, target, payload, ticket_id FROM deliveries");
    assert_eq!(deliveries.len(), 1, "{deliveries:?}");
    assert_eq!(deliveries[0]["target"], "caresoft_zns");
    assert!(deliveries[0]["ticket_id"].is_i64(), "on the order's ticket");
    let payload: Value = serde_json::from_str(deliveries[0]["payload"].as_str().unwrap()).unwrap();
    assert_eq!(
        payload["zns"]["send"],
        json!({"phone": "0983123148", "template_id": 366, "params": {"order_id": "O1", "requester": "Hà"}})
    );
    // Another event type fires nothing; a paid order (no ticket) still sends, without a ticket.
    world.kv.insert(
        kv::RULES.into(),
        json!({"zns": [{"on": "order.paid", "template_id": 1}]}).to_string(),
    );
    world
        .run(support::inbound(
            &settings(),
            order_event("evt2", "order.delivered", customer.clone()),
            NOW,
        ))
        .unwrap();
    assert_eq!(world.db.count("SELECT COUNT(*) FROM deliveries"), 1);
    let paid = order_event_of("O2", "evt3", "order.paid", json!({"phone": "0983123148"}));
    world.run(support::inbound(&settings(), paid, NOW)).unwrap();
    let sent = world
        .db
        .rows("SELECT ticket_id FROM deliveries WHERE id = 'orders:evt3:zns:0'");
    assert_eq!(sent, [json!({"ticket_id": null})]);
}

#[test]
fn a_phone_that_is_not_a_mobile_number_is_noted_on_the_ticket_instead() {
    let mut world = World::new();
    world.kv.insert(
        kv::RULES.into(),
        json!({"zns": [{"on": "card.invalid", "template_id": 9}]}).to_string(),
    );
    let event = order_event("evt1", "card.invalid", json!({"phone": "024 3123 148"}));
    world
        .run(support::inbound(&settings(), event, NOW))
        .unwrap();
    assert_eq!(world.db.count("SELECT COUNT(*) FROM deliveries"), 0);
    let notes = world
        .db
        .rows("SELECT body FROM ticket_timeline WHERE kind = 'outbound'");
    assert_eq!(notes.len(), 1);
    assert!(notes[0]["body"]
        .as_str()
        .unwrap()
        .starts_with("ZNS template 9 not sent: phone starts 02"));
}

#[test]
fn a_message_wechat_cannot_carry_goes_as_zns() {
    let mut world = World::new();
    world.kv.insert(
        kv::RULES.into(),
        json!({"faq": [{"category": "not_delivered", "reply": "Đang xử lý"}],
               "zns_fallback": {"template_id": 500, "params": {"message": "{text}", "order": "{order.id}"}}})
        .to_string(),
    );
    // No OpenID: the auto-reply goes as ZNS at once.
    let event = order_event(
        "evt1",
        "order.delivery_failed",
        json!({"phone": "0983123148"}),
    );
    world
        .run(support::inbound(&settings(), event, NOW))
        .unwrap();
    let payload: Value = serde_json::from_str(
        world.db.rows("SELECT payload FROM deliveries")[0]["payload"]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(
        payload["zns"]["send"]["params"],
        json!({"message": "Đang xử lý", "order": "O1"})
    );
}

/// "hello" to `touser` on WeChat, with ZNS template 500 to their phone behind it.
fn custom_send_with_fallback(touser: &str) -> OutboundCall {
    OutboundCall::CustomSend {
        touser: touser.into(),
        message: CustomMessage::Text {
            content: "hello".into(),
        },
        fallback: Some(ZnsSend {
            phone: "0983123148".into(),
            template_id: 500,
            params: None,
        }),
    }
}

#[test]
fn a_closed_window_known_from_the_timeline_or_answered_45015_falls_back_to_zns() {
    let mut world = World::new();
    world.kv.insert(
        kv::RULES.into(),
        json!({"faq": [{"category": "not_delivered", "reply": "Đang xử lý"}],
               "zns_fallback": {"template_id": 500, "params": {"message": "{text}"}}})
        .to_string(),
    );
    // The customer last wrote on WeChat three days ago: the window is closed.
    world
        .run(support::inbound(
            &settings(),
            support::oa_text("oBuyer", "m1", "hi", NOW - 3 * 86_400),
            NOW - 3 * 86_400,
        ))
        .unwrap();
    let event = order_event(
        "evt1",
        "order.delivery_failed",
        json!({"openid": "oBuyer", "phone": "0983123148"}),
    );
    world
        .run(support::inbound(&settings(), event, NOW))
        .unwrap();
    let call: Value = serde_json::from_str(
        world
            .db
            .rows("SELECT payload FROM deliveries WHERE id = 'orders:evt1:faq'")[0]["payload"]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    assert!(call["zns"].is_object(), "{call}");

    world.take_deliveries();
    // Unknown window: WeChat first, and its 45015 hands the message to ZNS on the same ticket.
    let t = ticket(&mut world, None);
    let custom = custom_send_with_fallback("oOther");
    record(&mut world, "c1", &custom, Some(t));
    world.kv.insert(
        kv::ACCESS_TOKEN.into(),
        json!({"access_token": "T", "expires_at": NOW + 7200}).to_string(),
    );
    world.answer([ok(
        r#"{"errcode":45015,"errmsg":"response out of time limit"}"#,
    )]);
    deliver(&mut world, "c1", NOW);
    assert_eq!(state(&world, "c1")["state"], "dead");
    assert_eq!(world.take_deliveries(), ["c1:zns"]);
    let fallback = world
        .db
        .rows("SELECT target, ticket_id FROM deliveries WHERE id = 'c1:zns'");
    assert_eq!(
        fallback,
        [json!({"target": "caresoft_zns", "ticket_id": t})]
    );
    let note = world
        .db
        .rows("SELECT body FROM ticket_timeline WHERE event_key = 'delivery:c1'");
    assert!(note[0]["body"]
        .as_str()
        .unwrap()
        .ends_with("sent as ZNS instead"));
    assert_eq!(
        world
            .db
            .count("SELECT COUNT(*) FROM alerts WHERE dedup_key LIKE 'dead:%'"),
        0,
        "handled: no dead-letter alert"
    );
}

#[test]
fn any_permanent_wechat_refusal_like_an_invalid_openid_falls_back_to_zns() {
    for (errcode, errmsg) in [
        (40003, "invalid openid"),
        (45015, "response out of time limit"),
        (45047, "out of response count limit"),
    ] {
        let mut world = World::new();
        world.kv.insert(
            kv::ACCESS_TOKEN.into(),
            json!({"access_token": "T", "expires_at": NOW + 7200}).to_string(),
        );
        let t = ticket(&mut world, Some("0983123148"));
        record(
            &mut world,
            "c1",
            &custom_send_with_fallback("oGone"),
            Some(t),
        );
        world.answer([ok(&format!(
            r#"{{"errcode":{errcode},"errmsg":"{errmsg}"}}"#
        ))]);
        deliver(&mut world, "c1", NOW);
        assert_eq!(state(&world, "c1")["state"], "dead", "{errcode}");
        assert_eq!(world.take_deliveries(), ["c1:zns"], "{errcode}");
        let note = world
            .db
            .rows("SELECT body FROM ticket_timeline WHERE event_key = 'delivery:c1'");
        assert_eq!(
            note[0]["body"],
            format!("not delivered: errcode {errcode}: {errmsg}; sent as ZNS instead")
        );
    }
    // A refusal worth retrying is retried, not handed to ZNS.
    let mut world = World::new();
    world.kv.insert(
        kv::ACCESS_TOKEN.into(),
        json!({"access_token": "T", "expires_at": NOW + 7200}).to_string(),
    );
    record(&mut world, "c2", &custom_send_with_fallback("oBusy"), None);
    world.answer([ok(r#"{"errcode":-1,"errmsg":"system error"}"#)]);
    deliver(&mut world, "c2", NOW);
    assert_eq!(state(&world, "c2")["state"], "retrying");
    assert_eq!(
        world
            .db
            .count("SELECT COUNT(*) FROM deliveries WHERE id = 'c2:zns'"),
        0
    );
}

fn send(
    world: &mut World,
    body: &str,
    ticket: Option<i64>,
    key: Option<&str>,
    unique: &str,
) -> Result<Sent, Rejection> {
    let settings = settings();
    let mut order = zns::parse(body, ticket.is_some(), &settings)?;
    order.ticket_id = order.ticket_id.or(ticket);
    // The delivery named from the key, without the key's record: the delivery alone is also
    // recorded once (the admin API's key itself is tested in admin_roles.rs).
    let id = zns::delivery_id(key.map(str::to_owned), unique);
    Ok(world
        .run(SendZnsFlow::new(&settings, order, id, None, "admin", NOW))
        .unwrap())
}

#[test]
fn staff_sends_once_per_idempotency_key_and_to_the_tickets_phone() {
    let mut world = World::new();
    let body = r#"{"phone": "0983.123.148", "template_id": 366}"#;
    let first = send(&mut world, body, None, Some("k1"), "u1").unwrap();
    let again = send(&mut world, body, None, Some("k1"), "u2").unwrap();
    let (
        Sent::Queued {
            delivery: a,
            repeated: false,
        },
        Sent::Queued {
            delivery: b,
            repeated: true,
        },
    ) = (first, again)
    else {
        panic!("queued, then repeated");
    };
    assert_eq!(a, b);
    assert_eq!(world.db.count("SELECT COUNT(*) FROM deliveries"), 1);
    assert_eq!(world.take_deliveries(), [a], "sent once");

    let t = ticket(&mut world, Some("+84 983 123 148"));
    let Sent::Queued { delivery, .. } =
        send(&mut world, r#"{"template_id": 7}"#, Some(t), None, "u3").unwrap()
    else {
        panic!("queued");
    };
    let row = &world
        .db
        .rows("SELECT payload, ticket_id FROM deliveries WHERE id = 'zns:u3'")[0];
    assert_eq!(delivery, "zns:u3");
    assert_eq!(row["ticket_id"], t);
    assert!(row["payload"]
        .as_str()
        .unwrap()
        .contains("\"phone\":\"0983123148\""));
    let note = world
        .db
        .rows("SELECT kind, actor, body FROM ticket_timeline");
    assert_eq!(
        note,
        [
            json!({"kind": "agent", "actor": "admin", "body": "ZNS template 7 to 098***148 requested"})
        ]
    );

    let bare = ticket(&mut world, None);
    assert_eq!(
        send(&mut world, r#"{"template_id": 7}"#, Some(bare), None, "u4").unwrap(),
        Sent::Refused(Rejection::Malformed(
            "the ticket has no customer phone".into()
        ))
    );
    assert_eq!(
        send(&mut world, r#"{"template_id": 7}"#, Some(999), None, "u5").unwrap(),
        Sent::Refused(Rejection::NotFound)
    );
}
