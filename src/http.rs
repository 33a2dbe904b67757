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
    Response {
        status: u16,
        body: String,
        /// The `Retry-After` header in seconds, when the upstream sent one (429, 503).
        retry_after: Option<u32>,
    },
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
            return Outcome::Retryable(format!("network error: {}", redact(why)))
        }
        HttpResult::Response { status, body, .. } => (*status, body),
    };
    if status == 429 || status >= 500 {
        return Outcome::Retryable(format!("HTTP {status}"));
    }
    if !(200..300).contains(&status) {
        return Outcome::Permanent(format!("HTTP {status}: {}", redact(excerpt(body))));
    }
    let json: serde_json::Value = serde_json::from_str(body).unwrap_or(serde_json::Value::Null);
    let errcode = json.get("errcode").and_then(|c| c.as_i64()).unwrap_or(0);
    let errmsg = json.get("errmsg").and_then(|m| m.as_str()).unwrap_or("");
    let reason = || format!("errcode {errcode}: {}", redact(errmsg));
    match errcode {
        0 => Outcome::Delivered,
        -1 | 45009 => Outcome::Retryable(reason()),
        40001 | 40014 | 42001 => Outcome::TokenExpired(reason()),
        _ => Outcome::Permanent(reason()),
    }
}

/// The `errcode` of a WeChat-style JSON answer, if it has one.
pub fn wechat_errcode(result: &HttpResult) -> Option<i64> {
    match result {
        HttpResult::Response { body, .. } => serde_json::from_str::<serde_json::Value>(body)
            .ok()?
            .get("errcode")?
            .as_i64(),
        HttpResult::NetworkError(_) => None,
    }
}

fn excerpt(body: &str) -> &str {
    match body.char_indices().nth(200) {
        Some((cut, _)) => &body[..cut],
        None => body,
    }
}

/// How long the upstream asked to be left alone, capped at a day (a `Retry-After` in seconds;
/// an HTTP-date is not honoured and falls back to the backoff).
pub fn retry_after(result: &HttpResult) -> Option<u32> {
    match result {
        HttpResult::Response { retry_after, .. } => retry_after.map(|secs| secs.min(86_400)),
        HttpResult::NetworkError(_) => None,
    }
}

/// Reads a `Retry-After` header value given in seconds.
pub fn parse_retry_after(value: &str) -> Option<u32> {
    value.trim().parse().ok()
}

/// A short account of an attempt's result for `deliveries.last_result`, credentials masked.
pub fn describe(result: Option<&HttpResult>, outcome: &Outcome) -> String {
    match result {
        Some(HttpResult::Response { status, body, .. }) => {
            format!("HTTP {status}: {}", redact(excerpt(body)))
        }
        Some(HttpResult::NetworkError(e)) => format!("network error: {}", redact(e)),
        None => redact(&format!("{outcome:?}")),
    }
}

/// Names whose values are credentials wherever they appear (`name=value` or `"name":"value"`).
const CREDENTIAL_NAMES: [&str; 5] = ["access_token", "appsecret", "secret", "key", "token"];

/// `text` with credential values replaced by `***`: query parameters and JSON fields named in
/// `CREDENTIAL_NAMES`, and `Bearer` tokens. For anything stored or logged that an upstream or
/// the network may have echoed (a URL in an error message, say).
pub fn redact(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    let mut i = 0;
    while i < bytes.len() {
        if let Some(value_start) = credential_value_at(text, i) {
            let value_end = text[value_start..]
                .find(|c: char| c.is_whitespace() || "&\"',;<>)]}".contains(c))
                .map_or(text.len(), |n| value_start + n);
            if value_end > value_start {
                out.push_str(&text[copied..value_start]);
                out.push_str("***");
                copied = value_end;
                i = value_end;
                continue;
            }
        }
        i += 1;
    }
    out.push_str(&text[copied..]);
    out
}

/// Where a credential's value starts, if one is named at byte `i` of `text`.
fn credential_value_at(text: &str, i: usize) -> Option<usize> {
    let (before, rest) = (text.get(..i)?, text.get(i..)?);
    let follows_word = before
        .chars()
        .next_back()
        .is_some_and(|c| c.is_alphanumeric() || c == '_');
    if follows_word {
        return None;
    }
    if rest
        .get(..7)
        .is_some_and(|p| p.eq_ignore_ascii_case("bearer "))
    {
        return Some(i + 7);
    }
    let (quoted, name_at) = match rest.strip_prefix('"') {
        Some(_) => (true, 1),
        None => (false, 0),
    };
    CREDENTIAL_NAMES.iter().find_map(|name| {
        let after = rest.get(name_at..)?.strip_prefix(name)?;
        let separator = if quoted { "\":\"" } else { "=" };
        after
            .strip_prefix(separator)
            .map(|_| i + name_at + name.len() + separator.len())
    })
}

