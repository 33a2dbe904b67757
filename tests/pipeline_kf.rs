//! The 微信客服 consumer on SQLite with a scripted WeCom: `kf/sync_msg` paging with the cursor
//! stored with each page, the per-account lease, per-msgid dedup across a re-read page, tickets
//! and timeline by origin, the welcome, profiles once per customer, the 3-day gap alert, and the
//! access_token's refresh.

mod support;

use kefu_edge::event::QueueMessage;
use kefu_edge::http::HttpResult;
use kefu_edge::pipeline::effect::{Flow, Step};
use kefu_edge::pipeline::kf::{KfSyncFlow, BUSY_DELAY_SECS, LEASE_SECS};
use kefu_edge::platforms::wecom_kf::KfSync;
use kefu_edge::settings::Settings;
use kefu_edge::sql::StoreError;
use serde_json::{json, Value};
use support::{ok, World};

const NOW: i64 = 1_800_000_000;
const KFID: &str = "wkAcct1";

fn settings() -> Settings {
    support::settings_with(&[
        ("WECOM_CORP_ID", "ww0001"),
        ("WECOM_KF_SECRET", "kf-secret"),
        ("WECOM_API_BASE", "http://127.0.0.1:9"),
    ])
}

fn sync(token: Option<&str>) -> KfSync {
    KfSync {
        open_kfid: KFID.into(),
        token: token.map(str::to_owned),
        received_at: NOW,
    }
}

