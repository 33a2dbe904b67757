//! WeChat Pay complaints in storage: what a notification, the deadline clock and a staff
//! resolution write. The rules themselves (signature, deadlines, transitions) are in
//! `platforms::payfeedback`; this module turns them into statements and alerts.

use serde::de::Error as _;
use serde::{Deserialize, Deserializer};
use serde_json::Value;

use crate::event::QueuedEvent;
use crate::mask::mask;
use crate::outbound::OutboundCall;
use crate::platforms::payfeedback::{self, ComplaintStatus, GoodsKind, MsgType, Notification};
use crate::sql::Statement;
use crate::tickets::{self, Customer, Priority, TimelineEntry};
use crate::time::format_china_time;
use crate::wechat::custom_send::{build_custom_send, CustomMessage, CustomSendLimits};

/// Complaints are filed on the customer's Official Account conversation: the OpenID is the
/// account's.
const CHANNEL: &str = "oa";

/// What the order behind a complaint says, when the card shop told us about it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
pub struct OrderFacts {
    pub goods_kind: Option<GoodsKind>,
    pub delivered: Option<bool>,
}

/// A complaint as it was read: what a change to it expects to find still.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ComplaintState {
    pub status: ComplaintStatus,
    /// The TimeStamp of the newest notification applied to it.
    pub last_notified_at: Option<i64>,
    /// The last staff resolution's id (a processed complaint resolved again stays processed:
    /// this is what tells two resolves apart).
    pub resolve_id: Option<String>,
}

/// The row `ComplaintState` is read from.
#[derive(Debug, Clone, Deserialize)]
pub struct StateRow {
    pub status: String,
    pub last_notified_at: Option<i64>,
    pub resolve_id: Option<String>,
}

/// The query for a complaint's `StateRow` (bind the FeedBackId).
pub const STATE_SQL: &str =
    "SELECT status, last_notified_at, resolve_id FROM complaints WHERE feedback_id = ?";

impl StateRow {
    pub fn state(&self) -> Option<ComplaintState> {
        Some(ComplaintState {
            status: parse_status(&self.status)?,
            last_notified_at: self.last_notified_at,
            resolve_id: self.resolve_id.clone(),
        })
    }
}

/// Aborts the transaction (as a conflict: read again, plan again) unless the complaint is still
/// as it was read.
fn expect_state(feedback_id: &str, state: &ComplaintState) -> Statement {
    Statement::new(
        "INSERT INTO expectations (holds) SELECT 0 WHERE NOT EXISTS \
         (SELECT 1 FROM complaints WHERE feedback_id = ? AND status = ? AND last_notified_at IS ? AND resolve_id IS ?)",
        vec![
            feedback_id.into(),
            status_name(state.status).into(),
            state.last_notified_at.into(),
            state.resolve_id.clone().into(),
        ],
    )
}

