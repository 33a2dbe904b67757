//! The outbound framework every integration uses: a request as data, the classification of its
//! response, and the retry schedule. The shell performs the request and records the result in
//! the `deliveries` table; the queue carries only delivery ids.

use serde::{Deserialize, Serialize};

use crate::http::{classify, describe, retry_after, HttpRequest, HttpResult, Outcome};
use crate::mask::mask;
use crate::platforms::caresoft::{classify_zns, mask_phones, zns_request, ZnsSend};
use crate::platforms::payfeedback::payfeedback_update_url;
use crate::platforms::shop::send::{sendmsg_request, ShopOutgoing};
use crate::platforms::wecom;
use crate::platforms::zalo::{self, CsMessage};
use crate::rate::{RateLimit, CARESOFT_ZNS, WECOM_ROBOT};
use crate::settings::{required, Settings};
use crate::sql::Statement;
use crate::tickets::{recipient_key, timeline_by_id, Customer, TimelineEntry};
use crate::wechat::api::{token_query, App};
use crate::wechat::custom_send::{
    build_custom_send, custom_send_path, CustomMessage, CustomSendLimits,
};

/// Attempts before a retryable failure becomes a dead letter (about an hour of backoff).
pub const MAX_ATTEMPTS: u32 = 10;
const BASE_DELAY_SECS: u32 = 2;
const MAX_DELAY_SECS: u32 = 1800;

/// An outbound call as stored in `deliveries.payload`: enough to build the request again at
/// every attempt (with a fresh access_token where one is needed). Named by its variant
/// (`{"custom_send": {…}}`), which serde reads without buffering the call first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OutboundCall {
    WecomRobot {
        markdown: String,
    },
    /// A customer-service message (`message/custom/send`, or `custom/typing`). `fallback`
    /// carries it as ZNS instead when WeChat refuses it for good (window closed, invalid OpenID).
    CustomSend {
        touser: String,
        message: CustomMessage,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        fallback: Option<ZnsSend>,
    },
    /// A message to a WeChat Shop buyer (`commkf/sendmsg`, with the Shop's own access_token).
    /// `request_id` is the delivery id: the platform drops a retry it already carried.
    ShopSend {
        request_id: String,
        open_id: String,
        message: ShopOutgoing,
    },
    /// Tell WeChat Pay a complaint was handled.
    PayfeedbackUpdate {
        openid: String,
        feedback_id: String,
    },
    /// A Zalo ZNS template through CareSoft. `caresoft_ticket_id` is filled in from the
    /// delivery's ticket when the attempt is made, so a send follows the ones before it.
    Zns {
        send: ZnsSend,
        #[serde(default)]
        caresoft_ticket_id: Option<i64>,
    },
    /// A Zalo OA consultation message (`v3.0/oa/message/cs`) with the OA's access token.
    /// `fallback` carries it as ZNS instead when Zalo answers that the window is closed.
    ZaloCs {
        user_id: String,
        message: CsMessage,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        fallback: Option<ZnsSend>,
    },
}

