//! WeCom 微信客服 (WeChat Customer Service run through WeCom; not the group robot of
//! `platforms::wecom`): the callback that says "there is something new for account X", the
//! `kf/sync_msg` pages that carry it, the sends (`kf/send_msg`, `send_msg_on_event`,
//! `service_state`) and their classification. Pure: requests as data, answers read from text.
//! The send window (48 hours, 5 messages) is `reach::Channel::Kf`'s, like every channel's.
//!
//! The callback is WeCom's crypto, which is WeChat's (`wechat::crypto`, `wechat::callback`) with
//! the CorpID as the receive id and no `encrypt_type` in the query: every callback is sealed.

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use sha1::{Digest, Sha1};

use crate::http::{classify as classify_http, wechat_errcode, HttpRequest, HttpResult, Outcome};
use crate::inline::Rejection;
use crate::wechat::api::token_query;
use crate::wechat::callback::{self, CallbackQuery, Endpoint, Opened};
use crate::wechat::crypto::hex;
use crate::xml;

/// The tickets' channel.
pub const CHANNEL: &str = "kf";

/// `origin` of a `sync_msg` message: the customer wrote, WeCom reports an event, or an agent
/// answered from the WeCom app.
pub const ORIGIN_CUSTOMER: i64 = 3;
pub const ORIGIN_EVENT: i64 = 4;
pub const ORIGIN_SERVICER: i64 = 5;

/// `sync_msg` returns only this much history: a cursor older than that has lost messages.
pub const HISTORY_SECS: i64 = 3 * 24 * 3600;
/// `limit` of a `sync_msg` page: the most WeCom gives.
pub const PAGE_LIMIT: u32 = 1000;

/// WeCom's answer to a send the customer's session state does not allow.
pub const SESSION_STATE_INVALID: i64 = 95018;

/// `msgid` of a send: at most 32 characters of `[0-9a-zA-Z_-]`.
pub const MAX_MSGID_LEN: usize = 32;

// ---------------------------------------------------------------------------------------------
// The callback

/// A 微信客服 callback's query: `msg_signature`, `timestamp`, `nonce` (and `echostr` on the URL
/// check). Read as a safe-mode WeChat query, which it is; without `msg_signature` it is refused.
pub fn callback_query(query: &str) -> Result<CallbackQuery, Rejection> {
    let mut q = CallbackQuery::parse(query);
    if q.msg_signature.is_none() {
        return Err(Rejection::Malformed("missing msg_signature".into()));
    }
    // WeCom sends no `encrypt_type`: its callbacks are always sealed, never plain.
    q.encrypt_type = Some("aes".into());
    q.signature = None;
    Ok(q)
}

/// `GET /wechat/kf`: the URL check, answered with the decrypted `echostr`.
pub fn verify_url(query: &str, endpoint: &Endpoint, now: i64) -> Result<String, Rejection> {
    callback::verify_url(&callback_query(query)?, endpoint, now)
}

/// `POST /wechat/kf`: the sealed callback, verified and decrypted.
pub fn open<'b>(
    query: &str,
    body: &'b [u8],
    endpoint: &Endpoint,
    now: i64,
) -> Result<Opened<'b>, Rejection> {
    callback::open(&callback_query(query)?, body, endpoint, now)
}

/// What the consumer is asked to do for a `kf_msg_or_event` callback: pull account
/// `open_kfid`'s new messages, with the callback's `token` (valid 10 minutes; without it
/// `sync_msg` allows a lower rate).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KfSync {
    pub open_kfid: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<String>,
    pub received_at: i64,
}

