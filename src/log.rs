//! Structured logs: one JSON line per inline request, per queue message and per cron run, for
//! Workers Logs and Logpush filters. Lines carry codes, masked descriptions and ids, never a
//! secret or an unmasked OpenID (descriptions mask them; call reasons are redacted).

use serde_json::json;

use crate::inline::Reply;
use crate::sql::StoreError;

/// `{"log":"request","method","route","status","ms","refused"?,"event"?}` for a request that was
/// refused or accepted an event. A plain success (a health check, WeChat's URL check, a dashboard
/// read) gets no line: the platform's invocation log already has its method, URL, status and
/// time, and every console line costs CPU and, with Workers Logs, a billed log event.
pub fn request(method: &str, route: &str, reply: &Reply, ms: i64) -> Option<String> {
    if reply.refused.is_none() && reply.accepted.is_none() {
        return None;
    }
    let mut line = json!({
        "log": "request",
        "method": method,
        "route": route,
        "status": reply.status,
        "ms": ms,
    });
    if let Some(code) = reply.refused {
        line["refused"] = json!(code);
    }
    if let Some(event) = &reply.accepted {
        line["event"] = json!(event);
    }
    Some(line.to_string())
}

fn outcome(report: &Result<String, StoreError>) -> serde_json::Value {
    match report {
        Ok(done) => json!({ "ok": true, "report": done }),
        Err(why) => json!({ "ok": false, "retry": why.to_string() }),
    }
}

/// `{"log":"queue","queue","ms","ok","report"|"retry","retry_in_secs"?}`: one message handled.
pub fn queue_message(
    queue: &str,
    report: &Result<String, StoreError>,
    retry_in_secs: Option<u32>,
    ms: i64,
) -> String {
    let mut line = outcome(report);
    line["log"] = json!("queue");
    line["queue"] = json!(queue);
    line["ms"] = json!(ms);
    if let Some(secs) = retry_in_secs {
        line["retry_in_secs"] = json!(secs);
    }
    line.to_string()
}

/// `{"log":"cron","ms","parts":[{"ok","report"|"retry"}…]}`: one scheduled run.
pub fn cron_run(reports: &[Result<String, StoreError>], ms: i64) -> String {
    let parts: Vec<serde_json::Value> = reports.iter().map(outcome).collect();
    json!({ "log": "cron", "ms": ms, "parts": parts }).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::inline::Rejection;
    use serde_json::Value;

    #[test]
    fn a_request_line_has_its_route_status_time_and_what_was_refused() {
        let refused = Rejection::MissingSetting("SHOP_TOKEN".into()).to_reply();
        let line: Value =
            serde_json::from_str(&request("POST", "/wechat/shop", &refused, 3).unwrap()).unwrap();
        assert_eq!(
            line,
            json!({"log": "request", "method": "POST", "route": "/wechat/shop", "status": 500, "ms": 3, "refused": "missing_setting"})
        );
        let accepted = Reply {
            accepted: Some("oa_message text from oAb***xyz".into()),
            ..Reply::success()
        };
        let line: Value =
            serde_json::from_str(&request("POST", "/wechat/oa", &accepted, 1).unwrap()).unwrap();
        assert_eq!(line["event"], "oa_message text from oAb***xyz");
        assert!(line.get("refused").is_none());
    }

    #[test]
    fn a_plain_success_is_left_to_the_platforms_invocation_log() {
        let healthy = Reply::json(200, r#"{"ok":true}"#.into());
        assert_eq!(request("GET", "/healthz", &healthy, 0), None);
        assert_eq!(request("GET", "/wechat/oa", &Reply::text("echo"), 0), None);
    }

    #[test]
    fn queue_and_cron_lines_say_what_happened() {
        let ok: Value = serde_json::from_str(&queue_message(
            "kefu-events",
            &Ok("stored x".into()),
            None,
            7,
        ))
        .unwrap();
        assert_eq!(
            ok,
            json!({"log": "queue", "queue": "kefu-events", "ms": 7, "ok": true, "report": "stored x"})
        );
        let retry = queue_message(
            "kefu-events",
            &Err(StoreError::Unavailable("D1 down".into())),
            Some(40),
            2,
        );
        let retry: Value = serde_json::from_str(&retry).unwrap();
        assert_eq!(
            (retry["ok"].as_bool(), retry["retry_in_secs"].as_u64()),
            (Some(false), Some(40))
        );
        let cron: Value =
            serde_json::from_str(&cron_run(&[Ok("a".into()), Err(StoreError::Conflict)], 9))
                .unwrap();
        assert_eq!(cron["parts"].as_array().unwrap().len(), 2);
        assert_eq!(cron["parts"][1]["ok"], false);
    }
}
