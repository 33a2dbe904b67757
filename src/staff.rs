//! What staff do to a ticket from the dashboard: reply to the customer (on the channel that can
//! reach them), assign, resolve, close, reopen. Each action is planned against the ticket as it
//! was read, applies only if it has not changed meanwhile, and leaves a line on the timeline
//! naming who did it.

use serde::Deserialize;

use crate::inline::Rejection;
use crate::outbound::{record_delivery, OutboundCall};
use crate::platforms::caresoft::{normalize_phone, ZnsSend};
use crate::platforms::zalo::Window;
use crate::reach::{reach, reach_zalo, zns_call, Reach, Recipient, ZaloRecipient};
use crate::rules::{render_params, Rules};
use crate::settings::Settings;
use crate::sql::Statement;
use crate::tickets::{timeline_by_id, Priority, TimelineEntry};

/// A reply longer than this is refused: WeChat's text messages stop there.
pub const MAX_REPLY_BYTES: usize = 2048;

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct TicketRow {
    pub id: i64,
    pub channel: String,
    pub customer_id: String,
    pub status: String,
    pub priority: String,
    pub assignee: Option<String>,
    pub order_id: Option<String>,
    pub customer_name: Option<String>,
    pub customer_phone: Option<String>,
    pub customer_openid: Option<String>,
    /// The customer's active ticket on the channel, when this one is not it.
    #[serde(default)]
    pub other_active: Option<i64>,
}

impl TicketRow {
    /// The customer's Official Account OpenID: the customer id of OA and 维权 tickets, the one
    /// the card shop gave for order tickets. WeChat Shop OpenIDs cannot receive OA messages.
    pub fn openid(&self) -> Option<&str> {
        match self.channel.as_str() {
            "oa" | "payfeedback" => Some(&self.customer_id),
            _ => self.customer_openid.as_deref(),
        }
    }

    fn placeholder(&self, field: &str) -> Option<String> {
        match field {
            "order.id" => self.order_id.clone(),
            "customer.name" => self.customer_name.clone(),
            "customer.phone" => self.customer_phone.clone(),
            _ => None,
        }
    }

    /// The channel a message of `text` to this customer would take now, and why.
    pub fn reach(
        &self,
        text: &str,
        rules: &Rules,
        settings: &Settings,
        activity: Activity,
        now: i64,
    ) -> Option<Reach> {
        let (fallback, phone) = (rules.zns_fallback.as_ref(), self.customer_phone.as_deref());
        let params = |field: &str| self.placeholder(field);
        let format = settings.zns_phone_format;
        match activity {
            Activity::Wechat { last_message_at } => {
                let to = Recipient {
                    openid: self.openid(),
                    phone,
                    last_wechat_message_at: last_message_at,
                };
                reach(text, &to, fallback, params, format, now)
            }
            Activity::Zalo(window) => {
                let to = ZaloRecipient {
                    user_id: &self.customer_id,
                    phone,
                    window,
                };
                reach_zalo(text, &to, fallback, params, format, now)
            }
        }
    }
}

/// What the customer's own channel says about its window, as read for a ticket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Activity {
    /// When the customer last wrote on WeChat, if the timeline knows.
    Wechat { last_message_at: Option<i64> },
    /// A Zalo customer's consultation window.
    Zalo(Window),
}

/// What the dashboard shows about reaching the customer.
pub fn describe_reach(reach: Option<&Reach>) -> serde_json::Value {
    match reach {
        Some(r) => serde_json::json!({
            "channel": channel_name(&r.call),
            "why": r.why.to_string(),
            "reason": r.why.code(),
        }),
        None => serde_json::json!({
            "channel": "none",
            "why": "no WeChat OpenID, and no phone with a zns_fallback template",
            "reason": "unreachable",
        }),
    }
}

fn channel_name(call: &OutboundCall) -> &'static str {
    match call {
        OutboundCall::Zns { .. } => "zns",
        OutboundCall::ZaloCs { .. } => "zalo",
        _ => "wechat",
    }
}

/// A change staff make to a ticket.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TicketAction {
    Assign(Option<String>),
    Resolve,
    Close,
    Reopen,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AssignBody {
    assignee: Option<String>,
}

