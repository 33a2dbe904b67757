//! The admin API's decisions (who may call it, which route, what it reads or writes, what it
//! answers), run as the Worker runs them, on SQLite with the real migrations.

mod support;

use kefu_edge::admin::{admit, AdminMethod};
use kefu_edge::inline::{Rejection, Reply};
use kefu_edge::kv;
use kefu_edge::settings::Settings;
use kefu_edge::sql::Statement;
use serde_json::{json, Value};
use support::World;

const NOW: i64 = 1_700_000_000;
const TOKEN: &str = "admin-s3cret";

fn settings() -> Settings {
    Settings::from_lookup(|name| (name == "ADMIN_TOKEN").then(|| TOKEN.to_owned()))
}

fn call(
    world: &mut World,
    method: AdminMethod,
    path: &str,
    body: &str,
) -> Result<Reply, Rejection> {
    call_as(
        world,
        method,
        path,
        body,
        Some(&format!("Bearer {TOKEN}")),
        None,
    )
}

fn call_as(
    world: &mut World,
    method: AdminMethod,
    path: &str,
    body: &str,
    authorization: Option<&str>,
    idempotency_key: Option<&str>,
) -> Result<Reply, Rejection> {
    support::AdminCall {
        authorization: authorization.map(str::to_owned),
        idempotency_key,
        ..support::AdminCall::new(method, path, body, "", NOW)
    }
    .run(world, &settings())
}

fn json_of(reply: Reply) -> (u16, Value) {
    (reply.status, serde_json::from_str(&reply.body).unwrap())
}

fn ticket(world: &mut World, customer: &str, status: &str) {
    world
        .db
        .transaction(&[Statement::new(
            "INSERT INTO tickets (channel, customer_id, status, opened_by, created_at, updated_at, first_response_due, resolution_due, first_response_at, resolved_at) \
             VALUES ('oa', ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            vec![customer.into(), status.into(), customer.into(), (NOW - 7200).into(), NOW.into(), (NOW - 3600).into(), (NOW + 3600).into(), (NOW - 7000).into(), (status == "resolved").then_some(NOW - 3600).into()],
        )])
        .unwrap();
}

#[test]
fn only_the_bearer_of_the_admin_token_gets_in() {
    let mut world = World::new();
    for auth in [None, Some("Bearer wrong"), Some(TOKEN)] {
        let refused =
            call_as(&mut world, AdminMethod::Get, "/api/tickets", "", auth, None).unwrap_err();
        assert_eq!(
            (refused.status(), refused.to_string().as_str()),
            (401, "missing or wrong bearer token")
        );
    }
    let settings = Settings::from_lookup(|_| None);
    let closed = admit(
        AdminMethod::Get,
        "/api/tickets",
        Some("Bearer x"),
        &settings,
    )
    .err()
    .unwrap();
    assert_eq!(
        (closed.status(), closed.to_string().as_str()),
        (500, "missing setting ADMIN_TOKEN")
    );
    assert!(
        world.effects.is_empty(),
        "nothing is read for a refused caller"
    );
}

#[test]
fn unknown_routes_and_ids_are_404() {
    let mut world = World::new();
    for (method, path) in [
        (AdminMethod::Get, "/api/nope"),
        (AdminMethod::Other, "/api/tickets"),
        (AdminMethod::Get, "/api/tickets/abc"),
        (AdminMethod::Get, "/api/tickets/42"),
        (AdminMethod::Post, "/api/dead-letters/x/replay"),
        (AdminMethod::Get, "/api/orders/missing"),
    ] {
        assert_eq!(
            call(&mut world, method, path, "").unwrap_err(),
            Rejection::NotFound,
            "{path}"
        );
    }
}

#[test]
fn lists_filter_and_are_bounded() {
    let mut world = World::new();
    for i in 0..5 {
        ticket(
            &mut world,
            &format!("c{i}"),
            if i % 2 == 0 { "open" } else { "resolved" },
        );
    }
    let (status, body) =
        json_of(call(&mut world, AdminMethod::Get, "/api/tickets?status=open", "").unwrap());
    assert_eq!(status, 200);
    assert_eq!(body["tickets"].as_array().unwrap().len(), 3);
    let (_, body) =
        json_of(call(&mut world, AdminMethod::Get, "/api/tickets?limit=2", "").unwrap());
    assert_eq!(body["tickets"].as_array().unwrap().len(), 2);
    let (_, body) =
        json_of(call(&mut world, AdminMethod::Get, "/api/tickets?limit=0", "").unwrap());
    assert_eq!(body["tickets"].as_array().unwrap().len(), 1, "at least one");
    let (_, body) = json_of(call(&mut world, AdminMethod::Get, "/api/tickets/1", "").unwrap());
    assert_eq!(body["ticket"]["customer_id"], "c0");
    assert_eq!(body["timeline"], json!([]));
    world.db_down = true;
    let down = call(&mut world, AdminMethod::Get, "/api/events", "").unwrap_err();
    assert_eq!(down.status(), 503);
}

