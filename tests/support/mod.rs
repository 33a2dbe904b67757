//! Host stand-in for D1: an in-memory SQLite database with `migrations/` applied, running the
//! core's statements the way `shell/store.rs` runs them on D1 (a batch is one transaction).
#![allow(dead_code)] // each test binary uses its own part of the harness

use std::path::Path;

use kefu_edge::sql::{Param, Statement, StoreError};
use rusqlite::types::{ToSqlOutput, Value as SqlValue, ValueRef};
use rusqlite::{Connection, ToSql};
use serde_json::{Map, Value};

pub struct Db {
    conn: Connection,
}

struct Bound<'a>(&'a Param);

impl ToSql for Bound<'_> {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(match self.0 {
            Param::Text(s) => ToSqlOutput::Borrowed(ValueRef::Text(s.as_bytes())),
            Param::Int(i) => ToSqlOutput::Owned(SqlValue::Integer(*i)),
            Param::Null => ToSqlOutput::Owned(SqlValue::Null),
        })
    }
}

/// SQLite's messages are the ones D1 passes on: the same reading as the Worker's.
fn store_error(e: rusqlite::Error) -> StoreError {
    StoreError::from_message(&e.to_string())
}

impl Db {
    /// A fresh database with every migration applied in order.
    pub fn new() -> Db {
        Db::migrated_before("~")
    }

    /// A fresh database with the migrations whose file name sorts before `first_left_out`
    /// applied in order: the schema a migration finds, to test it on rows.
    pub fn migrated_before(first_left_out: &str) -> Db {
        let conn = Connection::open_in_memory().expect("in-memory SQLite");
        // As D1 does.
        conn.pragma_update(None, "foreign_keys", true)
            .expect("foreign keys");
        let db = Db { conn };
        db.migrate(|name| name < first_left_out);
        db
    }

    /// Applies the migrations whose file name sorts from `first` on, in order: the schema
    /// today's code runs on, after the migration under test.
    pub fn migrate_from(&self, first: &str) {
        self.migrate(|name| name >= first);
    }

    fn migrate(&self, wanted: impl Fn(&str) -> bool) {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations");
        let mut files: Vec<_> = std::fs::read_dir(&dir)
            .expect("migrations/")
            .map(|e| e.expect("migration entry").path())
            .filter(|p| p.extension().is_some_and(|x| x == "sql"))
            .filter(|p| {
                p.file_name()
                    .is_some_and(|n| wanted(n.to_string_lossy().as_ref()))
            })
            .collect();
        files.sort();
        for file in files {
            let sql = std::fs::read_to_string(&file).expect("migration text");
            self.conn
                .execute_batch(&sql)
                .unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        }
    }

    /// Runs statements as one transaction, as a D1 batch does: all or nothing. Returns the rows
    /// each changed.
    pub fn transaction(&mut self, statements: &[Statement]) -> Result<Vec<usize>, StoreError> {
        let tx = self.conn.transaction().map_err(store_error)?;
        let mut changes = Vec::new();
        for s in statements {
            let params: Vec<Bound> = s.params.iter().map(Bound).collect();
            let refs: Vec<&dyn ToSql> = params.iter().map(|p| p as &dyn ToSql).collect();
            let mut stmt = tx.prepare(&s.sql).map_err(store_error)?;
            changes.push(stmt.execute(refs.as_slice()).map_err(store_error)?);
        }
        tx.commit().map_err(store_error)?;
        Ok(changes)
    }

    /// Runs a query; each row is a JSON object by column name, as D1 answers.
    pub fn query(&self, statement: &Statement) -> Vec<Value> {
        let params: Vec<Bound> = statement.params.iter().map(Bound).collect();
        let refs: Vec<&dyn ToSql> = params.iter().map(|p| p as &dyn ToSql).collect();
        let mut stmt = self.conn.prepare(&statement.sql).expect(&statement.sql);
        let names: Vec<String> = stmt.column_names().map(str::to_owned).collect();
        let rows = stmt
            .query_map(refs.as_slice(), |row| {
                let mut object = Map::new();
                for (i, name) in names.iter().enumerate() {
                    let value = match row.get_ref(i)? {
                        ValueRef::Null => Value::Null,
                        ValueRef::Integer(n) => Value::from(n),
                        ValueRef::Real(f) => Value::from(f),
                        ValueRef::Text(t) => Value::from(String::from_utf8_lossy(t).into_owned()),
                        ValueRef::Blob(_) => Value::Null,
                    };
                    object.insert(name.clone(), value);
                }
                Ok(Value::Object(object))
            })
            .expect(&statement.sql);
        rows.map(|r| r.expect("row")).collect()
    }

