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

#[test]
fn no_statement_a_callback_or_the_cron_runs_scans_a_table() {
    let settings = settings();
    let mut world = World::new();
    world.kv.insert(
        kv::RULES.into(),
        json!({"faq": [{"category": "not_delivered", "reply": "re-sent within 5 minutes"}]})
            .to_string(),
    );
    let store = |world: &mut World, event: QueuedPush| {
        world.run(support::inbound(&settings, event, NOW)).unwrap();
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
        settings: &settings,
        now: NOW,
        random: 0,
        unique: "u1".into(),
    };
    world
        .run(FlushFlow::new(&settings, NOW, 0, "robot:1".into()))
        .unwrap();
    for (message, _) in world.take_queued() {
        world.run(consume(&message.to_json(), false, &cx)).unwrap();
    }
    world.run(scheduled(&cx));

    let statements = statements(&world.effects);
    assert!(statements.len() > 40, "the flows ran: {}", statements.len());
    let scans: Vec<(String, Vec<String>)> = statements
        .iter()
        .filter(|s| !BOUNDED_SCANS.contains(&s.sql))
        .map(|s| (s.sql.to_owned(), world.db.query_plan(s)))
        .filter(|(_, plan)| plan.iter().any(|step| reads_every_row(step)))
        .collect();
    assert!(scans.is_empty(), "statements that scan a table: {scans:#?}");
}