#[test]
fn rules_are_validated_before_they_are_stored() {
    let mut world = World::new();
    let (_, empty) = json_of(call(&mut world, AdminMethod::Get, "/api/rules", "").unwrap());
    assert_eq!(empty, json!({}));
    let refused = call(
        &mut world,
        AdminMethod::Put,
        "/api/rules",
        r#"{"faq":[{"keywords":[],"reply":"x"}]}"#,
    )
    .unwrap_err();
    assert_eq!(refused.status(), 400);
    assert!(refused.to_string().contains("faq[0].keywords"), "{refused}");
    assert!(world.kv.is_empty(), "nothing stored");
    let doc = r#"{"faq":[{"keywords":["卡密"],"reply":"see orders"}]}"#;
    let (status, stored) = json_of(call(&mut world, AdminMethod::Put, "/api/rules", doc).unwrap());
    assert_eq!(status, 200);
    assert_eq!(stored["faq"][0]["reply"], "see orders");
    assert_eq!(
        serde_json::from_str::<Value>(&world.kv[kv::RULES]).unwrap(),
        stored
    );
    let (_, read) = json_of(call(&mut world, AdminMethod::Get, "/api/rules", "").unwrap());
    assert_eq!(read, stored);
}

#[test]
fn orders_are_recorded_and_read_with_what_hangs_on_them() {
    let mut world = World::new();
    let bad = call(
        &mut world,
        AdminMethod::Put,
        "/api/orders/O1",
        r#"{"goods_kind":"spaceship"}"#,
    )
    .unwrap_err();
    assert_eq!(bad.status(), 400);
    let (status, body) = json_of(
        call(
            &mut world,
            AdminMethod::Put,
            "/api/orders/O1",
            r#"{"trans_id":"T1","goods_kind":"physical"}"#,
        )
        .unwrap(),
    );
    assert_eq!((status, body), (200, json!({"order": "O1"})));
    let (_, detail) = json_of(call(&mut world, AdminMethod::Get, "/api/orders/O1", "").unwrap());
    assert_eq!(detail["order"]["goods_kind"], "physical");
    assert_eq!(
        (
            detail["tickets"].clone(),
            detail["complaints"].clone(),
            detail["events"].clone()
        ),
        (json!([]), json!([]), json!([]))
    );
    let (_, list) =
        json_of(call(&mut world, AdminMethod::Get, "/api/orders?status=paid", "").unwrap());
    assert_eq!(list["orders"].as_array().unwrap().len(), 1);
}

#[test]
fn stats_count_per_status_and_summarize_per_channel_and_category() {
    let mut world = World::new();
    ticket(&mut world, "a", "open");
    ticket(&mut world, "b", "resolved");
    let (status, stats) = json_of(call(&mut world, AdminMethod::Get, "/api/stats", "").unwrap());
    assert_eq!(status, 200);
    assert_eq!(stats["period_days"], 30);
    assert_eq!(stats["tickets_by_status"].as_array().unwrap().len(), 2);
    let summary = &stats["by_channel_and_category"][0];
    assert_eq!(
        (summary["channel"].as_str(), summary["opened"].as_i64()),
        (Some("oa"), Some(2))
    );
    assert_eq!(summary["resolution_rate"], 0.5);
    assert_eq!(summary["first_response"]["avg_secs"], 200);
    assert!(stats.get("ticket_times").is_none());
    assert_eq!(
        stats["response_times"],
        json!({"avg_first_response_secs": 200.0, "avg_resolution_secs": 3600.0, "first_response_overdue": 0})
    );
    // Response times are of the last 30 days; an unanswered ticket past its due time is overdue
    // however old it is.
    world
        .db
        .transaction(&[Statement::new(
            "INSERT INTO tickets (channel, customer_id, status, opened_by, created_at, updated_at, first_response_due, resolution_due, first_response_at) \
             VALUES ('oa', 'old', 'open', 'old', ?1, ?1, ?1, ?1, NULL), ('oa', 'older', 'closed', 'older', ?1, ?1, ?1, ?1, ?2)",
            vec![(NOW - 40 * 86_400).into(), (NOW - 39 * 86_400).into()],
        )])
        .unwrap();
    let (_, stats) = json_of(call(&mut world, AdminMethod::Get, "/api/stats", "").unwrap());
    assert_eq!(
        stats["response_times"],
        json!({"avg_first_response_secs": 200.0, "avg_resolution_secs": 3600.0, "first_response_overdue": 1})
    );
}