impl TicketAction {
    /// The action a `POST /api/tickets/{id}/<verb>` asks for (`None`: no such verb).
    pub fn parse(verb: &str, body: &str) -> Option<Result<Self, Rejection>> {
        Some(match verb {
            "assign" => serde_json::from_str::<AssignBody>(body)
                .map(|b| {
                    TicketAction::Assign(
                        b.assignee
                            .map(|a| a.trim().to_owned())
                            .filter(|a| !a.is_empty()),
                    )
                })
                .map_err(|e| Rejection::Malformed(format!("invalid assign request: {e}"))),
            "resolve" => Ok(TicketAction::Resolve),
            "close" => Ok(TicketAction::Close),
            "reopen" => Ok(TicketAction::Reopen),
            _ => return None,
        })
    }
}

/// Aborts the transaction as a conflict unless the ticket is still as it was read.
fn expect_unchanged(t: &TicketRow) -> Statement {
    Statement::new(
        "INSERT INTO expectations (holds) SELECT 0 WHERE NOT EXISTS \
         (SELECT 1 FROM tickets WHERE id = ? AND status = ? AND assignee IS ?)",
        vec![
            t.id.into(),
            t.status.as_str().into(),
            t.assignee.clone().into(),
        ],
    )
}

fn note(t: &TicketRow, key: String, actor: &str, text: &str, now: i64) -> Statement {
    timeline_by_id(
        t.id,
        TimelineEntry {
            event_key: &key,
            at: now,
            kind: "agent",
            actor,
            text,
        },
    )
}

/// The transaction for an action, or why it cannot be taken (409: the ticket is not in a state
/// that allows it). `unique` names this action's timeline line and deliveries.
pub fn plan_action(
    t: &TicketRow,
    action: &TicketAction,
    actor: &str,
    rules: &Rules,
    settings: &Settings,
    unique: &str,
    now: i64,
) -> Result<Vec<Statement>, Rejection> {
    let not_allowed = |what: &str| {
        Err(Rejection::Conflict(format!(
            "cannot {what} a ticket that is {}",
            t.status
        )))
    };
    let key = format!("staff:{unique}");
    let mut statements = vec![expect_unchanged(t)];
    match (action, t.status.as_str()) {
        (TicketAction::Assign(_), "closed") => return not_allowed("assign"),
        (TicketAction::Assign(assignee), _) => {
            statements.push(Statement::new(
                "UPDATE tickets SET assignee = ?, updated_at = ? WHERE id = ?",
                vec![assignee.clone().into(), now.into(), t.id.into()],
            ));
            let text = match assignee {
                Some(a) => format!("assigned to {a}"),
                None => "unassigned".to_owned(),
            };
            statements.push(note(t, key, actor, &text, now));
        }
        (TicketAction::Resolve, "open" | "pending") => {
            statements.push(Statement::new(
                "UPDATE tickets SET status = 'resolved', resolved_at = ?, updated_at = ? WHERE id = ?",
                vec![now.into(), now.into(), t.id.into()],
            ));
            statements.push(note(t, key.clone(), actor, "resolved", now));
            statements.extend(resolved_zns(t, &key, rules, settings, now));
        }
        (TicketAction::Resolve, _) => return not_allowed("resolve"),
        (TicketAction::Close, "closed") => return not_allowed("close"),
        (TicketAction::Close, _) => {
            statements.push(Statement::new(
                "UPDATE tickets SET status = 'closed', resolved_at = COALESCE(resolved_at, ?), updated_at = ? WHERE id = ?",
                vec![now.into(), now.into(), t.id.into()],
            ));
            statements.push(note(t, key, actor, "closed", now));
        }
        (TicketAction::Reopen, "closed") if t.other_active.is_some() => {
            return Err(Rejection::Conflict(format!(
                "the customer has another active ticket on this channel (#{})",
                t.other_active.unwrap_or_default()
            )))
        }
        (TicketAction::Reopen, "resolved" | "closed") => {
            let (_, resolution) = priority(&t.priority).sla_secs();
            statements.push(Statement::new(
                "UPDATE tickets SET status = 'open', resolved_at = NULL, resolution_due = ?, updated_at = ? WHERE id = ?",
                vec![(now + resolution).into(), now.into(), t.id.into()],
            ));
            statements.push(note(t, key, actor, "reopened", now));
        }
        (TicketAction::Reopen, _) => return not_allowed("reopen"),
    }
    Ok(statements)
}

