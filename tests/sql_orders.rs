//! What each card-shop webhook event does, run as the consumer runs it on SQLite with the real
//! migrations; and the undelivered-order watch.

mod support;

use kefu_edge::kv;
use kefu_edge::pipeline::cron::undelivered_orders;
use kefu_edge::settings::Settings;
use serde_json::{json, Value};
use support::World;

const NOW: i64 = 1_732_400_000;
const HOUR: i64 = 3600;

fn settings() -> Settings {
    Settings::from_lookup(|_| None)
}

fn event(id: &str, kind: &str, extra: Value) -> Value {
    let mut body = json!({
        "id": id, "type": kind, "created_at": NOW,
        "order": {"id": "O1", "trans_id": "4200001", "amount": 1990, "currency": "CNY",
                  "product": "Steam 100元 充值卡", "goods_kind": "virtual", "paid_at": NOW - 100},
        "customer": {"openid": "oBuyer", "phone": "0983123148", "name": "Nguyễn Hải Hà"},
    });
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    body
}

fn store(world: &mut World, body: Value, now: i64) -> String {
    world
        .run(support::inbound(
            &settings(),
            support::order_event(&body, now),
            now,
        ))
        .unwrap()
}

fn rules(world: &mut World, doc: Value) {
    world.kv.insert(kv::RULES.into(), doc.to_string());
}

#[test]
fn a_paid_order_is_stored_and_watched() {
    let mut world = World::new();
    store(&mut world, event("e1", "order.paid", json!({})), NOW);
    let o = &world.db.rows("SELECT * FROM orders")[0];
    assert_eq!(o["status"], "paid");
    assert_eq!(o["customer_name"], "Nguyễn Hải Hà");
    assert_eq!(o["deliver_by"], NOW - 100 + 24 * HOUR);
    assert_eq!(o["deliver_warn_at"], NOW - 100 + 18 * HOUR);
    assert_eq!(world.db.count("SELECT COUNT(*) FROM tickets"), 0);
}

#[test]
fn later_events_fill_in_and_never_blank_or_go_back_to_paid() {
    let mut world = World::new();
    store(
        &mut world,
        event(
            "e1",
            "order.delivered",
            json!({"order": {"id": "O1", "delivered_at": NOW}}),
        ),
        NOW,
    );
    store(
        &mut world,
        event(
            "e2",
            "order.paid",
            json!({"order": {"id": "O1", "product": "Steam"}}),
        ),
        NOW + 5,
    );
    let o = &world
        .db
        .rows("SELECT status, product, delivered_at, deliver_by FROM orders")[0];
    assert_eq!(
        o["status"], "delivered",
        "a late order.paid does not undo delivery"
    );
    assert_eq!(o["product"], "Steam");
    assert_eq!(o["delivered_at"], NOW);
    assert!(
        o["deliver_by"].is_null(),
        "a delivered order is not watched"
    );
    let blank = event(
        "e3",
        "order.delayed",
        json!({"order": {"id": "O1"}, "customer": {}}),
    );
    store(&mut world, blank, NOW + 6);
    let o = &world
        .db
        .rows("SELECT status, product, customer_phone FROM orders")[0];
    assert_eq!(
        (o["status"].as_str(), o["product"].as_str()),
        (Some("delayed"), Some("Steam"))
    );
    assert_eq!(o["customer_phone"], "0983123148");
}

