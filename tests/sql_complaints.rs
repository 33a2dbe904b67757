//! WeChat Pay complaints (维权) on SQLite with the real migrations: notifications, deadlines,
//! warnings and staff resolution, including the races and reorderings a queue brings.

mod support;

use kefu_edge::complaints::{ResolveRequest, STATE_SQL};
use kefu_edge::event::QueuedPush;
use kefu_edge::pipeline::cron::complaint_deadlines;
use kefu_edge::pipeline::effect::{Effect, Flow, Step};
use kefu_edge::pipeline::resolve::{ResolveFlow, Resolved};
use kefu_edge::platforms::payfeedback::MsgType;
use kefu_edge::settings::Settings;
use kefu_edge::sql::{Statement, StoreError};
use kefu_edge::wechat::custom_send::CustomSendLimits;
use serde_json::Value;
use support::World;

const NOW: i64 = 1_700_000_000;
const DAY: i64 = 86_400;
const OPENID: &str = "oX99MDgNcgwnz3zFN3DNmo8uwa-w";

fn notification(msg_type: MsgType, timestamp: i64, trans_id: Option<&str>) -> QueuedPush {
    support::complaint_notification("5883726847655944563", OPENID, msg_type, timestamp, trans_id)
}

fn apply(world: &mut World, event: QueuedPush) -> Result<String, StoreError> {
    world.run(support::inbound(
        &Settings::from_lookup(|_| None),
        event,
        NOW,
    ))
}

fn complaint(world: &World) -> Value {
    world
        .db
        .rows("SELECT * FROM complaints")
        .into_iter()
        .next()
        .expect("a complaint")
}

fn ticket(world: &World) -> Value {
    world
        .db
        .rows("SELECT * FROM tickets")
        .into_iter()
        .next()
        .expect("a ticket")
}

fn order(world: &mut World, kind: &str, delivered: bool) {
    world
        .db
        .transaction(&[Statement::new(
            "INSERT INTO orders (id, trans_id, goods_kind, delivered_at, updated_at) VALUES ('O1', 'T1', ?, ?, 0)",
            vec![kind.into(), delivered.then_some(NOW - DAY).into()],
        )])
        .unwrap();
}

#[test]
fn a_request_opens_a_complaint_due_by_its_legal_deadline_on_a_high_priority_ticket() {
    for (kind, delivered, days) in [
        (None, false, 1),
        (Some("physical"), false, 2),
        (Some("virtual"), true, 3),
        (Some("physical"), true, 15),
    ] {
        let mut world = World::new();
        if let Some(kind) = kind {
            order(&mut world, kind, delivered);
        }
        apply(
            &mut world,
            notification(MsgType::Request, NOW - 100, Some("T1")),
        )
        .unwrap();
        let c = complaint(&world);
        assert_eq!(c["status"], "open");
        assert_eq!(c["opened_at"], NOW - 100, "opened when the user complained");
        assert_eq!(
            c["deadline"],
            NOW - 100 + days * DAY,
            "{kind:?} delivered={delivered}"
        );
        assert_eq!(c["warning_due"], NOW - 100 + days * DAY - days * DAY / 4);
        let t = ticket(&world);
        assert_eq!(
            (t["category"].as_str(), t["priority"].as_str()),
            (Some("complaint"), Some("high"))
        );
        assert_eq!(t["resolution_due"], c["deadline"]);
        let alerts = world.db.rows("SELECT text FROM alerts");
        assert_eq!(alerts.len(), 1);
        let text = alerts[0]["text"].as_str().unwrap();
        assert!(
            text.contains("resolve by") && text.contains(&format!("({} h)", days * 24)),
            "{text}"
        );
    }
}