    /// SQLite's plan for a statement (EXPLAIN QUERY PLAN), one line per step: `SCAN t` reads
    /// the whole table, `SEARCH t USING INDEX …` only the rows the index finds.
    pub fn query_plan(&self, statement: &Statement) -> Vec<String> {
        let params: Vec<Bound> = statement.params.iter().map(Bound).collect();
        let refs: Vec<&dyn ToSql> = params.iter().map(|p| p as &dyn ToSql).collect();
        let sql = format!("EXPLAIN QUERY PLAN {}", statement.sql);
        let mut stmt = self.conn.prepare(&sql).expect(&statement.sql);
        let steps = stmt
            .query_map(refs.as_slice(), |row| row.get::<_, String>(3))
            .expect(&statement.sql);
        steps.map(|s| s.expect("plan step")).collect()
    }

    /// Runs a migration's statements again (on rows inserted since).
    pub fn execute_batch(&self, sql: &str) {
        self.conn.execute_batch(sql).expect("migration");
    }

    /// Rows of an ad-hoc query without parameters, for assertions.
    pub fn rows(&self, sql: &'static str) -> Vec<Value> {
        self.query(&Statement::new(sql, vec![]))
    }

    /// The single integer an ad-hoc query answers (a count, say).
    pub fn count(&self, sql: &'static str) -> i64 {
        let rows = self.rows(sql);
        let row = rows.first().and_then(Value::as_object).expect("one row");
        row.values()
            .next()
            .and_then(Value::as_i64)
            .expect("an integer")
    }
}

use kefu_edge::event::QueueMessage;
use kefu_edge::http::{HttpRequest, HttpResult};
use kefu_edge::pipeline::effect::{Answer, Answered, Effect, Flow, KeyPage, Step};

/// Everything a flow's effects reach, on the host: SQLite for D1, a map for KV, a list for the
/// queue, and scripted upstream answers that record every request.
pub struct World {
    pub db: Db,
    pub kv: std::collections::BTreeMap<String, String>,
    pub queued: Vec<(QueueMessage, u32)>,
    pub requests: Vec<HttpRequest>,
    /// Answers for the next requests, in order; when empty, `{"errcode":0,"errmsg":"ok"}`.
    pub answers: Vec<HttpResult>,
    /// Every effect asked for, in order.
    pub effects: Vec<Effect>,
    /// While set, the queue refuses messages.
    pub queue_down: bool,
    /// While set, D1 refuses every query and transaction.
    pub db_down: bool,
    /// While set, KV refuses every call.
    pub kv_down: bool,
}

pub fn ok(body: &str) -> HttpResult {
    HttpResult::Response {
        status: 200,
        body: body.into(),
        retry_after: None,
    }
}

/// An answer of `status` that asks to be retried after `secs`.
pub fn retry_after(status: u16, secs: u32) -> HttpResult {
    HttpResult::Response {
        status,
        body: String::new(),
        retry_after: Some(secs),
    }
}

pub fn status(status: u16) -> HttpResult {
    HttpResult::Response {
        status,
        body: String::new(),
        retry_after: None,
    }
}

impl World {
    pub fn new() -> World {
        World {
            db: Db::new(),
            kv: std::collections::BTreeMap::new(),
            queued: Vec::new(),
            requests: Vec::new(),
            answers: Vec::new(),
            effects: Vec::new(),
            queue_down: false,
            db_down: false,
            kv_down: false,
        }
    }

    /// Queues the answers of the next requests.
    pub fn answer(&mut self, answers: impl IntoIterator<Item = HttpResult>) {
        self.answers.extend(answers);
    }