#[test]
fn a_problem_opens_the_orders_ticket_routed_alerted_and_auto_replied_once() {
    let mut world = World::new();
    rules(
        &mut world,
        json!({
            "faq": [{"category": "not_delivered", "reply": "卡密会在 5 分钟内补发"}],
            "routes": [{"category": "not_delivered", "kf_accounts": ["anna@gh_shop", "bob@gh_shop"]}],
        }),
    );
    let failed = event(
        "e1",
        "order.delivery_failed",
        json!({"message": "付款成功但没收到卡密"}),
    );
    store(&mut world, failed.clone(), NOW);
    let t = &world.db.rows("SELECT * FROM tickets")[0];
    assert_eq!(t["channel"], "orders");
    assert_eq!(t["customer_id"], "O1");
    assert_eq!(t["order_id"], "O1");
    assert_eq!(t["category"], "not_delivered");
    assert_eq!(t["priority"], "high");
    assert_eq!(t["assignee"], "anna@gh_shop");
    assert_eq!(t["customer_phone"], "0983123148");
    assert_eq!(t["customer_openid"], "oBuyer");
    let alert = world.db.rows("SELECT text FROM alerts")[0]["text"].clone();
    assert_eq!(
        alert,
        "New card-shop ticket (not_delivered) for order O1 · Steam 100元 充值卡 · 19.90 CNY · Nguyễn Hải Hà 098***148: 付款成功但没收到卡密"
    );
    assert_eq!(world.take_deliveries(), ["orders:e1:faq"]);
    let d = &world
        .db
        .rows("SELECT target, payload, ticket_id FROM deliveries")[0];
    assert_eq!(d["ticket_id"], t["id"]);
    assert!(d["payload"]
        .as_str()
        .unwrap()
        .contains("卡密会在 5 分钟内补发"));

    // Retries of the same event change nothing.
    for _ in 0..3 {
        assert!(store(&mut world, failed.clone(), NOW + 1).starts_with("duplicate"));
    }
    // A second problem on the same order appends to its ticket, without a second alert.
    store(
        &mut world,
        event("e2", "card.invalid", json!({"message": "卡密无效"})),
        NOW + 10,
    );
    assert_eq!(world.db.count("SELECT COUNT(*) FROM tickets"), 1);
    assert_eq!(world.db.count("SELECT COUNT(*) FROM ticket_timeline"), 2);
    assert_eq!(world.db.count("SELECT COUNT(*) FROM alerts"), 1);
    assert_eq!(world.db.count("SELECT COUNT(*) FROM events"), 2);
}

#[test]
fn categories_follow_the_event_type_and_a_submitted_ticket_its_own() {
    for (kind, extra, category, priority) in [
        ("order.delivery_failed", json!({}), "not_delivered", "high"),
        ("card.invalid", json!({}), "invalid_card", "high"),
        ("order.delayed", json!({}), "delayed", "normal"),
        ("refund.requested", json!({}), "refund", "normal"),
        (
            "ticket.submitted",
            json!({"category": "invalid_card"}),
            "invalid_card",
            "normal",
        ),
        ("ticket.submitted", json!({}), "general", "normal"),
    ] {
        let mut world = World::new();
        store(&mut world, event("e", kind, extra), NOW);
        let t = &world.db.rows("SELECT category, priority FROM tickets")[0];
        assert_eq!(
            (t["category"].as_str(), t["priority"].as_str()),
            (Some(category), Some(priority)),
            "{kind}"
        );
    }
}

#[test]
fn without_an_openid_or_a_matching_rule_no_auto_reply_is_recorded() {
    let mut world = World::new();
    rules(
        &mut world,
        json!({"faq": [{"keywords": ["退款"], "reply": "refunds take 3 days"}]}),
    );
    store(
        &mut world,
        event("e1", "order.delayed", json!({"message": "still waiting"})),
        NOW,
    );
    store(
        &mut world,
        event(
            "e2",
            "refund.requested",
            json!({"message": "我要退款", "customer": {"phone": "0983123148"}}),
        ),
        NOW,
    );
    assert_eq!(world.db.count("SELECT COUNT(*) FROM deliveries"), 0);
    // Keywords in the message match when the customer can be reached.
    store(
        &mut world,
        event("e3", "refund.requested", json!({"message": "我要退款"})),
        NOW,
    );
    assert_eq!(world.take_deliveries(), ["orders:e3:faq"]);
}

#[test]
fn a_refund_that_succeeds_resolves_the_refund_ticket_and_tells_the_customer_once() {
    let mut world = World::new();
    store(
        &mut world,
        event(
            "e1",
            "refund.requested",
            json!({"message": "refund please"}),
        ),
        NOW,
    );
    world.take_queued();
    let succeeded = event("e2", "refund.succeeded", json!({}));
    store(&mut world, succeeded.clone(), NOW + 60);
    store(&mut world, succeeded, NOW + 61);
    let t = &world.db.rows("SELECT status, resolved_at FROM tickets")[0];
    assert_eq!(
        (t["status"].as_str(), t["resolved_at"].as_i64()),
        (Some("resolved"), Some(NOW + 60))
    );
    assert_eq!(world.take_deliveries(), ["orders:e2:refund_notice"]);
    assert_eq!(
        world.db.rows("SELECT status FROM orders")[0]["status"],
        "refunded"
    );
    // Without a refund ticket the order is just marked refunded.
    let mut quiet = World::new();
    store(&mut quiet, event("e9", "refund.succeeded", json!({})), NOW);
    assert_eq!(quiet.db.count("SELECT COUNT(*) FROM deliveries"), 0);
    assert_eq!(
        quiet.db.rows("SELECT status FROM orders")[0]["status"],
        "refunded"
    );
}

