//! Answering customers on their own channel (issue 26), on SQLite with the real migrations: a
//! WeChat Shop buyer's FAQ auto-reply and staff replies through `commkf/sendmsg` with the Shop's
//! own token, the send window counted from the timeline (queued sends too) for the Shop and the
//! Official Account, and the count's guard against two replies planned from one read.

mod support;

use kefu_edge::admin::AdminMethod;
use kefu_edge::event::{Platform, QueuedPush};
use kefu_edge::kv;
use kefu_edge::pipeline::delivery::DeliverFlow;
use kefu_edge::reach::{Channel, Contact, Window};
use kefu_edge::settings::Settings;
use kefu_edge::sql::{Statement, StoreError};
use serde_json::{json, Value};
use support::{ok, World};

const NOW: i64 = 1_700_000_000;
const HOUR: i64 = 3600;

fn settings() -> Settings {
    support::settings_with(&[
        ("ADMIN_TOKEN", "owner-token"),
        ("STAFF_TOKENS", "anna:anna-token"),
        ("WECHAT_APPID", "wxoa"),
        ("WECHAT_APPSECRET", "oa-secret"),
        ("SHOP_APPID", "wxshop"),
        ("SHOP_APPSECRET", "shop-secret"),
        ("WECHAT_API_BASE", "http://wechat.test"),
    ])
}

fn rules(world: &mut World) {
    world.kv.insert(
        kv::RULES.into(),
        json!({"faq": [{"keywords": ["发货"], "reply": "24 小时内发货"}]}).to_string(),
    );
}

/// A buyer's text pushed by the Shop, stored by the consumer at `at`.
fn buyer_wrote(
    world: &mut World,
    settings: &Settings,
    openid: &str,
    msg_id: &str,
    content: &str,
    at: i64,
) {
    let push = QueuedPush {
        platform: Platform::Shop,
        received_at: at,
        text: json!({
            "ToUserName": "gh_shop", "FromUserName": openid, "CreateTime": at, "MsgType": "event",
            "Event": "commkf_send_msg_to_kf", "msg_id": msg_id, "msg_type": "text", "text": {"content": content},
        })
        .to_string(),
    };
    world.run(support::inbound(settings, push, at)).unwrap();
}

/// An admin API call as agent anna, answered as status and JSON.
fn call(
    world: &mut World,
    method: AdminMethod,
    path: &str,
    body: &str,
    unique: &str,
    key: Option<&str>,
) -> (u16, Value) {
    let answer = support::AdminCall {
        idempotency_key: key,
        unique,
        ..support::AdminCall::new(method, path, body, "anna-token", NOW)
    }
    .run(world, &settings());
    match answer {
        Ok(reply) => (reply.status, serde_json::from_str(&reply.body).unwrap()),
        Err(refusal) => (refusal.status(), json!({ "error": refusal.to_string() })),
    }
}

fn reply(world: &mut World, ticket: i64, body: &str, unique: &str) -> (u16, Value) {
    let path = format!("/api/tickets/{ticket}/reply");
    call(world, AdminMethod::Post, &path, body, unique, None)
}

/// A reply under an Idempotency-Key.
fn reply_keyed(
    world: &mut World,
    ticket: i64,
    body: &str,
    unique: &str,
    key: &str,
) -> (u16, Value) {
    let path = format!("/api/tickets/{ticket}/reply");
    call(world, AdminMethod::Post, &path, body, unique, Some(key))
}

fn view(world: &mut World, ticket: i64) -> Value {
    let path = format!("/api/tickets/{ticket}");
    call(world, AdminMethod::Get, &path, "", "v", None).1
}

fn deliver(world: &mut World, settings: &Settings, id: &str) {
    world.run(DeliverFlow::new(settings, NOW, 0, id)).unwrap();
}

