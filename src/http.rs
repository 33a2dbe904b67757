//! HTTP as data: the request the core wants made, what came back, and what that means for the
//! call (delivered, retry later, token refused, or never). Imports nothing else of the crate, so
//! every layer can use it.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum HttpMethod {
    Get,
    Post,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HttpRequest {
    pub method: HttpMethod,
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub body: Option<String>,
}

impl HttpRequest {
    pub fn get(url: String) -> Self {
        HttpRequest {
            method: HttpMethod::Get,
            url,
            headers: Vec::new(),
            body: None,
        }
    }

    pub fn post_json(url: String, body: String) -> Self {
        HttpRequest {
            method: HttpMethod::Post,
            url,
            headers: vec![(
                "content-type".into(),
                "application/json; charset=utf-8".into(),
            )],
            body: Some(body),
        }
    }
}

/// No outbound call waits longer than this for its answer: well inside a queue consumer's time
/// and far below the sweep that takes a call stuck in flight to have died.
pub const TIMEOUT_SECS: u64 = 15;

/// What came back: a status and body, or a network failure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HttpResult {
    Response { status: u16, body: String },
    NetworkError(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Delivered,
    /// Worth trying again later: network error, 5xx, 429, errcode -1 (busy) or 45009 (rate).
    Retryable(String),
    /// The WeChat access_token was refused (40001, 40014, 42001): refresh once, retry once.
    TokenExpired(String),
    /// Will never succeed as it is: recorded as a dead letter with this reason.
    Permanent(String),
}

/// Classifies an HTTP result of a JSON API that reports errors as `errcode`/`errmsg` (WeChat,
/// WeCom) or by status (CareSoft).
pub fn classify(result: &HttpResult) -> Outcome {
    let (status, body) = match result {
        HttpResult::NetworkError(why) => {
            return Outcome::Retryable(format!("network error: {why}"))
        }
        HttpResult::Response { status, body } => (*status, body),
    };
    if status == 429 || status >= 500 {
        return Outcome::Retryable(format!("HTTP {status}"));
    }
    if !(200..300).contains(&status) {
        return Outcome::Permanent(format!("HTTP {status}: {}", excerpt(body)));
    }
    let json: serde_json::Value = serde_json::from_str(body).unwrap_or(serde_json::Value::Null);
    let errcode = json.get("errcode").and_then(|c| c.as_i64()).unwrap_or(0);
    let errmsg = json.get("errmsg").and_then(|m| m.as_str()).unwrap_or("");
    let reason = || format!("errcode {errcode}: {errmsg}");
    match errcode {
        0 => Outcome::Delivered,
        -1 | 45009 => Outcome::Retryable(reason()),
        40001 | 40014 | 42001 => Outcome::TokenExpired(reason()),
        _ => Outcome::Permanent(reason()),
    }
}

fn excerpt(body: &str) -> &str {
    match body.char_indices().nth(200) {
        Some((cut, _)) => &body[..cut],
        None => body,
    }
}

/// A short account of an attempt's result for `deliveries.last_result`.
pub fn describe(result: Option<&HttpResult>, outcome: &Outcome) -> String {
    match result {
        Some(HttpResult::Response { status, body }) => format!("HTTP {status}: {}", excerpt(body)),
        Some(HttpResult::NetworkError(e)) => format!("network error: {e}"),
        None => format!("{outcome:?}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok(body: &str) -> HttpResult {
        HttpResult::Response {
            status: 200,
            body: body.into(),
        }
    }

    #[test]
    fn classifies_responses() {
        assert_eq!(
            classify(&ok(r#"{"errcode":0,"errmsg":"ok"}"#)),
            Outcome::Delivered
        );
        assert_eq!(
            classify(&ok(r#"{"access_token":"x","expires_in":7200}"#)),
            Outcome::Delivered
        );
        assert_eq!(classify(&ok(r#"{"status":"OK"}"#)), Outcome::Delivered);
        assert_eq!(
            classify(&ok(r#"{"errcode":-1,"errmsg":"system busy"}"#)),
            Outcome::Retryable("errcode -1: system busy".into())
        );
        assert!(matches!(
            classify(&ok(r#"{"errcode":45009}"#)),
            Outcome::Retryable(_)
        ));
        for code in [40001, 40014, 42001] {
            assert!(
                matches!(
                    classify(&ok(&format!(r#"{{"errcode":{code}}}"#))),
                    Outcome::TokenExpired(_)
                ),
                "{code}"
            );
        }
        assert_eq!(
            classify(&ok(
                r#"{"errcode":45015,"errmsg":"response out of time limit"}"#
            )),
            Outcome::Permanent("errcode 45015: response out of time limit".into())
        );
        assert_eq!(
            classify(&HttpResult::NetworkError("refused".into())),
            Outcome::Retryable("network error: refused".into())
        );
        for status in [500, 502, 503, 429] {
            assert!(
                matches!(
                    classify(&HttpResult::Response {
                        status,
                        body: String::new()
                    }),
                    Outcome::Retryable(_)
                ),
                "{status}"
            );
        }
        assert_eq!(
            classify(&HttpResult::Response {
                status: 404,
                body: "nope".into()
            }),
            Outcome::Permanent("HTTP 404: nope".into())
        );
    }
}