#[test]
fn an_unknown_type_is_kept_and_acts_on_nothing() {
    let mut world = World::new();
    store(&mut world, event("e1", "order.teleported", json!({})), NOW);
    assert_eq!(
        world.db.rows("SELECT order_id FROM events"),
        [json!({"order_id": "O1"})],
        "kept, found by its order"
    );
    assert_eq!(
        world.db.count("SELECT COUNT(*) FROM orders"),
        0,
        "no order row"
    );
    assert_eq!(world.db.count("SELECT COUNT(*) FROM tickets"), 0);
    assert_eq!(world.db.count("SELECT COUNT(*) FROM alerts"), 0);
    assert_eq!(world.db.count("SELECT COUNT(*) FROM deliveries"), 0);
}

// The constraint audit of the card-shop planner: each valid event a shop can send (and that
// was answered 200) is stored, whatever the orders before it.

#[test]
fn two_orders_paid_by_one_transaction_are_both_stored() {
    let mut world = World::new();
    let order =
        |id: &str| json!({"order": {"id": id, "trans_id": "4200009", "goods_kind": "virtual"}});
    store(&mut world, event("e1", "order.paid", order("O1")), NOW);
    let second = store(&mut world, event("e2", "order.paid", order("O2")), NOW);
    assert!(second.starts_with("stored"), "{second}");
    assert_eq!(
        world.db.rows("SELECT id, trans_id FROM orders ORDER BY id"),
        [
            json!({"id": "O1", "trans_id": "4200009"}),
            json!({"id": "O2", "trans_id": "4200009"})
        ]
    );
}

#[test]
fn an_empty_trans_id_is_none_and_shared_by_any_number_of_orders() {
    let mut world = World::new();
    for (n, id) in ["O1", "O2", "O3"].into_iter().enumerate() {
        let body = event(
            &format!("e{n}"),
            "order.paid",
            json!({"order": {"id": id, "trans_id": ""}}),
        );
        assert!(store(&mut world, body, NOW).starts_with("stored"));
    }
    assert_eq!(
        world
            .db
            .count("SELECT COUNT(*) FROM orders WHERE trans_id IS NULL"),
        3
    );
    // A later event with the real transaction fills it in; a blank one never blanks it.
    let real = json!({"order": {"id": "O1", "trans_id": "4200010"}});
    store(&mut world, event("e9", "order.delivered", real), NOW);
    let blank = json!({"order": {"id": "O1", "trans_id": "  "}});
    store(&mut world, event("e10", "order.delayed", blank), NOW);
    assert_eq!(
        world.db.rows("SELECT trans_id FROM orders WHERE id = 'O1'")[0]["trans_id"],
        "4200010"
    );
}

#[test]
fn an_empty_openid_is_none_so_the_auto_reply_goes_by_zns_or_not_at_all() {
    let mut world = World::new();
    rules(
        &mut world,
        json!({"faq": [{"category": "not_delivered", "reply": "re-sent"}],
               "zns_fallback": {"template_id": 500, "params": {"message": "{text}"}}}),
    );
    let blank = json!({"customer": {"openid": "", "phone": "0983123148", "email": "", "name": ""}});
    store(&mut world, event("e1", "order.delivery_failed", blank), NOW);
    let o = &world
        .db
        .rows("SELECT customer_openid, customer_email, customer_name FROM orders")[0];
    assert_eq!(
        o,
        &json!({"customer_openid": null, "customer_email": null, "customer_name": null})
    );
    assert!(world.db.rows("SELECT customer_openid FROM tickets")[0]["customer_openid"].is_null());
    let payload = world.db.rows("SELECT payload FROM deliveries")[0]["payload"].clone();
    let call: Value = serde_json::from_str(payload.as_str().unwrap()).unwrap();
    assert!(
        call["zns"].is_object(),
        "by ZNS, not to an empty OpenID: {call}"
    );
}

#[test]
fn amounts_in_alerts_and_zns_params_respect_the_currencys_minor_unit() {
    let mut world = World::new();
    rules(
        &mut world,
        json!({"zns": [{"on": "order.delivery_failed", "template_id": 366,
                        "params": {"amount": "{order.amount}", "currency": "{order.currency}"}}]}),
    );
    let vnd = json!({"order": {"id": "O1", "amount": 199000, "currency": "VND"}});
    store(&mut world, event("e1", "order.delivery_failed", vnd), NOW);
    let alert = world.db.rows("SELECT text FROM alerts")[0]["text"].clone();
    assert!(
        alert.as_str().unwrap().contains(" · 199000 VND · "),
        "{alert}"
    );
    let payload = world.db.rows("SELECT payload FROM deliveries")[0]["payload"].clone();
    let call: Value = serde_json::from_str(payload.as_str().unwrap()).unwrap();
    assert_eq!(
        call["zns"]["send"]["params"],
        json!({"amount": "199000 VND", "currency": "VND"})
    );
}