impl OutboundCall {
    /// The `deliveries.target` name.
    pub fn target(&self) -> &'static str {
        match self {
            OutboundCall::WecomRobot { .. } => WECOM_ROBOT.target,
            OutboundCall::CustomSend { .. } => "wechat_custom_send",
            OutboundCall::ShopSend { .. } => "wechat_shop_sendmsg",
            OutboundCall::PayfeedbackUpdate { .. } => "payfeedback_update",
            OutboundCall::Zns { .. } => CARESOFT_ZNS.target,
            OutboundCall::ZaloCs { .. } => "zalo_cs",
        }
    }

    /// The call as stored in `deliveries.payload` and `dead_letters.body`.
    pub fn payload(&self) -> String {
        // Plain strings and enums: serialising cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// What a delivered call did, for the ticket timeline.
    pub fn summary(&self) -> String {
        match self {
            OutboundCall::WecomRobot { .. } => "staff alerted".into(),
            OutboundCall::CustomSend {
                message: CustomMessage::Text { content },
                ..
            } => {
                format!("sent to the customer: {content}")
            }
            OutboundCall::CustomSend { message, .. } => {
                format!("sent to the customer: a {} message", message.type_name())
            }
            OutboundCall::ShopSend { message, .. } => message.summary(),
            OutboundCall::PayfeedbackUpdate { feedback_id, .. } => {
                format!("WeChat Pay told complaint {feedback_id} was handled")
            }
            OutboundCall::Zns { send, .. } => format!(
                "ZNS template {} sent to {}",
                send.template_id,
                mask(&send.phone)
            ),
            OutboundCall::ZaloCs { message, .. } => message.summary(),
        }
    }

    /// How often the call's target may be called, when it limits that.
    pub fn rate_limit(&self) -> Option<RateLimit> {
        match self {
            OutboundCall::WecomRobot { .. } => Some(WECOM_ROBOT),
            OutboundCall::Zns { .. } => Some(CARESOFT_ZNS),
            OutboundCall::CustomSend { .. }
            | OutboundCall::ShopSend { .. }
            | OutboundCall::PayfeedbackUpdate { .. }
            | OutboundCall::ZaloCs { .. } => None,
        }
    }

    /// Whose access_token the call needs, if any.
    pub fn access_token_of(&self) -> Option<App> {
        match self {
            OutboundCall::CustomSend { .. } | OutboundCall::PayfeedbackUpdate { .. } => {
                Some(App::OfficialAccount)
            }
            OutboundCall::ShopSend { .. } => Some(App::Shop),
            // Zalo's token comes from its own lease flow (`pipeline::zalo_token`).
            OutboundCall::WecomRobot { .. }
            | OutboundCall::Zns { .. }
            | OutboundCall::ZaloCs { .. } => None,
        }
    }

    /// The customer a message goes to on a channel with a send window (`deliveries.recipient`,
    /// where the window's sends are counted); none for other calls and the typing indicator.
    pub fn recipient(&self) -> Option<String> {
        match self {
            OutboundCall::CustomSend {
                message: CustomMessage::Typing { .. },
                ..
            } => None,
            OutboundCall::CustomSend { touser, .. } => Some(recipient_key("oa", touser)),
            OutboundCall::ShopSend { open_id, .. } => Some(recipient_key("shop", open_id)),
            OutboundCall::ZaloCs { user_id, .. } => Some(recipient_key("zalo", user_id)),
            OutboundCall::WecomRobot { .. }
            | OutboundCall::PayfeedbackUpdate { .. }
            | OutboundCall::Zns { .. } => None,
        }
    }

    /// What an answer means for this call: CareSoft reports by status and `status: "OK"`,
    /// the others by `errcode`.
    pub fn classify(&self, result: &HttpResult) -> Outcome {
        match self {
            OutboundCall::Zns { .. } => classify_zns(result).outcome,
            OutboundCall::ZaloCs { .. } => zalo::classify_api(result),
            _ => classify(result),
        }
    }

    /// The request for one attempt. A missing setting is an error the caller dead-letters (and
    /// an operator can replay once the setting is there).
    pub fn request(
        &self,
        settings: &Settings,
        access_token: Option<&str>,
    ) -> Result<HttpRequest, String> {
        let token = || access_token.ok_or_else(|| "no access_token".to_owned());
        match self {
            OutboundCall::WecomRobot { markdown } => {
                let key = required(&settings.wecom_robot_key, "WECOM_ROBOT_KEY")
                    .map_err(|r| r.to_string())?;
                Ok(wecom::robot_request(
                    &settings.wecom_api_base,
                    key,
                    markdown,
                ))
            }
            OutboundCall::CustomSend {
                touser, message, ..
            } => {
                let limits = CustomSendLimits {
                    max_news_articles: settings.news_article_limit,
                };
                let body = build_custom_send(touser, message, &limits)?;
                let path = custom_send_path(message);
                let url = format!(
                    "{}{path}?{}",
                    settings.wechat_api_base,
                    token_query(token()?)
                );
                Ok(HttpRequest::post_json(url, body))
            }
            OutboundCall::ShopSend {
                request_id,
                open_id,
                message,
            } => sendmsg_request(
                &settings.wechat_api_base,
                token()?,
                request_id,
                open_id,
                message,
            ),
            OutboundCall::PayfeedbackUpdate {
                openid,
                feedback_id,
            } => {
                let url = payfeedback_update_url(
                    &settings.wechat_api_base,
                    token()?,
                    openid,
                    feedback_id,
                );
                Ok(HttpRequest::get(url))
            }
            OutboundCall::Zns {
                send,
                caresoft_ticket_id,
            } => {
                let base = required(&settings.caresoft_base_url, "CARESOFT_BASE_URL");
                let token = required(&settings.caresoft_api_token, "CARESOFT_API_TOKEN");
                Ok(zns_request(
                    base.map_err(|r| r.to_string())?,
                    token.map_err(|r| r.to_string())?,
                    send,
                    *caresoft_ticket_id,
                ))
            }
            OutboundCall::ZaloCs {
                user_id, message, ..
            } => Ok(zalo::cs_request(
                &settings.zalo_api_base,
                token()?,
                user_id,
                message,
            )),
        }
    }
}

