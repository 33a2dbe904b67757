//! A Zalo Official Account as a two-way channel: its webhook (`POST /zalo/oa`, signed with
//! `X-ZEvent-Signature: mac=<hex sha256(app_id + raw body + timestamp + OA secret key)>`), the
//! consultation send (`v3.0/oa/message/cs`), its window and free replies, and the OAuth v4
//! refresh of the OA's access token. Pure functions: the pipeline performs the I/O.

use std::borrow::Cow;

use serde::Serialize;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

use crate::http::{classify, HttpMethod, HttpRequest, HttpResult, Outcome};
use crate::inline::{body_text, Accepted, Rejection, Reply};
use crate::settings::{required, Settings};
use crate::wechat::crypto::{constant_time_eq_ignore_ascii_case, hex};
use crate::xml::MAX_BODY_BYTES;

/// A consultation message (tin tư vấn) may answer a customer for 7 days after their last
/// message (developers.zalo.me/docs/official-account/tin-nhan/tong-quan).
pub const WINDOW_SECS: i64 = 7 * 24 * 3600;
/// The first `FREE_REPLIES` replies within 48 hours of the customer's last message are free;
/// each new customer message grants them again. Later ones are charged as proactive messages
/// (zalooa.freshdesk.com, "Các loại tin của Zalo Official Account": 8 tin phản hồi miễn phí
/// trong vòng 48h kể từ thời điểm người quan tâm gửi tin đến OA).
pub const FREE_REPLY_SECS: i64 = 48 * 3600;
pub const FREE_REPLIES: i64 = 8;

/// Refresh the access token this long before Zalo's `expires_in` runs out.
pub const TOKEN_EARLY_SECS: i64 = 600;

/// The webhook events that are a customer writing to the OA.
const MESSAGE_EVENTS: [&str; 7] = [
    "user_send_text",
    "user_send_image",
    "user_send_file",
    "user_send_sticker",
    "user_send_link",
    "user_send_location",
    "user_send_gif",
];

const MISSING_SIGNATURE: &str = "missing X-ZEvent-Signature: mac=<hex>";
const BAD_SIGNATURE: &str = "signature mismatch";
const FOREIGN_APP: &str = "app_id is not ZALO_APP_ID";
const STALE_TIMESTAMP: &str = "timestamp outside the allowed window";

/// `hex(sha256(app_id + body + timestamp + oa_secret_key))`.
pub fn mac(app_id: &str, body: &[u8], timestamp: &str, oa_secret_key: &str) -> String {
    let mut digest = Sha256::new();
    digest.update(app_id.as_bytes());
    digest.update(body);
    digest.update(timestamp.as_bytes());
    digest.update(oa_secret_key.as_bytes());
    hex(&digest.finalize())
}

/// What a webhook event is, for tickets.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// A customer's message (`user_send_*`): a ticket.
    Message,
    /// The customer shared their name and phone (`user_submit_info`): a ticket, and the phone.
    SubmitInfo,
    Follow,
    Unfollow,
    /// Our message reached the customer (`user_received_message`).
    Received,
    /// The customer saw our message (`user_seen_message`).
    Seen,
    /// Anything else: kept raw.
    Other,
}

/// An attachment of a customer's message, as far as the timeline shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Attachment {
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
}

/// One webhook event, read. Stored as this JSON; an event of another kind keeps its raw body.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ZaloPush {
    pub event_name: String,
    #[serde(skip)]
    pub kind: Kind,
    /// The Zalo user the event is about: the sender of a message, the follower, the recipient
    /// of our message for receipts.
    pub user_id: String,
    /// The event's timestamp, in milliseconds.
    pub timestamp: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub msg_id: Option<String>,
    /// Our messages a receipt is about.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub msg_ids: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub attachments: Vec<Attachment>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub phone: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The whole body, for an event this version does not read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub raw: Option<Value>,
}

/// A string field, or a number written as one (Zalo sends ids and timestamps both ways).
fn text_of(value: Option<&Value>) -> Option<String> {
    match value? {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_owned()),
        Value::Number(n) if n.is_i64() || n.is_u64() => Some(n.to_string()),
        _ => None,
    }
}

fn malformed(why: impl Into<String>) -> Rejection {
    Rejection::Malformed(why.into())
}