/// Reads a decrypted callback: `Some` sync for `kf_msg_or_event`, `None` for another WeCom event
/// (acknowledged, nothing to pull).
pub fn parse_callback(plaintext: &str, received_at: i64) -> Result<Option<KfSync>, Rejection> {
    let doc = xml::parse(plaintext)?;
    let field = |name| doc.get(name).map(str::trim).filter(|v| !v.is_empty());
    if field("MsgType") != Some("event") || field("Event") != Some("kf_msg_or_event") {
        return Ok(None);
    }
    let open_kfid = field("OpenKfId")
        .filter(|id| is_id(id))
        .ok_or_else(|| Rejection::Malformed("missing or invalid OpenKfId".into()))?;
    Ok(Some(KfSync {
        open_kfid: open_kfid.to_owned(),
        token: field("Token").map(str::to_owned),
        received_at,
    }))
}

/// WeCom's ids (open_kfid, external_userid, servicer_userid) as kefu-edge accepts them: 1..=64
/// characters of `[0-9a-zA-Z_@.-]`, which keeps them usable as keys and in a ticket's customer
/// id.
pub fn is_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'@' | b'.'))
}

// ---------------------------------------------------------------------------------------------
// Requests

/// `GET /cgi-bin/gettoken?corpid&corpsecret`: the access_token of the 微信客服 secret.
pub fn token_request(api_base: &str, corp_id: &str, secret: &str) -> HttpRequest {
    let query = form_urlencoded::Serializer::new(String::new())
        .append_pair("corpid", corp_id)
        .append_pair("corpsecret", secret)
        .finish();
    HttpRequest::get(format!("{api_base}/cgi-bin/gettoken?{query}"))
}

fn post(api_base: &str, path: &str, access_token: &str, body: Value) -> HttpRequest {
    HttpRequest::post_json(
        format!("{api_base}/cgi-bin/kf/{path}?{}", token_query(access_token)),
        body.to_string(),
    )
}

/// One `kf/sync_msg` page from `cursor` (none: the oldest of the last 3 days).
pub fn sync_request(
    api_base: &str,
    access_token: &str,
    sync: &KfSync,
    cursor: Option<&str>,
) -> HttpRequest {
    let mut body = json!({ "limit": PAGE_LIMIT, "open_kfid": sync.open_kfid });
    if let Some(cursor) = cursor {
        body["cursor"] = cursor.into();
    }
    if let Some(token) = &sync.token {
        body["token"] = token.as_str().into();
    }
    post(api_base, "sync_msg", access_token, body)
}

/// `kf/customer/batchget` for customers not yet known.
pub fn customers_request(api_base: &str, access_token: &str, ids: &[String]) -> HttpRequest {
    let body = json!({ "external_userid_list": ids, "need_enter_session_context": 1 });
    post(api_base, "customer/batchget", access_token, body)
}

/// A message kefu-edge sends on 微信客服: the JSON of its `msgtype` (text, or a menu).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum KfOutMessage {
    Text { content: String },
}

impl KfOutMessage {
    fn fields(&self) -> (&'static str, Value) {
        match self {
            KfOutMessage::Text { content } => ("text", json!({ "content": content })),
        }
    }

    pub fn summary(&self) -> String {
        match self {
            KfOutMessage::Text { content } => content.clone(),
        }
    }
}

/// The `msgid` a send carries, from its delivery id: the same id at every attempt, so WeCom
/// takes a retried send as the same message. Kept as it is when it fits `[0-9a-zA-Z_-]{1,32}`,
/// else 32 hex digits of its SHA-1.
pub fn send_msgid(delivery_id: &str) -> String {
    let fits = (1..=MAX_MSGID_LEN).contains(&delivery_id.len())
        && delivery_id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    if fits {
        delivery_id.to_owned()
    } else {
        hex(&Sha1::digest(delivery_id.as_bytes()))[..MAX_MSGID_LEN].to_owned()
    }
}

/// `kf/send_msg`: a message to a customer in their session.
pub fn send_request(
    api_base: &str,
    access_token: &str,
    to: &KfCustomer,
    msgid: &str,
    message: &KfOutMessage,
) -> HttpRequest {
    let (msgtype, fields) = message.fields();
    let mut body = json!({
        "touser": to.external_userid,
        "open_kfid": to.open_kfid,
        "msgid": msgid,
        "msgtype": msgtype,
    });
    body[msgtype] = fields;
    post(api_base, "send_msg", access_token, body)
}

