//! Staff alerts to the robot (coalescing, rate slots, partial claims), the cron's parts, dead
//! letters and their replay, and inbound storage, run on SQLite with the real migrations.

mod support;

use kefu_edge::event::{Platform, QueueMessage, QueuedPush};
use kefu_edge::kv;
use kefu_edge::outbound::OutboundCall;
use kefu_edge::pipeline::alerts::FlushFlow;
use kefu_edge::pipeline::cron::{complaint_deadlines, OnlineAgentsFlow, SweepFlow};
use kefu_edge::pipeline::dead_letters::{KeepFlow, ReplayFlow, Replayed};
use kefu_edge::pipeline::effect::{Effect, Flow, Step};
use kefu_edge::pipeline::{consume, scheduled, Context, RETRIES_EXHAUSTED};
use kefu_edge::platforms::payfeedback::MsgType;
use kefu_edge::rate::WECOM_ROBOT;
use kefu_edge::settings::Settings;
use kefu_edge::sql::{Statement, StoreError};
use support::{ok, status, World};

const NOW: i64 = 1_700_000_000;

fn settings() -> Settings {
    support::settings_with(&[
        ("WECHAT_APPID", "wx1"),
        ("WECHAT_APPSECRET", "s3cret"),
        ("WECOM_ROBOT_KEY", "robot-key"),
    ])
}

fn add_alerts(world: &mut World, texts: &[String]) {
    for (i, text) in texts.iter().enumerate() {
        world
            .db
            .transaction(&[Statement::new(
                "INSERT INTO alerts (dedup_key, text, created_at) VALUES (?, ?, ?)",
                vec![
                    format!("k{i}-{text}").into(),
                    text.as_str().into(),
                    NOW.into(),
                ],
            )])
            .unwrap();
    }
}

fn flush(world: &mut World, settings: &Settings, id: &str, now: i64) -> Result<String, StoreError> {
    world.run(FlushFlow::new(settings, now, 0, id.into()))
}

fn markdown(world: &World, i: usize) -> String {
    let body: serde_json::Value =
        serde_json::from_str(world.requests[i].body.as_deref().unwrap()).unwrap();
    body["markdown"]["content"].as_str().unwrap().to_owned()
}

#[test]
fn pending_alerts_go_out_coalesced_in_one_message_and_are_marked_sent() {
    let (mut world, settings) = (World::new(), settings());
    add_alerts(&mut world, &["one".into(), "two".into(), "three".into()]);
    flush(&mut world, &settings, "robot:a", NOW).unwrap();
    assert_eq!(world.requests.len(), 1);
    assert!(world.requests[0]
        .url
        .ends_with("/cgi-bin/webhook/send?key=robot-key"));
    let text = markdown(&world, 0);
    assert!(text.starts_with("**kefu-edge: 3 alerts**"), "{text}");
    assert_eq!(
        world
            .db
            .count("SELECT COUNT(*) FROM alerts WHERE sent_at IS NULL"),
        0
    );
    assert_eq!(
        world
            .db
            .count("SELECT COUNT(*) FROM alerts WHERE claim = 'robot:a'"),
        3
    );
    let delivery = &world.db.rows("SELECT id, target, state FROM deliveries")[0];
    assert_eq!(
        (delivery["id"].as_str(), delivery["state"].as_str()),
        (Some("robot:a"), Some("delivered"))
    );
    assert!(world.queued.is_empty());
    // Nothing pending: nothing sent, no slot taken.
    flush(&mut world, &settings, "robot:b", NOW).unwrap();
    assert_eq!(world.requests.len(), 1);
    assert_eq!(world.db.count("SELECT COUNT(*) FROM rate_sends"), 1);
}

#[test]
fn a_burst_too_big_for_one_message_continues_in_the_next() {
    let (mut world, settings) = (World::new(), settings());
    let texts: Vec<String> = (0..45)
        .map(|i| format!("ticket {i}: {}", "很".repeat(40)))
        .collect();
    add_alerts(&mut world, &texts);
    flush(&mut world, &settings, "robot:a", NOW).unwrap();
    assert_eq!(world.take_queued(), [(QueueMessage::FlushAlerts, 0)]);
    let mut flushes = 1;
    while world
        .db
        .count("SELECT COUNT(*) FROM alerts WHERE sent_at IS NULL")
        > 0
    {
        flush(&mut world, &settings, &format!("robot:{flushes}"), NOW).unwrap();
        flushes += 1;
        assert!(flushes < 10);
    }
    assert!(world.requests.len() <= 3, "{}", world.requests.len());
    for i in 0..world.requests.len() {
        assert!(markdown(&world, i).len() <= 4096);
    }
}

