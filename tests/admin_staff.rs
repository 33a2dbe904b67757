//! What staff do from the dashboard, through the admin API as the Worker runs it, on SQLite with
//! the real migrations: who they are, the queue by urgency, one ticket with what hangs on it and
//! the channel a reply would take, replies, and assign / resolve / close / reopen.

mod support;

use kefu_edge::admin::AdminMethod;
use kefu_edge::inline::{Rejection, Reply};
use kefu_edge::kv;
use kefu_edge::settings::Settings;
use kefu_edge::sql::Statement;
use serde_json::{json, Value};
use support::World;

const NOW: i64 = 1_700_000_000;
const HOUR: i64 = 3600;

fn settings() -> Settings {
    support::settings_with(&[
        ("ADMIN_TOKEN", "owner-token"),
        ("STAFF_TOKENS", "anna:anna-token,bob:bob-token"),
        ("TIME_ZONE", "Asia/Ho_Chi_Minh"),
    ])
}

fn call(
    world: &mut World,
    method: AdminMethod,
    path: &str,
    body: &str,
    token: &str,
    unique: &str,
) -> Result<Reply, Rejection> {
    support::AdminCall {
        unique,
        ..support::AdminCall::new(method, path, body, token, NOW)
    }
    .run(world, &settings())
}

fn json_of(reply: Result<Reply, Rejection>) -> (u16, Value) {
    match reply {
        Ok(reply) => (reply.status, serde_json::from_str(&reply.body).unwrap()),
        Err(refusal) => (refusal.status(), json!({ "error": refusal.to_string() })),
    }
}

fn get(world: &mut World, path: &str) -> (u16, Value) {
    json_of(call(world, AdminMethod::Get, path, "", "anna-token", "g"))
}

fn post(world: &mut World, path: &str, body: &str, token: &str, unique: &str) -> (u16, Value) {
    json_of(call(world, AdminMethod::Post, path, body, token, unique))
}

/// An OA customer wrote at `at`: their ticket, opened then.
fn customer_wrote(world: &mut World, openid: &str, msg: &str, at: i64) -> i64 {
    support::customer_wrote(world, &settings(), openid, msg, at)
}

#[test]
fn staff_sign_in_as_themselves_and_a_wrong_token_is_refused() {
    let mut world = World::new();
    assert_eq!(
        get(&mut world, "/api/me"),
        (
            200,
            json!({"name": "anna", "role": "agent", "owner": false, "time_zone": "Asia/Ho_Chi_Minh"})
        )
    );
    let owner = json_of(call(
        &mut world,
        AdminMethod::Get,
        "/api/me",
        "",
        "owner-token",
        "u",
    ));
    assert_eq!(owner.1["name"], "admin");
    assert_eq!(owner.1["owner"], true);
    assert_eq!(
        json_of(call(
            &mut world,
            AdminMethod::Get,
            "/api/me",
            "",
            "anna-tokenX",
            "u"
        ))
        .0,
        401
    );
}

#[test]
fn the_queue_is_ordered_by_urgency_and_filtered() {
    let mut world = World::new();
    let old = customer_wrote(&mut world, "oOld", "m1", NOW - 2 * HOUR);
    let new = customer_wrote(&mut world, "oNew", "m2", NOW - 60);
    let done = customer_wrote(&mut world, "oDone", "m3", NOW - 3 * HOUR);
    world
        .db
        .transaction(&[Statement::new(
            "UPDATE tickets SET status = 'resolved' WHERE id = ?",
            vec![done.into()],
        )])
        .unwrap();
    let (_, queue) = get(&mut world, "/api/tickets");
    let order: Vec<i64> = queue["tickets"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["id"].as_i64().unwrap())
        .collect();
    assert_eq!(order, [old, new, done], "breached first, resolved last");
    assert_eq!(queue["tickets"][0]["due_kind"], "first_response");
    assert_eq!(queue["tickets"][0]["due_at"], NOW - 2 * HOUR + HOUR);
    assert_eq!(queue["tickets"][2]["due_at"], Value::Null);
    let (_, open) = get(
        &mut world,
        "/api/tickets?status=open&channel=oa&priority=normal",
    );
    assert_eq!(open["tickets"].as_array().unwrap().len(), 2);
    let (_, none) = get(&mut world, "/api/tickets?assignee=bob");
    assert_eq!(none["tickets"], json!([]));
}

