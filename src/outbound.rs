//! The outbound framework every integration uses: a request as data, the classification of its
//! response, and the retry schedule. The shell performs the request and records the result in
//! the `deliveries` table; the queue carries only delivery ids.

use serde::{Deserialize, Serialize};

use crate::platforms::wecom;
use crate::settings::{required, Settings};

/// Attempts before a retryable failure becomes a dead letter (about an hour of backoff).
pub const MAX_ATTEMPTS: u32 = 10;
const BASE_DELAY_SECS: u32 = 2;
const MAX_DELAY_SECS: u32 = 1800;

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

    pub fn with_header(mut self, name: &str, value: String) -> Self {
        self.headers.push((name.to_owned(), value));
        self
    }
}

/// An outbound call as stored in `deliveries.payload`: enough to build the request again at
/// every attempt (with a fresh access_token where one is needed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "call", rename_all = "snake_case")]
pub enum OutboundCall {
    WecomRobot { markdown: String },
}

impl OutboundCall {
    /// The `deliveries.target` name.
    pub fn target(&self) -> &'static str {
        match self {
            OutboundCall::WecomRobot { .. } => "wecom_robot",
        }
    }

    pub fn needs_access_token(&self) -> bool {
        match self {
            OutboundCall::WecomRobot { .. } => false,
        }
    }

    /// The request for one attempt. A missing setting is an error the caller dead-letters (and
    /// an operator can replay once the setting is there).
    pub fn request(
        &self,
        settings: &Settings,
        _access_token: Option<&str>,
    ) -> Result<HttpRequest, String> {
        match self {
            OutboundCall::WecomRobot { markdown } => {
                let key =
                    required(&settings.wecom_robot_key, "WECOM_ROBOT_KEY").map_err(|r| r.reason)?;
                Ok(wecom::robot_request(
                    &settings.wecom_api_base,
                    key,
                    markdown,
                ))
            }
        }
    }
}

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

/// What to do after an attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NextStep {
    Done,
    RetryAfter(u32),
    Dead(String),
}

/// The step after attempt number `attempt` (1-based) ended in `outcome`. `random` spreads the
/// retries (jitter) so that a burst of failures does not come back as a burst.
pub fn next_step(attempt: u32, outcome: &Outcome, random: u32) -> NextStep {
    match outcome {
        Outcome::Delivered => NextStep::Done,
        Outcome::Permanent(reason) => NextStep::Dead(reason.clone()),
        Outcome::Retryable(reason) | Outcome::TokenExpired(reason) if attempt >= MAX_ATTEMPTS => {
            NextStep::Dead(format!("gave up after {attempt} attempts: {reason}"))
        }
        Outcome::Retryable(_) | Outcome::TokenExpired(_) => {
            NextStep::RetryAfter(backoff_secs(attempt, random))
        }
    }
}

/// Exponential backoff with "equal jitter": half the delay fixed, half random.
pub fn backoff_secs(attempt: u32, random: u32) -> u32 {
    let exp = BASE_DELAY_SECS
        .saturating_mul(1 << attempt.saturating_sub(1).min(20))
        .min(MAX_DELAY_SECS);
    let half = exp / 2;
    half + random % (exp - half + 1)
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

    #[test]
    fn retries_with_growing_jittered_delays_then_gives_up() {
        assert_eq!(next_step(1, &Outcome::Delivered, 0), NextStep::Done);
        assert_eq!(
            next_step(1, &Outcome::Permanent("x".into()), 0),
            NextStep::Dead("x".into())
        );
        let retry = Outcome::Retryable("HTTP 500".into());
        assert_eq!(next_step(1, &retry, 0), NextStep::RetryAfter(1));
        assert_eq!(next_step(1, &retry, 1), NextStep::RetryAfter(2));
        assert_eq!(next_step(3, &retry, 0), NextStep::RetryAfter(4));
        assert_eq!(
            next_step(MAX_ATTEMPTS, &retry, 0),
            NextStep::Dead(format!("gave up after {MAX_ATTEMPTS} attempts: HTTP 500"))
        );
        for attempt in 1..MAX_ATTEMPTS {
            let exp = (2u32 << (attempt - 1)).min(1800);
            for random in [0, 1, 7, u32::MAX] {
                let d = backoff_secs(attempt, random);
                assert!(d >= exp / 2 && d <= exp, "attempt {attempt}: {d}");
            }
        }
        assert_eq!(backoff_secs(40, 0), 900);
    }
}