#[test]
fn without_a_free_slot_alerts_wait_and_the_flush_comes_back_when_one_frees() {
    let (mut world, settings) = (World::new(), settings());
    for i in 0..WECOM_ROBOT.max {
        world
            .db
            .transaction(&[WECOM_ROBOT.take(NOW - 30 + i)])
            .unwrap();
    }
    add_alerts(&mut world, &["waiting".into()]);
    flush(&mut world, &settings, "robot:a", NOW).unwrap();
    assert!(world.requests.is_empty());
    assert_eq!(
        world
            .db
            .count("SELECT COUNT(*) FROM alerts WHERE claim IS NULL"),
        1
    );
    assert_eq!(world.take_queued(), [(QueueMessage::FlushAlerts, 30)]);
}

#[test]
fn no_window_of_the_limit_ever_holds_more_sends_than_allowed() {
    let mut world = World::new();
    // Callers at every second for three minutes, several per second, as a burst would be.
    for now in NOW..NOW + 180 {
        for _ in 0..3 {
            world.db.transaction(&[WECOM_ROBOT.take(now)]).unwrap();
        }
    }
    let sends: Vec<i64> = world
        .db
        .rows("SELECT at FROM rate_sends ORDER BY at")
        .iter()
        .map(|r| r["at"].as_i64().unwrap())
        .collect();
    for start in NOW - 60..NOW + 180 {
        let in_window = sends
            .iter()
            .filter(|&&at| at >= start && at < start + 60)
            .count();
        assert!(
            in_window <= 20,
            "{in_window} sends in the minute from {start}"
        );
    }
    assert_eq!(sends.len(), 60, "20 in each of the three minutes");
}

/// Runs a flush, letting another flusher claim alert `stolen` just before this one claims.
fn flush_racing(
    world: &mut World,
    settings: &Settings,
    stolen: &[i64],
) -> Result<String, StoreError> {
    let mut flow = FlushFlow::new(settings, NOW, 0, "robot:mine".into());
    let mut transactions = 0;
    let mut answer = None;
    loop {
        match flow.step(answer.take()) {
            Step::Done(report) => return report,
            Step::Do(effect) => {
                if matches!(effect, Effect::Transaction(_)) {
                    transactions += 1;
                    if transactions == 2 {
                        for id in stolen {
                            world
                                .db
                                .transaction(&[Statement::new(
                                    "UPDATE alerts SET claim = 'robot:other' WHERE id = ?",
                                    vec![(*id).into()],
                                )])
                                .unwrap();
                        }
                    }
                }
                answer = Some(world.perform(effect));
            }
        }
    }
}

#[test]
fn a_partial_claim_sends_only_what_this_flush_really_claimed() {
    let (mut world, settings) = (World::new(), settings());
    add_alerts(
        &mut world,
        &["first".into(), "second".into(), "third".into()],
    );
    flush_racing(&mut world, &settings, &[2]).unwrap();
    assert_eq!(world.requests.len(), 1);
    let text = markdown(&world, 0);
    assert!(text.contains("first") && text.contains("third"), "{text}");
    assert!(!text.contains("second"), "another flush carries it: {text}");
    let payload = world
        .db
        .rows("SELECT payload FROM deliveries WHERE id = 'robot:mine'")[0]["payload"]
        .clone();
    let stored: OutboundCall = serde_json::from_str(payload.as_str().unwrap()).unwrap();
    assert_eq!(stored, OutboundCall::WecomRobot { markdown: text });
}

#[test]
fn a_claim_that_lost_every_alert_sends_nothing_and_leaves_no_delivery() {
    let (mut world, settings) = (World::new(), settings());
    add_alerts(&mut world, &["first".into(), "second".into()]);
    let report = flush_racing(&mut world, &settings, &[1, 2]).unwrap();
    assert_eq!(report, "another flush claimed every alert");
    assert!(world.requests.is_empty());
    assert_eq!(world.db.count("SELECT COUNT(*) FROM deliveries"), 0);
}