#[test]
fn a_reply_goes_by_wechat_in_the_window_and_is_on_the_timeline_with_the_agents_name() {
    let mut world = World::new();
    let id = customer_wrote(&mut world, "oU", "m1", NOW - HOUR);
    let (status, view) = get(&mut world, &format!("/api/tickets/{id}"));
    assert_eq!(status, 200);
    assert_eq!(view["reach"]["channel"], "wechat");
    assert_eq!(view["last_wechat_message_at"], NOW - HOUR);
    assert_eq!(view["order"], Value::Null);
    assert_eq!(view["timeline"].as_array().unwrap().len(), 1);

    let (status, sent) = post(
        &mut world,
        &format!("/api/tickets/{id}/reply"),
        r#"{"text": "Xin chào"}"#,
        "anna-token",
        "r1",
    );
    assert_eq!(status, 202);
    assert_eq!(
        sent,
        json!({"delivery": "reply:r1", "channel": "wechat", "why": "the customer's window is open", "reason": "window_open", "repeated": false})
    );
    let payload: Value = serde_json::from_str(
        world.db.rows("SELECT payload FROM deliveries")[0]["payload"]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(payload["custom_send"]["touser"], "oU");
    assert_eq!(payload["custom_send"]["message"]["content"], "Xin chào");
    assert_eq!(world.take_deliveries(), ["reply:r1"]);
    let line = world
        .db
        .rows("SELECT kind, actor, body FROM ticket_timeline WHERE kind = 'agent'");
    assert_eq!(
        line,
        [json!({"kind": "agent", "actor": "anna", "body": "reply via WeChat: Xin chào"})]
    );
    let ticket = &world
        .db
        .rows("SELECT first_response_at, assignee FROM tickets")[0];
    assert_eq!(ticket["first_response_at"], NOW);
    assert_eq!(ticket["assignee"], "anna");
    // An empty reply is refused before anything is stored.
    assert_eq!(
        post(
            &mut world,
            &format!("/api/tickets/{id}/reply"),
            r#"{"text": " "}"#,
            "anna-token",
            "r2"
        )
        .0,
        400
    );
    assert_eq!(world.db.count("SELECT COUNT(*) FROM deliveries"), 1);
}

#[test]
fn with_the_window_closed_a_reply_goes_as_zns_or_is_refused() {
    let mut world = World::new();
    let id = customer_wrote(&mut world, "oU", "m1", NOW - 50 * HOUR);
    let (status, tried) = post(
        &mut world,
        &format!("/api/tickets/{id}/reply"),
        r#"{"text": "hi"}"#,
        "anna-token",
        "r1",
    );
    assert_eq!(status, 409, "no fallback: refused before anything is sent");
    assert!(tried["error"].as_str().unwrap().contains("no ZNS fallback"));
    assert_eq!(world.db.count("SELECT COUNT(*) FROM deliveries"), 0);
    world.kv.insert(
        kv::RULES.into(),
        json!({"zns_fallback": {"template_id": 5, "params": {"m": "{text}"}}}).to_string(),
    );
    world
        .db
        .transaction(&[Statement::new(
            "UPDATE tickets SET customer_phone = '0983123148' WHERE id = ?",
            vec![id.into()],
        )])
        .unwrap();
    let (_, view) = get(&mut world, &format!("/api/tickets/{id}"));
    assert_eq!(view["reach"]["channel"], "zns");
    let (status, sent) = post(
        &mut world,
        &format!("/api/tickets/{id}/reply"),
        r#"{"text": "hi again"}"#,
        "bob-token",
        "r2",
    );
    assert_eq!(status, 202);
    assert_eq!(sent["channel"], "zns");
    let payload: Value = serde_json::from_str(
        world
            .db
            .rows("SELECT payload FROM deliveries WHERE id = 'reply:r2'")[0]["payload"]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(
        payload["zns"]["send"],
        json!({"phone": "0983123148", "template_id": 5, "params": {"m": "hi again"}})
    );
    // A shop customer is reached only through the Shop, which needs its own credentials.
    world.db.transaction(&[Statement::new(
        "INSERT INTO tickets (channel, customer_id, opened_by, created_at, updated_at, first_response_due, resolution_due) VALUES ('shop', 'sX', 'k', 0, 0, 0, 0)",
        vec![],
    )]).unwrap();
    let shop = world.db.count("SELECT MAX(id) FROM tickets");
    let (status, refused) = post(
        &mut world,
        &format!("/api/tickets/{shop}/reply"),
        r#"{"text": "hi"}"#,
        "anna-token",
        "r3",
    );
    assert_eq!(status, 409);
    assert!(refused["error"]
        .as_str()
        .unwrap()
        .contains("no channel reaches"));
}

#[test]
fn actions_change_the_ticket_once_and_name_who_did_it() {
    let mut world = World::new();
    let id = customer_wrote(&mut world, "oU", "m1", NOW - HOUR);
    let act = |world: &mut World, verb: &str, body: &str, unique: &str| {
        post(
            world,
            &format!("/api/tickets/{id}/{verb}"),
            body,
            "bob-token",
            unique,
        )
    };
    let (status, assigned) = act(&mut world, "assign", r#"{"assignee": "anna"}"#, "a1");
    assert_eq!(status, 200);
    assert_eq!(assigned["ticket"]["assignee"], "anna");
    let (_, resolved) = act(&mut world, "resolve", "", "a2");
    assert_eq!(resolved["ticket"]["status"], "resolved");
    assert_eq!(resolved["ticket"]["resolved_at"], NOW);
    assert_eq!(act(&mut world, "resolve", "", "a3").0, 409);
    let (_, reopened) = act(&mut world, "reopen", "", "a4");
    assert_eq!(reopened["ticket"]["status"], "open");
    assert_eq!(reopened["ticket"]["resolution_due"], NOW + 24 * HOUR);
    let (_, closed) = act(&mut world, "close", "", "a5");
    assert_eq!(closed["ticket"]["status"], "closed");
    assert_eq!(
        act(&mut world, "assign", r#"{"assignee": "x"}"#, "a6").0,
        409
    );
    assert_eq!(act(&mut world, "archive", "", "a7").0, 404);
    assert_eq!(
        post(
            &mut world,
            "/api/tickets/999/resolve",
            "",
            "bob-token",
            "a8"
        )
        .0,
        404
    );
    let lines: Vec<Value> = world
        .db
        .rows("SELECT actor, body FROM ticket_timeline WHERE kind = 'agent' ORDER BY id");
    assert_eq!(
        lines,
        [
            json!({"actor": "bob", "body": "assigned to anna"}),
            json!({"actor": "bob", "body": "resolved"}),
            json!({"actor": "bob", "body": "reopened"}),
            json!({"actor": "bob", "body": "closed"}),
        ]
    );
    // The customer writes again: a new ticket; reopening the closed one would make two active.
    customer_wrote(&mut world, "oU", "m2", NOW);
    let (status, refused) = act(&mut world, "reopen", "", "a9");
    assert_eq!(status, 409);
    assert!(
        refused["error"]
            .as_str()
            .unwrap()
            .contains("another active ticket"),
        "{refused}"
    );
}

#[test]
fn resolving_a_ticket_fires_the_ticket_resolved_zns_rules() {
    let mut world = World::new();
    world.kv.insert(kv::RULES.into(), json!({"zns": [{"on": "ticket.resolved", "template_id": 42, "params": {"name": "{customer.name}"}}]}).to_string());
    let id = customer_wrote(&mut world, "oU", "m1", NOW - HOUR);
    world.db.transaction(&[Statement::new(
        "UPDATE tickets SET customer_phone = '+84 912 345 678', customer_name = 'Lan' WHERE id = ?",
        vec![id.into()],
    )]).unwrap();
    post(
        &mut world,
        &format!("/api/tickets/{id}/resolve"),
        "",
        "anna-token",
        "x1",
    );
    let payload: Value = serde_json::from_str(
        world.db.rows("SELECT payload FROM deliveries")[0]["payload"]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(
        payload["zns"]["send"],
        json!({"phone": "0912345678", "template_id": 42, "params": {"name": "Lan"}})
    );
}

#[test]
fn the_stats_give_hours_for_the_page_to_group_and_complaints_by_status() {
    let mut world = World::new();
    customer_wrote(&mut world, "oA", "m1", NOW - 2 * HOUR);
    customer_wrote(&mut world, "oB", "m2", NOW - 2 * HOUR + 10);
    let (_, stats) = get(&mut world, "/api/stats");
    let hour = (NOW - 2 * HOUR) / HOUR * HOUR;
    assert_eq!(
        stats["opened_by_hour"],
        json!([{"hour": hour, "channel": "oa", "opened": 2}])
    );
    assert_eq!(stats["complaints_by_status"], json!([]));
}