/// The transaction for one notification, given the complaint as it was read (`None`: never
/// seen) and the order's facts. It applies only to that state: if the complaint changed
/// meanwhile, the transaction aborts as a conflict and the notification is planned again. A
/// notification older than the newest one applied is stored but changes nothing (queues do not
/// keep order: a `reject` arriving after the `confirm` that answered it must not reopen).
pub fn plan_notification(
    event: &QueuedEvent,
    n: &Notification,
    read: Option<ComplaintState>,
    order: OrderFacts,
    now: i64,
) -> Vec<Statement> {
    let key = event.dedup_key.as_str();
    let current = read.as_ref().map(|state| state.status);
    let notified_at = n.complained_at(i64::MAX);
    let customer = Customer {
        channel: CHANNEL,
        customer_id: &n.openid,
    };
    let mut statements = vec![tickets::store_event(event, now)];
    if let Some(state) = &read {
        if state
            .last_notified_at
            .is_some_and(|last| last > notified_at)
        {
            statements.push(customer.timeline(TimelineEntry {
                event_key: key,
                at: now,
                kind: "complaint",
                actor: "wechat_pay",
                text: &format!(
                    "complaint {}: an older {} notification arrived after a newer one; ignored",
                    n.feedback_id,
                    n.msg_type.as_str()
                ),
            }));
            return statements;
        }
        statements.push(expect_state(&n.feedback_id, state));
        statements.push(Statement::new(
            "UPDATE complaints SET last_notified_at = ? WHERE feedback_id = ?",
            vec![notified_at.into(), n.feedback_id.as_str().into()],
        ));
    }
    let transition = payfeedback::transition(current, n.msg_type);
    if transition.opened {
        let opened_at = n.complained_at(now);
        let deadline = payfeedback::deadline(opened_at, order.goods_kind, order.delivered);
        statements.push(Statement::new(
            "INSERT INTO complaints (feedback_id, openid, trans_id, status, reason, solution, ext_info, pic_urls, goods_kind, delivered, opened_at, deadline, warning_due, updated_at, last_notified_at) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            vec![
                n.feedback_id.as_str().into(),
                n.openid.as_str().into(),
                n.trans_id.clone().into(),
                status_name(transition.status).into(),
                n.reason.clone().into(),
                n.solution.clone().into(),
                n.ext_info.clone().into(),
                serde_json::to_string(&n.pic_urls).unwrap_or_default().into(),
                order.goods_kind.map(kind_name).into(),
                order.delivered.map(i64::from).into(),
                opened_at.into(),
                deadline.into(),
                payfeedback::warning_due(opened_at, deadline).into(),
                now.into(),
                notified_at.into(),
            ],
        ));
        statements.extend(customer.file_complaint(key, Priority::High, now, deadline));
        let alert = format!(
            "WeChat Pay complaint {} from {}: {} — resolve by {} ({} h)",
            n.feedback_id,
            mask(&n.openid),
            tickets::snippet(n.reason.as_deref().unwrap_or("no reason given")),
            format_china_time(deadline),
            (deadline - opened_at) / 3600,
        );
        statements.push(alert_on_ticket(
            &format!("complaint:{}:opened", n.feedback_id),
            &customer,
            &alert,
            now,
        ));
    } else if current != Some(transition.status) {
        let sql = match n.msg_type {
            MsgType::Confirm => {
                "UPDATE complaints SET status = ?, closed_at = ?, updated_at = ? WHERE feedback_id = ?"
            }
            _ => "UPDATE complaints SET status = ?, escalated_at = ?, updated_at = ? WHERE feedback_id = ?",
        };
        statements.push(Statement::new(
            sql,
            vec![
                status_name(transition.status).into(),
                now.into(),
                now.into(),
                n.feedback_id.as_str().into(),
            ],
        ));
    }
    if transition.escalate {
        // The user refused the handling and may ask WeChat to arbitrate: urgent, at once.
        statements.extend(customer.file_complaint(key, Priority::Urgent, now, now));
        let alert = format!(
            "ESCALATED: the user rejected the handling of WeChat Pay complaint {} ({}); they may ask WeChat to arbitrate",
            n.feedback_id,
            mask(&n.openid)
        );
        statements.push(alert_on_ticket(
            &format!("{key}:escalated"),
            &customer,
            &alert,
            now,
        ));
    }
    let text = match n.msg_type {
        MsgType::Request => format!(
            "complaint {} opened: {}{}",
            n.feedback_id,
            n.reason.as_deref().unwrap_or("no reason given"),
            n.solution
                .as_deref()
                .map(|s| format!(" (asks: {s})"))
                .unwrap_or_default()
        ),
        MsgType::Confirm => format!(
            "complaint {}: the user confirmed the handling; closed",
            n.feedback_id
        ),
        MsgType::Reject => format!(
            "complaint {}: the user rejected the handling; reopened and escalated",
            n.feedback_id
        ),
    };
    statements.push(customer.timeline(TimelineEntry {
        event_key: key,
        at: now,
        kind: "complaint",
        actor: "wechat_pay",
        text: &text,
    }));
    if transition.closed {
        statements.push(Statement::new(
            "UPDATE tickets SET status = 'resolved', resolved_at = ?, updated_at = ? \
             WHERE channel = ? AND customer_id = ? AND status IN ('open', 'pending') AND category = 'complaint'",
            vec![now.into(), now.into(), CHANNEL.into(), n.openid.as_str().into()],
        ));
    }
    statements
}