#[test]
fn a_buyers_faq_keyword_is_answered_once_by_sendmsg_with_the_shops_own_token() {
    let settings = settings();
    let mut world = World::new();
    rules(&mut world);
    buyer_wrote(
        &mut world,
        &settings,
        "oBuyer",
        "7001",
        "什么时候发货",
        NOW - 60,
    );
    // The platform retries the push: the same event, no second answer.
    buyer_wrote(
        &mut world,
        &settings,
        "oBuyer",
        "7001",
        "什么时候发货",
        NOW - 30,
    );
    let deliveries = world
        .db
        .rows("SELECT id, target, recipient, ticket_id IS NOT NULL AS on_ticket FROM deliveries");
    assert_eq!(
        deliveries,
        [
            json!({"id": "shop:msg:7001:faq", "target": "wechat_shop_sendmsg", "recipient": "shop:oBuyer", "on_ticket": 1})
        ]
    );
    world.answer([
        ok(r#"{"access_token":"SHOP-T","expires_in":7200}"#),
        ok(r#"{"errcode":0,"errmsg":"ok","msg_id":"3895464567618158592"}"#),
    ]);
    deliver(&mut world, &settings, "shop:msg:7001:faq");
    let token = &world.requests_to("/cgi-bin/stable_token")[0];
    let asked: Value = serde_json::from_str(token.body.as_deref().unwrap()).unwrap();
    assert_eq!(asked["appid"], "wxshop");
    assert_eq!(asked["secret"], "shop-secret");
    let send = &world.requests_to("/channels/ec/commkf/sendmsg")[0];
    assert_eq!(
        send.url,
        "http://wechat.test/channels/ec/commkf/sendmsg?access_token=SHOP-T"
    );
    let body: Value = serde_json::from_str(send.body.as_deref().unwrap()).unwrap();
    assert_eq!(
        body,
        json!({"request_id": "shop:msg:7001:faq", "open_id": "oBuyer", "msg_type": "text", "text": {"content": "24 小时内发货"}})
    );
    // Cached under the Shop's own key; the OA's token is untouched.
    assert!(world.kv.contains_key(kv::SHOP_ACCESS_TOKEN));
    assert!(!world.kv.contains_key(kv::ACCESS_TOKEN));
    let state = world.db.rows("SELECT state FROM deliveries");
    assert_eq!(state, [json!({"state": "delivered"})]);
}

#[test]
fn a_refused_sendmsg_is_on_the_timeline_with_its_errcode_and_errmsg() {
    let settings = settings();
    let mut world = World::new();
    buyer_wrote(&mut world, &settings, "oBuyer", "7101", "你好", NOW - 60);
    let ticket = world.db.count("SELECT MAX(id) FROM tickets");
    let (status, sent) = reply(
        &mut world,
        ticket,
        r#"{"order_id": "3721712203692901632"}"#,
        "r1",
    );
    assert_eq!(status, 202);
    assert_eq!(sent["channel"], "wechat_shop");
    world.answer([
        ok(r#"{"access_token":"SHOP-T","expires_in":7200}"#),
        ok(r#"{"errcode":9710001,"errmsg":"order not found"}"#),
    ]);
    deliver(&mut world, &settings, "reply:r1");
    let body: Value = serde_json::from_str(
        world.requests_to("/channels/ec/commkf/sendmsg")[0]
            .body
            .as_deref()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(
        body["order_share"],
        json!({"order_id": "3721712203692901632"})
    );
    let lines = world
        .db
        .rows("SELECT body FROM ticket_timeline WHERE kind = 'outbound'");
    assert_eq!(
        lines,
        [json!({"body": "not delivered: errcode 9710001: order not found"})]
    );
}

#[test]
fn a_repeated_card_under_one_key_goes_once_and_another_card_under_it_is_refused() {
    let settings = settings();
    let mut world = World::new();
    buyer_wrote(&mut world, &settings, "oBuyer", "7301", "在吗", NOW - HOUR);
    let ticket = world.db.count("SELECT MAX(id) FROM tickets");
    let card = r#"{"product_id": "100"}"#;
    let (status, first) = reply_keyed(&mut world, ticket, card, "r1", "card-1");
    assert_eq!((status, &first["repeated"]), (202, &json!(false)));
    assert_eq!(first["channel"], "wechat_shop");
    // A double click (another request, another unique id): the first answer, no second send.
    let (status, again) = reply_keyed(&mut world, ticket, card, "r2", "card-1");
    assert_eq!((status, &again["repeated"]), (202, &json!(true)));
    assert_eq!(again["delivery"], first["delivery"]);
    assert_eq!(world.db.count("SELECT COUNT(*) FROM deliveries"), 1);
    // The key's hash covers the raw body: another card under it is refused, nothing sent.
    let other = r#"{"order_id": "372"}"#;
    let (status, _) = reply_keyed(&mut world, ticket, other, "r3", "card-1");
    assert_eq!(status, 422);
    assert_eq!(world.db.count("SELECT COUNT(*) FROM deliveries"), 1);
}

#[test]
fn five_sends_per_buyer_message_counting_queued_ones_and_the_auto_reply() {
    let settings = settings();
    let mut world = World::new();
    rules(&mut world);
    buyer_wrote(
        &mut world,
        &settings,
        "oBuyer",
        "7201",
        "发货了吗",
        NOW - HOUR,
    );
    let ticket = world.db.count("SELECT MAX(id) FROM tickets");
    // The FAQ's auto-reply is one of the five; four replies are left, all still queued.
    for n in 1..=4 {
        let (status, _) = reply(
            &mut world,
            ticket,
            &format!(r#"{{"text": "reply {n}"}}"#),
            &format!("r{n}"),
        );
        assert_eq!(status, 202, "reply {n}");
    }
    let (status, refused) = reply(&mut world, ticket, r#"{"text": "one too many"}"#, "r5");
    assert_eq!(status, 409);
    assert!(refused["error"]
        .as_str()
        .unwrap()
        .contains("the messages the window allows are used"));
    assert_eq!(world.db.count("SELECT COUNT(*) FROM deliveries"), 5);
    let seen = view(&mut world, ticket);
    assert_eq!(
        seen["reach"]["window"],
        json!({"open_until": NOW - HOUR + 48 * HOUR, "sends_left": 0})
    );
    // A dead send never reached the buyer: it gives its place back.
    world
        .db
        .transaction(&[Statement::new(
            "UPDATE deliveries SET state = 'dead' WHERE id = 'reply:r4'",
            vec![],
        )])
        .unwrap();
    assert_eq!(
        reply(&mut world, ticket, r#"{"text": "again"}"#, "r6").0,
        202
    );
    // The buyer writes again: five more.
    buyer_wrote(&mut world, &settings, "oBuyer", "7202", "好的", NOW + 1);
    let seen = view(&mut world, ticket);
    assert_eq!(seen["reach"]["window"]["sends_left"], 5);
    assert_eq!(seen["reach"]["channel"], "wechat_shop");
}

#[test]
fn the_count_guard_refuses_a_send_planned_from_an_older_read() {
    let mut world = World::new();
    let settings = settings();
    buyer_wrote(&mut world, &settings, "oBuyer", "7301", "hi", NOW - 60);
    let read = |world: &World| -> Contact {
        let rows = world.db.query(&Channel::Shop.contact_query("oBuyer"));
        serde_json::from_value(rows[0].clone()).unwrap()
    };
    let insert = |n: i64| {
        Statement::new(
            "INSERT INTO deliveries (id, target, payload, state, created_at, updated_at, next_attempt_at, recipient) \
             VALUES (?, 'wechat_shop_sendmsg', '{}', 'pending', ?, ?, ?, 'shop:oBuyer')",
            vec![format!("d{n}").into(), NOW.into(), NOW.into(), NOW.into()],
        )
    };
    for n in 0..4 {
        world.db.transaction(&[insert(n)]).unwrap();
    }
    let contact = read(&world);
    assert_eq!(contact.sent_since_message, 4);
    assert_eq!(contact.last_message_at, Some(NOW - 60));
    // Two replies planned from this read: one window slot left, the second one's guard refuses.
    let window: Window = Channel::Shop.window(&contact, NOW);
    assert_eq!(window.sends_left, 1);
    let guard = window.guard("shop:oBuyer").unwrap();
    world.db.transaction(&[guard.clone(), insert(10)]).unwrap();
    assert_eq!(
        world.db.transaction(&[guard, insert(11)]),
        Err(StoreError::Conflict)
    );
    assert_eq!(world.db.count("SELECT COUNT(*) FROM deliveries"), 5);
}

#[test]
fn the_official_account_counts_its_own_window_and_a_clicks_minute() {
    let settings = settings();
    let mut world = World::new();
    world
        .run(support::inbound(
            &settings,
            support::oa_event("oFan", "CLICK", "<EventKey>MENU_1</EventKey>", NOW - 20),
            NOW - 20,
        ))
        .unwrap();
    let read = |world: &World| -> Contact {
        let rows = world.db.query(&Channel::Oa.contact_query("oFan"));
        serde_json::from_value(rows[0].clone()).unwrap()
    };
    let clicked = read(&world);
    assert_eq!(clicked.last_message_at, None);
    assert_eq!(clicked.last_interaction_at, Some(NOW - 20));
    let window = Channel::Oa.window(&clicked, NOW);
    assert_eq!((window.open_until, window.sends_left), (Some(NOW + 40), 3));
    // The customer writes: their ticket's reply goes by custom/send and counts against both.
    world
        .run(support::inbound(
            &settings,
            support::oa_text("oFan", "9001", "hello", NOW - 10),
            NOW - 10,
        ))
        .unwrap();
    let ticket = world.db.count("SELECT MAX(id) FROM tickets");
    assert_eq!(reply(&mut world, ticket, r#"{"text": "hi"}"#, "o1").0, 202);
    let recorded = world.db.rows("SELECT recipient, target FROM deliveries");
    assert_eq!(
        recorded,
        [json!({"recipient": "oa:oFan", "target": "wechat_custom_send"})]
    );
    let both = read(&world);
    assert_eq!(
        (both.sent_since_message, both.sent_since_interaction),
        (1, 1)
    );
    assert_eq!(Channel::Oa.window(&both, NOW).sends_left, 4);
    // Cards are the Shop's.
    assert_eq!(
        reply(&mut world, ticket, r#"{"product_id": "100"}"#, "o2").0,
        409
    );
}