impl ZaloPush {
    /// Reads an event's JSON (already authenticated), naming the first required field missing.
    pub fn parse(text: &str) -> Result<Self, Rejection> {
        let value: Value =
            serde_json::from_str(text).map_err(|e| malformed(format!("malformed JSON: {e}")))?;
        if !value.is_object() {
            return Err(malformed("the body is not a JSON object"));
        }
        let field = |pointer: &str| text_of(value.pointer(pointer));
        let event_name =
            field("/event_name").ok_or_else(|| malformed("missing or empty field event_name"))?;
        let timestamp: i64 = field("/timestamp")
            .and_then(|t| t.parse().ok())
            .ok_or_else(|| malformed("missing or invalid field timestamp"))?;
        let kind = match event_name.as_str() {
            name if MESSAGE_EVENTS.contains(&name) => Kind::Message,
            "user_submit_info" => Kind::SubmitInfo,
            "follow" => Kind::Follow,
            "unfollow" => Kind::Unfollow,
            "user_received_message" => Kind::Received,
            "user_seen_message" => Kind::Seen,
            _ => Kind::Other,
        };
        let user_pointer = match kind {
            Kind::Follow | Kind::Unfollow => "/follower/id",
            Kind::Received | Kind::Seen => "/recipient/id",
            Kind::Message | Kind::SubmitInfo | Kind::Other => "/sender/id",
        };
        let user_id = match (field(user_pointer), &kind) {
            (Some(id), _) => id,
            (None, Kind::Other) => field("/user_id_by_app").unwrap_or_default(),
            (None, _) => {
                return Err(malformed(format!(
                    "missing or empty field {}",
                    user_pointer.trim_start_matches('/').replace('/', ".")
                )))
            }
        };
        let msg_id = field("/message/msg_id");
        if kind == Kind::Message && msg_id.is_none() {
            return Err(malformed("missing or empty field message.msg_id"));
        }
        let mut msg_ids: Vec<String> = value
            .pointer("/message/msg_ids")
            .and_then(Value::as_array)
            .map(|ids| ids.iter().filter_map(|id| text_of(Some(id))).collect())
            .unwrap_or_default();
        if matches!(kind, Kind::Received | Kind::Seen) && msg_ids.is_empty() {
            msg_ids.extend(msg_id.clone());
        }
        let attachments = value
            .pointer("/message/attachments")
            .and_then(Value::as_array)
            .map(|list| list.iter().map(attachment).collect())
            .unwrap_or_default();
        Ok(ZaloPush {
            kind: kind.clone(),
            user_id,
            timestamp,
            msg_id: if matches!(kind, Kind::Received | Kind::Seen) {
                None
            } else {
                msg_id
            },
            msg_ids,
            text: field("/message/text"),
            attachments,
            phone: field("/info/phone"),
            name: field("/info/name"),
            raw: (kind == Kind::Other).then(|| value.clone()),
            event_name,
        })
    }

    /// Retries of one event share this key: a message by its `msg_id`, anything else by what
    /// it is, whom it is about and when.
    pub fn dedup_key(&self) -> String {
        match (&self.kind, &self.msg_id) {
            (Kind::Message, Some(msg_id)) => ["zalo:msg:", msg_id].concat(),
            _ => format!(
                "zalo:event:{}:{}:{}",
                self.event_name, self.user_id, self.timestamp
            ),
        }
    }

    /// Whether this event is the customer writing (it opens or continues a ticket).
    pub fn is_customer_message(&self) -> bool {
        matches!(self.kind, Kind::Message | Kind::SubmitInfo)
    }

    /// The line on the ticket's timeline.
    pub fn timeline_text(&self) -> String {
        let or_empty = |v: &Option<String>| v.clone().unwrap_or_default();
        match self.kind {
            Kind::Message => {
                let mut parts: Vec<String> = self.text.iter().cloned().collect();
                for a in &self.attachments {
                    let what = [a.name.as_deref(), a.url.as_deref()]
                        .into_iter()
                        .flatten()
                        .collect::<Vec<_>>()
                        .join(" ");
                    parts.push(format!("[{}] {what}", a.kind).trim_end().to_owned());
                }
                if parts.is_empty() {
                    parts.push(format!(
                        "[{}]",
                        self.event_name.trim_start_matches("user_send_")
                    ));
                }
                parts.join("\n")
            }
            Kind::SubmitInfo => format!(
                "[shared info] {} {}",
                or_empty(&self.name),
                or_empty(&self.phone)
            )
            .trim_end()
            .to_owned(),
            Kind::Follow => "followed the Official Account".into(),
            Kind::Unfollow => "unfollowed the Official Account".into(),
            Kind::Received => "received our message".into(),
            Kind::Seen => "saw our message".into(),
            Kind::Other => format!("[{}]", self.event_name),
        }
    }
}

