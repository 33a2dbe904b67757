//! What an inline route answers: a reply to send, or a rejection saying what went wrong.

use std::borrow::Cow;

use crate::role::Role;
use crate::wechat::crypto::CryptoError;
use crate::xml::{XmlError, MAX_BODY_BYTES};

/// Cloudflare Queues take messages of at most 128 KB.
pub const QUEUE_MESSAGE_MAX_BYTES: usize = 128_000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    pub status: u16,
    pub content_type: &'static str,
    pub body: String,
    /// For the request's log line: what a refusal was (`Rejection::code`).
    pub refused: Option<&'static str>,
    /// For the request's log line: the event accepted, as `QueuedEvent::describe` puts it.
    pub accepted: Option<String>,
    /// The `ETag` header: the version of what the body is (the rules document).
    pub etag: Option<String>,
}

impl Reply {
    pub fn text(body: impl Into<String>) -> Self {
        Reply {
            status: 200,
            content_type: "text/plain; charset=utf-8",
            body: body.into(),
            refused: None,
            accepted: None,
            etag: None,
        }
    }

    pub fn xml(body: String) -> Self {
        Reply {
            status: 200,
            content_type: "application/xml; charset=utf-8",
            body,
            refused: None,
            accepted: None,
            etag: None,
        }
    }

    pub fn json(status: u16, body: String) -> Self {
        Reply {
            status,
            content_type: "application/json; charset=utf-8",
            body,
            refused: None,
            accepted: None,
            etag: None,
        }
    }

    /// The reply every WeChat push accepts as "received, nothing to say".
    pub fn success() -> Self {
        Reply::text("success")
    }
}

/// A push a route accepted and the reply to it. The text it was read from is the caller's: the
/// push may borrow from it. (`logged_reply` is in `event`, with what names a push.)
#[derive(Debug, Clone, PartialEq)]
pub struct Answer<P> {
    pub push: P,
    pub reply: Reply,
}

/// A callback that was accepted: the platform's push, the authenticated text it was parsed from
/// (what is enqueued before replying) and the reply. (`into_queued` is in `event`, with the
/// queue's message.)
#[derive(Debug, Clone, PartialEq)]
pub struct Accepted<'a, P> {
    pub push: P,
    pub text: Cow<'a, str>,
    pub reply: Reply,
}

/// A push's body as text: within the size cap and valid UTF-8.
pub fn body_text(body: &[u8]) -> Result<&str, Rejection> {
    if body.len() > MAX_BODY_BYTES {
        return Err(Rejection::TooLarge);
    }
    simdutf8::basic::from_utf8(body)
        .map_err(|_| Rejection::Malformed("body is not valid UTF-8".into()))
}

