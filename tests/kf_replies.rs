//! Answering 微信客服 customers (issue 29) on SQLite with the real migrations: staff replies go
//! by `kf/send_msg` with the 微信客服 token and the delivery's msgid (the same at every attempt),
//! within the channel's window (48 hours, 5 sends, counted from the timeline), and WeCom's
//! refusals (95018: the session's state) land on the timeline.

mod support;

use kefu_edge::admin::{admit, handle, AdminMethod, AdminRequest};
use kefu_edge::http::HttpResult;
use kefu_edge::inline::{Rejection, Reply};
use kefu_edge::pipeline::delivery::DeliverFlow;
use kefu_edge::pipeline::kf::KfSyncFlow;
use kefu_edge::pipeline::Context;
use kefu_edge::platforms::wecom_kf::{send_msgid, KfSync};
use kefu_edge::settings::Settings;
use serde_json::{json, Value};
use support::{ok, World};

const NOW: i64 = 1_700_000_000;
const HOUR: i64 = 3600;
const KFID: &str = "wkAcct1";

fn settings() -> Settings {
    support::settings_with(&[
        ("ADMIN_TOKEN", "owner-token"),
        ("STAFF_TOKENS", "anna:anna-token"),
        ("WECOM_CORP_ID", "ww0001"),
        ("WECOM_KF_SECRET", "kf-secret"),
        ("WECOM_API_BASE", "http://wecom.test"),
    ])
}

/// The customer `user` wrote `content` (msgid `msgid`) at `at`, pulled by a sync then.
fn customer_wrote(world: &mut World, user: &str, msgid: &str, content: &str, at: i64) {
    customer_wrote_pulled(world, user, msgid, content, at, at);
}