    pub fn perform(&mut self, effect: Effect) -> Answered {
        self.effects.push(effect.clone());
        let down = || Err(StoreError::Unavailable("D1 is down".into()));
        match effect {
            Effect::Query(_) | Effect::Transaction(_) if self.db_down => down(),
            Effect::Query(statement) => Ok(Answer::Rows(self.db.query(&statement))),
            Effect::Transaction(statements) => {
                self.db.transaction(&statements).map(Answer::Changes)
            }
            Effect::Fetch(request) => {
                self.requests.push(request);
                let answer = if self.answers.is_empty() {
                    ok(r#"{"errcode":0,"errmsg":"ok"}"#)
                } else {
                    self.answers.remove(0)
                };
                Ok(Answer::Http(answer))
            }
            Effect::KvGet(_)
            | Effect::KvPut { .. }
            | Effect::KvList { .. }
            | Effect::KvDelete(_)
                if self.kv_down =>
            {
                Err(StoreError::Unavailable("KV is down".into()))
            }
            Effect::KvGet(key) => Ok(Answer::Value(self.kv.get(&key).cloned())),
            Effect::KvPut { key, value, .. } => {
                self.kv.insert(key, value);
                Ok(Answer::Done)
            }
            // Like KV: keys in order, at most 1,000 a page; here the cursor is the last key of
            // the page before.
            Effect::KvList {
                prefix,
                cursor,
                limit,
            } => {
                let page = limit.clamp(1, 1000) as usize;
                let mut keys: Vec<String> = self
                    .kv
                    .keys()
                    .filter(|k| k.starts_with(prefix))
                    .filter(|k| cursor.as_ref().is_none_or(|after| *k > after))
                    .take(page + 1)
                    .cloned()
                    .collect();
                let more = keys.len() > page;
                keys.truncate(page);
                let cursor = if more { keys.last().cloned() } else { None };
                Ok(Answer::Keys(KeyPage { keys, cursor }))
            }
            Effect::KvDelete(key) => {
                self.kv.remove(&key);
                Ok(Answer::Done)
            }
            Effect::Enqueue { .. } if self.queue_down => {
                Err(StoreError::Unavailable("queue is down".into()))
            }
            Effect::Enqueue {
                message,
                delay_secs,
            } => {
                self.queued.push((message, delay_secs));
                Ok(Answer::Done)
            }
        }
    }

    /// Runs a flow to its end, as the shell does.
    pub fn run<F: Flow>(&mut self, mut flow: F) -> F::Output {
        let mut answer = None;
        loop {
            match flow.step(answer.take()) {
                Step::Done(output) => return output,
                Step::Do(effect) => answer = Some(self.perform(effect)),
            }
        }
    }

    /// The requests made to a path (the URL up to its query).
    pub fn requests_to(&self, path: &str) -> Vec<&HttpRequest> {
        self.requests
            .iter()
            .filter(|r| r.url.split('?').next().is_some_and(|u| u.ends_with(path)))
            .collect()
    }

    /// Whether nothing is parked in KV.
    pub fn parked_is_empty(&self) -> bool {
        !self
            .kv
            .keys()
            .any(|k| k.starts_with(kefu_edge::kv::PARKED_PREFIX))
    }

    /// Takes what was queued so far.
    pub fn take_queued(&mut self) -> Vec<(QueueMessage, u32)> {
        std::mem::take(&mut self.queued)
    }
}

use kefu_edge::event::{Platform, QueuedPush};
use kefu_edge::pipeline::inbound::InboundFlow;
use kefu_edge::platforms::payfeedback::MsgType;
use kefu_edge::settings::Settings;

/// An OA customer wrote at `at` (stored by the consumer): the id of their ticket.
pub fn customer_wrote(
    world: &mut World,
    settings: &Settings,
    openid: &str,
    msg: &str,
    at: i64,
) -> i64 {
    world
        .run(inbound(settings, oa_text(openid, msg, "hello", at), at))
        .unwrap();
    world.db.count("SELECT MAX(id) FROM tickets")
}

/// Settings with exactly these values.
pub fn settings_with(values: &[(&str, &str)]) -> Settings {
    let values: Vec<(String, String)> = values
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    Settings::from_lookup(move |name| {
        values
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    })
}

/// Pushes as the queue carries them: the platform's text, parsed by the consumer.
fn push(platform: Platform, text: String, received_at: i64) -> QueuedPush {
    QueuedPush {
        platform,
        received_at,
        text,
    }
}

/// An Official Account text message from `openid`, received at `at`.
pub fn oa_text(openid: &str, msg_id: &str, content: &str, at: i64) -> QueuedPush {
    push(
        Platform::Oa,
        format!("<xml><ToUserName><![CDATA[gh]]></ToUserName><FromUserName><![CDATA[{openid}]]></FromUserName><CreateTime>{at}</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[{content}]]></Content><MsgId>{msg_id}</MsgId></xml>"),
        at,
    )
}

/// An Official Account event from `openid` at `at`: `fields` are its elements after `Event`.
pub fn oa_event(openid: &str, event: &str, fields: &str, at: i64) -> QueuedPush {
    push(
        Platform::Oa,
        format!("<xml><ToUserName>gh</ToUserName><FromUserName>{openid}</FromUserName><CreateTime>{at}</CreateTime><MsgType>event</MsgType><Event>{event}</Event>{fields}</xml>"),
        at,
    )
}

/// A 维权 notification of complaint `feedback_id` from `openid`, sent at `timestamp`.
pub fn complaint_notification(
    feedback_id: &str,
    openid: &str,
    msg_type: MsgType,
    timestamp: i64,
    trans_id: Option<&str>,
) -> QueuedPush {
    let trans_id = trans_id
        .map(|t| format!("<TransId><![CDATA[{t}]]></TransId>"))
        .unwrap_or_default();
    push(
        Platform::PayFeedback,
        format!(
            "<xml><OpenId><![CDATA[{openid}]]></OpenId><AppId><![CDATA[wx1]]></AppId><TimeStamp>{timestamp}</TimeStamp>\
             <MsgType><![CDATA[{}]]></MsgType><FeedBackId><![CDATA[{feedback_id}]]></FeedBackId>{trans_id}\
             <Reason><![CDATA[卡密无效]]></Reason><Solution><![CDATA[退款]]></Solution><AppSignature><![CDATA[x]]></AppSignature></xml>",
            msg_type.as_str()
        ),
        timestamp,
    )
}

/// A card-shop webhook event (its JSON body), received at `at`.
pub fn order_event(body: &Value, at: i64) -> QueuedPush {
    push(Platform::Order, body.to_string(), at)
}

/// The consumer's flow for a push this version reads.
pub fn inbound(settings: &Settings, push: QueuedPush, now: i64) -> InboundFlow<'_> {
    InboundFlow::new(settings, push, now).expect("a readable push")
}

