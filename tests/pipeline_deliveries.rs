//! The delivery lifecycle and the access_token, run as the shell runs them, on SQLite with the
//! real migrations and scripted upstream answers.

mod support;

use kefu_edge::event::QueueMessage;
use kefu_edge::http::HttpResult;
use kefu_edge::kv;
use kefu_edge::outbound::{OutboundCall, MAX_ATTEMPTS};
use kefu_edge::pipeline::delivery::{AttemptFlow, DeliverFlow, Dispatch};
use kefu_edge::pipeline::effect::Effect;
use kefu_edge::settings::Settings;
use kefu_edge::sql::{Statement, StoreError};
use kefu_edge::wechat::custom_send::CustomMessage;
use serde_json::json;
use support::{ok, retry_after, status, World};

const NOW: i64 = 1_700_000_000;
const TOKEN_ANSWER: &str = r#"{"access_token":"T-fresh","expires_in":7200}"#;

fn settings() -> Settings {
    support::settings_with(&[
        ("WECHAT_APPID", "wx1"),
        ("WECHAT_APPSECRET", "s3cret"),
        ("WECOM_ROBOT_KEY", "robot-key"),
        ("WECHAT_API_BASE", "http://wechat.test"),
        ("WECOM_API_BASE", "http://wecom.test"),
    ])
}

fn custom_send(text: &str) -> OutboundCall {
    OutboundCall::CustomSend {
        touser: "oCustomer".into(),
        message: CustomMessage::Text {
            content: text.into(),
        },
        fallback: None,
    }
}

fn robot(markdown: &str) -> OutboundCall {
    OutboundCall::WecomRobot {
        markdown: markdown.into(),
    }
}

