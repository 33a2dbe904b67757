//! What every callback makes the consumer and the cron run is served by an index: no statement
//! scans a table. D1 bills each row a query reads, so a scan costs more with every conversation
//! the merchant has had (bench/README.md, "The bill"). Checked with SQLite's own query plans
//! over the real migrations, for each statement of the flows as they run.

mod support;

use kefu_edge::event::QueuedPush;
use kefu_edge::kv;
use kefu_edge::pipeline::alerts::FlushFlow;
use kefu_edge::pipeline::effect::Effect;
use kefu_edge::pipeline::{consume, scheduled, Context};
use kefu_edge::platforms::payfeedback::MsgType;
use kefu_edge::settings::Settings;
use kefu_edge::sql::Statement;
use serde_json::json;
use support::World;

const NOW: i64 = 1_732_400_000;

fn settings() -> Settings {
    support::settings_with(&[
        ("WECHAT_APPID", "wx1"),
        ("WECHAT_APPSECRET", "s3cret"),
        ("WECOM_ROBOT_KEY", "robot-key"),
    ])
}

/// Statements that may scan, and why that stays cheap.
const BOUNDED_SCANS: [&str; 1] = [
    // The sweep forgets rate-limit sends older than an hour: the table holds at most an hour
    // of robot and ZNS sends.
    "DELETE FROM rate_sends WHERE at < ?",
];

/// A plan step that reads a whole table: a scan, or a "search" that names no index to search.
fn reads_every_row(step: &str) -> bool {
    (step.starts_with("SCAN ") && step != "SCAN CONSTANT ROW")
        || (step.starts_with("SEARCH ") && !step.contains(" USING "))
}

fn statements(effects: &[Effect]) -> Vec<Statement> {
    effects
        .iter()
        .flat_map(|effect| match effect {
            Effect::Query(statement) => vec![statement.clone()],
            Effect::Transaction(statements) => statements.clone(),
            _ => vec![],
        })
        .collect()
}

fn order(id: &str, kind: &str, order_id: &str, openid: &str) -> QueuedPush {
    let body = json!({
        "id": id, "type": kind, "created_at": NOW,
        "order": {"id": order_id, "trans_id": format!("4200{order_id}"), "goods_kind": "virtual", "paid_at": NOW - 100},
        "customer": {"openid": openid, "phone": "0983123148", "name": "Hà"},
    });
    support::order_event(&body, NOW)
}

/// A customer-service session event: `event` (kf_create_session, …) handled by `kf_account`.
fn kf(openid: &str, event: &str, kf_account: &str) -> QueuedPush {
    let fields = format!("<KfAccount>{kf_account}</KfAccount>");
    support::oa_event(openid, event, &fields, NOW)
}

/// A world the callbacks and the cron went through: tickets on every channel, events,
/// timelines, deliveries, a complaint and orders.
fn busy_world(settings: &Settings) -> World {
    let mut world = World::new();
    world.kv.insert(
        kv::RULES.into(),
        json!({"faq": [{"category": "not_delivered", "reply": "re-sent within 5 minutes"}]})
            .to_string(),
    );
    let store = |world: &mut World, event: QueuedPush| {
        world.run(support::inbound(settings, event, NOW)).unwrap();
    };
    // A conversation on the Official Account: opened, answered by an agent, closed.
    store(
        &mut world,
        support::oa_text("oA", "1", "where is my key", NOW),
    );
    store(&mut world, support::oa_text("oA", "2", "order O1", NOW));
    store(&mut world, kf("oA", "kf_create_session", "anna@gh"));
    store(&mut world, kf("oA", "kf_close_session", "anna@gh"));
    // The card shop: paid, delivered; another order fails (ticket, alert, FAQ reply).
    store(&mut world, order("e1", "order.paid", "O1", "oA"));
    store(&mut world, order("e2", "order.delivered", "O1", "oA"));
    store(&mut world, order("e3", "order.delivery_failed", "O2", "oB"));
    // A complaint on the first order, opened and confirmed.
    for (msg_type, at) in [(MsgType::Request, NOW), (MsgType::Confirm, NOW + 1)] {
        let n = support::complaint_notification("FB1", "oA", msg_type, at, Some("4200O1"));
        store(&mut world, n);
    }
    // What they left for the queue: the alerts flushed to the robot, the FAQ reply sent.
    let cx = Context {
        settings,
        now: NOW,
        random: 0,
        unique: "u1".into(),
    };
    world
        .run(FlushFlow::new(settings, NOW, 0, "robot:1".into()))
        .unwrap();
    for (message, _) in world.take_queued() {
        world.run(consume(&message.to_json(), false, &cx)).unwrap();
    }
    world.run(scheduled(&cx));

    world
}