#[test]
fn an_event_id_like_another_events_note_is_stored_all_the_same() {
    let mut world = World::new();
    rules(
        &mut world,
        json!({"zns": [{"on": "order.delivery_failed", "template_id": 366}]}),
    );
    // Event "x" notes on the order's ticket that its ZNS could not go to this phone...
    let no_mobile = json!({"customer": {"phone": "12"}});
    store(
        &mut world,
        event("x", "order.delivery_failed", no_mobile.clone()),
        NOW,
    );
    // ...and the shop's next event is named "x:zns:0".
    let next = store(
        &mut world,
        event("x:zns:0", "order.delivery_failed", no_mobile),
        NOW,
    );
    assert!(next.starts_with("stored"), "{next}");
    assert_eq!(world.db.count("SELECT COUNT(*) FROM ticket_timeline"), 4);
}

#[test]
fn orders_edited_with_an_empty_trans_id_share_none() {
    use kefu_edge::orders::OrderRecord;
    let mut world = World::new();
    let record: OrderRecord = serde_json::from_value(json!({"trans_id": ""})).unwrap();
    let edits = [record.upsert("O1", NOW), record.upsert("O2", NOW)];
    world.db.transaction(&edits).unwrap();
    assert_eq!(
        world
            .db
            .count("SELECT COUNT(*) FROM orders WHERE trans_id IS NULL"),
        2
    );
}

#[test]
fn a_complaint_about_a_transaction_matches_every_order_it_paid() {
    use kefu_edge::platforms::payfeedback::MsgType;
    let mut world = World::new();
    let physical = json!({"order": {"id": "O1", "trans_id": "4200001", "goods_kind": "physical"}});
    let r#virtual = json!({"order": {"id": "O2", "trans_id": "4200001", "goods_kind": "virtual"}});
    store(&mut world, event("e1", "order.paid", physical), NOW);
    store(&mut world, event("e2", "order.paid", r#virtual), NOW);
    let queued =
        support::complaint_notification("f1", "oBuyer", MsgType::Request, NOW, Some("4200001"));
    world
        .run(support::inbound(&settings(), queued, NOW))
        .unwrap();
    assert_eq!(
        world.db.count("SELECT deadline FROM complaints"),
        NOW + 86_400,
        "the strictest of its orders: virtual, not delivered"
    );
    for order in ["O1", "O2"] {
        let complaints = world.db.query(&kefu_edge::sql::Statement::new(
            kefu_edge::orders::ORDER_COMPLAINTS_SQL,
            vec![order.into()],
        ));
        assert_eq!(complaints.len(), 1, "{order}");
    }
}

#[test]
fn an_undelivered_order_is_warned_then_alerted_overdue_once_each() {
    let mut world = World::new();
    let physical =
        json!({"order": {"id": "O1", "goods_kind": "physical", "paid_at": NOW, "product": "耳机"}});
    store(&mut world, event("e1", "order.paid", physical), NOW);
    let watch = |world: &mut World, at: i64| world.run(undelivered_orders(at)).unwrap();
    watch(&mut world, NOW + 53 * HOUR);
    assert_eq!(
        world.db.count("SELECT COUNT(*) FROM alerts"),
        0,
        "before 75% of 72 h"
    );
    watch(&mut world, NOW + 54 * HOUR);
    watch(&mut world, NOW + 55 * HOUR);
    let alerts = world.db.rows("SELECT dedup_key, text FROM alerts");
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0]["dedup_key"], "order:O1:warning");
    assert!(
        alerts[0]["text"].as_str().unwrap().contains("18 h left"),
        "{}",
        alerts[0]["text"]
    );
    watch(&mut world, NOW + 72 * HOUR);
    watch(&mut world, NOW + 73 * HOUR);
    let overdue = world
        .db
        .rows("SELECT text FROM alerts WHERE dedup_key = 'order:O1:overdue'");
    assert_eq!(overdue.len(), 1);
    assert!(overdue[0]["text"]
        .as_str()
        .unwrap()
        .contains("past its 72 h delivery window"));
}

