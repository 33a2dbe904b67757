//! Least privilege on the admin API: every route for every role (and for no valid token),
//! Idempotency-Key on replies (scope, body hash, empty key), percent-decoded path segments and
//! rules edits with `If-Match`, run as the Worker runs them on SQLite with the real migrations.

mod support;

use kefu_edge::admin::{rules_version, AdminMethod};
use kefu_edge::inline::{Rejection, Reply};
use kefu_edge::media::{media_path, MediaFlow};
use kefu_edge::role::Role;
use kefu_edge::settings::Settings;
use serde_json::{json, Value};
use support::World;

const NOW: i64 = 1_700_000_000;
const HOUR: i64 = 3600;

fn settings() -> Settings {
    support::settings_with(&[
        ("ADMIN_TOKEN", "owner-token"),
        (
            "STAFF_TOKENS",
            "anna:anna-token,lea:lea-token:lead:wecom=LeaW",
        ),
        ("CARESOFT_BASE_URL", "http://caresoft.test/demo"),
        ("CARESOFT_API_TOKEN", "cs-token"),
    ])
}

/// A request as the shell makes it.
struct Call<'a> {
    method: AdminMethod,
    path: &'a str,
    body: &'a str,
    token: Option<&'a str>,
    key: Option<&'a str>,
    if_match: Option<&'a str>,
    unique: &'a str,
}

impl<'a> Call<'a> {
    fn new(method: AdminMethod, path: &'a str, body: &'a str, token: &'a str) -> Self {
        Call {
            method,
            path,
            body,
            token: Some(token),
            key: None,
            if_match: None,
            unique: "u1",
        }
    }

    fn run(&self, world: &mut World, settings: &Settings) -> Result<Reply, Rejection> {
        let authorization = self.token.map(|t| format!("Bearer {t}"));
        let path = self
            .path
            .split_once('?')
            .map_or(self.path, |(path, _)| path);
        if media_path(path).is_some() {
            // Streamed by the shell, not answered by `handle`: admitted by the flow itself.
            let flow = MediaFlow::new(settings, authorization.as_deref(), path, NOW)?;
            return world
                .run(flow)
                .map(|_request| Reply::json(200, "{}".into()));
        }
        support::AdminCall {
            method: self.method,
            path: self.path,
            body: self.body,
            authorization,
            idempotency_key: self.key,
            if_match: self.if_match,
            now: NOW,
            unique: self.unique,
        }
        .run(world, settings)
    }
}

fn json_of(reply: Result<Reply, Rejection>) -> (u16, Value) {
    match reply {
        Ok(reply) => (reply.status, serde_json::from_str(&reply.body).unwrap()),
        Err(refusal) => (
            refusal.status(),
            json!({ "error": refusal.to_string(), "code": refusal.code() }),
        ),
    }
}

/// An OA customer wrote at `at`: their ticket, opened then.
fn customer_wrote(world: &mut World, openid: &str, msg: &str, at: i64) -> i64 {
    support::customer_wrote(world, &settings(), openid, msg, at)
}