/// `GET /api/deliveries`: newest first, of one state when asked (each served by an index).
pub fn list(state: Option<String>, limit: i64) -> Statement {
    Statement::filtered_or_all(
        "SELECT * FROM deliveries WHERE state = ? ORDER BY created_at DESC LIMIT ?",
        "SELECT * FROM deliveries ORDER BY created_at DESC LIMIT ?",
        state,
        vec![limit.into()],
    )
}

/// Records a call to be made (once: a delivery id already recorded changes nothing), for a
/// ticket or none; the statement's follow-up sends it.
pub fn record_delivery(
    id: &str,
    call: &OutboundCall,
    ticket_id: Option<i64>,
    now: i64,
) -> Statement {
    Statement::delivery(
        "INSERT OR IGNORE INTO deliveries (id, target, payload, ticket_id, state, attempts, created_at, updated_at, next_attempt_at, recipient) \
         VALUES (?, ?, ?, ?, 'pending', 0, ?, ?, ?, ?)",
        vec![
            id.into(),
            call.target().into(),
            call.payload().into(),
            ticket_id.into(),
            now.into(),
            now.into(),
            now.into(),
            call.recipient().into(),
        ],
        id.to_owned(),
    )
}

/// Records a call for the customer's active ticket on its channel (or for no ticket when they
/// have none), once, like `record_delivery`.
pub fn record_customer_delivery(
    id: &str,
    call: &OutboundCall,
    customer: &Customer,
    now: i64,
) -> Statement {
    Statement::delivery(
        "INSERT OR IGNORE INTO deliveries (id, target, payload, ticket_id, state, attempts, created_at, updated_at, next_attempt_at, recipient) \
         VALUES (?, ?, ?, (SELECT id FROM tickets WHERE channel = ? AND customer_id = ? AND status != 'closed'), 'pending', 0, ?, ?, ?, ?)",
        vec![
            id.into(),
            call.target().into(),
            call.payload().into(),
            customer.channel.into(),
            customer.customer_id.into(),
            now.into(),
            now.into(),
            now.into(),
            call.recipient().into(),
        ],
        id.to_owned(),
    )
}

/// What recording one attempt writes (one transaction), and what to do next.
#[derive(Debug, Clone, PartialEq)]
pub struct AttemptRecord {
    pub statements: Vec<Statement>,
    /// Send the delivery again through the queue after this many seconds.
    pub retry_after: Option<u32>,
}

/// One finished attempt at a delivery, as recording it needs it.
pub struct Attempted<'a> {
    pub id: &'a str,
    pub call: &'a OutboundCall,
    pub ticket_id: Option<i64>,
    /// 1-based.
    pub attempt: u32,
    pub outcome: &'a Outcome,
    /// What came back, when the call was made.
    pub result: Option<&'a HttpResult>,
}

