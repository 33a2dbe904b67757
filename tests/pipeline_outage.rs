//! A D1 outage loses nothing: inbound events are parked in KV (with one staff alert per
//! outage) while the queue keeps retrying, and a replay after the outage stores each once.

mod support;

use kefu_edge::event::{QueueMessage, QueuedPush};
use kefu_edge::kv;
use kefu_edge::pipeline::dead_letters::KeepFlow;
use kefu_edge::pipeline::effect::Effect;
use kefu_edge::pipeline::outage::{
    ListParkedFlow, ParkedReplay, ReplayParkedFlow, KV_OPERATIONS_PER_INVOCATION, PARKED_PAGE_MAX,
    REPLAY_BATCH,
};
use kefu_edge::pipeline::{consume, retry_delay_secs, Context, RETRIES_EXHAUSTED};
use kefu_edge::settings::Settings;
use support::World;

const NOW: i64 = 1_700_000_000;

fn settings() -> Settings {
    Settings::from_lookup(|name| (name == "WECOM_ROBOT_KEY").then(|| "robot-key".to_owned()))
}

fn event(msg_id: &str) -> QueuedPush {
    support::oa_text("oA", msg_id, &format!("message {msg_id}"), NOW)
}

fn parked(world: &World) -> usize {
    world
        .kv
        .keys()
        .filter(|k| k.starts_with(kv::PARKED_PREFIX))
        .count()
}

#[test]
fn events_refused_by_d1_are_parked_and_staff_are_alerted_once_per_outage() {
    let (mut world, settings) = (World::new(), settings());
    world.db_down = true;
    for id in ["1", "2", "3"] {
        assert!(
            world
                .run(support::inbound(&settings, event(id), NOW))
                .is_err(),
            "retried"
        );
    }
    assert_eq!(parked(&world), 3);
    let message = QueueMessage::Inbound(event("1")).to_json();
    assert_eq!(world.kv[&kv::parked_key(&message)], message);
    assert_eq!(world.requests.len(), 1, "one alert for the outage");
    assert!(world.requests[0]
        .url
        .contains("/cgi-bin/webhook/send?key=robot-key"));
    assert!(world.requests[0]
        .body
        .as_deref()
        .unwrap()
        .contains("/api/parked/replay"));
    // A retry of the same message parks it on the same key.
    world
        .run(support::inbound(&settings, event("1"), NOW + 10))
        .unwrap_err();
    assert_eq!(parked(&world), 3);
}

#[test]
fn after_the_outage_a_replay_stores_each_event_exactly_once() {
    let (mut world, settings) = (World::new(), settings());
    world.db_down = true;
    for id in ["1", "2", "3"] {
        world
            .run(support::inbound(&settings, event(id), NOW))
            .unwrap_err();
    }
    world.db_down = false;
    // One of them got through on a queue retry before the replay.
    world
        .run(support::inbound(&settings, event("2"), NOW + 60))
        .unwrap();
    world.take_queued();

    let report = world.run(ReplayParkedFlow::new()).unwrap();
    assert_eq!(
        report,
        ParkedReplay {
            replayed: 3,
            unreadable: vec![],
            remaining: 0
        }
    );
    assert_eq!(parked(&world), 0);
    let cx = Context {
        settings: &settings,
        now: NOW + 120,
        random: 0,
        unique: "u".into(),
    };
    for (message, _) in world.take_queued() {
        world.run(consume(&message.to_json(), false, &cx)).unwrap();
    }
    assert_eq!(world.db.count("SELECT COUNT(*) FROM events"), 3);
    assert_eq!(
        world
            .db
            .count("SELECT COUNT(DISTINCT dedup_key) FROM events"),
        3
    );
    assert_eq!(world.db.count("SELECT COUNT(*) FROM ticket_timeline"), 3);
    // Nothing left to replay.
    assert_eq!(
        world.run(ReplayParkedFlow::new()).unwrap(),
        ParkedReplay::default()
    );
}

#[test]
fn when_kv_is_down_too_the_queue_still_holds_the_message() {
    let (mut world, settings) = (World::new(), settings());
    world.db_down = true;
    world.kv_down = true;
    assert!(world
        .run(support::inbound(&settings, event("1"), NOW))
        .is_err());
    assert!(world.requests.is_empty());
    assert!(world.run(ListParkedFlow::new(None, 100)).is_err());
    assert!(world.run(ReplayParkedFlow::new()).is_err());
}