fn token_answer() -> HttpResult {
    ok(r#"{"errcode":0,"errmsg":"ok","access_token":"AT1","expires_in":7200}"#)
}

fn text(msgid: &str, user: &str, content: &str) -> Value {
    json!({"msgid": msgid, "open_kfid": KFID, "external_userid": user, "send_time": NOW - 10,
           "origin": 3, "msgtype": "text", "text": {"content": content}})
}

fn page(cursor: &str, more: bool, messages: &[Value]) -> HttpResult {
    ok(&json!({"errcode": 0, "errmsg": "ok", "next_cursor": cursor, "has_more": i64::from(more), "msg_list": messages})
        .to_string())
}

fn profiles(users: &[&str]) -> HttpResult {
    let list: Vec<Value> = users
        .iter()
        .map(|u| json!({"external_userid": u, "nickname": format!("nick-{u}"), "avatar": "http://a", "unionid": format!("union-{u}")}))
        .collect();
    ok(&json!({"errcode": 0, "errmsg": "ok", "customer_list": list}).to_string())
}

fn run(
    world: &mut World,
    settings: &Settings,
    sync: KfSync,
    lease: &str,
) -> Result<String, StoreError> {
    world.run(KfSyncFlow::new(settings, sync, NOW, lease.into()))
}

fn sync_bodies(world: &World) -> Vec<Value> {
    world
        .requests_to("/cgi-bin/kf/sync_msg")
        .iter()
        .map(|r| serde_json::from_str(r.body.as_deref().unwrap()).unwrap())
        .collect()
}

fn cursor(world: &World) -> Value {
    world
        .db
        .rows("SELECT cursor, lease_id, lease_until FROM kf_cursors")[0]
        .clone()
}

#[test]
fn pages_are_pulled_with_their_cursor_stored_and_a_replayed_page_stores_nothing_twice() {
    let settings = settings();
    let mut world = World::new();
    world.answer([
        token_answer(),
        page(
            "C1",
            true,
            &[text("m1", "wmA", "hello"), text("m2", "wmB", "hi")],
        ),
        profiles(&["wmA", "wmB"]),
        page("C2", false, &[text("m3", "wmA", "again")]),
    ]);
    let report = run(&mut world, &settings, sync(Some("TOK")), "run1").unwrap();
    assert!(report.contains("3 new in 2 pages"), "{report}");
    let bodies = sync_bodies(&world);
    assert_eq!(
        bodies,
        [
            json!({"limit": 1000, "open_kfid": KFID, "token": "TOK"}),
            json!({"limit": 1000, "open_kfid": KFID, "token": "TOK", "cursor": "C1"}),
        ]
    );
    assert_eq!(
        world.requests[0].url,
        "http://127.0.0.1:9/cgi-bin/gettoken?corpid=ww0001&corpsecret=kf-secret"
    );
    assert_eq!(
        cursor(&world),
        json!({"cursor": "C2", "lease_id": null, "lease_until": 0})
    );
    assert_eq!(
        world
            .db
            .rows("SELECT channel, customer_id, status FROM tickets ORDER BY id"),
        [
            json!({"channel": "kf", "customer_id": "wkAcct1/wmA", "status": "open"}),
            json!({"channel": "kf", "customer_id": "wkAcct1/wmB", "status": "open"}),
        ]
    );
    assert_eq!(
        world
            .db
            .count("SELECT COUNT(*) FROM ticket_timeline WHERE kind = 'inbound'"),
        3
    );
    assert_eq!(world.db.count("SELECT COUNT(*) FROM alerts"), 2);

    // WeCom replays the last page (the same msgids): nothing is stored twice, the cursor moves on.
    world.answer([page("C3", false, &[text("m3", "wmA", "again")])]);
    let report = run(&mut world, &settings, sync(None), "run2").unwrap();
    assert!(report.contains("0 new in 1 pages"), "{report}");
    assert_eq!(
        sync_bodies(&world)[2],
        json!({"limit": 1000, "open_kfid": KFID, "cursor": "C2"})
    );
    assert_eq!(
        world
            .db
            .count("SELECT COUNT(*) FROM events WHERE kind = 'kf_message'"),
        3
    );
    assert_eq!(world.db.count("SELECT COUNT(*) FROM ticket_timeline"), 3);
    assert_eq!(world.db.count("SELECT COUNT(*) FROM tickets"), 2);
    assert_eq!(cursor(&world)["cursor"], "C3");
    // The token came from KV the second time; profiles were fetched once per customer.
    assert_eq!(world.requests_to("/cgi-bin/gettoken").len(), 1);
    assert_eq!(world.requests_to("/cgi-bin/kf/customer/batchget").len(), 1);
    assert_eq!(
        world
            .db
            .rows("SELECT external_userid, nickname, unionid FROM kf_customers ORDER BY 1"),
        [
            json!({"external_userid": "wmA", "nickname": "nick-wmA", "unionid": "union-wmA"}),
            json!({"external_userid": "wmB", "nickname": "nick-wmB", "unionid": "union-wmB"}),
        ]
    );
    assert_eq!(
        world
            .db
            .rows("SELECT customer_name FROM tickets WHERE customer_id = 'wkAcct1/wmA'")[0]
            ["customer_name"],
        "nick-wmA"
    );
}

#[test]
fn a_failure_between_pages_keeps_the_pages_stored_and_rereads_at_most_one() {
    let settings = settings();
    let mut world = World::new();
    world.answer([
        token_answer(),
        page("C1", true, &[text("m1", "wmA", "one")]),
        profiles(&["wmA"]),
        HttpResult::NetworkError("reset".into()),
    ]);
    let failed = run(&mut world, &settings, sync(None), "run1").unwrap_err();
    assert!(matches!(failed, StoreError::Unavailable(_)), "{failed:?}");
    assert_eq!(
        cursor(&world),
        json!({"cursor": "C1", "lease_id": null, "lease_until": 0})
    );
    // The retry starts from C1; the page after it is read once more and the same message twice
    // in it is one message.
    world.answer([page(
        "C2",
        false,
        &[text("m2", "wmA", "two"), text("m2", "wmA", "two")],
    )]);
    run(&mut world, &settings, sync(None), "run2").unwrap();
    assert_eq!(sync_bodies(&world).last().unwrap()["cursor"], "C1");
    assert_eq!(world.db.count("SELECT COUNT(*) FROM ticket_timeline"), 2);
}

#[test]
fn a_leased_account_is_synced_again_later_not_twice_at_once() {
    let settings = settings();
    let mut world = World::new();
    world.db.execute_batch(&format!(
        "INSERT INTO kf_cursors (open_kfid, cursor, lease_id, lease_until) VALUES ('{KFID}', 'C9', 'other', {})",
        NOW + 30
    ));
    let report = run(&mut world, &settings, sync(Some("TOK")), "run1").unwrap();
    assert!(report.contains("busy"), "{report}");
    assert!(world.requests.is_empty());
    assert_eq!(
        world.take_queued(),
        [(QueueMessage::KfSync(sync(Some("TOK"))), BUSY_DELAY_SECS)]
    );
    // A lease that ran out (its run died) is taken over.
    world
        .db
        .execute_batch(&format!("UPDATE kf_cursors SET lease_until = {NOW}"));
    world.answer([token_answer(), page("C10", false, &[])]);
    run(&mut world, &settings, sync(None), "run2").unwrap();
    assert_eq!(
        sync_bodies(&world),
        [json!({"limit": 1000, "open_kfid": KFID, "cursor": "C9"})]
    );
}

#[test]
fn a_run_that_lost_its_lease_stores_nothing() {
    let settings = settings();
    let mut world = World::new();
    world.answer([
        token_answer(),
        page("C1", false, &[text("m1", "wmA", "one")]),
    ]);
    let mut flow = KfSyncFlow::new(&settings, sync(None), NOW, "run1".into());
    let mut answer = None;
    let result = loop {
        match flow.step(answer.take()) {
            Step::Done(result) => break result,
            Step::Do(effect) => {
                if matches!(&effect, kefu_edge::pipeline::effect::Effect::Fetch(r) if r.url.contains("sync_msg"))
                {
                    // Meanwhile the lease ran out and another run took the account.
                    world.db.execute_batch(&format!(
                        "UPDATE kf_cursors SET lease_id = 'run2', lease_until = {}",
                        NOW + LEASE_SECS
                    ));
                }
                answer = Some(world.perform(effect));
            }
        }
    };
    assert_eq!(result, Err(StoreError::Conflict));
    assert_eq!(world.db.count("SELECT COUNT(*) FROM events"), 0);
    assert_eq!(cursor(&world)["lease_id"], "run2");
    assert_eq!(cursor(&world)["cursor"], Value::Null);
}

#[test]
fn events_agent_messages_and_the_welcome_go_where_they_belong() {
    let settings = settings();
    let mut world = World::new();
    world
        .kv
        .insert("rules".into(), r#"{"kf_welcome":"欢迎光临"}"#.into());
    let enter = json!({"msgid": "e1", "send_time": NOW - 5, "origin": 4, "msgtype": "event",
        "event": {"event_type": "enter_session", "open_kfid": KFID, "external_userid": "wmA",
                  "scene": "shop", "scene_param": "o=1", "welcome_code": "WCODE"}});
    let servicer = json!({"msgid": "s1", "open_kfid": KFID, "external_userid": "wmA", "send_time": NOW - 2,
        "origin": 5, "servicer_userid": "zhangsan", "msgtype": "text", "text": {"content": "我来看看"}});
    let ended = json!({"msgid": "e2", "send_time": NOW - 1, "origin": 4, "msgtype": "event",
        "event": {"event_type": "session_status_change", "open_kfid": KFID, "external_userid": "wmA",
                  "change_type": 3, "old_servicer_userid": "zhangsan"}});
    world.answer([
        token_answer(),
        page(
            "C1",
            false,
            &[enter.clone(), text("m1", "wmA", "hello"), servicer, ended],
        ),
        profiles(&["wmA"]),
    ]);
    run(&mut world, &settings, sync(None), "run1").unwrap();
    assert_eq!(
        world
            .db
            .rows("SELECT kind, actor, body FROM ticket_timeline ORDER BY id"),
        [
            json!({"kind": "inbound", "actor": "wkAcct1/wmA", "body": "hello"}),
            json!({"kind": "agent", "actor": "zhangsan", "body": "我来看看"}),
            json!({"kind": "status", "actor": "kf", "body": "session changed (3): zhangsan -> "}),
        ]
    );
    assert_eq!(
        world
            .db
            .rows("SELECT first_response_at, assignee FROM tickets"),
        [json!({"first_response_at": NOW, "assignee": "zhangsan"})]
    );
    // The event is stored even though no ticket was open when the customer entered.
    assert_eq!(
        world
            .db
            .count("SELECT COUNT(*) FROM events WHERE dedup_key = 'kf:msg:e1'"),
        1
    );
    let welcome = world.db.rows("SELECT id, target, payload FROM deliveries");
    assert_eq!(welcome.len(), 1);
    assert_eq!(welcome[0]["id"], "kf:welcome:e1");
    assert_eq!(welcome[0]["target"], "wecom_kf_welcome");
    let payload: Value = serde_json::from_str(welcome[0]["payload"].as_str().unwrap()).unwrap();
    assert_eq!(payload["kf_welcome"]["code"], "WCODE");
    assert_eq!(
        payload["kf_welcome"]["message"],
        json!({"text": {"content": "欢迎光临"}})
    );
    assert_eq!(payload["kf_welcome"]["msgid"].as_str().unwrap().len(), 32);
    assert!(world
        .take_deliveries()
        .contains(&"kf:welcome:e1".to_owned()));

    // The same event read again: no second welcome.
    world.answer([page("C2", false, &[enter])]);
    run(&mut world, &settings, sync(None), "run2").unwrap();
    assert_eq!(world.db.count("SELECT COUNT(*) FROM deliveries"), 1);
    assert!(world.take_deliveries().is_empty());
}

#[test]
fn a_gap_longer_than_three_days_is_reported_once() {
    let settings = settings();
    let mut world = World::new();
    let four_days_ago = NOW - 4 * 24 * 3600;
    world.db.execute_batch(&format!(
        "INSERT INTO kf_cursors (open_kfid, cursor, synced_at) VALUES ('{KFID}', 'OLD', {four_days_ago})"
    ));
    world.answer([token_answer(), page("C1", false, &[])]);
    run(&mut world, &settings, sync(None), "run1").unwrap();
    let alerts = world.db.rows("SELECT dedup_key, text FROM alerts");
    assert_eq!(alerts.len(), 1);
    assert_eq!(
        alerts[0]["dedup_key"],
        format!("kf:gap:{KFID}:{four_days_ago}")
    );
    assert!(alerts[0]["text"].as_str().unwrap().contains("3 days"));
    world.answer([page("C2", false, &[])]);
    run(&mut world, &settings, sync(None), "run2").unwrap();
    assert_eq!(world.db.count("SELECT COUNT(*) FROM alerts"), 1);
}

#[test]
fn a_refused_token_is_refreshed_once_and_an_old_callback_token_is_not_sent() {
    let settings = settings();
    let mut world = World::new();
    world.answer([
        token_answer(),
        ok(r#"{"errcode":42001,"errmsg":"access_token expired"}"#),
        ok(r#"{"errcode":0,"errmsg":"ok","access_token":"AT2","expires_in":7200}"#),
        page("C1", false, &[]),
    ]);
    let stale = KfSync {
        received_at: NOW - 3600,
        ..sync(Some("TOK"))
    };
    run(&mut world, &settings, stale, "run1").unwrap();
    assert_eq!(world.requests_to("/cgi-bin/gettoken").len(), 2);
    let syncs = world.requests_to("/cgi-bin/kf/sync_msg");
    assert!(
        syncs[1].url.ends_with("access_token=AT2"),
        "{}",
        syncs[1].url
    );
    assert!(sync_bodies(&world).iter().all(|b| b.get("token").is_none()));
    let cached: Value = serde_json::from_str(&world.kv["wecom_kf_access_token"]).unwrap();
    assert_eq!(cached["access_token"], "AT2");
    // Without the 微信客服 settings nothing is called, and retrying would not help.
    let mut bare = World::new();
    let none = Settings::from_lookup(|_| None);
    let report = run(&mut bare, &none, sync(None), "run1").unwrap();
    assert!(
        report.contains("refused: missing setting WECOM_CORP_ID"),
        "{report}"
    );
    assert!(bare.requests.is_empty());
    assert_eq!(cursor(&bare)["lease_id"], Value::Null);
}

#[test]
fn a_faq_keyword_is_answered_once_on_the_customers_channel() {
    let settings = settings();
    let mut world = World::new();
    world.kv.insert(
        "rules".into(),
        r#"{"faq":[{"keywords":["发货"],"reply":"24 小时内发货"}]}"#.into(),
    );
    world.answer([
        token_answer(),
        page(
            "C1",
            false,
            &[text("m1", "wmA", "什么时候发货"), text("m2", "wmA", "谢谢")],
        ),
        profiles(&["wmA"]),
    ]);
    run(&mut world, &settings, sync(None), "run1").unwrap();
    // Read again (a replayed page): no second answer.
    world.answer([page("C2", false, &[text("m1", "wmA", "什么时候发货")])]);
    run(&mut world, &settings, sync(None), "run2").unwrap();
    let deliveries = world
        .db
        .rows("SELECT id, target, recipient, ticket_id IS NOT NULL AS on_ticket FROM deliveries");
    assert_eq!(
        deliveries,
        [
            json!({"id": "kf:msg:m1:faq", "target": "wecom_kf_send", "recipient": "kf:wkAcct1/wmA", "on_ticket": 1})
        ]
    );
    let payload: Value = serde_json::from_str(
        world.db.rows("SELECT payload FROM deliveries")[0]["payload"]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    assert_eq!(
        payload["kf_send"]["message"],
        json!({"text": {"content": "24 小时内发货"}})
    );
}