/// `kf/send_msg_on_event`: the welcome for an `enter_session` event's one-time `welcome_code`.
pub fn welcome_request(
    api_base: &str,
    access_token: &str,
    code: &str,
    msgid: &str,
    message: &KfOutMessage,
) -> HttpRequest {
    let (msgtype, fields) = message.fields();
    let mut body = json!({ "code": code, "msgid": msgid, "msgtype": msgtype });
    body[msgtype] = fields;
    post(api_base, "send_msg_on_event", access_token, body)
}

/// The session states of `kf/service_state`: untouched, with the bot, queued for a human, with
/// a human, ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "i64", try_from = "i64")]
pub enum ServiceState {
    New = 0,
    Bot = 1,
    Queued = 2,
    Human = 3,
    Ended = 4,
}

impl From<ServiceState> for i64 {
    fn from(s: ServiceState) -> i64 {
        s as i64
    }
}

impl TryFrom<i64> for ServiceState {
    type Error = String;

    fn try_from(v: i64) -> Result<Self, String> {
        Ok(match v {
            0 => ServiceState::New,
            1 => ServiceState::Bot,
            2 => ServiceState::Queued,
            3 => ServiceState::Human,
            4 => ServiceState::Ended,
            _ => return Err(format!("unknown service_state {v}")),
        })
    }
}

impl ServiceState {
    /// Whether `kf/send_msg` may answer the customer in this state: only while the session is
    /// new (0 未处理) or with the bot (1 由智能助手接待). WeCom's send_msg document (path 94677):
    /// "当微信客户处于“新接入待处理”或“由智能助手接待”状态下，可调用该接口给用户发送消息"; in 3
    /// (由人工接待) the servicer answers from the WeCom app, in 2 the customer waits in the pool,
    /// in 4 there is no session (分配客服会话, path 94669). Anything else answers 95018.
    pub fn takes_api_sends(self) -> bool {
        matches!(self, ServiceState::New | ServiceState::Bot)
    }

    /// What the state means, for staff.
    pub fn describe(self) -> &'static str {
        match self {
            ServiceState::New => "new (0)",
            ServiceState::Bot => "with the bot (1)",
            ServiceState::Queued => "queued for an agent in WeCom (2)",
            ServiceState::Human => "with an agent in the WeCom app (3)",
            ServiceState::Ended => "ended or not started (4)",
        }
    }
}

/// `kf/service_state/get`: the customer's session state now.
pub fn state_request(api_base: &str, access_token: &str, to: &KfCustomer) -> HttpRequest {
    let body = json!({ "open_kfid": to.open_kfid, "external_userid": to.external_userid });
    post(api_base, "service_state/get", access_token, body)
}

/// A `kf/service_state/get` answer: the state, and the servicer when a human has it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct StateAnswer {
    pub service_state: ServiceState,
    #[serde(default)]
    pub servicer_userid: Option<String>,
}

impl StateAnswer {
    pub fn parse(body: &str) -> Result<StateAnswer, String> {
        serde_json::from_str(body).map_err(|e| format!("unexpected service_state/get answer: {e}"))
    }
}

/// `kf/service_state/trans`: hand the customer to a human (3, with `servicer_userid`) or end
/// the session (4).
pub fn trans_request(
    api_base: &str,
    access_token: &str,
    to: &KfCustomer,
    state: ServiceState,
    servicer_userid: Option<&str>,
) -> HttpRequest {
    let mut body = json!({
        "open_kfid": to.open_kfid,
        "external_userid": to.external_userid,
        "service_state": state,
    });
    if let Some(servicer) = servicer_userid {
        body["servicer_userid"] = servicer.into();
    }
    post(api_base, "service_state/trans", access_token, body)
}

// ---------------------------------------------------------------------------------------------
// Answers