#[test]
fn without_a_robot_key_alerts_stay_pending() {
    let mut world = World::new();
    add_alerts(&mut world, &["x".into()]);
    let report = flush(&mut world, &Settings::from_lookup(|_| None), "robot:a", NOW).unwrap();
    assert_eq!(report, "alerts wait: missing setting WECOM_ROBOT_KEY");
    assert!(world.effects.is_empty());
}

#[test]
fn the_sweep_revives_stuck_and_lost_deliveries_and_forgets_old_sends() {
    let mut world = World::new();
    let insert = |id: &str, state: &str, updated_at: i64, next_attempt_at: i64| {
        Statement::new(
            "INSERT INTO deliveries (id, target, payload, state, attempts, created_at, updated_at, next_attempt_at) \
             VALUES (?, 'wecom_robot', '{}', ?, 1, 0, ?, ?)",
            vec![id.into(), state.into(), updated_at.into(), next_attempt_at.into()],
        )
    };
    world
        .db
        .transaction(&[
            insert("stuck", "sending", NOW - 301, NOW - 400),
            insert("in-flight", "sending", NOW - 10, NOW - 400),
            insert("lost", "retrying", NOW - 200, NOW - 61),
            insert("due-soon", "retrying", NOW - 200, NOW - 30),
            insert("done", "delivered", NOW - 900, NOW - 900),
            WECOM_ROBOT.take(NOW - 3601),
            WECOM_ROBOT.take(NOW - 10),
        ])
        .unwrap();
    world.run(SweepFlow::new(NOW)).unwrap();
    let mut resent: Vec<String> = world
        .take_queued()
        .into_iter()
        .map(|(m, _)| match m {
            QueueMessage::Deliver { delivery_id } => delivery_id,
            other => panic!("{other:?}"),
        })
        .collect();
    resent.sort();
    assert_eq!(resent, ["lost", "stuck"]);
    assert_eq!(
        world
            .db
            .count("SELECT COUNT(*) FROM deliveries WHERE state = 'sending'"),
        1
    );
    assert_eq!(world.db.count("SELECT COUNT(*) FROM rate_sends"), 1);
}