fn alert_on_ticket(dedup_key: &str, customer: &Customer, text: &str, now: i64) -> Statement {
    Statement::alert(
        "INSERT OR IGNORE INTO alerts (dedup_key, ticket_id, text, created_at) \
         SELECT ?, id, ?, ? FROM tickets WHERE channel = ? AND customer_id = ? AND status != 'closed'",
        vec![dedup_key.into(), text.into(), now.into(), customer.channel.into(), customer.customer_id.into()],
    )
}

pub fn status_name(status: ComplaintStatus) -> &'static str {
    match status {
        ComplaintStatus::Open => "open",
        ComplaintStatus::Processed => "processed",
        ComplaintStatus::Closed => "closed",
        ComplaintStatus::Reopened => "reopened",
    }
}

pub fn parse_status(name: &str) -> Option<ComplaintStatus> {
    [
        ComplaintStatus::Open,
        ComplaintStatus::Processed,
        ComplaintStatus::Closed,
        ComplaintStatus::Reopened,
    ]
    .into_iter()
    .find(|s| status_name(*s) == name)
}

fn kind_name(kind: GoodsKind) -> &'static str {
    match kind {
        GoodsKind::Virtual => "virtual",
        GoodsKind::Physical => "physical",
    }
}

/// A complaint still waiting for the merchant whose deadline clock needs a look.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Pending {
    pub feedback_id: String,
    pub openid: String,
    pub deadline: i64,
    pub warning_due: i64,
    pub warned_at: Option<i64>,
    pub overdue_warned_at: Option<i64>,
}

/// The query for `Pending` rows that may need a warning now (bind `now` twice).
pub const PENDING_WARNINGS_SQL: &str = "SELECT feedback_id, openid, deadline, warning_due, warned_at, overdue_warned_at FROM complaints \
     WHERE status IN ('open', 'reopened') AND ((warned_at IS NULL AND warning_due <= ?) OR (overdue_warned_at IS NULL AND deadline <= ?)) LIMIT 100";

/// Warns once when a quarter of the time is left and once when the deadline has passed (a
/// complaint found already overdue gets only the overdue warning). Each warning's alert and
/// mark are one transaction, and the alert's dedup key makes a concurrent cron harmless.
pub fn plan_deadline_warnings(pending: &[Pending], now: i64) -> Vec<Statement> {
    let mut statements = Vec::new();
    for c in pending {
        let customer = Customer {
            channel: CHANNEL,
            customer_id: &c.openid,
        };
        let (which, text) = if c.deadline <= now {
            if c.overdue_warned_at.is_some() {
                continue;
            }
            statements.push(Statement::new(
                "UPDATE complaints SET overdue_warned_at = ?, warned_at = COALESCE(warned_at, ?) WHERE feedback_id = ?",
                vec![now.into(), now.into(), c.feedback_id.as_str().into()],
            ));
            ("overdue", format!("OVERDUE: WeChat Pay complaint {} ({}) passed its deadline {}; the user may ask WeChat to arbitrate", c.feedback_id, mask(&c.openid), format_china_time(c.deadline)))
        } else if c.warned_at.is_none() && c.warning_due <= now {
            statements.push(Statement::new(
                "UPDATE complaints SET warned_at = ? WHERE feedback_id = ?",
                vec![now.into(), c.feedback_id.as_str().into()],
            ));
            (
                "quarter",
                format!(
                    "A quarter of the time is left on WeChat Pay complaint {} ({}): resolve by {}",
                    c.feedback_id,
                    mask(&c.openid),
                    format_china_time(c.deadline)
                ),
            )
        } else {
            continue;
        };
        statements.push(alert_on_ticket(
            &format!("complaint:{}:{which}", c.feedback_id),
            &customer,
            &text,
            now,
        ));
    }
    statements
}

/// A complaint as the resolve endpoint reads it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ToResolve {
    pub feedback_id: String,
    pub openid: String,
    pub status: String,
    pub last_notified_at: Option<i64>,
    pub resolve_id: Option<String>,
}

/// The query for a complaint `ToResolve` (bind the FeedBackId).
pub const TO_RESOLVE_SQL: &str = "SELECT feedback_id, openid, status, last_notified_at, resolve_id FROM complaints WHERE feedback_id = ?";

/// The body of `POST /api/complaints/{feedback_id}/resolve`: an optional message to the customer,
/// either plain text or any customer-service message.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResolveRequest {
    #[serde(default, deserialize_with = "text_or_message")]
    pub message: Option<CustomMessage>,
}