fn priority(name: &str) -> Priority {
    match name {
        "urgent" => Priority::Urgent,
        "high" => Priority::High,
        _ => Priority::Normal,
    }
}

/// The `ticket.resolved` ZNS rules, to the customer's phone.
fn resolved_zns(
    t: &TicketRow,
    key: &str,
    rules: &Rules,
    settings: &Settings,
    now: i64,
) -> Vec<Statement> {
    let Some(phone) = t
        .customer_phone
        .as_deref()
        .and_then(|raw| normalize_phone(raw, settings.zns_phone_format).ok())
    else {
        return Vec::new();
    };
    rules
        .zns_for("ticket.resolved")
        .map(|(i, rule)| {
            let send = ZnsSend {
                phone: phone.clone(),
                template_id: rule.template_id,
                params: render_params(rule.params.as_ref(), |f| t.placeholder(f)),
            };
            record_delivery(&format!("{key}:zns:{i}"), &zns_call(send), Some(t.id), now)
        })
        .collect()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReplyBody {
    pub text: String,
}

/// Checks a reply's text: 1..=2048 bytes, not only spaces.
pub fn parse_reply(body: &str) -> Result<String, Rejection> {
    let reply: ReplyBody = serde_json::from_str(body)
        .map_err(|e| Rejection::Malformed(format!("invalid reply: {e}")))?;
    let text = reply.text.trim();
    if text.is_empty() || text.len() > MAX_REPLY_BYTES {
        return Err(Rejection::Malformed(format!(
            "text must be 1..={MAX_REPLY_BYTES} bytes"
        )));
    }
    Ok(text.to_owned())
}

/// The transaction for a reply on the channel `reached`: the delivery, the agent's line on the
/// timeline, and the ticket's first response when this is it.
pub fn plan_reply(
    t: &TicketRow,
    text: &str,
    reached: &Reach,
    actor: &str,
    delivery_id: &str,
    now: i64,
) -> Vec<Statement> {
    let via = match channel_name(&reached.call) {
        "zns" => "Zalo ZNS",
        "zalo" => "Zalo OA",
        _ => "WeChat",
    };
    vec![
        record_delivery(delivery_id, &reached.call, Some(t.id), now),
        note(
            t,
            format!("reply:{delivery_id}"),
            actor,
            &format!("reply via {via}: {text}"),
            now,
        ),
        Statement::new(
            "UPDATE tickets SET first_response_at = COALESCE(first_response_at, ?), assignee = COALESCE(assignee, ?), updated_at = ? WHERE id = ?",
            vec![now.into(), actor.into(), now.into(), t.id.into()],
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reach::WECHAT_WINDOW_SECS;
    use crate::rules::ZnsTemplate;

    const NOW: i64 = 1_800_000_000;

    fn ticket(channel: &str, status: &str) -> TicketRow {
        TicketRow {
            id: 7,
            channel: channel.into(),
            customer_id: "oU".into(),
            status: status.into(),
            priority: "high".into(),
            assignee: None,
            order_id: Some("O1".into()),
            customer_name: Some("Hà".into()),
            customer_phone: Some("0983123148".into()),
            customer_openid: None,
            other_active: None,
        }
    }

    fn fallback_rules() -> Rules {
        Rules {
            zns_fallback: Some(ZnsTemplate {
                template_id: 9,
                params: None,
            }),
            ..Rules::default()
        }
    }

    #[test]
    fn the_openid_is_the_channels() {
        assert_eq!(ticket("oa", "open").openid(), Some("oU"));
        assert_eq!(ticket("payfeedback", "open").openid(), Some("oU"));
        assert_eq!(ticket("shop", "open").openid(), None);
        let mut order = ticket("orders", "open");
        assert_eq!(order.openid(), None);
        order.customer_openid = Some("oBuyer".into());
        assert_eq!(order.openid(), Some("oBuyer"));
    }

    #[test]
    fn the_reach_is_described_for_the_page() {
        let settings = Settings::from_lookup(|_| None);
        let t = ticket("oa", "open");
        let wechat = |last_message_at| Activity::Wechat { last_message_at };
        let open = t.reach(
            "",
            &fallback_rules(),
            &settings,
            wechat(Some(NOW - 60)),
            NOW,
        );
        assert_eq!(describe_reach(open.as_ref())["channel"], "wechat");
        let closed = t.reach(
            "",
            &fallback_rules(),
            &settings,
            wechat(Some(NOW - WECHAT_WINDOW_SECS)),
            NOW,
        );
        assert_eq!(describe_reach(closed.as_ref())["channel"], "zns");
        let shop =
            ticket("shop", "open").reach("", &Rules::default(), &settings, wechat(None), NOW);
        assert_eq!(describe_reach(shop.as_ref())["channel"], "none");
    }

    #[test]
    fn actions_parse() {
        assert_eq!(
            TicketAction::parse("assign", r#"{"assignee": " anna "}"#),
            Some(Ok(TicketAction::Assign(Some("anna".into()))))
        );
        assert_eq!(
            TicketAction::parse("assign", r#"{"assignee": null}"#),
            Some(Ok(TicketAction::Assign(None)))
        );
        assert!(matches!(
            TicketAction::parse("assign", "{}"),
            Some(Ok(TicketAction::Assign(None)))
        ));
        assert!(matches!(
            TicketAction::parse("assign", "[1]"),
            Some(Err(Rejection::Malformed(_)))
        ));
        assert_eq!(
            TicketAction::parse("resolve", ""),
            Some(Ok(TicketAction::Resolve))
        );
        assert_eq!(
            TicketAction::parse("close", ""),
            Some(Ok(TicketAction::Close))
        );
        assert_eq!(
            TicketAction::parse("reopen", ""),
            Some(Ok(TicketAction::Reopen))
        );
        assert_eq!(TicketAction::parse("delete", ""), None);
    }

    #[test]
    fn transitions_allowed_and_refused() {
        let settings = Settings::from_lookup(|_| None);
        let plan = |status: &str, action: TicketAction| {
            plan_action(
                &ticket("oa", status),
                &action,
                "anna",
                &Rules::default(),
                &settings,
                "u",
                NOW,
            )
        };
        for (status, action, allowed) in [
            ("open", TicketAction::Resolve, true),
            ("pending", TicketAction::Resolve, true),
            ("resolved", TicketAction::Resolve, false),
            ("closed", TicketAction::Resolve, false),
            ("open", TicketAction::Close, true),
            ("resolved", TicketAction::Close, true),
            ("closed", TicketAction::Close, false),
            ("resolved", TicketAction::Reopen, true),
            ("closed", TicketAction::Reopen, true),
            ("open", TicketAction::Reopen, false),
            ("open", TicketAction::Assign(Some("bob".into())), true),
            ("closed", TicketAction::Assign(None), false),
        ] {
            let result = plan(status, action.clone());
            assert_eq!(result.is_ok(), allowed, "{action:?} on {status}");
            if let Err(e) = result {
                assert_eq!(e.status(), 409);
                assert!(e.to_string().contains(status));
            }
        }
    }

    #[test]
    fn a_closed_ticket_is_not_reopened_over_a_newer_active_one() {
        let mut closed = ticket("oa", "closed");
        closed.other_active = Some(9);
        let settings = Settings::from_lookup(|_| None);
        let refused = plan_action(
            &closed,
            &TicketAction::Reopen,
            "a",
            &Rules::default(),
            &settings,
            "u",
            NOW,
        )
        .unwrap_err();
        assert_eq!(refused.status(), 409);
        assert!(refused.to_string().contains("#9"));
    }

    #[test]
    fn replies_are_checked() {
        assert_eq!(parse_reply(r#"{"text": " hi "}"#), Ok("hi".into()));
        for bad in [
            r#"{"text": "  "}"#,
            r#"{}"#,
            "nope",
            r#"{"text": "a", "x": 1}"#,
        ] {
            assert_eq!(parse_reply(bad).unwrap_err().status(), 400, "{bad}");
        }
        let long = format!(r#"{{"text": "{}"}}"#, "a".repeat(MAX_REPLY_BYTES + 1));
        assert!(parse_reply(&long).is_err());
    }
}