/// Every admin route, with a body it accepts, and the role the issue gives it.
const ROUTES: &[(AdminMethod, &str, &str, Role)] = &[
    (AdminMethod::Get, "/api/me", "", Role::Agent),
    (AdminMethod::Get, "/api/rules", "", Role::Agent),
    (AdminMethod::Put, "/api/rules", "{}", Role::Owner),
    (AdminMethod::Get, "/api/tickets", "", Role::Agent),
    (AdminMethod::Get, "/api/tickets/1", "", Role::Agent),
    (AdminMethod::Get, "/api/tickets/1/media/1", "", Role::Agent),
    (
        AdminMethod::Post,
        "/api/tickets/1/reply",
        r#"{"text": "hi"}"#,
        Role::Agent,
    ),
    (
        AdminMethod::Post,
        "/api/tickets/1/assign",
        r#"{"assignee": "anna"}"#,
        Role::Agent,
    ),
    (AdminMethod::Post, "/api/tickets/1/resolve", "", Role::Agent),
    (AdminMethod::Post, "/api/tickets/1/close", "", Role::Agent),
    (AdminMethod::Post, "/api/tickets/1/reopen", "", Role::Agent),
    (
        AdminMethod::Post,
        "/api/tickets/1/zns",
        r#"{"template_id": 7}"#,
        Role::Agent,
    ),
    (AdminMethod::Get, "/api/orders", "", Role::Agent),
    (AdminMethod::Get, "/api/orders/O1", "", Role::Agent),
    (
        AdminMethod::Put,
        "/api/orders/O1",
        r#"{"status": "paid"}"#,
        Role::Lead,
    ),
    (AdminMethod::Get, "/api/complaints", "", Role::Agent),
    (
        AdminMethod::Post,
        "/api/complaints/F1/resolve",
        "{}",
        Role::Lead,
    ),
    (AdminMethod::Get, "/api/stats", "", Role::Agent),
    (AdminMethod::Get, "/api/events", "", Role::Lead),
    (AdminMethod::Get, "/api/deliveries", "", Role::Lead),
    (AdminMethod::Get, "/api/alerts", "", Role::Lead),
    (AdminMethod::Get, "/api/dead-letters", "", Role::Lead),
    (AdminMethod::Get, "/api/parked", "", Role::Lead),
    (
        AdminMethod::Post,
        "/api/dead-letters/1/replay",
        "",
        Role::Lead,
    ),
    (AdminMethod::Post, "/api/parked/replay", "", Role::Lead),
    (
        AdminMethod::Post,
        "/api/zns",
        r#"{"phone": "0983123148", "template_id": 366}"#,
        Role::Lead,
    ),
    (
        AdminMethod::Put,
        "/api/zalo/token",
        r#"{"refresh_token": "RT-1"}"#,
        Role::Owner,
    ),
];

#[test]
fn every_route_for_every_role() {
    let settings = settings();
    let callers = [
        (Some("anna-token"), Some(Role::Agent)),
        (Some("lea-token"), Some(Role::Lead)),
        (Some("owner-token"), Some(Role::Owner)),
        (Some("wrong-token"), None),
        (None, None),
    ];
    for &(method, path, body, needs) in ROUTES {
        for (token, role) in callers {
            // A fresh world with the ticket the ticket routes name, the customer's message
            // inside WeChat's window.
            let mut world = World::new();
            customer_wrote(&mut world, "oU", "m1", NOW - HOUR);
            let before = world.effects.len();
            let call = Call {
                token,
                ..Call::new(method, path, body, "")
            };
            let what = format!("{method:?} {path} as {role:?}");
            match (call.run(&mut world, &settings), role) {
                (Err(refused), None) => {
                    assert_eq!(refused.status(), 401, "{what}");
                    assert_eq!(world.effects.len(), before, "{what}: nothing read");
                }
                (Err(refused), Some(role)) if role < needs => {
                    let (status, body) = json_of(Err(refused));
                    assert_eq!(status, 403, "{what}");
                    assert_eq!(body["code"], "forbidden", "{what}");
                    let error = body["error"].as_str().unwrap();
                    assert!(
                        error.ends_with(&format!("needs the {} role", needs.name())),
                        "{what}: {error}"
                    );
                    assert_eq!(
                        world.effects.len(),
                        before,
                        "{what}: nothing read or changed"
                    );
                }
                (result, Some(role)) if role >= needs => {
                    let status = json_of(result).0;
                    assert!(![401, 403].contains(&status), "{what}: {status}");
                    assert!(
                        world.effects.len() > before || path == "/api/me",
                        "{what}: ran"
                    );
                }
                (result, _) => panic!("{what}: {:?}", json_of(result)),
            }
        }
    }
}