/// A message to the customer: `"text"`, or a customer-service message object (`{"msgtype": …}`).
/// The object is read from its text by the deserializer `CustomMessage` already has for stored
/// calls: an untagged enum, or reading it from the `Value`, would build another copy of it in
/// the wasm (bench/README.md, Size). Its errors also name what is wrong with the message, where
/// an untagged enum says only that no variant matched.
fn text_or_message<'de, D: Deserializer<'de>>(d: D) -> Result<Option<CustomMessage>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::Null => None,
        Value::String(content) => Some(CustomMessage::Text { content }),
        message => Some(serde_json::from_str(&message.to_string()).map_err(D::Error::custom)?),
    })
}

/// What resolving writes (one transaction) and the outbound calls it makes (recorded in the
/// same transaction as deliveries under `resolve_id`-derived ids, so each is made once).
#[derive(Debug)]
pub struct Resolution {
    pub statements: Vec<Statement>,
    pub delivery_ids: Vec<String>,
}

/// Why a resolve was refused: a 400 (bad message) or a 409 (already closed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResolveError {
    BadMessage(String),
    Conflict(String),
}

/// Resolves the complaint as it was read: the transaction aborts as a conflict if it changed
/// meanwhile (a `confirm` arrived, or another resolve won), so one resolve sends one message and
/// one update. With an Idempotency-Key (`idempotency_key`, already scoped to this complaint) the
/// transaction starts by recording it: a repeat aborts as a duplicate and sends nothing again.
pub fn plan_resolve(
    c: &ToResolve,
    request: ResolveRequest,
    limits: &CustomSendLimits,
    resolve_id: &str,
    actor: &str,
    idempotency_key: Option<&str>,
    now: i64,
) -> Result<Resolution, ResolveError> {
    let current = parse_status(&c.status)
        .ok_or_else(|| ResolveError::Conflict(format!("unknown status {}", c.status)))?;
    let status = payfeedback::resolve(current).map_err(|why| ResolveError::Conflict(why.into()))?;
    let message = request.message;
    let mut calls = Vec::new();
    if let Some(message) = &message {
        build_custom_send(&c.openid, message, limits).map_err(ResolveError::BadMessage)?;
        calls.push((
            format!("{resolve_id}:custom_send"),
            OutboundCall::CustomSend {
                touser: c.openid.clone(),
                message: message.clone(),
                fallback: None,
            },
        ));
    }
    calls.push((
        format!("{resolve_id}:payfeedback_update"),
        OutboundCall::PayfeedbackUpdate {
            openid: c.openid.clone(),
            feedback_id: c.feedback_id.clone(),
        },
    ));
    let customer = Customer {
        channel: CHANNEL,
        customer_id: &c.openid,
    };
    let mut statements = Vec::new();
    if let Some(key) = idempotency_key {
        statements.push(Statement::new(
            "INSERT INTO idempotency_keys (key, created_at) VALUES (?, ?)",
            vec![key.into(), now.into()],
        ));
    }
    let read = ComplaintState {
        status: current,
        last_notified_at: c.last_notified_at,
        resolve_id: c.resolve_id.clone(),
    };
    statements.push(expect_state(&c.feedback_id, &read));
    statements.push(Statement::new(
        "UPDATE complaints SET status = ?, resolved_at = ?, updated_at = ?, resolve_id = ? WHERE feedback_id = ?",
        vec![
            status_name(status).into(),
            now.into(),
            now.into(),
            resolve_id.into(),
            c.feedback_id.as_str().into(),
        ],
    ));
    let summary = match &message {
        Some(CustomMessage::Text { content }) => format!(
            "complaint {} resolved by {actor}; message to the customer: {content}",
            c.feedback_id
        ),
        Some(other) => format!(
            "complaint {} resolved by {actor}; {} message to the customer",
            c.feedback_id,
            other.type_name()
        ),
        None => format!("complaint {} resolved by {actor}", c.feedback_id),
    };
    statements.push(customer.timeline(TimelineEntry {
        event_key: resolve_id,
        at: now,
        kind: "agent",
        actor,
        text: &summary,
    }));
    statements.push(Statement::new(
        "UPDATE tickets SET status = 'pending', first_response_at = COALESCE(first_response_at, ?), updated_at = ? \
         WHERE channel = ? AND customer_id = ? AND status = 'open' AND category = 'complaint'",
        vec![now.into(), now.into(), CHANNEL.into(), c.openid.as_str().into()],
    ));
    let mut delivery_ids = Vec::new();
    for (id, call) in calls {
        statements.push(Statement::delivery(
            "INSERT INTO deliveries (id, target, payload, ticket_id, state, attempts, created_at, updated_at, next_attempt_at, recipient) \
             SELECT ?, ?, ?, (SELECT id FROM tickets WHERE channel = ? AND customer_id = ? AND status != 'closed'), 'pending', 0, ?, ?, ?, ?",
            vec![
                id.as_str().into(),
                call.target().into(),
                call.payload().into(),
                CHANNEL.into(),
                c.openid.as_str().into(),
                now.into(),
                now.into(),
                now.into(),
                // A message to the customer counts against their Official Account window.
                call.recipient().into(),
            ],
            id.clone(),
        ));
        delivery_ids.push(id);
    }
    Ok(Resolution {
        statements,
        delivery_ids,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    const NOW: i64 = 1_700_000_000;

    fn to_resolve(status: &str) -> ToResolve {
        ToResolve {
            feedback_id: "f1".into(),
            openid: "oUser".into(),
            status: status.into(),
            last_notified_at: None,
            resolve_id: None,
        }
    }

    #[test]
    fn resolve_refuses_closed_complaints_and_bad_messages() {
        let none = || ResolveRequest { message: None };
        assert!(matches!(
            plan_resolve(
                &to_resolve("closed"),
                none(),
                &CustomSendLimits::default(),
                "r",
                "anna",
                None,
                NOW
            ),
            Err(ResolveError::Conflict(_))
        ));
        let empty = ResolveRequest {
            message: Some(CustomMessage::Text {
                content: " ".into(),
            }),
        };
        assert!(matches!(
            plan_resolve(
                &to_resolve("open"),
                empty,
                &CustomSendLimits::default(),
                "r",
                "anna",
                None,
                NOW
            ),
            Err(ResolveError::BadMessage(_))
        ));
        let news: ResolveRequest = serde_json::from_str(
            r#"{"message":{"msgtype":"news","articles":[{"title":"a","description":"","url":"u","picurl":"p"},{"title":"b","description":"","url":"u","picurl":"p"}]}}"#,
        )
        .unwrap();
        assert!(matches!(
            plan_resolve(
                &to_resolve("open"),
                news.clone(),
                &CustomSendLimits::default(),
                "r",
                "anna",
                None,
                NOW
            ),
            Err(ResolveError::BadMessage(_))
        ));
        assert!(plan_resolve(
            &to_resolve("open"),
            news,
            &CustomSendLimits {
                max_news_articles: 8
            },
            "r",
            "anna",
            None,
            NOW
        )
        .is_ok());
        assert!(serde_json::from_str::<ResolveRequest>(r#"{"msg":"x"}"#).is_err());
    }

    #[test]
    fn a_resolve_message_is_text_a_custom_message_or_nothing() {
        let read = |body: &str| serde_json::from_str::<ResolveRequest>(body).map(|r| r.message);
        assert_eq!(read("{}").unwrap(), None);
        assert_eq!(read(r#"{"message":null}"#).unwrap(), None);
        assert_eq!(
            read(r#"{"message":"hi"}"#).unwrap(),
            Some(CustomMessage::Text {
                content: "hi".into()
            })
        );
        assert_eq!(
            read(r#"{"message":{"msgtype":"image","media_id":"M1"}}"#).unwrap(),
            Some(CustomMessage::Image {
                media_id: "M1".into()
            })
        );
        let bogus = read(r#"{"message":{"msgtype":"bogus"}}"#).unwrap_err();
        assert!(
            bogus.to_string().contains("unknown variant `bogus`"),
            "{bogus}"
        );
        assert!(read(r#"{"message":{"msgtype":"image"}}"#)
            .unwrap_err()
            .to_string()
            .contains("missing field `media_id`"));
        assert!(read(r#"{"message":5}"#).is_err());
    }
}