#[test]
fn resolve_answers_what_the_flow_did() {
    let mut world = World::new();
    assert_eq!(
        call(
            &mut world,
            AdminMethod::Post,
            "/api/complaints/f1/resolve",
            "{}"
        )
        .unwrap_err(),
        Rejection::NotFound
    );
    let bad = call(
        &mut world,
        AdminMethod::Post,
        "/api/complaints/f1/resolve",
        r#"{"msg":1}"#,
    )
    .unwrap_err();
    assert!(
        bad.to_string().starts_with("invalid resolve request"),
        "{bad}"
    );
    world
        .db
        .transaction(&[Statement::new(
            "INSERT INTO complaints (feedback_id, openid, status, opened_at, deadline, warning_due, updated_at) VALUES ('f1', 'oU', 'open', 0, 1, 1, 0)",
            vec![],
        )])
        .unwrap();
    let bearer = format!("Bearer {TOKEN}");
    let resolve_k1 = |world: &mut World| {
        let path = "/api/complaints/f1/resolve";
        call_as(
            world,
            AdminMethod::Post,
            path,
            "",
            Some(&bearer),
            Some("k1"),
        )
        .unwrap()
    };
    let first = resolve_k1(&mut world);
    let (status, body) = json_of(first);
    assert_eq!((status, body["repeated"].as_bool()), (202, Some(false)));
    let again = resolve_k1(&mut world);
    let (_, repeat) = json_of(again);
    assert_eq!(
        (repeat["repeated"].as_bool(), &repeat["deliveries"]),
        (Some(true), &body["deliveries"])
    );
    world
        .db
        .transaction(&[Statement::new(
            "UPDATE complaints SET status = 'closed'",
            vec![],
        )])
        .unwrap();
    let closed = call(
        &mut world,
        AdminMethod::Post,
        "/api/complaints/f1/resolve",
        "{}",
    )
    .unwrap_err();
    assert_eq!(closed.status(), 409);
}

#[test]
fn dead_letters_and_parked_messages_are_replayed_through_their_flows() {
    let mut world = World::new();
    let (_, parked) = json_of(call(&mut world, AdminMethod::Get, "/api/parked", "").unwrap());
    assert_eq!(parked, json!({"parked": [], "cursor": null}));
    let (status, replay) =
        json_of(call(&mut world, AdminMethod::Post, "/api/parked/replay", "").unwrap());
    assert_eq!(
        (status, replay),
        (
            202,
            json!({"replayed": 0, "unreadable": [], "remaining": 0})
        )
    );
    world
        .db
        .transaction(&[Statement::new(
            "INSERT INTO dead_letters (source, body, reason, created_at) VALUES ('queue', 'junk', 'unreadable', 0)",
            vec![],
        )])
        .unwrap();
    let unreadable = call(
        &mut world,
        AdminMethod::Post,
        "/api/dead-letters/1/replay",
        "",
    )
    .unwrap_err();
    assert_eq!(unreadable.status(), 409);
    assert!(unreadable
        .to_string()
        .starts_with("cannot replay: unreadable queue message"));
}

#[test]
fn an_orders_events_say_what_happened_without_the_customers_details() {
    let mut world = World::new();
    let settings = settings();
    let event = json!({
        "id": "evt_1", "type": "order.delivery_failed", "created_at": NOW,
        "order": {"id": "O7", "amount": 1990, "currency": "CNY"},
        "customer": {"openid": "oSecret", "phone": "0983123148", "email": "a@b.c"},
        "message": "no key"
    });
    world
        .run(support::inbound(
            &settings,
            support::order_event(&event, NOW),
            NOW,
        ))
        .unwrap();
    let (_, detail) = json_of(call(&mut world, AdminMethod::Get, "/api/orders/O7", "").unwrap());
    assert_eq!(
        detail["events"][0]
            .as_object()
            .unwrap()
            .keys()
            .collect::<Vec<_>>(),
        ["id", "kind", "message", "received_at", "type"]
    );
    assert_eq!(detail["events"][0]["type"], "order.delivery_failed");
    assert_eq!(detail["events"][0]["message"], "no key");
    assert!(!detail["events"].to_string().contains("0983123148"));
}