fn attachment(value: &Value) -> Attachment {
    let field = |pointer: &str| text_of(value.pointer(pointer));
    let coordinates = match (
        value.pointer("/payload/coordinates/latitude"),
        value.pointer("/payload/coordinates/longitude"),
    ) {
        (Some(lat), Some(long)) => Some(format!("{lat},{long}").replace('"', "")),
        _ => None,
    };
    Attachment {
        kind: field("/type").unwrap_or_else(|| "attachment".into()),
        url: field("/payload/url").or(coordinates),
        name: field("/payload/name").or_else(|| field("/payload/description")),
    }
}

/// The webhook request as the route reads it.
pub struct WebhookRequest<'a> {
    pub signature: Option<&'a str>,
    pub body: &'a [u8],
}

/// Authenticates a webhook call and reads its event: the size first, then the signature's
/// presence, the body (whose timestamp the mac covers), the mac, the app and the timestamp's
/// freshness; the event's fields last.
pub fn open<'a>(
    request: &WebhookRequest<'a>,
    settings: &Settings,
    now: i64,
) -> Result<(ZaloPush, &'a str), Rejection> {
    let app_id = required(&settings.zalo_app_id, "ZALO_APP_ID")?;
    let secret = required(&settings.zalo_oa_secret_key, "ZALO_OA_SECRET_KEY")?;
    if request.body.len() > MAX_BODY_BYTES {
        return Err(Rejection::TooLarge);
    }
    let presented = request
        .signature
        .and_then(|s| s.trim().strip_prefix("mac="))
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .ok_or(Rejection::Unauthenticated(MISSING_SIGNATURE))?;
    let text = body_text(request.body)?;
    let value: Value =
        serde_json::from_str(text).map_err(|e| malformed(format!("malformed JSON: {e}")))?;
    let timestamp = text_of(value.get("timestamp"))
        .ok_or_else(|| malformed("missing or invalid field timestamp"))?;
    if !constant_time_eq_ignore_ascii_case(
        presented,
        &mac(app_id, request.body, &timestamp, secret),
    ) {
        return Err(Rejection::Unauthenticated(BAD_SIGNATURE));
    }
    if text_of(value.get("app_id")).as_deref() != Some(app_id) {
        return Err(Rejection::Unauthenticated(FOREIGN_APP));
    }
    let sent_at_ms: i64 = timestamp
        .parse()
        .map_err(|_| Rejection::Unauthenticated(STALE_TIMESTAMP))?;
    if (sent_at_ms / 1000).abs_diff(now) > settings.callback_max_skew_secs.unsigned_abs() {
        return Err(Rejection::Unauthenticated(STALE_TIMESTAMP));
    }
    Ok((ZaloPush::parse(text)?, text))
}

/// `POST /zalo/oa`: the event to enqueue, and the answer once it is. Zalo reads only the
/// status (200 within 2 s; anything else is retried), so the body is an empty JSON object.
pub fn handle_post<'a>(
    request: &WebhookRequest<'a>,
    settings: &Settings,
    now: i64,
) -> Result<Accepted<'a, ZaloPush>, Rejection> {
    let (push, text) = open(request, settings, now)?;
    Ok(Accepted {
        push,
        text: Cow::Borrowed(text),
        reply: Reply::json(200, "{}".into()),
    })
}

/// Whether a reply may go as a consultation message now, and how many of the free ones are
/// left, from the customer's last message and our sends since (`reach::Channel::Zalo`'s window).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Window {
    /// The end of the consultation window; `None`: the customer never wrote.
    pub open_until: Option<i64>,
    pub free_replies_left: i64,
}