#[test]
fn a_route_not_in_the_table_is_404_for_everyone() {
    let settings = settings();
    let mut world = World::new();
    for (method, path) in [
        (AdminMethod::Get, "/api/nothing"),
        (AdminMethod::Post, "/api/tickets/1/delete"),
        (AdminMethod::Other, "/api/tickets"),
        (AdminMethod::Put, "/api/tickets/1"),
        (AdminMethod::Get, "/api/orders/%FF"),
    ] {
        let call = Call::new(method, path, "", "owner-token");
        assert_eq!(
            call.run(&mut world, &settings).unwrap_err().status(),
            404,
            "{path}"
        );
    }
}

#[test]
fn me_names_the_role() {
    let settings = settings();
    let mut world = World::new();
    for (token, name, role) in [
        ("anna-token", "anna", "agent"),
        ("lea-token", "lea", "lead"),
        ("owner-token", "admin", "owner"),
    ] {
        let (status, me) =
            json_of(Call::new(AdminMethod::Get, "/api/me", "", token).run(&mut world, &settings));
        assert_eq!(status, 200);
        assert_eq!(
            (me["name"].as_str(), me["role"].as_str()),
            (Some(name), Some(role))
        );
        assert_eq!(me["owner"], role == "owner");
    }
}

#[test]
fn an_unknown_role_closes_the_admin_api_naming_the_setting() {
    let settings = support::settings_with(&[
        ("ADMIN_TOKEN", "owner-token"),
        ("STAFF_TOKENS", "anna:anna-token,bob:bob-token:boss"),
    ]);
    let mut world = World::new();
    for token in ["owner-token", "anna-token", "bob-token"] {
        let refused = Call::new(AdminMethod::Get, "/api/me", "", token)
            .run(&mut world, &settings)
            .unwrap_err();
        assert_eq!(refused.status(), 500);
        let text = refused.to_string();
        assert!(
            text.contains("STAFF_TOKENS") && text.contains("bob"),
            "{text}"
        );
        assert!(!text.contains("boss") && !text.contains("-token"), "{text}");
    }
}

fn reply(
    world: &mut World,
    ticket: i64,
    text: &str,
    key: Option<&str>,
    unique: &str,
) -> (u16, Value) {
    let path = format!("/api/tickets/{ticket}/reply");
    let body = json!({ "text": text }).to_string();
    let call = Call {
        key,
        unique,
        ..Call::new(AdminMethod::Post, &path, &body, "anna-token")
    };
    json_of(call.run(world, &settings()))
}

#[test]
fn a_repeated_reply_key_sends_nothing_and_answers_the_same_delivery() {
    let mut world = World::new();
    let id = customer_wrote(&mut world, "oU", "m1", NOW - HOUR);
    world.take_queued();
    let (status, first) = reply(&mut world, id, "Xin chào", Some("k1"), "r1");
    assert_eq!(status, 202);
    assert_eq!(first["repeated"], false);
    let delivery = first["delivery"].as_str().unwrap().to_owned();
    assert!(delivery.starts_with("reply:key:"), "{delivery}");
    let (status, again) = reply(&mut world, id, "Xin chào", Some("k1"), "r2");
    assert_eq!(status, 202);
    assert_eq!(again["repeated"], true);
    assert_eq!(again["delivery"], first["delivery"]);
    assert_eq!(again["channel"], first["channel"]);
    assert_eq!(world.take_deliveries(), [delivery], "sent once");
    assert_eq!(world.db.count("SELECT COUNT(*) FROM deliveries"), 1);
    assert_eq!(
        world
            .db
            .count("SELECT COUNT(*) FROM ticket_timeline WHERE kind = 'agent'"),
        1
    );

    // The same key with another body: 422, nothing stored.
    let (status, refused) = reply(&mut world, id, "Something else", Some("k1"), "r3");
    assert_eq!(
        (status, refused["code"].as_str()),
        (422, Some("idempotency_key_reused"))
    );
    assert_eq!(world.db.count("SELECT COUNT(*) FROM deliveries"), 1);

    // The same key on another ticket is another key.
    let other = customer_wrote(&mut world, "oV", "m2", NOW - HOUR);
    let (status, there) = reply(&mut world, other, "Xin chào", Some("k1"), "r4");
    assert_eq!((status, there["repeated"].as_bool()), (202, Some(false)));
    assert_ne!(there["delivery"], first["delivery"]);

    // An empty header is no key: two sends.
    reply(&mut world, id, "a", Some(""), "r5");
    reply(&mut world, id, "a", Some("  "), "r6");
    assert_eq!(world.db.count("SELECT COUNT(*) FROM deliveries"), 4);
}