#[test]
fn the_online_agent_list_is_refreshed_into_kv() {
    let (mut world, settings) = (World::new(), settings());
    world.answer([
        ok(r#"{"access_token":"T","expires_in":7200}"#),
        ok(r#"{"kf_online_list":[{"kf_account":"anna@gh","status":1,"kf_id":"1","accepted_case":1,"auto_accept":3}]}"#),
    ]);
    let report = world.run(OnlineAgentsFlow::new(&settings, NOW)).unwrap();
    assert_eq!(report, "online agents refreshed");
    assert!(world.kv[kv::ONLINE_AGENTS].contains("anna@gh"));
    assert!(world.requests[1]
        .url
        .contains("/cgi-bin/customservice/getonlinekflist?access_token=T"));
    // A failed call or an unreadable answer leaves the old list alone.
    world.kv.remove(kv::ONLINE_AGENTS);
    world.answer([status(500)]);
    let report = world.run(OnlineAgentsFlow::new(&settings, NOW)).unwrap();
    assert!(report.starts_with("getonlinekflist failed"), "{report}");
    world.answer([ok("not json")]);
    world.run(OnlineAgentsFlow::new(&settings, NOW)).unwrap();
    assert!(!world.kv.contains_key(kv::ONLINE_AGENTS));
}

fn complaint(world: &mut World, deadline: i64, warning_due: i64) {
    world
        .db
        .transaction(&[Statement::new(
            "INSERT INTO complaints (feedback_id, openid, status, opened_at, deadline, warning_due, updated_at) \
             VALUES ('f1', 'oUser12345', 'open', 0, ?, ?, 0)",
            vec![deadline.into(), warning_due.into()],
        ),
            // Warnings are filed on the customer's ticket.
            Statement::new(
                "INSERT INTO tickets (channel, customer_id, opened_by, created_at, updated_at, first_response_due, resolution_due) \
                 VALUES ('oa', 'oUser12345', 'k', 0, 0, 0, 0)",
                vec![],
            ),
        ])
        .unwrap();
}

#[test]
fn complaint_deadlines_are_warned_once_a_quarter_before_and_once_overdue() {
    let mut world = World::new();
    complaint(&mut world, NOW + 100, NOW - 1);
    world.run(complaint_deadlines(NOW)).unwrap();
    world.run(complaint_deadlines(NOW + 10)).unwrap();
    assert_eq!(
        world
            .db
            .count("SELECT COUNT(*) FROM alerts WHERE dedup_key = 'complaint:f1:quarter'"),
        1
    );
    world.run(complaint_deadlines(NOW + 100)).unwrap();
    world.run(complaint_deadlines(NOW + 200)).unwrap();
    assert_eq!(world.db.count("SELECT COUNT(*) FROM alerts"), 2);
    assert_eq!(
        world
            .db
            .count("SELECT COUNT(*) FROM alerts WHERE dedup_key = 'complaint:f1:overdue'"),
        1
    );
}

#[test]
fn the_scheduled_run_does_every_part_even_when_one_fails() {
    let (mut world, settings) = (World::new(), settings());
    world.answer([status(500)]); // the token call fails
    let cx = Context {
        settings: &settings,
        now: NOW,
        random: 0,
        unique: "u".into(),
    };
    let reports = world.run(scheduled(&cx));
    assert_eq!(reports.len(), 5, "{reports:?}");
    assert!(reports.iter().all(|r| r.is_ok()), "{reports:?}");
    // Without WeChat credentials there is no agent list to refresh.
    let bare = Settings::from_lookup(|_| None);
    let cx = Context {
        settings: &bare,
        now: NOW,
        random: 0,
        unique: "u".into(),
    };
    world.db_down = true;
    let reports = world.run(scheduled(&cx));
    assert_eq!(reports.len(), 4);
    assert!(reports[0].is_err() && reports[3].is_err(), "{reports:?}");
}

fn text_event(msg_id: &str) -> QueuedPush {
    support::oa_text("oA", msg_id, "hello", NOW)
}

#[test]
fn an_inbound_event_is_stored_once_and_flushes_only_when_it_alerted() {
    let mut world = World::new();
    let report = world
        .run(support::inbound(&settings(), text_event("1"), NOW))
        .unwrap();
    assert!(report.starts_with("stored oa_message"), "{report}");
    assert_eq!(world.take_queued(), [(QueueMessage::FlushAlerts, 0)]);
    let report = world
        .run(support::inbound(&settings(), text_event("1"), NOW))
        .unwrap();
    assert!(report.starts_with("duplicate"), "{report}");
    world
        .run(support::inbound(&settings(), text_event("2"), NOW))
        .unwrap();
    assert!(
        world.queued.is_empty(),
        "an appended message raises no alert"
    );
    assert_eq!(world.db.count("SELECT COUNT(*) FROM events"), 2);
    world.db_down = true;
    assert!(world
        .run(support::inbound(&settings(), text_event("3"), NOW))
        .is_err());
}

fn notification(trans_id: Option<&str>) -> QueuedPush {
    support::complaint_notification("f1", "oUser12345", MsgType::Request, NOW, trans_id)
}

#[test]
fn a_complaint_takes_its_deadline_from_the_order_it_names() {
    let mut world = World::new();
    world
        .db
        .transaction(&[Statement::new(
            "INSERT INTO orders (id, trans_id, goods_kind, delivered_at, updated_at) VALUES ('O1', 'T1', 'physical', 5, 0)",
            vec![],
        )])
        .unwrap();
    world
        .run(support::inbound(&settings(), notification(Some("T1")), NOW))
        .unwrap();
    assert_eq!(
        world.db.count("SELECT deadline FROM complaints"),
        NOW + 15 * 86_400
    );
    let mut other = World::new();
    other
        .run(support::inbound(&settings(), notification(None), NOW))
        .unwrap();
    assert_eq!(
        other.db.count("SELECT deadline FROM complaints"),
        NOW + 86_400
    );
}

#[test]
fn unreadable_and_exhausted_messages_become_dead_letters_with_one_alert() {
    let (mut world, settings) = (World::new(), settings());
    let cx = Context {
        settings: &settings,
        now: NOW,
        random: 0,
        unique: "u".into(),
    };
    world.run(consume("{not json", false, &cx)).unwrap();
    world.run(consume(r#""flush_alerts""#, true, &cx)).unwrap();
    // A push whose text its platform's parser refuses (queued by another version, say).
    let unparsable = QueueMessage::Inbound(QueuedPush {
        platform: Platform::Oa,
        received_at: NOW,
        text: "<xml><MsgType>text</MsgType></xml>".into(),
    })
    .to_json();
    world.run(consume(&unparsable, false, &cx)).unwrap();
    let dead = world
        .db
        .rows("SELECT source, body, reason FROM dead_letters ORDER BY id");
    assert_eq!(dead.len(), 3);
    assert!(dead[0]["reason"]
        .as_str()
        .unwrap()
        .starts_with("unreadable queue message"));
    assert_eq!(dead[1]["reason"], RETRIES_EXHAUSTED);
    assert_eq!(dead[2]["reason"], "unreadable push: missing ToUserName");
    assert_eq!(dead[2]["body"], unparsable);
    assert_eq!(world.db.count("SELECT COUNT(*) FROM events"), 0);
    assert_eq!(world.db.count("SELECT COUNT(*) FROM alerts"), 3);
    world.db_down = true;
    assert!(world
        .run(KeepFlow::new(&settings, "x", "why", NOW))
        .is_err());
}

#[test]
fn each_queue_message_runs_its_own_flow() {
    let (mut world, settings) = (World::new(), settings());
    let cx = Context {
        settings: &settings,
        now: NOW,
        random: 0,
        unique: "u".into(),
    };
    let inbound = QueueMessage::Inbound(text_event("9")).to_json();
    world.run(consume(&inbound, false, &cx)).unwrap();
    assert_eq!(world.db.count("SELECT COUNT(*) FROM events"), 1);
    let deliver = QueueMessage::Deliver {
        delivery_id: "none".into(),
    }
    .to_json();
    assert_eq!(
        world.run(consume(&deliver, false, &cx)).unwrap(),
        "no delivery none"
    );
    world
        .run(consume(&QueueMessage::FlushAlerts.to_json(), false, &cx))
        .unwrap();
    assert_eq!(
        world
            .db
            .count("SELECT COUNT(*) FROM deliveries WHERE id = 'robot:u'"),
        1
    );
}

#[test]
fn a_dead_delivery_is_replayed_once_reset_and_back_in_line() {
    let (mut world, settings) = (World::new(), settings());
    world
        .db
        .transaction(&[Statement::new(
            "INSERT INTO deliveries (id, target, payload, state, attempts, created_at, updated_at, next_attempt_at) \
             VALUES ('r1', 'wecom_robot', ?, 'pending', 0, 0, 0, 0)",
            vec![OutboundCall::WecomRobot { markdown: "x".into() }.payload().into()],
        )])
        .unwrap();
    world.answer([ok(r#"{"errcode":93000,"errmsg":"invalid webhook url"}"#)]);
    world
        .run(kefu_edge::pipeline::delivery::DeliverFlow::new(
            &settings, NOW, 0, "r1",
        ))
        .unwrap();
    let id = world.db.count("SELECT id FROM dead_letters");
    assert_eq!(world.run(ReplayFlow::new(id, NOW + 5)), Ok(Replayed::Yes));
    let row = &world
        .db
        .rows("SELECT state, attempts, next_attempt_at FROM deliveries")[0];
    assert_eq!(
        (row["state"].as_str(), row["attempts"].as_i64()),
        (Some("retrying"), Some(0))
    );
    assert_eq!(
        world.take_queued(),
        [(
            QueueMessage::Deliver {
                delivery_id: "r1".into()
            },
            0
        )]
    );
    assert_eq!(
        world.db.count("SELECT replayed_at FROM dead_letters"),
        NOW + 5
    );
    assert_eq!(world.run(ReplayFlow::new(999, NOW)), Ok(Replayed::NotFound));
}

#[test]
fn calls_stored_with_a_call_member_are_rewritten_named_by_their_variant_and_delivered() {
    let (mut world, settings) = (World::new(), settings());
    world
        .db
        .transaction(&[
            Statement::new(
                "INSERT INTO deliveries (id, target, payload, state, attempts, created_at, updated_at, next_attempt_at) \
                 VALUES ('r1', 'wecom_robot', '{\"call\":\"wecom_robot\",\"markdown\":\"x\"}', 'pending', 0, 0, 0, 0)",
                vec![],
            ),
            Statement::new(
                "INSERT INTO dead_letters (source, delivery_id, body, reason, created_at) \
                 VALUES ('delivery', 'd1', '{\"call\":\"payfeedback_update\",\"openid\":\"o\",\"feedback_id\":\"f\"}', 'x', 0), \
                        ('queue', NULL, '{\"call\":\"not a call\"}', 'x', 0)",
                vec![],
            ),
        ])
        .unwrap();
    world.db.execute_batch(include_str!(
        "../migrations/0011_outbound_calls_named_by_variant.sql"
    ));
    assert_eq!(
        world.db.rows("SELECT payload FROM deliveries")[0]["payload"],
        OutboundCall::WecomRobot {
            markdown: "x".into()
        }
        .payload()
    );
    let bodies = world.db.rows("SELECT body FROM dead_letters ORDER BY id");
    assert_eq!(
        bodies[0]["body"],
        OutboundCall::PayfeedbackUpdate {
            openid: "o".into(),
            feedback_id: "f".into()
        }
        .payload()
    );
    assert_eq!(
        bodies[1]["body"], r#"{"call":"not a call"}"#,
        "not a delivery's"
    );
    world.answer([ok(r#"{"errcode":0}"#)]);
    world
        .run(kefu_edge::pipeline::delivery::DeliverFlow::new(
            &settings, NOW, 0, "r1",
        ))
        .unwrap();
    assert_eq!(
        world.db.rows("SELECT state FROM deliveries")[0]["state"],
        "delivered"
    );
}

#[test]
fn a_dead_queue_message_is_replayed_as_it_was_unless_it_was_never_readable() {
    let mut world = World::new();
    world
        .run(KeepFlow::new(
            &settings(),
            &QueueMessage::FlushAlerts.to_json(),
            RETRIES_EXHAUSTED,
            NOW,
        ))
        .unwrap();
    world
        .run(KeepFlow::new(&settings(), "garbage", "unreadable", NOW))
        .unwrap();
    world.take_queued();
    assert_eq!(world.run(ReplayFlow::new(1, NOW)), Ok(Replayed::Yes));
    assert_eq!(world.take_queued(), [(QueueMessage::FlushAlerts, 0)]);
    assert!(matches!(
        world.run(ReplayFlow::new(2, NOW)),
        Ok(Replayed::Unreadable(_))
    ));
    assert!(world.queued.is_empty());
    assert_eq!(
        world
            .db
            .count("SELECT COUNT(*) FROM dead_letters WHERE replayed_at IS NOT NULL"),
        1
    );
    // The queue refusing: nothing is marked replayed, and the caller hears of it.
    world.queue_down = true;
    assert!(world.run(ReplayFlow::new(1, NOW + 1)).is_err());
    assert_eq!(
        world
            .db
            .count("SELECT replayed_at FROM dead_letters WHERE id = 1"),
        NOW
    );
}

#[test]
fn a_finished_flow_asks_for_nothing_more() {
    let settings = settings();
    let mut world = World::new();
    fn finish<F: Flow>(world: &mut World, mut flow: F) -> bool {
        let mut answer = None;
        while let Step::Do(effect) = flow.step(answer.take()) {
            answer = Some(world.perform(effect));
        }
        matches!(flow.step(None), Step::Done(_))
    }
    assert!(finish(&mut world, SweepFlow::new(NOW)));
    assert!(finish(&mut world, complaint_deadlines(NOW)));
    assert!(finish(
        &mut world,
        support::inbound(&settings, text_event("1"), NOW)
    ));
    assert!(finish(&mut world, KeepFlow::new(&settings, "x", "y", NOW)));
    assert!(finish(&mut world, ReplayFlow::new(1, NOW)));
    assert!(finish(
        &mut world,
        FlushFlow::new(&settings, NOW, 0, "r".into())
    ));
    assert!(finish(&mut world, OnlineAgentsFlow::new(&settings, NOW)));
    assert!(finish(
        &mut world,
        kefu_edge::pipeline::delivery::DeliverFlow::new(&settings, NOW, 0, "x")
    ));
}