#[test]
fn an_order_found_overdue_gets_one_alert_and_a_delivered_one_none() {
    let mut world = World::new();
    let late = json!({"order": {"id": "O1", "paid_at": NOW - 25 * HOUR}});
    store(&mut world, event("e1", "order.paid", late), NOW);
    let delivered = json!({"order": {"id": "O2", "paid_at": NOW - 25 * HOUR}});
    store(&mut world, event("e2", "order.paid", delivered), NOW);
    store(
        &mut world,
        event("e3", "order.delivered", json!({"order": {"id": "O2"}})),
        NOW,
    );
    world.run(undelivered_orders(NOW)).unwrap();
    world.run(undelivered_orders(NOW + 60)).unwrap();
    let alerts = world.db.rows("SELECT dedup_key, text FROM alerts");
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert_eq!(alerts[0]["dedup_key"], "order:O1:overdue");
    assert!(alerts[0]["text"]
        .as_str()
        .unwrap()
        .contains("paid 25 h ago"));
}

#[test]
fn a_complaint_on_a_webhook_order_gets_that_orders_deadline() {
    use kefu_edge::platforms::payfeedback::MsgType;
    let mut world = World::new();
    let physical = json!({"order": {"id": "O1", "trans_id": "4200001", "goods_kind": "physical"}});
    store(&mut world, event("e1", "order.paid", physical), NOW);
    let queued =
        support::complaint_notification("f1", "oBuyer", MsgType::Request, NOW, Some("4200001"));
    world
        .run(support::inbound(&settings(), queued, NOW))
        .unwrap();
    assert_eq!(
        world.db.count("SELECT deadline FROM complaints"),
        NOW + 2 * 86_400,
        "physical, not delivered"
    );
}

#[test]
fn migration_0012_keeps_every_row_and_lets_orders_share_a_transaction() {
    use kefu_edge::sql::Statement;
    let mut world = World::new();
    world.db = support::Db::migrated_before("0012");
    let insert = |sql: &'static str| Statement::new(sql, vec![]);
    world
        .db
        .transaction(&[
            insert(
                "INSERT INTO orders (id, trans_id, goods_kind, status, amount, currency, customer_openid, paid_at, updated_at, customer_phone, deliver_by) \
                 VALUES ('O1', '4200001', 'physical', 'paid', 1990, 'CNY', 'oBuyer', 10, 20, '0983123148', 30), \
                        ('O2', '', NULL, 'delivered', NULL, NULL, '', NULL, 21, NULL, NULL)",
            ),
            insert(
                "INSERT INTO events (dedup_key, kind, payload, received_at, stored_at) VALUES \
                 ('orders:e1', 'order', '{\"kind\":\"order\",\"id\":\"e1\",\"order\":{\"id\":\"O1\"}}', 1, 1), \
                 ('oa:msg:1', 'oa_message', '{\"kind\":\"oa_message\"}', 2, 2)",
            ),
            insert(
                "INSERT INTO tickets (channel, customer_id, order_id, opened_by, created_at, updated_at, first_response_due, resolution_due, customer_openid) \
                 VALUES ('orders', 'O2', 'O2', 'orders:e0', 1, 1, 2, 3, '')",
            ),
        ])
        .unwrap();
    world.db.execute_batch(include_str!(
        "../migrations/0012_orders_share_transactions_and_reads_by_index.sql"
    ));
    assert_eq!(
        world.db.rows("SELECT id, trans_id, goods_kind, status, amount, currency, customer_openid, paid_at, updated_at, customer_phone, deliver_by FROM orders ORDER BY id"),
        [
            json!({"id": "O1", "trans_id": "4200001", "goods_kind": "physical", "status": "paid", "amount": 1990, "currency": "CNY",
                   "customer_openid": "oBuyer", "paid_at": 10, "updated_at": 20, "customer_phone": "0983123148", "deliver_by": 30}),
            json!({"id": "O2", "trans_id": null, "goods_kind": null, "status": "delivered", "amount": null, "currency": null,
                   "customer_openid": null, "paid_at": null, "updated_at": 21, "customer_phone": null, "deliver_by": null}),
        ]
    );
    assert_eq!(
        world
            .db
            .rows("SELECT dedup_key, order_id FROM events ORDER BY id"),
        [
            json!({"dedup_key": "orders:e1", "order_id": "O1"}),
            json!({"dedup_key": "oa:msg:1", "order_id": null})
        ],
        "backfilled"
    );
    assert!(world.db.rows("SELECT customer_openid FROM tickets")[0]["customer_openid"].is_null());
    // Today's code, on today's schema.
    world.db.migrate_from("0013");
    // What the UNIQUE refused: a second order of the same transaction.
    let shared = json!({"order": {"id": "O3", "trans_id": "4200001"}});
    assert!(store(&mut world, event("e3", "order.paid", shared), NOW).starts_with("stored"));
    assert_eq!(
        world
            .db
            .count("SELECT COUNT(*) FROM orders WHERE trans_id = '4200001'"),
        2
    );
}