/// A ticket for oCustomer on the OA channel, and its id.
fn ticket(world: &mut World) -> i64 {
    world
        .db
        .transaction(&[Statement::new(
            "INSERT INTO tickets (channel, customer_id, opened_by, created_at, updated_at, first_response_due, resolution_due) \
             VALUES ('oa', 'oCustomer', 'k', 0, 0, 0, 0)",
            vec![],
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

fn delivery(world: &World, id: &'static str) -> serde_json::Value {
    let rows = world.db.query(&Statement::new(
        "SELECT state, attempts, last_result, next_attempt_at, updated_at FROM deliveries WHERE id = ?",
        vec![id.into()],
    ));
    rows.into_iter().next().expect("the delivery")
}

fn deliver(
    world: &mut World,
    settings: &Settings,
    id: &str,
    now: i64,
) -> Result<String, StoreError> {
    world.run(DeliverFlow::new(settings, now, 0, id))
}

fn cache_token(world: &mut World, token: &str, expires_at: i64) {
    world.kv.insert(
        kv::ACCESS_TOKEN.into(),
        json!({"access_token": token, "expires_at": expires_at}).to_string(),
    );
}

#[test]
fn a_delivered_call_is_recorded_and_put_on_its_tickets_timeline() {
    let (mut world, settings) = (World::new(), settings());
    let ticket = ticket(&mut world);
    record(&mut world, "d1", &custom_send("你好"), Some(ticket));
    world.answer([ok(TOKEN_ANSWER)]);
    deliver(&mut world, &settings, "d1", NOW).unwrap();
    assert_eq!(delivery(&world, "d1")["state"], "delivered");
    assert_eq!(delivery(&world, "d1")["attempts"], 1);
    let send = world.requests_to("/cgi-bin/message/custom/send");
    assert_eq!(send.len(), 1);
    assert!(send[0].url.ends_with("access_token=T-fresh"));
    let timeline = world
        .db
        .rows("SELECT ticket_id, kind, actor, body FROM ticket_timeline");
    assert_eq!(timeline.len(), 1);
    assert_eq!(timeline[0]["ticket_id"], ticket);
    assert_eq!(timeline[0]["body"], "sent to the customer: 你好");
    assert!(world.queued.is_empty(), "nothing more to do");
}

#[test]
fn the_classic_token_endpoint_is_a_setting_away() {
    let classic = support::settings_with(&[
        ("WECHAT_APPID", "wx1"),
        ("WECHAT_APPSECRET", "s3cret"),
        ("WECHAT_TOKEN_ENDPOINT", "classic"),
    ]);
    let mut world = World::new();
    record(&mut world, "d1", &custom_send("a"), None);
    world.answer([ok(TOKEN_ANSWER)]);
    deliver(&mut world, &classic, "d1", NOW).unwrap();
    assert_eq!(world.requests_to("/cgi-bin/token").len(), 1);
    assert!(world.requests_to("/cgi-bin/stable_token").is_empty());
}

#[test]
fn the_token_is_fetched_once_cached_and_reused_while_fresh() {
    let (mut world, settings) = (World::new(), settings());
    record(&mut world, "d1", &custom_send("a"), None);
    record(&mut world, "d2", &custom_send("b"), None);
    world.answer([ok(TOKEN_ANSWER)]);
    deliver(&mut world, &settings, "d1", NOW).unwrap();
    assert!(world.requests[0]
        .body
        .as_deref()
        .unwrap()
        .contains(r#""force_refresh":false"#));
    deliver(&mut world, &settings, "d2", NOW + 60).unwrap();
    assert_eq!(world.requests_to("/cgi-bin/stable_token").len(), 1);
    let cached: serde_json::Value = serde_json::from_str(&world.kv[kv::ACCESS_TOKEN]).unwrap();
    assert_eq!(cached["expires_at"], NOW + 7200);
    // Near expiry (within the 10-minute margin) it is fetched anew.
    record(&mut world, "d3", &custom_send("c"), None);
    world.answer([ok(TOKEN_ANSWER)]);
    deliver(&mut world, &settings, "d3", NOW + 7200 - 600).unwrap();
    assert_eq!(world.requests_to("/cgi-bin/stable_token").len(), 2);
}

#[test]
fn a_refused_token_is_refreshed_once_and_the_call_retried_once() {
    let (mut world, settings) = (World::new(), settings());
    cache_token(&mut world, "T-stale", NOW + 7200);
    record(&mut world, "d1", &custom_send("a"), None);
    world.answer([
        ok(r#"{"errcode":40001,"errmsg":"invalid credential"}"#),
        ok(TOKEN_ANSWER),
        ok(r#"{"errcode":0,"errmsg":"ok"}"#),
    ]);
    deliver(&mut world, &settings, "d1", NOW).unwrap();
    let urls: Vec<&str> = world.requests.iter().map(|r| r.url.as_str()).collect();
    assert_eq!(urls.len(), 3, "{urls:?}");
    assert!(urls[0].ends_with("access_token=T-stale"));
    assert!(urls[1].ends_with("/cgi-bin/stable_token"));
    // The refresh after a refusal forces a new token; the first fetch did not.
    assert!(world.requests[1]
        .body
        .as_deref()
        .unwrap()
        .contains(r#""force_refresh":true"#));
    assert!(urls[2].ends_with("access_token=T-fresh"));
    assert_eq!(delivery(&world, "d1")["state"], "delivered");
    // The forced refresh did not read the stale cache again.
    let kv_reads = world
        .effects
        .iter()
        .filter(|e| matches!(e, Effect::KvGet(_)))
        .count();
    assert_eq!(kv_reads, 1);
}

#[test]
fn a_token_refused_twice_is_retried_later_not_looped() {
    let (mut world, settings) = (World::new(), settings());
    cache_token(&mut world, "T-stale", NOW + 7200);
    record(&mut world, "d1", &custom_send("a"), None);
    let refused = ok(r#"{"errcode":42001,"errmsg":"access_token expired"}"#);
    world.answer([refused.clone(), ok(TOKEN_ANSWER), refused]);
    deliver(&mut world, &settings, "d1", NOW).unwrap();
    assert_eq!(world.requests.len(), 3);
    assert_eq!(delivery(&world, "d1")["state"], "retrying");
    assert_eq!(world.take_queued().len(), 1);
}

#[test]
fn bad_credentials_or_missing_settings_make_a_dead_letter() {
    let (mut world, settings) = (World::new(), settings());
    record(&mut world, "d1", &custom_send("a"), None);
    world.answer([ok(r#"{"errcode":40013,"errmsg":"invalid appid"}"#)]);
    deliver(&mut world, &settings, "d1", NOW).unwrap();
    assert_eq!(delivery(&world, "d1")["state"], "dead");
    let dead = world
        .db
        .rows("SELECT source, delivery_id, reason FROM dead_letters");
    assert_eq!(dead[0]["reason"], "errcode 40013: invalid appid");

    let bare = Settings::from_lookup(|_| None);
    record(&mut world, "d2", &custom_send("b"), None);
    deliver(&mut world, &bare, "d2", NOW).unwrap();
    assert_eq!(delivery(&world, "d2")["state"], "dead");
    assert_eq!(
        world
            .db
            .rows("SELECT reason FROM dead_letters WHERE delivery_id = 'd2'")[0]["reason"],
        "missing setting WECHAT_APPID"
    );
}

#[test]
fn retryable_failures_back_off_through_the_queue_until_due() {
    let (mut world, settings) = (World::new(), settings());
    cache_token(&mut world, "T", NOW + 7200);
    record(&mut world, "d1", &custom_send("a"), None);
    world
        .db
        .transaction(&[Statement::new(
            "UPDATE deliveries SET attempts = 4 WHERE id = 'd1'",
            vec![],
        )])
        .unwrap();
    world.answer([status(502)]);
    deliver(&mut world, &settings, "d1", NOW).unwrap();
    let row = delivery(&world, "d1");
    assert_eq!(
        (row["state"].as_str(), row["attempts"].as_i64()),
        (Some("retrying"), Some(5))
    );
    assert_eq!(row["last_result"], "HTTP 502: ");
    let queued = world.take_queued();
    let delay = queued[0].1;
    assert_eq!(
        queued[0].0,
        QueueMessage::Deliver {
            delivery_id: "d1".into()
        }
    );
    assert_eq!(row["next_attempt_at"], NOW + i64::from(delay));
    // Delivered early by the queue: not claimed, nothing sent.
    deliver(&mut world, &settings, "d1", NOW).unwrap();
    assert_eq!(world.requests.len(), 1);
    // Due: attempt 6 succeeds.
    deliver(&mut world, &settings, "d1", NOW + i64::from(delay)).unwrap();
    assert_eq!(delivery(&world, "d1")["state"], "delivered");
    assert_eq!(delivery(&world, "d1")["attempts"], 6);
}

#[test]
fn the_last_retryable_failure_gives_up_with_a_dead_letter_and_one_alert() {
    let (mut world, settings) = (World::new(), settings());
    cache_token(&mut world, "T", NOW + 7200);
    record(&mut world, "d1", &custom_send("a"), None);
    world
        .db
        .transaction(&[Statement::new(
            "UPDATE deliveries SET attempts = ? WHERE id = 'd1'",
            vec![i64::from(MAX_ATTEMPTS - 1).into()],
        )])
        .unwrap();
    world.answer([status(503)]);
    deliver(&mut world, &settings, "d1", NOW).unwrap();
    assert_eq!(delivery(&world, "d1")["state"], "dead");
    let reason = world.db.rows("SELECT reason FROM dead_letters")[0]["reason"].clone();
    assert_eq!(
        reason,
        format!("gave up after {MAX_ATTEMPTS} attempts: HTTP 503")
    );
    assert_eq!(world.db.count("SELECT COUNT(*) FROM alerts"), 1);
    assert_eq!(world.take_queued(), [(QueueMessage::FlushAlerts, 0)]);
}

#[test]
fn a_permanent_error_is_dead_lettered_on_the_timeline_and_alerted_once() {
    let (mut world, settings) = (World::new(), settings());
    cache_token(&mut world, "T", NOW + 7200);
    let ticket = ticket(&mut world);
    record(&mut world, "d1", &custom_send("a"), Some(ticket));
    world.answer([ok(
        r#"{"errcode":45015,"errmsg":"response out of time limit"}"#,
    )]);
    deliver(&mut world, &settings, "d1", NOW).unwrap();
    assert_eq!(delivery(&world, "d1")["state"], "dead");
    assert_eq!(
        world.db.rows("SELECT body FROM ticket_timeline")[0]["body"],
        "not delivered: errcode 45015: response out of time limit"
    );
    let alerts = world.db.rows("SELECT ticket_id, text FROM alerts");
    assert_eq!(alerts.len(), 1);
    assert_eq!(alerts[0]["ticket_id"], ticket);
    assert_eq!(world.take_queued(), [(QueueMessage::FlushAlerts, 0)]);
}

#[test]
fn a_failed_robot_is_dead_lettered_without_alerting_about_itself() {
    let (mut world, settings) = (World::new(), settings());
    record(&mut world, "r1", &robot("**alert**"), None);
    world.answer([ok(r#"{"errcode":93000,"errmsg":"invalid webhook url"}"#)]);
    deliver(&mut world, &settings, "r1", NOW).unwrap();
    assert_eq!(delivery(&world, "r1")["state"], "dead");
    assert_eq!(world.db.count("SELECT COUNT(*) FROM dead_letters"), 1);
    assert_eq!(world.db.count("SELECT COUNT(*) FROM alerts"), 0);
    assert!(world.queued.is_empty());
}

#[test]
fn a_delivery_is_claimed_by_one_consumer_only() {
    let (mut world, settings) = (World::new(), settings());
    cache_token(&mut world, "T", NOW + 7200);
    record(&mut world, "d1", &custom_send("a"), None);
    deliver(&mut world, &settings, "d1", NOW).unwrap();
    // The same queue message delivered again (the queue is at least once): nothing is sent.
    let report = deliver(&mut world, &settings, "d1", NOW).unwrap();
    assert!(report.contains("not yet due"), "{report}");
    assert_eq!(world.requests.len(), 1);
    // And an unknown id is a no-op, not an error.
    assert_eq!(
        deliver(&mut world, &settings, "nope", NOW).unwrap(),
        "no delivery nope"
    );
}

#[test]
fn a_rate_limited_call_without_a_free_slot_waits_for_the_oldest_send_to_leave_the_window() {
    let (mut world, settings) = (World::new(), settings());
    for i in 0..20 {
        world
            .db
            .transaction(&[Statement::new(
                "INSERT INTO rate_sends (target, at) VALUES ('wecom_robot', ?)",
                vec![(NOW - 50 + i).into()],
            )])
            .unwrap();
    }
    record(&mut world, "r1", &robot("x"), None);
    deliver(&mut world, &settings, "r1", NOW).unwrap();
    assert!(world.requests.is_empty(), "no slot, no request");
    let row = delivery(&world, "r1");
    assert_eq!(row["state"], "retrying");
    assert_eq!(row["attempts"], 0, "waiting for a slot is not an attempt");
    assert_eq!(row["next_attempt_at"], NOW + 10);
    assert_eq!(
        world.take_queued(),
        [(
            QueueMessage::Deliver {
                delivery_id: "r1".into()
            },
            10
        )]
    );
    // Ten seconds later the oldest send has left the window: a slot, and the call.
    deliver(&mut world, &settings, "r1", NOW + 10).unwrap();
    assert_eq!(world.requests.len(), 1);
    assert_eq!(delivery(&world, "r1")["state"], "delivered");
}

#[test]
fn a_failed_store_or_queue_makes_the_message_retry() {
    let (mut world, settings) = (World::new(), settings());
    cache_token(&mut world, "T", NOW + 7200);
    record(&mut world, "d1", &custom_send("a"), None);
    world.db_down = true;
    assert!(deliver(&mut world, &settings, "d1", NOW).is_err());
    world.db_down = false;
    world.queue_down = true;
    world.answer([status(500)]);
    // The attempt is recorded; the requeue failed, so the message itself is retried (and the
    // sweep finds the delivery if that is lost too).
    assert!(deliver(&mut world, &settings, "d1", NOW).is_err());
    assert_eq!(delivery(&world, "d1")["state"], "retrying");
}

#[test]
fn an_attempt_on_its_own_records_whatever_the_call_gave() {
    let (mut world, settings) = (World::new(), settings());
    record(&mut world, "r1", &robot("x"), None);
    world.answer([HttpResult::NetworkError("connection reset".into())]);
    let report = world
        .run(AttemptFlow::new(
            &settings,
            NOW,
            7,
            "r1",
            robot("x"),
            None,
            1,
        ))
        .unwrap();
    assert!(report.contains("Retryable"), "{report}");
    assert_eq!(
        delivery(&world, "r1")["last_result"],
        "network error: connection reset"
    );
}

#[test]
fn dispatch_enqueues_each_delivery_and_counts_what_failed() {
    let mut world = World::new();
    let ids = ["a".to_owned(), "b".to_owned()];
    assert_eq!(world.run(Dispatch::deliveries(&ids)), 0);
    assert_eq!(
        world.take_queued(),
        [
            (
                QueueMessage::Deliver {
                    delivery_id: "a".into()
                },
                0
            ),
            (
                QueueMessage::Deliver {
                    delivery_id: "b".into()
                },
                0
            )
        ]
    );
    world.queue_down = true;
    assert_eq!(world.run(Dispatch::deliveries(&ids)), 2);
}

#[test]
fn a_429_with_retry_after_is_not_tried_again_sooner() {
    let (mut world, settings) = (World::new(), settings());
    record(&mut world, "r1", &robot("x"), None);
    world.answer([retry_after(429, 30)]);
    deliver(&mut world, &settings, "r1", NOW).unwrap();
    let row = delivery(&world, "r1");
    assert_eq!(row["state"], "retrying");
    assert_eq!(row["next_attempt_at"], NOW + 30);
    assert_eq!(
        world.take_queued(),
        [(
            QueueMessage::Deliver {
                delivery_id: "r1".into()
            },
            30
        )]
    );
}