/// The customer `user` wrote `content` (msgid `msgid`) at `at`, pulled by a sync at `pulled`.
fn customer_wrote_pulled(
    world: &mut World,
    user: &str,
    msgid: &str,
    content: &str,
    at: i64,
    pulled: i64,
) {
    let settings = settings();
    let page = json!({"errcode": 0, "next_cursor": format!("c-{msgid}"), "has_more": 0, "msg_list": [
        {"msgid": msgid, "open_kfid": KFID, "external_userid": user, "send_time": at, "origin": 3,
         "msgtype": "text", "text": {"content": content}}]});
    world.answer([
        ok(r#"{"errcode":0,"access_token":"KF-T","expires_in":7200}"#),
        ok(&page.to_string()),
        ok(r#"{"errcode":0,"customer_list":[]}"#),
    ]);
    let sync = KfSync {
        open_kfid: KFID.into(),
        token: None,
        received_at: pulled,
    };
    world
        .run(KfSyncFlow::new(
            &settings,
            sync,
            pulled,
            format!("run-{msgid}"),
        ))
        .unwrap();
    world.answers.clear();
    world.kv.clear();
}

fn reply(world: &mut World, ticket: i64, text: &str, unique: &str) -> (u16, Value) {
    let path = format!("/api/tickets/{ticket}/reply");
    let body = json!({ "text": text }).to_string();
    call(world, &path, &body, unique)
}

/// A `POST` of the admin API as agent anna.
fn call(world: &mut World, path: &str, body: &str, unique: &str) -> (u16, Value) {
    let settings = settings();
    let cx = Context {
        settings: &settings,
        now: NOW,
        random: 0,
        unique: unique.into(),
    };
    let request = AdminRequest {
        method: AdminMethod::Post,
        path,
        query: "",
        idempotency_key: None,
        if_match: None,
        body,
    };
    let answer: Result<Reply, Rejection> = admit(
        AdminMethod::Post,
        path,
        Some("Bearer anna-token"),
        &settings,
    )
    .and_then(|anna| handle(&request, &anna, &cx))
    .and_then(|flow| world.run(flow));
    match answer {
        Ok(reply) => (reply.status, serde_json::from_str(&reply.body).unwrap()),
        Err(refusal) => (refusal.status(), json!({ "error": refusal.to_string() })),
    }
}

fn deliver(world: &mut World, id: &str) {
    let settings = settings();
    world.run(DeliverFlow::new(&settings, NOW, 0, id)).unwrap();
}

fn sends(world: &World) -> Vec<Value> {
    world
        .requests_to("/cgi-bin/kf/send_msg")
        .iter()
        .map(|r| serde_json::from_str(r.body.as_deref().unwrap()).unwrap())
        .collect()
}

#[test]
fn a_reply_goes_by_send_msg_with_the_same_msgid_at_every_attempt() {
    let mut world = World::new();
    customer_wrote(&mut world, "wmA", "m1", "在吗", NOW - HOUR);
    let ticket = world.db.count("SELECT MAX(id) FROM tickets");
    let (status, sent) = reply(&mut world, ticket, "在的，请讲", "r1");
    assert_eq!(status, 202, "{sent}");
    assert_eq!(sent["channel"], "wecom_kf");
    assert_eq!(
        world.db.rows("SELECT target, recipient FROM deliveries"),
        [json!({"target": "wecom_kf_send", "recipient": "kf:wkAcct1/wmA"})]
    );
    assert_eq!(
        world.db.rows("SELECT first_response_at FROM tickets"),
        [json!({"first_response_at": NOW})]
    );
    // The session state is unknown: WeCom is asked first (0, new). The first attempt times
    // out; the retry knows the state and carries the same msgid.
    world.answer([
        ok(r#"{"errcode":0,"access_token":"KF-T","expires_in":7200}"#),
        ok(r#"{"errcode":0,"errmsg":"ok","service_state":0}"#),
        HttpResult::NetworkError("no answer within 15 s".into()),
    ]);
    deliver(&mut world, "reply:r1");
    world
        .db
        .execute_batch(&format!("UPDATE deliveries SET next_attempt_at = {NOW}"));
    world.answer([ok(r#"{"errcode":0,"errmsg":"ok","msgid":"x"}"#)]);
    deliver(&mut world, "reply:r1");
    let msgid = send_msgid("reply:r1");
    assert_eq!(
        sends(&world),
        [
            json!({"touser": "wmA", "open_kfid": KFID, "msgid": msgid, "msgtype": "text", "text": {"content": "在的，请讲"}}),
            json!({"touser": "wmA", "open_kfid": KFID, "msgid": msgid, "msgtype": "text", "text": {"content": "在的，请讲"}}),
        ]
    );
    assert!(world.requests_to("/cgi-bin/kf/send_msg")[0]
        .url
        .ends_with("access_token=KF-T"));
    let asked = world.requests_to("/cgi-bin/kf/service_state/get");
    assert_eq!(asked.len(), 1);
    assert_eq!(
        serde_json::from_str::<Value>(asked[0].body.as_deref().unwrap()).unwrap(),
        json!({"open_kfid": KFID, "external_userid": "wmA"})
    );
    assert_eq!(
        world.db.rows("SELECT state FROM deliveries"),
        [json!({"state": "delivered"})]
    );
}

#[test]
fn a_session_in_the_wrong_state_is_on_the_timeline() {
    let mut world = World::new();
    customer_wrote(&mut world, "wmB", "m2", "人工", NOW - HOUR);
    let ticket = world.db.count("SELECT MAX(id) FROM tickets");
    assert_eq!(reply(&mut world, ticket, "稍等", "r2").0, 202);
    world.answer([
        ok(r#"{"errcode":0,"access_token":"KF-T","expires_in":7200}"#),
        ok(r#"{"errcode":0,"errmsg":"ok","service_state":1}"#),
        ok(r#"{"errcode":95018,"errmsg":"send msg session status invalid"}"#),
    ]);
    deliver(&mut world, "reply:r2");
    // What kefu-edge knew of the session was wrong: forgotten, the next send asks again.
    assert_eq!(world.db.count("SELECT COUNT(*) FROM kf_sessions"), 0);
    assert_eq!(
        world.db.rows("SELECT state FROM deliveries"),
        [json!({"state": "dead"})]
    );
    let line = world
        .db
        .rows("SELECT body FROM ticket_timeline WHERE kind = 'outbound'");
    let line = line[0]["body"].as_str().unwrap();
    assert!(
        line.starts_with(
            "not delivered: the customer's session does not take API sends now (95018)"
        ),
        "{line}"
    );
}

#[test]
fn five_replies_per_customer_message_within_48_hours() {
    let mut world = World::new();
    customer_wrote(&mut world, "wmC", "m3", "hello", NOW - HOUR);
    let ticket = world.db.count("SELECT MAX(id) FROM tickets");
    for n in 1..=5 {
        assert_eq!(
            reply(&mut world, ticket, &format!("reply {n}"), &format!("r{n}")).0,
            202
        );
    }
    let (status, refused) = reply(&mut world, ticket, "one too many", "r6");
    assert_eq!(status, 409);
    assert!(
        refused["error"].as_str().unwrap().contains("used"),
        "{refused}"
    );
    // A customer who last wrote more than 48 hours ago cannot be answered on 微信客服.
    customer_wrote(&mut world, "wmD", "m4", "old", NOW - 49 * HOUR);
    let old = world.db.count("SELECT MAX(id) FROM tickets");
    let (status, refused) = reply(&mut world, old, "too late", "r7");
    assert_eq!(status, 409);
    assert!(
        refused["error"].as_str().unwrap().contains("closed"),
        "{refused}"
    );
    assert_eq!(world.db.count("SELECT COUNT(*) FROM deliveries"), 5);
}

#[test]
fn staff_hand_the_session_to_a_human_or_end_it_from_the_ticket() {
    let mut world = World::new();
    customer_wrote(&mut world, "wmE", "m5", "转人工", NOW - HOUR);
    let ticket = world.db.count("SELECT MAX(id) FROM tickets");
    let handover = format!("/api/tickets/{ticket}/kf-handover");
    assert_eq!(
        call(&mut world, &handover, r#"{"servicer_userid": "a b"}"#, "h0").0,
        400
    );
    let (status, _) = call(
        &mut world,
        &handover,
        r#"{"servicer_userid": "zhangsan"}"#,
        "h1",
    );
    assert_eq!(status, 200);
    world.answer([ok(
        r#"{"errcode":0,"access_token":"KF-T","expires_in":7200}"#,
    )]);
    deliver(&mut world, "staff:h1:kf-session");
    // kefu-edge moved the session itself: 3 is known, so a reply by API is refused.
    assert_eq!(
        session(&world),
        [
            json!({"recipient": "kf:wkAcct1/wmE", "service_state": 3, "servicer_userid": "zhangsan", "known_at": NOW})
        ]
    );
    let (status, refused) = reply(&mut world, ticket, "hi", "h2");
    assert_eq!((status, refused["error"].as_str().is_some()), (409, true));
    let trans = &world.requests_to("/cgi-bin/kf/service_state/trans")[0];
    assert_eq!(
        serde_json::from_str::<Value>(trans.body.as_deref().unwrap()).unwrap(),
        json!({"open_kfid": KFID, "external_userid": "wmE", "service_state": 3, "servicer_userid": "zhangsan"})
    );
    // Resolving ends the session when the rules say so; a second ticket action changes nothing more.
    world.kv.insert(
        "rules".into(),
        r#"{"kf_end_session_on_resolve": true}"#.into(),
    );
    let resolve = format!("/api/tickets/{ticket}/resolve");
    assert_eq!(call(&mut world, &resolve, "", "res1").0, 200);
    deliver(&mut world, "staff:res1:kf-session");
    let ended = &world.requests_to("/cgi-bin/kf/service_state/trans")[1];
    assert_eq!(
        serde_json::from_str::<Value>(ended.body.as_deref().unwrap()).unwrap(),
        json!({"open_kfid": KFID, "external_userid": "wmE", "service_state": 4})
    );
    let notes = world
        .db
        .rows("SELECT body FROM ticket_timeline WHERE kind = 'agent' ORDER BY id");
    assert_eq!(
        notes,
        [
            json!({"body": "微信客服 session handed to zhangsan"}),
            json!({"body": "resolved"}),
        ]
    );
    let end = format!("/api/tickets/{ticket}/kf-end");
    assert_eq!(call(&mut world, &end, "", "e1").0, 200);
    assert_eq!(
        world
            .db
            .count("SELECT COUNT(*) FROM deliveries WHERE target = 'wecom_kf_session'"),
        3
    );
}

#[test]
fn the_window_runs_from_when_the_customer_wrote_not_from_the_sync() {
    let mut world = World::new();
    // Written 49 hours ago, pulled only now: the window closed an hour ago.
    customer_wrote_pulled(&mut world, "wmF", "m6", "late", NOW - 49 * HOUR, NOW);
    assert_eq!(
        world
            .db
            .rows("SELECT at FROM ticket_timeline WHERE kind = 'inbound'"),
        [json!({"at": NOW - 49 * HOUR})]
    );
    let ticket = world.db.count("SELECT MAX(id) FROM tickets");
    let (status, refused) = reply(&mut world, ticket, "too late", "r8");
    assert_eq!(status, 409);
    assert!(
        refused["error"].as_str().unwrap().contains("closed"),
        "{refused}"
    );
    // A send_time ahead of the clock counts as now.
    customer_wrote_pulled(&mut world, "wmG", "m7", "ahead", NOW + HOUR, NOW);
    assert_eq!(
        world.db.rows(
            "SELECT tl.at FROM ticket_timeline tl JOIN tickets t ON t.id = tl.ticket_id \
             WHERE t.customer_id = 'wkAcct1/wmG'"
        ),
        [json!({"at": NOW})]
    );
}

/// A sync at `at` that pulls `messages`.
fn pulled(world: &mut World, messages: Value, at: i64, run: &str) {
    let settings = settings();
    let page = json!({"errcode": 0, "next_cursor": format!("c-{run}"), "has_more": 0, "msg_list": messages});
    world.answer([
        ok(r#"{"errcode":0,"access_token":"KF-T","expires_in":7200}"#),
        ok(&page.to_string()),
        ok(r#"{"errcode":0,"customer_list":[]}"#),
    ]);
    let sync = KfSync {
        open_kfid: KFID.into(),
        token: None,
        received_at: at,
    };
    world
        .run(KfSyncFlow::new(&settings, sync, at, run.into()))
        .unwrap();
    world.answers.clear();
    world.kv.clear();
}

fn session(world: &World) -> Vec<Value> {
    world
        .db
        .rows("SELECT recipient, service_state, servicer_userid, known_at FROM kf_sessions")
}

#[test]
fn a_session_with_an_agent_in_wecom_is_not_answered_by_api() {
    let mut world = World::new();
    customer_wrote(&mut world, "wmH", "m8", "转人工", NOW - HOUR);
    let ticket = world.db.count("SELECT MAX(id) FROM tickets");
    // Unknown state: the reply is accepted, and its delivery asks WeCom first: 3, with an agent.
    assert_eq!(reply(&mut world, ticket, "稍等", "r9").0, 202);
    world.answer([
        ok(r#"{"errcode":0,"access_token":"KF-T","expires_in":7200}"#),
        ok(r#"{"errcode":0,"errmsg":"ok","service_state":3,"servicer_userid":"zhangsan"}"#),
    ]);
    deliver(&mut world, "reply:r9");
    assert!(sends(&world).is_empty());
    assert_eq!(
        world.db.rows("SELECT state FROM deliveries"),
        [json!({"state": "dead"})]
    );
    let line = world
        .db
        .rows("SELECT body FROM ticket_timeline WHERE kind = 'outbound'");
    assert_eq!(
        line[0]["body"],
        "not delivered: 微信客服: the customer's session is with an agent in the WeCom app (3); WeCom takes replies by API only while it is new (0) or with the bot (1)"
    );
    assert_eq!(
        session(&world),
        [
            json!({"recipient": "kf:wkAcct1/wmH", "service_state": 3, "servicer_userid": "zhangsan", "known_at": NOW})
        ]
    );
    // Now known: the next reply is refused at once, nothing recorded.
    let (status, refused) = reply(&mut world, ticket, "还在吗", "r10");
    assert_eq!(status, 409);
    assert!(
        refused["error"]
            .as_str()
            .unwrap()
            .contains("with an agent in the WeCom app (3)"),
        "{refused}"
    );
    assert_eq!(world.db.count("SELECT COUNT(*) FROM deliveries"), 1);
    // Stale (older than kf_sessions::FRESH_SECS), the state is asked again: 1, with the bot.
    world.db.execute_batch(&format!(
        "UPDATE kf_sessions SET known_at = {}",
        NOW - kefu_edge::kf_sessions::FRESH_SECS - 1
    ));
    assert_eq!(reply(&mut world, ticket, "您好", "r11").0, 202);
    // The access_token is cached in KV by now.
    world.answer([
        ok(r#"{"errcode":0,"errmsg":"ok","service_state":1}"#),
        ok(r#"{"errcode":0,"errmsg":"ok","msgid":"x"}"#),
    ]);
    deliver(&mut world, "reply:r11");
    assert_eq!(sends(&world).len(), 1);
    assert_eq!(session(&world)[0]["service_state"], 1);
}

#[test]
fn session_status_change_events_and_the_customers_message_keep_the_state() {
    let mut world = World::new();
    customer_wrote(&mut world, "wmJ", "m9", "hello", NOW - 3 * HOUR);
    let ticket = world.db.count("SELECT MAX(id) FROM tickets");
    let change = |msgid: &str, change_type: i64, at: i64| {
        json!({"msgid": msgid, "send_time": at, "origin": 4, "msgtype": "event",
               "event": {"event_type": "session_status_change", "open_kfid": KFID, "external_userid": "wmJ",
                         "change_type": change_type, "new_servicer_userid": "lisi"}})
    };
    // Taken from the pool by lisi (change_type 1): 3, as of the event's send_time.
    pulled(
        &mut world,
        json!([change("ev1", 1, NOW - 2 * HOUR)]),
        NOW - 2 * HOUR,
        "s1",
    );
    assert_eq!(
        session(&world),
        [
            json!({"recipient": "kf:wkAcct1/wmJ", "service_state": 3, "servicer_userid": "lisi", "known_at": NOW - 2 * HOUR})
        ]
    );
    // Ended (change_type 3): 4. A customer's message then makes it new (0) again.
    pulled(
        &mut world,
        json!([change("ev2", 3, NOW - 120), {"msgid": "m10", "open_kfid": KFID, "external_userid": "wmJ",
            "send_time": NOW - 60, "origin": 3, "msgtype": "text", "text": {"content": "again"}}]),
        NOW - 30,
        "s2",
    );
    assert_eq!(
        session(&world),
        [
            json!({"recipient": "kf:wkAcct1/wmJ", "service_state": 0, "servicer_userid": null, "known_at": NOW - 60})
        ]
    );
    // Known and fresh: the reply goes without asking.
    assert_eq!(reply(&mut world, ticket, "hi", "r12").0, 202);
    world.answer([
        ok(r#"{"errcode":0,"access_token":"KF-T","expires_in":7200}"#),
        ok(r#"{"errcode":0,"errmsg":"ok","msgid":"x"}"#),
    ]);
    deliver(&mut world, "reply:r12");
    assert_eq!(sends(&world).len(), 1);
    assert!(world
        .requests_to("/cgi-bin/kf/service_state/get")
        .is_empty());
    // An older event read late does not overwrite what is newer.
    pulled(
        &mut world,
        json!([change("ev0", 2, NOW - 5 * HOUR)]),
        NOW,
        "s3",
    );
    assert_eq!(session(&world)[0]["service_state"], 0);
}

#[test]
fn when_wecom_cannot_tell_the_state_the_send_goes_and_wecom_decides() {
    let mut world = World::new();
    customer_wrote(&mut world, "wmK", "m11", "hi", NOW - HOUR);
    let ticket = world.db.count("SELECT MAX(id) FROM tickets");
    for (unique, asked) in [
        ("r13", ok(r#"{"errcode":-1,"errmsg":"system busy"}"#)),
        ("r14", ok(r#"{"errcode":0,"errmsg":"ok"}"#)),
    ] {
        assert_eq!(reply(&mut world, ticket, "hello", unique).0, 202);
        world.kv.clear();
        world.answer([
            ok(r#"{"errcode":0,"access_token":"KF-T","expires_in":7200}"#),
            asked,
            ok(r#"{"errcode":0,"errmsg":"ok","msgid":"x"}"#),
        ]);
        deliver(&mut world, &format!("reply:{unique}"));
    }
    assert_eq!(world.requests_to("/cgi-bin/kf/service_state/get").len(), 2);
    assert_eq!(sends(&world).len(), 2);
    assert_eq!(world.db.count("SELECT COUNT(*) FROM kf_sessions"), 0);
    assert_eq!(
        world.db.rows("SELECT state FROM deliveries ORDER BY id"),
        [json!({"state": "delivered"}), json!({"state": "delivered"})]
    );
}
