//! Structured logs: one JSON line per inline request that has something to say (`request`), per
//! queue message and per cron run, for
//! Workers Logs and Logpush filters. Lines carry codes, masked descriptions and ids, never a
//! secret or an unmasked OpenID (descriptions mask them; call reasons are redacted). Each line
//! carries the billable operations it used (`usage`, see `crate::usage`).

use serde::Serialize;
use serde_json::json;

use crate::inline::Reply;
use crate::sql::StoreError;
use crate::usage::Usage;

/// `{"log":"request","method","route","status","ms","usage","refused"?,"event"?}` for a request
/// that was refused, accepted an event or used something billed by the unit. A plain success that
/// used nothing (a health check, WeChat's URL check) gets no line: the platform's invocation log
/// already has its method, URL, status and time, and every console line costs CPU and, with
/// Workers Logs, a billed log event.
pub fn request(method: &str, route: &str, reply: &Reply, ms: i64, usage: &Usage) -> Option<String> {
    if reply.refused.is_none() && reply.accepted.is_none() && *usage == Usage::default() {
        return None;
    }
    let line = RequestLine {
        log: "request",
        method,
        route,
        status: reply.status,
        ms,
        usage,
        refused: reply.refused,
        event: reply.accepted.as_deref(),
    };
    // Written straight from the struct: a callback's line is on every accepted push's path.
    // Strings, numbers and `Usage` cannot fail to serialize.
    serde_json::to_string(&line).ok()
}

#[derive(Serialize)]
struct RequestLine<'a> {
    log: &'static str,
    method: &'a str,
    route: &'a str,
    status: u16,
    ms: i64,
    usage: &'a Usage,
    #[serde(skip_serializing_if = "Option::is_none")]
    refused: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    event: Option<&'a str>,
}

fn outcome(report: &Result<String, StoreError>) -> serde_json::Value {
    match report {
        Ok(done) => json!({ "ok": true, "report": done }),
        Err(why) => json!({ "ok": false, "retry": why.to_string() }),
    }
}

/// `{"log":"queue","queue","ms","usage","ok","report"|"retry","retry_in_secs"?}`: one message
/// handled.
pub fn queue_message(
    queue: &str,
    report: &Result<String, StoreError>,
    retry_in_secs: Option<u32>,
    ms: i64,
    usage: &Usage,
) -> String {
    let mut line = outcome(report);
    line["log"] = json!("queue");
    line["queue"] = json!(queue);
    line["ms"] = json!(ms);
    line["usage"] = json!(usage);
    if let Some(secs) = retry_in_secs {
        line["retry_in_secs"] = json!(secs);
    }
    line.to_string()
}

/// `{"log":"batch","queue","messages"}`: one invocation of the queue consumer (billed as a
/// request), after the lines of its messages.
pub fn queue_batch(queue: &str, messages: usize) -> String {
    json!({ "log": "batch", "queue": queue, "messages": messages }).to_string()
}

/// `{"log":"cron","ms","usage","parts":[{"ok","report"|"retry"}…]}`: one scheduled run.
pub fn cron_run(reports: &[Result<String, StoreError>], ms: i64, usage: &Usage) -> String {
    let parts: Vec<serde_json::Value> = reports.iter().map(outcome).collect();
    json!({ "log": "cron", "ms": ms, "usage": usage, "parts": parts }).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inline::Rejection;
    use serde_json::Value;

    fn none() -> Usage {
        Usage::default()
    }

    #[test]
    fn a_request_line_has_its_route_status_time_usage_and_what_was_refused() {
        let refused = Rejection::MissingSetting("SHOP_TOKEN".into()).to_reply();
        let line: Value =
            serde_json::from_str(&request("POST", "/wechat/shop", &refused, 3, &none()).unwrap())
                .unwrap();
        assert_eq!(
            line,
            json!({"log": "request", "method": "POST", "route": "/wechat/shop", "status": 500, "ms": 3,
                   "usage": json!(none()), "refused": "missing_setting"})
        );
        let accepted = Reply {
            accepted: Some("oa_message text from oAb***xyz".into()),
            ..Reply::success()
        };
        let mut usage = none();
        usage.queue_send(700);
        let line: Value =
            serde_json::from_str(&request("POST", "/wechat/oa", &accepted, 1, &usage).unwrap())
                .unwrap();
        assert_eq!(line["event"], "oa_message text from oAb***xyz");
        assert_eq!(Usage::from_json(&line["usage"]), Ok(usage));
        assert!(line.get("refused").is_none());
    }

    #[test]
    fn a_plain_success_that_used_nothing_is_left_to_the_platforms_invocation_log() {
        let healthy = Reply::json(200, r#"{"ok":true}"#.into());
        assert_eq!(request("GET", "/healthz", &healthy, 0, &none()), None);
        assert_eq!(
            request("GET", "/wechat/oa", &Reply::text("echo"), 0, &none()),
            None
        );
        let mut read = none();
        read.d1_statement(12, 0);
        let line: Value =
            serde_json::from_str(&request("GET", "/api/tickets", &healthy, 2, &read).unwrap())
                .unwrap();
        assert_eq!(Usage::from_json(&line["usage"]), Ok(read));
    }

    #[test]
    fn queue_and_cron_lines_say_what_happened() {
        let ok: Value = serde_json::from_str(&queue_message(
            "kefu-events",
            &Ok("stored x".into()),
            None,
            7,
            &none(),
        ))
        .unwrap();
        assert_eq!(
            ok,
            json!({"log": "queue", "queue": "kefu-events", "ms": 7, "usage": json!(none()), "ok": true, "report": "stored x"})
        );
        let retry = queue_message(
            "kefu-events",
            &Err(StoreError::Unavailable("D1 down".into())),
            Some(40),
            2,
            &none(),
        );
        let retry: Value = serde_json::from_str(&retry).unwrap();
        assert_eq!(
            (retry["ok"].as_bool(), retry["retry_in_secs"].as_u64()),
            (Some(false), Some(40))
        );
        let reports = [Ok("a".into()), Err(StoreError::Conflict)];
        let cron: Value = serde_json::from_str(&cron_run(&reports, 9, &none())).unwrap();
        assert_eq!(cron["parts"].as_array().unwrap().len(), 2);
        assert_eq!(cron["parts"][1]["ok"], false);
        assert_eq!(cron["usage"], json!(none()));
        let batch: Value = serde_json::from_str(&queue_batch("kefu-events", 3)).unwrap();
        assert_eq!(
            batch,
            json!({"log": "batch", "queue": "kefu-events", "messages": 3})
        );
    }
}