/// What a 微信客服 call's answer means. WeCom refuses a stale token with 40014, 42001 or 41001
/// (refresh once); its 40001 means a wrong secret, which no refresh mends. 95018 (the session
/// state forbids API sends), 95001 (send count used up) and 95000 (no such open_kfid) are
/// permanent; -1 and 5xx are retried.
pub fn classify(result: &HttpResult) -> Outcome {
    let reason = || match classify_http(result) {
        Outcome::Permanent(r) | Outcome::Retryable(r) | Outcome::TokenExpired(r) => r,
        Outcome::Delivered => String::new(),
    };
    match wechat_errcode(result) {
        Some(40014 | 42001 | 41001) => Outcome::TokenExpired(reason()),
        Some(40001) => Outcome::Permanent(reason()),
        Some(SESSION_STATE_INVALID) => Outcome::Permanent(format!(
            "the customer's session does not take API sends now (95018): {}",
            reason()
        )),
        Some(95001) => Outcome::Permanent(format!("send count used up (95001): {}", reason())),
        Some(95000) => Outcome::Permanent(format!("invalid open_kfid (95000): {}", reason())),
        _ => classify_http(result),
    }
}

/// A `kf/sync_msg` page.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct SyncPage {
    #[serde(default)]
    pub next_cursor: String,
    #[serde(default)]
    pub has_more: i64,
    #[serde(default)]
    pub msg_list: Vec<KfMessage>,
}

impl SyncPage {
    pub fn parse(body: &str) -> Result<SyncPage, String> {
        serde_json::from_str(body).map_err(|e| format!("unexpected sync_msg answer: {e}"))
    }

    pub fn has_more(&self) -> bool {
        self.has_more != 0 && !self.next_cursor.is_empty()
    }
}

/// One message of a page as WeCom sent it; the fields of its `msgtype` (`text`, `event`, …) are
/// kept as they came.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct KfMessage {
    pub msgid: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub open_kfid: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub external_userid: String,
    #[serde(default)]
    pub send_time: i64,
    #[serde(default)]
    pub origin: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub servicer_userid: Option<String>,
    pub msgtype: String,
    #[serde(flatten)]
    pub content: Map<String, Value>,
}

/// A customer of one 微信客服 account: what keys their tickets and addresses a send.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KfCustomer {
    pub open_kfid: String,
    pub external_userid: String,
}

impl KfCustomer {
    /// The tickets' `customer_id`: `open_kfid/external_userid` (a customer of two accounts has
    /// a ticket on each).
    pub fn customer_id(&self) -> String {
        format!("{}/{}", self.open_kfid, self.external_userid)
    }

    /// The customer behind a ticket's `customer_id`.
    pub fn from_customer_id(customer_id: &str) -> Option<KfCustomer> {
        let (open_kfid, external_userid) = customer_id.split_once('/')?;
        (is_id(open_kfid) && is_id(external_userid)).then(|| KfCustomer {
            open_kfid: open_kfid.to_owned(),
            external_userid: external_userid.to_owned(),
        })
    }
}

impl KfMessage {
    fn event(&self) -> Option<&Map<String, Value>> {
        self.content.get("event").and_then(Value::as_object)
    }

    fn event_str(&self, name: &str) -> Option<&str> {
        self.event()?.get(name)?.as_str().filter(|v| !v.is_empty())
    }

    /// The event's type (`enter_session`, …), for origin 4.
    pub fn event_type(&self) -> Option<&str> {
        self.event_str("event_type")
    }

    /// The one-time code of an `enter_session` event that allows a welcome.
    pub fn welcome_code(&self) -> Option<&str> {
        self.event_str("welcome_code")
            .filter(|_| self.event_type() == Some("enter_session"))
    }