impl Window {
    pub fn of(last_customer_message_at: Option<i64>, sent_since: i64, now: i64) -> Self {
        let Some(last) = last_customer_message_at else {
            return Window {
                open_until: None,
                free_replies_left: 0,
            };
        };
        let free = if now - last < FREE_REPLY_SECS {
            (FREE_REPLIES - sent_since).max(0)
        } else {
            0
        };
        Window {
            open_until: Some(last + WINDOW_SECS),
            free_replies_left: free,
        }
    }
}

/// What a consultation message carries.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CsMessage {
    Text { text: String },
}

impl CsMessage {
    pub fn summary(&self) -> String {
        match self {
            CsMessage::Text { text } => format!("sent to the customer on Zalo: {text}"),
        }
    }
}

/// `POST {ZALO_API_BASE}/v3.0/oa/message/cs` with the OA's access token in its header.
pub fn cs_request(
    api_base: &str,
    access_token: &str,
    user_id: &str,
    message: &CsMessage,
) -> HttpRequest {
    let message = match message {
        CsMessage::Text { text } => json!({ "text": text }),
    };
    let body = json!({ "recipient": { "user_id": user_id }, "message": message });
    let mut request =
        HttpRequest::post_json(format!("{api_base}/v3.0/oa/message/cs"), body.to_string());
    request
        .headers
        .push(("access_token".into(), access_token.into()));
    request
}

/// Zalo's `error` codes that mean the access token is invalid or expired: refresh once, retry.
pub const TOKEN_ERRORS: [i64; 3] = [-216, -220, -124];
/// The customer has not written within the consultation window: the reply cannot go as one.
pub const WINDOW_ERRORS: [i64; 2] = [-230, -232];
/// Zalo's rate limit on API calls.
const RATE_LIMITED: i64 = -32;

/// The `error` of a Zalo JSON answer, if it has a non-zero one.
pub fn error_code(result: &HttpResult) -> Option<i64> {
    match result {
        HttpResult::Response { body, .. } => serde_json::from_str::<Value>(body)
            .ok()?
            .get("error")?
            .as_i64()
            .filter(|code| *code != 0),
        HttpResult::NetworkError(_) => None,
    }
}

/// What an answer of the Open API means: by status first (network, 5xx and 429 are retried),
/// then by `error` in the JSON body.
pub fn classify_api(result: &HttpResult) -> Outcome {
    let by_status = classify(result);
    if by_status != Outcome::Delivered {
        return by_status;
    }
    let Some(code) = error_code(result) else {
        return Outcome::Delivered;
    };
    let message = match result {
        HttpResult::Response { body, .. } => serde_json::from_str::<Value>(body)
            .ok()
            .and_then(|v| v.get("message").and_then(Value::as_str).map(str::to_owned))
            .unwrap_or_default(),
        HttpResult::NetworkError(_) => String::new(),
    };
    let reason = format!("Zalo error {code}: {}", crate::http::redact(&message));
    match code {
        c if TOKEN_ERRORS.contains(&c) => Outcome::TokenExpired(reason),
        RATE_LIMITED => Outcome::Retryable(reason),
        _ => Outcome::Permanent(reason),
    }
}

/// The `message_id` Zalo gave a message it accepted.
pub fn sent_message_id(result: &HttpResult) -> Option<String> {
    match result {
        HttpResult::Response { body, .. } => text_of(
            serde_json::from_str::<Value>(body)
                .ok()?
                .pointer("/data/message_id"),
        ),
        HttpResult::NetworkError(_) => None,
    }
}

/// `POST {ZALO_OAUTH_BASE}/v4/oa/access_token`: a new pair for the single-use refresh token.
pub fn refresh_request(
    oauth_base: &str,
    app_id: &str,
    app_secret: &str,
    refresh_token: &str,
) -> HttpRequest {
    let form: String = [
        ("refresh_token", refresh_token),
        ("app_id", app_id),
        ("grant_type", "refresh_token"),
    ]
    .iter()
    .map(|(k, v)| format!("{k}={}", form_encode(v)))
    .collect::<Vec<_>>()
    .join("&");
    HttpRequest {
        method: HttpMethod::Post,
        url: format!("{oauth_base}/v4/oa/access_token"),
        headers: vec![
            (
                "content-type".into(),
                "application/x-www-form-urlencoded".into(),
            ),
            ("secret_key".into(), app_secret.into()),
        ],
        body: Some(form),
    }
}