/// Why an inline request was refused, by what went wrong. `status` is the one place a refusal
/// becomes an HTTP status; the answer's body is `{"error": "<Display>", "code": "<code>"}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Rejection {
    /// A parameter, field or body that is missing or not what the protocol allows; the text
    /// says which and why (it is shown to the caller).
    Malformed(String),
    Xml(XmlError),
    Crypto(CryptoError),
    TooLarge,
    /// Accepted, but its event encodes to more bytes (this many) than the queue takes.
    TooLargeForQueue(usize),
    /// A WeChat push whose signature, msg_signature or AppSignature does not match; names which.
    BadSignature(&'static str),
    /// A WeChat push whose timestamp is outside the allowed window.
    StaleTimestamp,
    /// An unencrypted push to an endpoint with an EncodingAESKey (named): its signature does
    /// not cover the body.
    UnencryptedPush(&'static str),
    /// A 维权 notification for another account's AppId.
    ForeignAppId,
    /// A caller that must prove who it is did not: the card shop's HMAC or timestamp, or the
    /// admin API's bearer token. Says what failed.
    Unauthenticated(&'static str),
    NotFound,
    /// An admin caller whose role is below what the route (named) needs.
    Forbidden {
        route: String,
        needs: Role,
    },
    Conflict(String),
    /// An Idempotency-Key used before with another body (or on another target's route).
    IdempotencyKeyReused,
    /// A setting the route needs is missing or invalid (named).
    MissingSetting(String),
    /// The merchant's configuration cannot be used (logged; the route still answers).
    Misconfigured(String),
    /// A dependency (queue, storage) failed: the sender should retry.
    Unavailable(String),
}

impl Rejection {
    pub fn status(&self) -> u16 {
        match self {
            Rejection::Malformed(_) | Rejection::Xml(_) => 400,
            Rejection::Crypto(CryptoError::AppIdMismatch) => 403,
            Rejection::Crypto(CryptoError::InvalidAesKey) => 500,
            Rejection::Crypto(_) => 400,
            Rejection::TooLarge | Rejection::TooLargeForQueue(_) => 413,
            Rejection::BadSignature(_)
            | Rejection::StaleTimestamp
            | Rejection::UnencryptedPush(_)
            | Rejection::ForeignAppId => 403,
            Rejection::Unauthenticated(_) => 401,
            Rejection::NotFound => 404,
            Rejection::Forbidden { .. } => 403,
            Rejection::Conflict(_) => 409,
            Rejection::IdempotencyKeyReused => 422,
            Rejection::MissingSetting(_) | Rejection::Misconfigured(_) => 500,
            Rejection::Unavailable(_) => 503,
        }
    }

    pub fn to_reply(&self) -> Reply {
        Reply {
            refused: Some(self.code()),
            ..Reply::json(
                self.status(),
                serde_json::json!({ "error": self.to_string(), "code": self.code() }).to_string(),
            )
        }
    }

    /// A short stable name of what went wrong, for log filters.
    pub fn code(&self) -> &'static str {
        match self {
            Rejection::Malformed(_) => "malformed",
            Rejection::Xml(_) => "xml",
            Rejection::Crypto(_) => "crypto",
            Rejection::TooLarge => "too_large",
            Rejection::TooLargeForQueue(_) => "too_large_for_queue",
            Rejection::BadSignature(_) => "bad_signature",
            Rejection::StaleTimestamp => "stale_timestamp",
            Rejection::UnencryptedPush(_) => "unencrypted_push",
            Rejection::ForeignAppId => "foreign_appid",
            Rejection::Unauthenticated(_) => "unauthenticated",
            Rejection::NotFound => "not_found",
            Rejection::Forbidden { .. } => "forbidden",
            Rejection::Conflict(_) => "conflict",
            Rejection::IdempotencyKeyReused => "idempotency_key_reused",
            Rejection::MissingSetting(_) => "missing_setting",
            Rejection::Misconfigured(_) => "misconfigured",
            Rejection::Unavailable(_) => "unavailable",
        }
    }
}

impl std::fmt::Display for Rejection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Rejection::Malformed(why)
            | Rejection::Conflict(why)
            | Rejection::Misconfigured(why)
            | Rejection::Unavailable(why) => f.write_str(why),
            Rejection::Xml(e) => e.fmt(f),
            Rejection::Crypto(e) => e.fmt(f),
            Rejection::TooLarge => write!(f, "body exceeds {MAX_BODY_BYTES} bytes"),
            Rejection::TooLargeForQueue(bytes) => write!(
                f,
                "the event would be {bytes} bytes on the queue, which takes at most {QUEUE_MESSAGE_MAX_BYTES}"
            ),
            Rejection::BadSignature(which) => f.write_str(which),
            Rejection::StaleTimestamp => f.write_str("timestamp outside the allowed window"),
            Rejection::UnencryptedPush(aes_setting) => write!(
                f,
                "unencrypted push refused: {aes_setting} is set, so pushes must come in safe mode \
                 (encrypt_type=aes); ALLOW_UNENCRYPTED_PUSH=true accepts them while the console \
                 is switched"
            ),
            Rejection::ForeignAppId => f.write_str("AppId is not this account's"),
            Rejection::Unauthenticated(why) => f.write_str(why),
            Rejection::NotFound => f.write_str("no such admin route or record"),
            Rejection::Forbidden { route, needs } => {
                write!(f, "{route} needs the {} role", needs.name())
            }
            Rejection::IdempotencyKeyReused => f.write_str(
                "this Idempotency-Key was used with another request body; use a new key for a new request",
            ),
            Rejection::MissingSetting(name) => write!(f, "missing setting {name}"),
        }
    }
}

impl From<XmlError> for Rejection {
    fn from(e: XmlError) -> Self {
        Rejection::Xml(e)
    }
}

impl From<CryptoError> for Rejection {
    fn from(e: CryptoError) -> Self {
        Rejection::Crypto(e)
    }
}