    /// Whose conversation this is: the ids at the top level, or in an event's fields; the
    /// account the callback named when the message carries none (seen in the wild).
    pub fn customer(&self, callback_open_kfid: &str) -> Option<KfCustomer> {
        let pick = |top: &str, in_event: Option<&str>| {
            Some(top)
                .filter(|v| !v.is_empty())
                .or(in_event)
                .filter(|v| is_id(v))
                .map(str::to_owned)
        };
        let open_kfid = pick(&self.open_kfid, self.event_str("open_kfid"))
            .or_else(|| is_id(callback_open_kfid).then(|| callback_open_kfid.to_owned()))?;
        let external_userid = pick(&self.external_userid, self.event_str("external_userid"))?;
        Some(KfCustomer {
            open_kfid,
            external_userid,
        })
    }

    /// The session state a `session_status_change` event leaves (WeCom's 接收消息和事件, path
    /// 94670): taken from the pool (1), transferred (2) or taken back up (4) by a servicer is 3,
    /// ended (3) is 4.
    pub fn session_state_after(&self) -> Option<ServiceState> {
        if self.origin != ORIGIN_EVENT || self.event_type() != Some("session_status_change") {
            return None;
        }
        match self.event()?.get("change_type")?.as_i64()? {
            1 | 2 | 4 => Some(ServiceState::Human),
            3 => Some(ServiceState::Ended),
            _ => None,
        }
    }

    /// The key its retries (and a re-read page) share.
    pub fn dedup_key(&self) -> String {
        format!("kf:msg:{}", self.msgid)
    }

    fn field(&self, path: &[&str]) -> Option<&str> {
        let mut at = self.content.get(*path.first()?)?;
        for key in &path[1..] {
            at = at.get(key)?;
        }
        at.as_str()
    }

    /// One line for the ticket timeline.
    pub fn timeline_text(&self) -> String {
        let f = |path: &[&str]| self.field(path).unwrap_or_default().to_owned();
        match self.msgtype.as_str() {
            "text" => f(&["text", "content"]),
            "link" => format!("[link] {} {}", f(&["link", "title"]), f(&["link", "url"])),
            "location" => format!(
                "[location] {} {}",
                f(&["location", "name"]),
                f(&["location", "address"])
            ),
            "miniprogram" => format!("[mini program] {}", f(&["miniprogram", "title"])),
            "file" => "[file]".into(),
            "event" => self.event_text(),
            other => format!("[{other}]"),
        }
    }

    fn event_text(&self) -> String {
        let f = |name| self.event_str(name).unwrap_or_default();
        match self.event_type().unwrap_or_default() {
            "enter_session" => format!(
                "entered the session (scene {}, scene_param {})",
                f("scene"),
                f("scene_param")
            ),
            "msg_send_fail" => format!(
                "a message did not reach the customer (fail_type {})",
                self.event()
                    .and_then(|e| e.get("fail_type"))
                    .map(Value::to_string)
                    .unwrap_or_default()
            ),
            "servicer_status_change" => format!("agent {} changed status", f("servicer_userid")),
            "session_status_change" => format!(
                "session changed ({}): {} -> {}",
                self.event()
                    .and_then(|e| e.get("change_type"))
                    .map(Value::to_string)
                    .unwrap_or_default(),
                f("old_servicer_userid"),
                f("new_servicer_userid")
            ),
            other => format!("event {other}"),
        }
    }
}

/// One profile of a `kf/customer/batchget` answer.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct Profile {
    pub external_userid: String,
    #[serde(default)]
    pub nickname: Option<String>,
    #[serde(default)]
    pub avatar: Option<String>,
    #[serde(default)]
    pub unionid: Option<String>,
    #[serde(default)]
    pub enter_session_context: Option<Value>,
}

/// The profiles a `kf/customer/batchget` answer carries.
pub fn parse_profiles(body: &str) -> Result<Vec<Profile>, String> {
    #[derive(Deserialize)]
    struct Answer {
        #[serde(default)]
        customer_list: Vec<Profile>,
    }
    serde_json::from_str::<Answer>(body)
        .map(|a| a.customer_list)
        .map_err(|e| format!("unexpected customer/batchget answer: {e}"))
}

#[cfg(test)]
mod tests;