#[test]
fn a_repeated_request_changes_nothing_but_the_timeline() {
    let mut world = World::new();
    apply(&mut world, notification(MsgType::Request, NOW - 100, None)).unwrap();
    apply(&mut world, notification(MsgType::Request, NOW - 50, None)).unwrap();
    assert_eq!(world.db.count("SELECT COUNT(*) FROM complaints"), 1);
    assert_eq!(world.db.count("SELECT COUNT(*) FROM alerts"), 1);
    assert_eq!(world.db.count("SELECT COUNT(*) FROM ticket_timeline"), 2);
    assert_eq!(complaint(&world)["status"], "open");
}

#[test]
fn confirm_closes_and_resolves_the_ticket_reject_reopens_escalates_and_alerts_once() {
    let mut world = World::new();
    apply(&mut world, notification(MsgType::Request, NOW - 100, None)).unwrap();
    apply(&mut world, notification(MsgType::Confirm, NOW - 50, None)).unwrap();
    assert_eq!(complaint(&world)["status"], "closed");
    assert_eq!(ticket(&world)["status"], "resolved");
    assert_eq!(
        world.db.count("SELECT COUNT(*) FROM alerts"),
        1,
        "closing alerts nobody"
    );
    apply(&mut world, notification(MsgType::Reject, NOW - 10, None)).unwrap();
    let c = complaint(&world);
    assert_eq!(
        (c["status"].as_str(), c["escalated_at"].as_i64()),
        (Some("reopened"), Some(NOW))
    );
    let t = ticket(&world);
    assert_eq!(
        (t["status"].as_str(), t["priority"].as_str()),
        (Some("open"), Some("urgent"))
    );
    let escalations = world
        .db
        .rows("SELECT text FROM alerts WHERE text LIKE 'ESCALATED%'");
    assert_eq!(escalations.len(), 1);
}

#[test]
fn notifications_applied_out_of_order_end_as_they_were_sent() {
    // Sent: request, reject (the user refused), confirm (then accepted). Processed: the
    // confirm before the reject, as a queue may deliver them.
    let mut world = World::new();
    apply(&mut world, notification(MsgType::Request, NOW - 300, None)).unwrap();
    apply(&mut world, notification(MsgType::Confirm, NOW - 100, None)).unwrap();
    apply(&mut world, notification(MsgType::Reject, NOW - 200, None)).unwrap();
    let c = complaint(&world);
    assert_eq!(c["status"], "closed", "the late reject does not reopen it");
    assert!(c["escalated_at"].is_null());
    assert_eq!(c["last_notified_at"], NOW - 100);
    assert_eq!(
        world
            .db
            .count("SELECT COUNT(*) FROM alerts WHERE text LIKE 'ESCALATED%'"),
        0,
        "no false escalation"
    );
    assert_eq!(
        world.db.count("SELECT COUNT(*) FROM events"),
        3,
        "the late one is still kept"
    );
    let note = world
        .db
        .rows("SELECT body FROM ticket_timeline ORDER BY id DESC LIMIT 1")[0]["body"]
        .clone();
    assert!(
        note.as_str()
            .unwrap()
            .contains("older reject notification arrived after a newer one"),
        "{note}"
    );

    // The same three in the order sent end reopened and escalated.
    let mut inorder = World::new();
    apply(
        &mut inorder,
        notification(MsgType::Request, NOW - 300, None),
    )
    .unwrap();
    apply(&mut inorder, notification(MsgType::Reject, NOW - 200, None)).unwrap();
    assert_eq!(complaint(&inorder)["status"], "reopened");
    apply(
        &mut inorder,
        notification(MsgType::Confirm, NOW - 100, None),
    )
    .unwrap();
    assert_eq!(complaint(&inorder)["status"], "closed");
}

/// Runs a flow until its transaction, lets `meanwhile` change the database, then finishes it.
fn run_interrupted<F: Flow>(
    world: &mut World,
    mut flow: F,
    meanwhile: impl FnOnce(&mut World),
) -> F::Output {
    let mut meanwhile = Some(meanwhile);
    let mut answer = None;
    loop {
        match flow.step(answer.take()) {
            Step::Done(output) => return output,
            Step::Do(effect) => {
                if matches!(effect, Effect::Transaction(_)) {
                    if let Some(change) = meanwhile.take() {
                        change(world);
                    }
                }
                answer = Some(world.perform(effect));
            }
        }
    }
}