/// The path of a URL serialized as [`url_query`] expects: from the first `/` after the host up to
/// the query or fragment; `/` when there is none.
pub fn url_path(url: &str) -> &str {
    let end = url.find(['?', '#']).unwrap_or(url.len());
    let without_query = &url[..end];
    let after_scheme = without_query
        .split_once("://")
        .map_or(without_query, |(_, rest)| rest);
    after_scheme.find('/').map_or("/", |i| &after_scheme[i..])
}

/// The query of a URL as the runtime serializes a request's URL (WHATWG, where `?` and `#` are
/// percent-encoded inside the path and query): what follows the first `?`, up to the first `#`. Read from the string rather than by parsing the whole URL, which costs a
/// request more than the callback's own work in wasm.
pub fn url_query(url: &str) -> &str {
    let without_fragment = url.split_once('#').map_or(url, |(before, _)| before);
    without_fragment
        .split_once('?')
        .map_or("", |(_, query)| query)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_url_path_runs_from_the_hosts_end_to_the_query() {
        assert_eq!(
            url_path("https://k.example/wechat/oa?signature=a"),
            "/wechat/oa"
        );
        assert_eq!(
            url_path("http://127.0.0.1:8787/api/tickets/7#x"),
            "/api/tickets/7"
        );
        assert_eq!(url_path("https://k.example"), "/");
        assert_eq!(url_path("https://k.example?q=/a"), "/");
        assert_eq!(url_path("https://k.example/%3F/b"), "/%3F/b");
    }

    #[test]
    fn a_url_query_is_what_follows_the_first_question_mark_up_to_a_fragment() {
        assert_eq!(
            url_query("https://k.example/wechat/oa?signature=a&nonce=1"),
            "signature=a&nonce=1"
        );
        assert_eq!(
            url_query("https://k.example/api/tickets?q=a?b#top"),
            "q=a?b"
        );
        assert_eq!(url_query("https://k.example/healthz"), "");
        assert_eq!(url_query("https://k.example/healthz?"), "");
        assert_eq!(url_query("https://k.example/x#frag?not=query"), "");
    }

    #[test]
    fn credentials_are_masked_in_what_is_stored_or_logged() {
        assert_eq!(
            redact("error sending request for url (https://api.weixin.qq.com/cgi-bin/token?grant_type=client_credential&appid=wx1&secret=S3CRET)"),
            "error sending request for url (https://api.weixin.qq.com/cgi-bin/token?grant_type=client_credential&appid=wx1&secret=***)"
        );
        assert_eq!(
            redact("GET /cgi-bin/message/custom/send?access_token=T0K3N failed"),
            "GET /cgi-bin/message/custom/send?access_token=*** failed"
        );
        assert_eq!(
            redact("webhook/send?key=abc-123&x=1"),
            "webhook/send?key=***&x=1"
        );
        assert_eq!(
            redact(r#"{"access_token":"T","expires_in":7200}"#),
            r#"{"access_token":"***","expires_in":7200}"#
        );
        assert_eq!(
            redact("Authorization: Bearer eyJabc.def"),
            "Authorization: Bearer ***"
        );
        // Names inside other words, and empty values, are left alone.
        assert_eq!(redact("monkey=1&turnkey=2&key="), "monkey=1&turnkey=2&key=");
        assert_eq!(redact("密钥 key=值 ok"), "密钥 key=*** ok");
        assert_eq!(redact("nothing here"), "nothing here");
        let leaked =
            HttpResult::NetworkError("connect to http://h/?access_token=SECRET1 timed out".into());
        assert!(!describe(Some(&leaked), &classify(&leaked)).contains("SECRET1"));
        assert!(!format!("{:?}", classify(&leaked)).contains("SECRET1"));
    }

    fn ok(body: &str) -> HttpResult {
        HttpResult::Response {
            status: 200,
            body: body.into(),
            retry_after: None,
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
                        body: String::new(),
                        retry_after: None,
                    }),
                    Outcome::Retryable(_)
                ),
                "{status}"
            );
        }
        assert_eq!(
            classify(&HttpResult::Response {
                status: 404,
                body: "nope".into(),
                retry_after: None,
            }),
            Outcome::Permanent("HTTP 404: nope".into())
        );
    }

    #[test]
    fn retry_after_is_read_in_seconds_and_capped() {
        let answer = |retry_after| HttpResult::Response {
            status: 429,
            body: String::new(),
            retry_after,
        };
        assert_eq!(retry_after(&answer(Some(30))), Some(30));
        assert_eq!(retry_after(&answer(Some(10_000_000))), Some(86_400));
        assert_eq!(retry_after(&answer(None)), None);
        assert_eq!(retry_after(&HttpResult::NetworkError("x".into())), None);
        assert_eq!(parse_retry_after(" 120 "), Some(120));
        assert_eq!(parse_retry_after("Wed, 21 Oct 2026 07:28:00 GMT"), None);
    }
}