/// Records an attempt: delivered (and the alerts it carried sent), retrying, or dead (a dead
/// letter with its reason, alerted once unless the robot itself failed). A delivery made for a
/// ticket leaves its fate on the ticket's timeline. A rate-limited target that answered 429 is
/// paused; a CareSoft ticket is kept on the ticket; a refused CareSoft token alerts once an hour.
pub fn record_attempt(attempted: &Attempted, now: i64, random: u32) -> AttemptRecord {
    let Attempted {
        id,
        call,
        ticket_id,
        attempt,
        outcome,
        result,
    } = *attempted;
    let n = i64::from(attempt);
    let mut last_result = describe(result, outcome);
    if let OutboundCall::Zns { .. } = call {
        last_result = mask_phones(&last_result);
    }
    let last_result = last_result.as_str();
    let wait_asked = result.and_then(retry_after);
    let mut record = AttemptRecord {
        statements: Vec::new(),
        retry_after: None,
    };
    let on_ticket = |text: String| {
        ticket_id.map(|t| {
            let event_key = format!("delivery:{id}");
            let entry = TimelineEntry {
                event_key: &event_key,
                at: now,
                kind: "outbound",
                actor: call.target(),
                text: &text,
            };
            timeline_by_id(t, entry)
        })
    };
    if let (Some(limit), Some(HttpResult::Response { status, .. })) = (call.rate_limit(), result) {
        record.statements.push(match status {
            429 => limit.pause(now, wait_asked),
            _ => limit.resume(),
        });
    }
    let zns = match (call, result) {
        (OutboundCall::Zns { .. }, Some(result)) => Some(classify_zns(result)),
        _ => None,
    };
    match next_step(attempt, outcome, random, wait_asked) {
        NextStep::Done => {
            record.statements.push(Statement::new(
                "UPDATE deliveries SET state = 'delivered', attempts = ?, last_result = ?, updated_at = ? WHERE id = ?",
                vec![n.into(), last_result.into(), now.into(), id.into()],
            ));
            record.statements.push(Statement::new(
                "UPDATE alerts SET sent_at = ? WHERE claim = ?",
                vec![now.into(), id.into()],
            ));
            let caresoft_ticket = zns.as_ref().and_then(|z| z.ticket);
            let mut summary = call.summary();
            if let (Some(caresoft), Some(ticket)) = (caresoft_ticket, ticket_id) {
                summary.push_str(&format!(" (CareSoft ticket {caresoft})"));
                record.statements.push(Statement::new(
                    "UPDATE tickets SET caresoft_ticket_id = COALESCE(caresoft_ticket_id, ?) WHERE id = ?",
                    vec![caresoft.into(), ticket.into()],
                ));
            }
            if let (OutboundCall::ZaloCs { user_id, .. }, Some(result)) = (call, result) {
                // What the customer's receipts name, and what the free replies count.
                let message_id =
                    zalo::sent_message_id(result).unwrap_or_else(|| format!("delivery:{id}"));
                record.statements.push(Statement::new(
                    "INSERT OR IGNORE INTO zalo_sent (message_id, delivery_id, ticket_id, user_id, sent_at) VALUES (?, ?, ?, ?, ?)",
                    vec![message_id.into(), id.into(), ticket_id.into(), user_id.as_str().into(), now.into()],
                ));
            }
            record.statements.extend(on_ticket(summary));
        }
        NextStep::RetryAfter(delay) => {
            record.statements.push(Statement::new(
                "UPDATE deliveries SET state = 'retrying', attempts = ?, last_result = ?, updated_at = ?, next_attempt_at = ? WHERE id = ?",
                vec![n.into(), last_result.into(), now.into(), (now + i64::from(delay)).into(), id.into()],
            ));
            record.retry_after = Some(delay);
        }
        NextStep::Dead(reason) => {
            record.statements.push(Statement::new(
                "UPDATE deliveries SET state = 'dead', attempts = ?, last_result = ?, updated_at = ? WHERE id = ?",
                vec![n.into(), last_result.into(), now.into(), id.into()],
            ));
            let payload = call.payload();
            record.statements.push(Statement::new(
                "INSERT INTO dead_letters (source, delivery_id, body, reason, created_at) VALUES ('delivery', ?, ?, ?, ?) \
                 ON CONFLICT (delivery_id) DO UPDATE SET reason = excluded.reason, created_at = excluded.created_at, replayed_at = NULL",
                vec![id.into(), payload.into(), reason.as_str().into(), now.into()],
            ));
            let fallback = match call {
                OutboundCall::CustomSend {
                    fallback: Some(send),
                    ..
                } if matches!(outcome, Outcome::Permanent(_)) => Some(send),
                OutboundCall::ZaloCs {
                    fallback: Some(send),
                    ..
                } if result
                    .and_then(zalo::error_code)
                    .is_some_and(|code| zalo::WINDOW_ERRORS.contains(&code)) =>
                {
                    Some(send)
                }
                _ => None,
            };
            if let Some(send) = fallback {
                // WeChat refused for good (the window closed (45015), an invalid OpenID (40003),
                // …): the message goes as ZNS, on the same ticket.
                let zns_id = format!("{id}:zns");
                let zns = OutboundCall::Zns {
                    send: send.clone(),
                    caresoft_ticket_id: None,
                };
                record
                    .statements
                    .push(record_delivery(&zns_id, &zns, ticket_id, now));
            } else if zns.as_ref().is_some_and(|z| z.unauthorized) {
                // One alert for the token however many sends it stops, repeated hourly while
                // it stays wrong.
                record.statements.push(Statement::alert(
                    "INSERT OR IGNORE INTO alerts (dedup_key, ticket_id, text, created_at) VALUES (?, NULL, ?, ?)",
                    vec![
                        format!("caresoft:unauthorized:{}", now / 3600).into(),
                        "CareSoft refused CARESOFT_API_TOKEN: ZNS sends stop as dead letters until it is fixed (then replay them)".into(),
                        now.into(),
                    ],
                ));
            } else if !matches!(call, OutboundCall::WecomRobot { .. }) {
                record.statements.push(Statement::alert(
                    "INSERT OR IGNORE INTO alerts (dedup_key, ticket_id, text, created_at) VALUES (?, ?, ?, ?)",
                    vec![
                        format!("dead:{id}").into(),
                        ticket_id.into(),
                        format!("Dead letter {id} ({}): {reason}", call.target()).into(),
                        now.into(),
                    ],
                ));
            }
            let text = match fallback {
                Some(_) => format!("not delivered: {reason}; sent as ZNS instead"),
                None => format!("not delivered: {reason}"),
            };
            record.statements.extend(on_ticket(text));
        }
    }
    record
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
pub fn next_step(
    attempt: u32,
    outcome: &Outcome,
    random: u32,
    retry_after: Option<u32>,
) -> NextStep {
    match outcome {
        Outcome::Delivered => NextStep::Done,
        Outcome::Permanent(reason) => NextStep::Dead(reason.clone()),
        Outcome::Retryable(reason) | Outcome::TokenExpired(reason) if attempt >= MAX_ATTEMPTS => {
            NextStep::Dead(format!("gave up after {attempt} attempts: {reason}"))
        }
        // An upstream that said when to come back (429 Retry-After) is not asked sooner.
        Outcome::Retryable(_) | Outcome::TokenExpired(_) => {
            NextStep::RetryAfter(backoff_secs(attempt, random).max(retry_after.unwrap_or(0)))
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

    fn custom_send() -> OutboundCall {
        OutboundCall::CustomSend {
            touser: "oUser".into(),
            message: CustomMessage::Text {
                content: "hello".into(),
            },
            fallback: None,
        }
    }

    #[test]
    fn builds_wechat_requests_with_the_token() {
        let settings = Settings::from_lookup(|name| {
            (name == "WECHAT_API_BASE").then(|| "http://127.0.0.1:9".into())
        });
        let send = custom_send().request(&settings, Some("T1")).unwrap();
        assert_eq!(
            send.url,
            "http://127.0.0.1:9/cgi-bin/message/custom/send?access_token=T1"
        );
        let update = OutboundCall::PayfeedbackUpdate {
            openid: "o1".into(),
            feedback_id: "f1".into(),
        };
        assert_eq!(
            update.request(&settings, Some("T1")).unwrap().url,
            "http://127.0.0.1:9/payfeedback/update?access_token=T1&openid=o1&feedbackid=f1"
        );
        assert_eq!(
            update.request(&settings, None).unwrap_err(),
            "no access_token"
        );
        let robot = OutboundCall::WecomRobot {
            markdown: "x".into(),
        };
        assert_eq!(
            robot.request(&settings, None).unwrap_err(),
            "missing setting WECOM_ROBOT_KEY"
        );
    }

    #[test]
    fn retries_with_growing_jittered_delays_then_gives_up() {
        assert_eq!(next_step(1, &Outcome::Delivered, 0, None), NextStep::Done);
        assert_eq!(
            next_step(1, &Outcome::Permanent("x".into()), 0, None),
            NextStep::Dead("x".into())
        );
        let retry = Outcome::Retryable("HTTP 500".into());
        assert_eq!(next_step(1, &retry, 0, None), NextStep::RetryAfter(1));
        // A Retry-After longer than the backoff is honoured; a shorter one is not rushed to.
        assert_eq!(next_step(1, &retry, 0, Some(30)), NextStep::RetryAfter(30));
        assert_eq!(next_step(5, &retry, 0, Some(3)), NextStep::RetryAfter(16));
        assert_eq!(next_step(1, &retry, 1, None), NextStep::RetryAfter(2));
        assert_eq!(next_step(3, &retry, 0, None), NextStep::RetryAfter(4));
        assert_eq!(
            next_step(MAX_ATTEMPTS, &retry, 0, None),
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