#[test]
fn a_notification_planned_from_a_state_that_changed_meanwhile_is_retried_not_misapplied() {
    let mut world = World::new();
    apply(&mut world, notification(MsgType::Request, NOW - 300, None)).unwrap();
    let settings = Settings::from_lookup(|_| None);
    let reject = support::inbound(
        &settings,
        notification(MsgType::Reject, NOW - 200, None),
        NOW,
    );
    let outcome = run_interrupted(&mut world, reject, |w| {
        apply(w, notification(MsgType::Confirm, NOW - 100, None)).unwrap();
    });
    assert_eq!(outcome, Err(StoreError::Conflict), "the queue retries it");
    assert_eq!(
        world.db.count("SELECT COUNT(*) FROM events"),
        2,
        "rolled back whole"
    );
    // The retry reads the new state and finds the reject older than the confirm.
    apply(&mut world, notification(MsgType::Reject, NOW - 200, None)).unwrap();
    assert_eq!(complaint(&world)["status"], "closed");
    assert!(world.parked_is_empty(), "a conflict is not an outage");
}

fn resolve(message: Option<&str>, key: Option<&str>, unique: &str) -> ResolveFlow {
    let body = match message {
        Some(text) => format!(r#"{{"message": {}}}"#, serde_json::to_string(text).unwrap()),
        None => "{}".into(),
    };
    let request: ResolveRequest = serde_json::from_str(&body).unwrap();
    ResolveFlow::new(
        "5883726847655944563",
        request,
        CustomSendLimits::default(),
        key,
        unique,
        "anna",
        NOW,
    )
}

#[test]
fn resolving_records_the_message_and_the_update_and_moves_the_ticket_to_pending() {
    let mut world = World::new();
    apply(&mut world, notification(MsgType::Request, NOW - 300, None)).unwrap();
    world.take_queued();
    let Ok(Resolved::Done { deliveries }) =
        world.run(resolve(Some("We refunded you."), None, "abc"))
    else {
        panic!("resolved");
    };
    assert_eq!(
        deliveries,
        [
            "resolve:5883726847655944563:abc:custom_send",
            "resolve:5883726847655944563:abc:payfeedback_update"
        ]
    );
    assert_eq!(world.take_deliveries(), deliveries);
    assert_eq!(complaint(&world)["status"], "processed");
    assert_eq!(ticket(&world)["status"], "pending");
    let rows = world
        .db
        .rows("SELECT target, payload, ticket_id FROM deliveries ORDER BY id");
    assert_eq!(
        rows[0]["payload"],
        r#"{"custom_send":{"touser":"oX99MDgNcgwnz3zFN3DNmo8uwa-w","message":{"msgtype":"text","content":"We refunded you."}}}"#
    );
    assert_eq!(rows[1]["target"], "payfeedback_update");
    assert_eq!(rows[0]["ticket_id"], ticket(&world)["id"]);
    // A later, deliberate second resolve is a second update (without a message, no send).
    let Ok(Resolved::Done { deliveries }) = world.run(resolve(None, None, "def")) else {
        panic!()
    };
    assert_eq!(
        deliveries,
        ["resolve:5883726847655944563:def:payfeedback_update"]
    );
}

#[test]
fn two_resolves_planned_from_the_same_read_send_once() {
    let mut world = World::new();
    apply(&mut world, notification(MsgType::Request, NOW - 300, None)).unwrap();
    world.take_queued();
    let first = resolve(Some("refunded"), None, "one");
    let outcome = run_interrupted(&mut world, first, |w| {
        // The second resolve, read at the same time, commits first.
        let second = w.run(resolve(Some("refunded"), None, "two"));
        assert!(matches!(second, Ok(Resolved::Done { .. })));
    });
    assert!(matches!(outcome, Ok(Resolved::Conflict(_))), "{outcome:?}");
    assert_eq!(
        world
            .db
            .count("SELECT COUNT(*) FROM deliveries WHERE target = 'wechat_custom_send'"),
        1
    );
    assert_eq!(
        world
            .db
            .count("SELECT COUNT(*) FROM deliveries WHERE target = 'payfeedback_update'"),
        1
    );
    assert_eq!(
        world.take_deliveries().len(),
        2,
        "only the winner's two calls"
    );
    // The message counts against the customer's Official Account window; the update does not.
    assert_eq!(
        world.db.count(
            "SELECT COUNT(*) FROM deliveries WHERE target = 'wechat_custom_send' AND recipient LIKE 'oa:%'"
        ),
        1
    );
    assert_eq!(
        world.db.count(
            "SELECT COUNT(*) FROM deliveries WHERE target = 'payfeedback_update' AND recipient IS NULL"
        ),
        1
    );
}

#[test]
fn a_confirm_between_reading_and_resolving_is_never_overwritten() {
    let mut world = World::new();
    apply(&mut world, notification(MsgType::Request, NOW - 300, None)).unwrap();
    let outcome = run_interrupted(&mut world, resolve(None, None, "x"), |w| {
        apply(w, notification(MsgType::Confirm, NOW - 100, None)).unwrap();
    });
    assert!(matches!(outcome, Ok(Resolved::Conflict(_))));
    assert_eq!(complaint(&world)["status"], "closed");
    assert_eq!(world.db.count("SELECT COUNT(*) FROM deliveries"), 0);
    // And resolving a closed complaint is refused outright.
    assert!(matches!(
        world.run(resolve(None, None, "y")),
        Ok(Resolved::Conflict(_))
    ));
}

#[test]
fn the_same_idempotency_key_resolves_once_and_answers_the_same_deliveries() {
    let mut world = World::new();
    apply(&mut world, notification(MsgType::Request, NOW - 300, None)).unwrap();
    world.take_queued();
    let Ok(Resolved::Done { deliveries }) = world.run(resolve(Some("hi"), Some("click-1"), "a"))
    else {
        panic!()
    };
    let Ok(Resolved::Repeated { deliveries: again }) =
        world.run(resolve(Some("hi"), Some("click-1"), "b"))
    else {
        panic!()
    };
    assert_eq!(deliveries, again);
    assert_eq!(
        world.take_deliveries(),
        deliveries,
        "the repeat sends nothing"
    );
    assert_eq!(world.db.count("SELECT COUNT(*) FROM deliveries"), 2);
    // A concurrent repeat of the key (both read 'open') is also a repeat.
    let mut race = World::new();
    apply(&mut race, notification(MsgType::Request, NOW - 300, None)).unwrap();
    let outcome = run_interrupted(&mut race, resolve(None, Some("k"), "c"), |w| {
        w.run(resolve(None, Some("k"), "d")).unwrap();
    });
    assert!(
        matches!(outcome, Ok(Resolved::Repeated { .. })),
        "{outcome:?}"
    );
    assert_eq!(race.db.count("SELECT COUNT(*) FROM deliveries"), 1);
}

#[test]
fn unknown_complaints_and_bad_messages_are_refused_without_writing() {
    let mut world = World::new();
    assert_eq!(world.run(resolve(None, None, "x")), Ok(Resolved::NotFound));
    apply(&mut world, notification(MsgType::Request, NOW - 300, None)).unwrap();
    assert!(matches!(
        world.run(resolve(Some(" "), None, "x")),
        Ok(Resolved::BadMessage(_))
    ));
    assert_eq!(world.db.count("SELECT COUNT(*) FROM deliveries"), 0);
    assert_eq!(
        world.db.query(&Statement::new(
            STATE_SQL,
            vec!["5883726847655944563".into()]
        ))[0]["status"],
        "open"
    );
}

#[test]
fn deadline_warnings_fire_once_a_quarter_before_and_once_overdue() {
    let mut world = World::new();
    apply(&mut world, notification(MsgType::Request, NOW, None)).unwrap();
    let due = complaint(&world)["warning_due"].as_i64().unwrap();
    let deadline = complaint(&world)["deadline"].as_i64().unwrap();
    world.run(complaint_deadlines(due - 1)).unwrap();
    assert_eq!(
        world.db.count("SELECT COUNT(*) FROM alerts"),
        1,
        "only the opening alert"
    );
    world.run(complaint_deadlines(due)).unwrap();
    world.run(complaint_deadlines(due + 60)).unwrap();
    assert_eq!(
        world
            .db
            .count("SELECT COUNT(*) FROM alerts WHERE dedup_key LIKE '%:quarter'"),
        1
    );
    world.run(complaint_deadlines(deadline)).unwrap();
    world.run(complaint_deadlines(deadline + 60)).unwrap();
    assert_eq!(
        world
            .db
            .count("SELECT COUNT(*) FROM alerts WHERE dedup_key LIKE '%:overdue'"),
        1
    );
    // Found already overdue: only the overdue warning.
    let mut late = World::new();
    apply(&mut late, notification(MsgType::Request, NOW, None)).unwrap();
    late.run(complaint_deadlines(NOW + 10 * DAY)).unwrap();
    assert_eq!(
        late.db
            .count("SELECT COUNT(*) FROM alerts WHERE dedup_key LIKE '%:quarter'"),
        0
    );
    assert_eq!(
        late.db
            .count("SELECT COUNT(*) FROM alerts WHERE dedup_key LIKE '%:overdue'"),
        1
    );
}

#[test]
fn two_resolves_of_a_processed_complaint_planned_from_the_same_read_send_once() {
    let mut world = World::new();
    apply(&mut world, notification(MsgType::Request, NOW - 300, None)).unwrap();
    assert!(matches!(
        world.run(resolve(None, None, "first")),
        Ok(Resolved::Done { .. })
    ));
    world.take_queued();
    // Both read `processed` (resolved once already); processed -> processed leaves the status as
    // it was, so the resolution's own stamp is what tells them apart.
    let outcome = run_interrupted(&mut world, resolve(Some("again"), None, "one"), |w| {
        assert!(matches!(
            w.run(resolve(Some("again"), None, "two")),
            Ok(Resolved::Done { .. })
        ));
    });
    assert!(matches!(outcome, Ok(Resolved::Conflict(_))), "{outcome:?}");
    assert_eq!(
        world
            .db
            .count("SELECT COUNT(*) FROM deliveries WHERE target = 'wechat_custom_send'"),
        1
    );
    assert_eq!(
        world
            .db
            .count("SELECT COUNT(*) FROM deliveries WHERE target = 'payfeedback_update'"),
        2
    );
}

#[test]
fn a_used_key_answers_what_it_recorded_even_after_the_complaint_closed_or_with_another_message() {
    let mut world = World::new();
    apply(&mut world, notification(MsgType::Request, NOW - 300, None)).unwrap();
    let Ok(Resolved::Done { deliveries }) = world.run(resolve(None, Some("k1"), "a")) else {
        panic!()
    };
    assert_eq!(deliveries.len(), 1, "no message: only the update");
    apply(&mut world, notification(MsgType::Confirm, NOW - 100, None)).unwrap();
    world.take_queued();
    // The complaint is closed now; the key still answers its first use.
    let again = world.run(resolve(None, Some("k1"), "b"));
    assert_eq!(
        again,
        Ok(Resolved::Repeated {
            deliveries: deliveries.clone()
        })
    );
    // The same key with a message the first use did not carry: nothing new is recorded or sent,
    // and the answer lists only what was recorded.
    let other = world.run(resolve(Some("a message"), Some("k1"), "c"));
    assert_eq!(other, Ok(Resolved::Repeated { deliveries }));
    assert!(world.take_queued().is_empty());
    assert_eq!(world.db.count("SELECT COUNT(*) FROM deliveries"), 1);
}