impl World {
    /// Takes the delivery ids queued so far (other messages are dropped).
    pub fn take_deliveries(&mut self) -> Vec<String> {
        self.take_queued()
            .into_iter()
            .filter_map(|(m, _)| match m {
                QueueMessage::Deliver { delivery_id } => Some(delivery_id),
                _ => None,
            })
            .collect()
    }
}

use kefu_edge::admin::{admit, handle, AdminMethod, AdminRequest};
use kefu_edge::inline::{Rejection, Reply};
use kefu_edge::pipeline::Context;

/// An admin API request as the shell makes it: admitted from its method, path and
/// `Authorization` before any I/O, then handled. `path` may carry `?query`.
pub struct AdminCall<'a> {
    pub method: AdminMethod,
    pub path: &'a str,
    pub body: &'a str,
    /// The whole `Authorization` header, if any.
    pub authorization: Option<String>,
    pub idempotency_key: Option<&'a str>,
    pub if_match: Option<&'a str>,
    pub now: i64,
    /// The request's own randomness (`Context::unique`): delivery ids are made from it.
    pub unique: &'a str,
}

impl<'a> AdminCall<'a> {
    /// A call with `Bearer <token>`, no headers else, as request `u1`.
    pub fn new(method: AdminMethod, path: &'a str, body: &'a str, token: &str, now: i64) -> Self {
        AdminCall {
            method,
            path,
            body,
            authorization: Some(format!("Bearer {token}")),
            idempotency_key: None,
            if_match: None,
            now,
            unique: "u1",
        }
    }

    pub fn run(&self, world: &mut World, settings: &Settings) -> Result<Reply, Rejection> {
        let cx = Context {
            settings,
            now: self.now,
            random: 0,
            unique: self.unique.into(),
        };
        let (path, query) = self.path.split_once('?').unwrap_or((self.path, ""));
        let actor = admit(self.method, path, self.authorization.as_deref(), settings)?;
        let request = AdminRequest {
            method: self.method,
            path,
            query,
            idempotency_key: self.idempotency_key,
            if_match: self.if_match,
            body: self.body,
        };
        let flow = handle(&request, &actor, &cx)?;
        world.run(flow)
    }
}