#[test]
fn zns_keys_are_scoped_to_the_phone_and_remember_the_body() {
    let settings = settings();
    let mut world = World::new();
    let send = |world: &mut World, phone: &str, template: i64, unique: &str| {
        let body = json!({ "phone": phone, "template_id": template }).to_string();
        let call = Call {
            key: Some("z1"),
            unique,
            ..Call::new(AdminMethod::Post, "/api/zns", &body, "lea-token")
        };
        json_of(call.run(world, &settings))
    };
    let (status, first) = send(&mut world, "0983123148", 366, "a");
    assert_eq!((status, first["repeated"].as_bool()), (202, Some(false)));
    let (_, again) = send(&mut world, "0983123148", 366, "b");
    assert_eq!(
        again,
        json!({ "delivery": first["delivery"], "repeated": true })
    );
    assert_eq!(send(&mut world, "0983123148", 367, "c").0, 422);
    let (_, elsewhere) = send(&mut world, "0912345678", 366, "d");
    assert_eq!(elsewhere["repeated"], false);
    assert_eq!(world.db.count("SELECT COUNT(*) FROM deliveries"), 2);
}

#[test]
fn path_segments_are_percent_decoded_and_put_never_stores_the_encoded_id() {
    let settings = settings();
    let mut world = World::new();
    for (path, id) in [
        ("/api/orders/O%201", "O 1"),
        ("/api/orders/A%2FB", "A/B"),
        ("/api/orders/%E8%AE%A2%E5%8D%95-7", "订单-7"),
    ] {
        let put = Call::new(AdminMethod::Put, path, r#"{"status": "paid"}"#, "lea-token");
        assert_eq!(
            json_of(put.run(&mut world, &settings)),
            (200, json!({ "order": id }))
        );
        let (status, read) =
            json_of(Call::new(AdminMethod::Get, path, "", "anna-token").run(&mut world, &settings));
        assert_eq!(status, 200, "{path}");
        assert_eq!(read["order"]["id"], id);
    }
    let ids: Vec<Value> = world
        .db
        .rows("SELECT id FROM orders ORDER BY id")
        .into_iter()
        .map(|row| row["id"].clone())
        .collect();
    assert_eq!(ids, [json!("A/B"), json!("O 1"), json!("订单-7")]);
}

#[test]
fn a_rules_edit_with_a_stale_version_is_refused() {
    let settings = settings();
    let mut world = World::new();
    let get = |world: &mut World| {
        Call::new(AdminMethod::Get, "/api/rules", "", "anna-token")
            .run(world, &settings)
            .unwrap()
    };
    let read = get(&mut world);
    assert_eq!(read.etag, Some(rules_version("{}")));
    let put = |world: &mut World, doc: &str, version: Option<&str>| {
        let call = Call {
            if_match: version,
            ..Call::new(AdminMethod::Put, "/api/rules", doc, "owner-token")
        };
        call.run(world, &settings)
    };
    let doc = r#"{"faq": []}"#;
    let first = put(&mut world, doc, read.etag.as_deref()).unwrap();
    assert_eq!(first.status, 200);
    assert_eq!(
        get(&mut world).etag,
        first.etag,
        "the answer carries the new version"
    );
    assert_ne!(first.etag, read.etag);
    // A second editor who read before the first saved.
    let stale = put(&mut world, "{}", read.etag.as_deref()).unwrap_err();
    assert_eq!(stale.status(), 409);
    assert_eq!(get(&mut world).body, first.body, "nothing overwritten");
    // Without If-Match, as before.
    assert_eq!(put(&mut world, "{}", None).unwrap().status, 200);
}