/// `application/x-www-form-urlencoded` encoding of one value.
fn form_encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'*' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// A new token pair, as Zalo answered a refresh.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenPair {
    pub access_token: String,
    pub refresh_token: String,
    /// Unix seconds.
    pub expires_at: i64,
}

/// How a refresh went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refreshed {
    Pair(TokenPair),
    /// Zalo refused the refresh token (used, expired or revoked): only the merchant can
    /// re-authorise. The reason names Zalo's error, never the token.
    Refused(String),
    /// No answer worth reading (network, 5xx, 429): try again later.
    Failed(String),
}

/// Reads the answer to a refresh.
pub fn read_refresh(result: &HttpResult, now: i64) -> Refreshed {
    let body = match (classify(result), result) {
        (Outcome::Retryable(why), _) => return Refreshed::Failed(why),
        (_, HttpResult::Response { status, body, .. }) if (200..300).contains(status) => body,
        (_, HttpResult::Response { status, .. }) => {
            return Refreshed::Refused(format!("HTTP {status}"))
        }
        (_, HttpResult::NetworkError(why)) => return Refreshed::Failed(why.clone()),
    };
    let Ok(value) = serde_json::from_str::<Value>(body) else {
        return Refreshed::Failed("unreadable answer".into());
    };
    let field = |name: &str| text_of(value.get(name));
    if let (Some(access_token), Some(refresh_token)) =
        (field("access_token"), field("refresh_token"))
    {
        let expires_in: i64 = field("expires_in")
            .and_then(|e| e.parse().ok())
            .unwrap_or(90_000);
        return Refreshed::Pair(TokenPair {
            access_token,
            refresh_token,
            expires_at: now + expires_in,
        });
    }
    let code = field("error").unwrap_or_else(|| "?".into());
    let name = field("error_name")
        .or_else(|| field("message"))
        .unwrap_or_default();
    Refreshed::Refused(
        format!("Zalo error {code} {}", crate::http::redact(&name))
            .trim_end()
            .to_owned(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_700_000_000;

    fn settings() -> Settings {
        Settings::from_lookup(|name| match name {
            "ZALO_APP_ID" => Some("3620184551288361477".into()),
            "ZALO_OA_SECRET_KEY" => Some("e2e-oa-secret-key".into()),
            _ => None,
        })
    }

    fn text_body(ts: &str, msg_id: &str) -> String {
        format!(
            r#"{{"app_id":"3620184551288361477","event_name":"user_send_text","timestamp":"{ts}","sender":{{"id":"4829463028765424516"}},"recipient":{{"id":"579745863508352884"}},"message":{{"msg_id":"{msg_id}","text":"Xin chào"}}}}"#
        )
    }

    fn signed(body: &str, ts: &str) -> String {
        format!(
            "mac={}",
            mac(
                "3620184551288361477",
                body.as_bytes(),
                ts,
                "e2e-oa-secret-key"
            )
        )
    }

    fn open_with(signature: Option<&str>, body: &str, now: i64) -> Result<ZaloPush, Rejection> {
        let request = WebhookRequest {
            signature,
            body: body.as_bytes(),
        };
        open(&request, &settings(), now).map(|(push, _)| push)
    }

    #[test]
    fn macs_match_the_independent_vectors() {
        let vectors: Value =
            serde_json::from_str(include_str!("../../tests/vectors/zalo-mac.json")).unwrap();
        let cases = vectors["mac"].as_array().unwrap();
        assert_eq!(cases.len(), 3);
        for case in cases {
            let s = |k: &str| case[k].as_str().unwrap();
            assert_eq!(
                mac(
                    s("app_id"),
                    s("body").as_bytes(),
                    s("timestamp"),
                    s("oa_secret_key")
                ),
                s("expect_mac"),
                "{}",
                s("note")
            );
        }
        // The first vector opens as a real push (its timestamp is NOW in milliseconds).
        let first = &cases[0];
        let body = first["body"].as_str().unwrap();
        let header = format!("mac={}", first["expect_mac"].as_str().unwrap());
        let push = open_with(Some(&header), body, NOW).unwrap();
        assert_eq!(push.dedup_key(), "zalo:msg:96d3cdf3af150460909");
        assert_eq!(push.timeline_text(), "Xin chào, đơn hàng của tôi chưa tới");
    }

    #[test]
    fn a_signed_fresh_message_opens_and_is_answered_200() {
        let ts = "1700000000000";
        let body = text_body(ts, "m1");
        let request = WebhookRequest {
            signature: Some(&signed(&body, ts)),
            body: body.as_bytes(),
        };
        let accepted = handle_post(&request, &settings(), NOW + 299).unwrap();
        assert_eq!(accepted.reply.status, 200);
        assert_eq!(accepted.text, body);
        assert_eq!(accepted.push.kind, Kind::Message);
        assert_eq!(accepted.push.user_id, "4829463028765424516");
        // Upper-case hex is the same mac.
        let upper = signed(&body, ts).to_uppercase().replace("MAC=", "mac=");
        assert!(open_with(Some(&upper), &body, NOW).is_ok());
    }

    #[test]
    fn refusals_name_what_is_wrong() {
        let ts = "1700000000000";
        let body = text_body(ts, "m1");
        let good = signed(&body, ts);
        let unauthenticated = |why| Err(Rejection::Unauthenticated(why));
        assert_eq!(
            open_with(None, &body, NOW),
            unauthenticated(MISSING_SIGNATURE)
        );
        let bare = good.trim_start_matches("mac=").to_owned();
        assert_eq!(
            open_with(Some(&bare), &body, NOW),
            unauthenticated(MISSING_SIGNATURE)
        );
        let tampered = body.replace("Xin chào", "Xin chao");
        assert_eq!(
            open_with(Some(&good), &tampered, NOW),
            unauthenticated(BAD_SIGNATURE)
        );
        // Signed for another app id: the mac covers ours.
        let foreign = body.replace("3620184551288361477", "999");
        let foreign_mac = format!(
            "mac={}",
            mac("999", foreign.as_bytes(), ts, "e2e-oa-secret-key")
        );
        assert_eq!(
            open_with(Some(&foreign_mac), &foreign, NOW),
            unauthenticated(BAD_SIGNATURE)
        );
        // Our mac over a body that names another app.
        assert_eq!(
            open_with(Some(&signed(&foreign, ts)), &foreign, NOW),
            unauthenticated(FOREIGN_APP)
        );
        assert_eq!(
            open_with(Some(&good), &body, NOW + 301),
            unauthenticated(STALE_TIMESTAMP)
        );
        assert_eq!(
            open_with(Some(&good), &body, NOW - 301),
            unauthenticated(STALE_TIMESTAMP)
        );
        let huge = "x".repeat(MAX_BODY_BYTES + 1);
        assert_eq!(open_with(Some(&good), &huge, NOW), Err(Rejection::TooLarge));
        for (body, why) in [
            ("{", "malformed JSON"),
            (
                r#"{"app_id":"3620184551288361477"}"#,
                "missing or invalid field timestamp",
            ),
        ] {
            match open_with(Some(&good), body, NOW) {
                Err(Rejection::Malformed(m)) => assert!(m.starts_with(why), "{m}"),
                other => panic!("{other:?}"),
            }
        }
        let no_msg_id = body.replace(r#""msg_id":"m1","#, "");
        match open_with(Some(&signed(&no_msg_id, ts)), &no_msg_id, NOW) {
            Err(Rejection::Malformed(m)) => assert_eq!(m, "missing or empty field message.msg_id"),
            other => panic!("{other:?}"),
        }
        let missing = Settings::default();
        let request = WebhookRequest {
            signature: Some(&good),
            body: body.as_bytes(),
        };
        assert_eq!(
            open(&request, &missing, NOW).unwrap_err(),
            Rejection::MissingSetting("ZALO_APP_ID".into())
        );
        for status in [
            open_with(None, &body, NOW).unwrap_err().status(),
            Rejection::TooLarge.status(),
            malformed("x").status(),
        ] {
            assert!([401, 413, 400].contains(&status));
        }
    }

    #[test]
    fn every_kind_of_event_is_read_with_its_user_and_key() {
        let read = |json: Value| ZaloPush::parse(&json.to_string()).unwrap();
        let base = |event: &str| {
            json!({"app_id": "1", "event_name": event, "timestamp": 1_700_000_000_000_i64,
                   "sender": {"id": "U1"}, "recipient": {"id": "OA"}})
        };
        let mut image = base("user_send_image");
        image["message"] = json!({"msg_id": "m2", "attachments": [{"type": "image", "payload": {"url": "https://z/i.jpg"}}]});
        let image = read(image);
        assert_eq!(
            (image.kind.clone(), image.timeline_text()),
            (Kind::Message, "[image] https://z/i.jpg".into())
        );
        let mut location = base("user_send_location");
        location["message"] = json!({"msg_id": "m3", "attachments": [{"type": "location", "payload": {"coordinates": {"latitude": "10.7", "longitude": "106.6"}}}]});
        assert_eq!(read(location).timeline_text(), "[location] 10.7,106.6");
        let mut sticker = base("user_send_sticker");
        sticker["message"] = json!({"msg_id": "m4"});
        assert_eq!(read(sticker).timeline_text(), "[sticker]");

        let follow = read(
            json!({"app_id": "1", "event_name": "follow", "timestamp": "5",
                                  "follower": {"id": "U1"}, "oa_id": "OA"}),
        );
        assert_eq!(follow.kind, Kind::Follow);
        assert_eq!(follow.user_id, "U1");
        assert_eq!(follow.dedup_key(), "zalo:event:follow:U1:5");
        assert_eq!(
            read(json!({"event_name": "unfollow", "timestamp": 5, "follower": {"id": "U1"}})).kind,
            Kind::Unfollow
        );

        let seen = read(json!({"event_name": "user_seen_message", "timestamp": 6,
                                "sender": {"id": "OA"}, "recipient": {"id": "U1"},
                                "message": {"msg_ids": ["z1", "z2"]}}));
        assert_eq!(
            (seen.kind.clone(), seen.user_id.as_str()),
            (Kind::Seen, "U1")
        );
        assert_eq!(seen.msg_ids, ["z1", "z2"]);
        let received = read(
            json!({"event_name": "user_received_message", "timestamp": 6,
                                    "sender": {"id": "OA"}, "recipient": {"id": "U1"},
                                    "message": {"msg_id": "z3"}}),
        );
        assert_eq!(
            (received.kind.clone(), received.msg_ids.clone()),
            (Kind::Received, vec!["z3".to_owned()])
        );

        let info = read(json!({"event_name": "user_submit_info", "timestamp": 7,
                                "sender": {"id": "U1"}, "info": {"name": "Hà", "phone": "0983123148"}}));
        assert!(info.is_customer_message());
        assert_eq!(info.phone.as_deref(), Some("0983123148"));
        assert_eq!(info.timeline_text(), "[shared info] Hà 0983123148");

        let other =
            read(json!({"event_name": "oa_send_text", "timestamp": 8, "sender": {"id": "OA"}}));
        assert_eq!(other.kind, Kind::Other);
        assert!(other.raw.is_some());
        let stored = serde_json::to_value(&other).unwrap();
        assert_eq!(stored["raw"]["event_name"], "oa_send_text");
        assert!(!read(json!({"event_name": "x", "timestamp": 8})).is_customer_message());

        for (json, why) in [
            (json!([]), "the body is not a JSON object"),
            (json!({"timestamp": 1}), "missing or empty field event_name"),
            (
                json!({"event_name": "follow", "timestamp": 1}),
                "missing or empty field follower.id",
            ),
            (
                json!({"event_name": "user_send_text", "timestamp": 1.5}),
                "missing or invalid field timestamp",
            ),
        ] {
            assert_eq!(ZaloPush::parse(&json.to_string()), Err(malformed(why)));
        }
    }

    #[test]
    fn the_window_is_seven_days_and_eight_free_replies_within_48_hours() {
        // As `reach::Window::check` reads it: open until `open_until`.
        let is_open = |w: &Window| w.open_until.is_some_and(|until| NOW < until);
        let never = Window::of(None, 0, NOW);
        assert!(!is_open(&never));
        assert_eq!(never.free_replies_left, 0);
        let fresh = Window::of(Some(NOW - 60), 3, NOW);
        assert_eq!(fresh.open_until, Some(NOW - 60 + WINDOW_SECS));
        assert!(is_open(&fresh));
        assert_eq!(fresh.free_replies_left, 5);
        assert_eq!(Window::of(Some(NOW - 60), 9, NOW).free_replies_left, 0);
        let paid = Window::of(Some(NOW - FREE_REPLY_SECS), 0, NOW);
        assert!(is_open(&paid));
        assert_eq!(paid.free_replies_left, 0);
        assert!(!is_open(&Window::of(Some(NOW - WINDOW_SECS), 0, NOW)));
        assert!(is_open(&Window::of(Some(NOW - WINDOW_SECS + 1), 0, NOW)));
    }

    fn answer(status: u16, body: &str) -> HttpResult {
        HttpResult::Response {
            status,
            body: body.into(),
            retry_after: None,
        }
    }

    #[test]
    fn sends_are_built_and_answers_classified() {
        let request = cs_request(
            "http://127.0.0.1:9",
            "AT1",
            "U1",
            &CsMessage::Text {
                text: "Chào bạn".into(),
            },
        );
        assert_eq!(request.url, "http://127.0.0.1:9/v3.0/oa/message/cs");
        assert!(request
            .headers
            .contains(&("access_token".to_owned(), "AT1".to_owned())));
        let body: Value = serde_json::from_str(request.body.as_deref().unwrap()).unwrap();
        assert_eq!(
            body,
            json!({"recipient": {"user_id": "U1"}, "message": {"text": "Chào bạn"}})
        );

        let ok = answer(
            200,
            r#"{"error":0,"message":"Success","data":{"message_id":"z9"}}"#,
        );
        assert_eq!(classify_api(&ok), Outcome::Delivered);
        assert_eq!(sent_message_id(&ok).as_deref(), Some("z9"));
        for code in TOKEN_ERRORS {
            let refused = answer(
                200,
                &format!(r#"{{"error":{code},"message":"Access token is invalid"}}"#),
            );
            assert!(
                matches!(classify_api(&refused), Outcome::TokenExpired(_)),
                "{code}"
            );
        }
        let window = answer(
            200,
            r#"{"error":-230,"message":"User has not interacted with the OA in the past 7 days"}"#,
        );
        assert!(matches!(classify_api(&window), Outcome::Permanent(_)));
        assert_eq!(error_code(&window), Some(-230));
        let quota = answer(200, r#"{"error":-211,"message":"Out of quota"}"#);
        assert_eq!(
            classify_api(&quota),
            Outcome::Permanent("Zalo error -211: Out of quota".into())
        );
        assert!(matches!(
            classify_api(&answer(200, r#"{"error":-32}"#)),
            Outcome::Retryable(_)
        ));
        assert!(matches!(
            classify_api(&answer(502, "")),
            Outcome::Retryable(_)
        ));
        assert!(matches!(
            classify_api(&HttpResult::NetworkError("reset".into())),
            Outcome::Retryable(_)
        ));
        assert_eq!(error_code(&ok), None);
    }

    #[test]
    fn a_refresh_is_a_form_post_and_its_answer_is_read() {
        let request = refresh_request("http://127.0.0.1:9", "123", "s3cret", "R 1/+");
        assert_eq!(request.url, "http://127.0.0.1:9/v4/oa/access_token");
        assert!(request
            .headers
            .contains(&("secret_key".to_owned(), "s3cret".to_owned())));
        assert_eq!(
            request.body.as_deref(),
            Some("refresh_token=R+1%2F%2B&app_id=123&grant_type=refresh_token")
        );
        let pair = answer(
            200,
            r#"{"access_token":"A2","refresh_token":"R2","expires_in":"90000"}"#,
        );
        assert_eq!(
            read_refresh(&pair, NOW),
            Refreshed::Pair(TokenPair {
                access_token: "A2".into(),
                refresh_token: "R2".into(),
                expires_at: NOW + 90_000
            })
        );
        let refused = answer(
            200,
            r#"{"error":-14014,"error_name":"Invalid refresh token","error_reason":"x"}"#,
        );
        assert_eq!(
            read_refresh(&refused, NOW),
            Refreshed::Refused("Zalo error -14014 Invalid refresh token".into())
        );
        assert_eq!(
            read_refresh(&answer(400, ""), NOW),
            Refreshed::Refused("HTTP 400".into())
        );
        assert!(matches!(
            read_refresh(&answer(503, ""), NOW),
            Refreshed::Failed(_)
        ));
        assert!(matches!(
            read_refresh(&HttpResult::NetworkError("timeout".into()), NOW),
            Refreshed::Failed(_)
        ));
        assert!(matches!(
            read_refresh(&answer(200, "<html>"), NOW),
            Refreshed::Failed(_)
        ));
    }
}