#[test]
fn dead_letter_queue_messages_are_parked_when_d1_cannot_keep_them() {
    let (mut world, settings) = (World::new(), settings());
    world.db_down = true;
    let body = QueueMessage::Inbound(event("7")).to_json();
    assert!(world
        .run(KeepFlow::new(&settings, &body, RETRIES_EXHAUSTED, NOW))
        .is_err());
    let listed = world.run(ListParkedFlow::new(None, 100)).unwrap().parked;
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].message["inbound"]["platform"], "oa");
    assert!(listed[0].message["inbound"]["text"]
        .as_str()
        .unwrap()
        .contains("<MsgId>7</MsgId>"));
}

#[test]
fn a_parked_value_this_version_cannot_read_stays_parked() {
    let mut world = World::new();
    world.kv.insert(kv::parked_key("junk"), "junk".into());
    let report = world.run(ReplayParkedFlow::new()).unwrap();
    assert_eq!(report.replayed, 0);
    assert_eq!(report.unreadable, [kv::parked_key("junk")]);
    assert_eq!(parked(&world), 1);
    // The queue refusing a replay keeps the parked copy.
    world.kv.clear();
    world
        .kv
        .insert(kv::parked_key("x"), QueueMessage::FlushAlerts.to_json());
    world.queue_down = true;
    assert!(world.run(ReplayParkedFlow::new()).is_err());
    assert_eq!(parked(&world), 1);
}

#[test]
fn retries_wait_as_long_as_the_message_already_waited_within_bounds() {
    assert_eq!(retry_delay_secs(0), 10);
    assert_eq!(retry_delay_secs(-5), 10, "a clock step back");
    assert_eq!(retry_delay_secs(40), 40);
    assert_eq!(retry_delay_secs(10 * 86_400), 6 * 3600);
    // Twenty retries from the first failure cover about two days.
    let mut age = 0;
    for _ in 0..20 {
        age += i64::from(retry_delay_secs(age));
    }
    assert!((40 * 3600..60 * 3600).contains(&age), "{age}");
}

/// The KV operations (reads, writes, deletes, listings) of the effects from `from` on.
fn kv_operations(world: &World, from: usize) -> usize {
    world.effects[from..]
        .iter()
        .filter(|e| {
            matches!(
                e,
                Effect::KvGet(_)
                    | Effect::KvPut { .. }
                    | Effect::KvDelete(_)
                    | Effect::KvList { .. }
            )
        })
        .count()
}

#[test]
fn twenty_five_hundred_parked_messages_are_listed_by_cursor_and_replayed_in_batches() {
    let mut world = World::new();
    for id in 0..2500 {
        let message = QueueMessage::Inbound(event(&id.to_string())).to_json();
        world.kv.insert(kv::parked_key(&message), message);
    }
    // Listed a page at a time, each page within one invocation's KV operations.
    let (mut cursor, mut seen) = (None, std::collections::BTreeSet::new());
    let mut pages = 0;
    loop {
        let from = world.effects.len();
        let page = world
            .run(ListParkedFlow::new(cursor.take(), PARKED_PAGE_MAX))
            .unwrap();
        assert!(kv_operations(&world, from) <= KV_OPERATIONS_PER_INVOCATION);
        pages += 1;
        seen.extend(page.parked.into_iter().map(|p| p.key));
        match page.cursor {
            Some(next) => cursor = Some(next),
            None => break,
        }
    }
    assert_eq!((seen.len(), pages), (2500, 5));

    // Replayed in batches, each saying how many remain.
    let mut remaining = Vec::new();
    loop {
        let from = world.effects.len();
        let report = world.run(ReplayParkedFlow::new()).unwrap();
        assert!(
            kv_operations(&world, from) <= KV_OPERATIONS_PER_INVOCATION,
            "{} KV operations",
            kv_operations(&world, from)
        );
        assert!(report.unreadable.is_empty());
        assert_eq!(
            report.replayed + report.remaining,
            2500 - REPLAY_BATCH * remaining.len()
        );
        remaining.push(report.remaining);
        if report.remaining == 0 {
            break;
        }
    }
    assert_eq!(remaining, [2100, 1700, 1300, 900, 500, 100, 0]);
    assert_eq!(parked(&world), 0);
    let replayed: std::collections::BTreeSet<String> = world
        .take_queued()
        .into_iter()
        .map(|(m, _)| kv::parked_key(&m.to_json()))
        .collect();
    assert_eq!(replayed, seen, "each parked message back on the queue once");
}