#[test]
fn no_statement_a_callback_or_the_cron_runs_scans_a_table() {
    let settings = settings();
    let world = busy_world(&settings);
    let statements = statements(&world.effects);
    assert!(statements.len() > 40, "the flows ran: {}", statements.len());
    let scans: Vec<(String, Vec<String>)> = statements
        .iter()
        .filter(|s| !BOUNDED_SCANS.contains(&s.sql.as_ref()))
        .map(|s| (s.sql.to_string(), world.db.query_plan(s)))
        .filter(|(_, plan)| plan.iter().any(|step| reads_every_row(step)))
        .collect();
    assert!(scans.is_empty(), "statements that scan a table: {scans:#?}");
}

/// The tables that grow with every conversation: an admin read must never read all of them.
const GROWING: [&str; 4] = ["tickets", "events", "ticket_timeline", "deliveries"];

/// A step that reads a whole growing table (`SCAN tickets`, with or without an index), unless
/// the statement only takes the first rows of a scan already in the order asked (`ORDER BY id
/// DESC LIMIT ?` with no filter and no sort of its own): that reads as many rows as it answers.
fn full_scan_of_a_growing_table(sql: &str, plan: &[String], step: &str) -> bool {
    let scanned = step
        .strip_prefix("SCAN ")
        .and_then(|rest| rest.split(' ').next());
    let Some(table) = scanned else {
        return false;
    };
    if !GROWING.contains(&table) {
        return false;
    }
    let newest_first = sql.contains(" LIMIT ")
        && !sql.contains(" WHERE ")
        && !plan.iter().any(|s| s.contains("TEMP B-TREE"));
    !newest_first
}

/// Every admin read the dashboard makes (and polls), with and without each filter.
const ADMIN_READS: [&str; 26] = [
    "/api/events",
    "/api/tickets",
    "/api/tickets?status=open",
    "/api/tickets?status=pending",
    "/api/tickets?status=resolved",
    "/api/tickets?status=closed",
    "/api/tickets?channel=orders",
    "/api/tickets?category=not_delivered",
    "/api/tickets?priority=high",
    "/api/tickets?assignee=anna%40gh",
    "/api/tickets?status=open&channel=oa&category=general&priority=normal&assignee=anna%40gh",
    "/api/tickets/1",
    "/api/tickets/2",
    "/api/deliveries",
    "/api/deliveries?state=dead",
    "/api/deliveries?state=pending",
    "/api/alerts",
    "/api/dead-letters",
    "/api/complaints",
    "/api/complaints?status=open",
    "/api/orders",
    "/api/orders?status=paid",
    "/api/orders/O1",
    "/api/orders/O2",
    "/api/stats",
    "/api/parked",
];

/// Statements of the stats page that read every ticket or delivery by design: counts by
/// status over all time. Each is served by a covering index (the index's entries, not the
/// rows), and the page polls once a minute.
const COUNTS_OVER_ALL_TIME: [&str; 2] = [
    "SELECT status, COUNT(*) AS count FROM tickets GROUP BY status",
    "SELECT state, COUNT(*) AS count FROM deliveries GROUP BY state",
];

#[test]
fn no_admin_read_scans_tickets_events_timeline_or_deliveries() {
    use kefu_edge::admin::{admit, handle, AdminMethod, AdminRequest};
    let settings = support::settings_with(&[("ADMIN_TOKEN", "t0ken"), ("WECHAT_APPID", "wx1")]);
    let mut world = busy_world(&settings);
    let cx = Context {
        settings: &settings,
        now: NOW,
        random: 0,
        unique: "u2".into(),
    };
    let mut scans = Vec::new();
    let mut read = 0;
    for route in ADMIN_READS {
        let (path, query) = route.split_once('?').unwrap_or((route, ""));
        let request = AdminRequest {
            method: AdminMethod::Get,
            path,
            query,
            idempotency_key: None,
            if_match: None,
            body: "",
        };
        let owner = admit(AdminMethod::Get, path, Some("Bearer t0ken"), &settings).unwrap();
        let from = world.effects.len();
        let flow = handle(&request, &owner, &cx).unwrap();
        world.run(flow).unwrap_or_else(|e| panic!("{route}: {e}"));
        for statement in statements(&world.effects[from..]) {
            read += 1;
            if COUNTS_OVER_ALL_TIME
                .iter()
                .any(|c| statement.sql.starts_with(c))
            {
                continue;
            }
            let plan = world.db.query_plan(&statement);
            if plan
                .iter()
                .any(|step| full_scan_of_a_growing_table(&statement.sql, &plan, step))
            {
                scans.push((route, statement.sql.to_string(), plan));
            }
        }
    }
    assert!(read > 35, "the reads ran: {read}");
    assert!(scans.is_empty(), "admin reads that scan: {scans:#?}");
}
