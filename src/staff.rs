//! What staff do to a ticket from the dashboard: reply to the customer (on the channel that can
//! reach them), assign, resolve, close, reopen. Each action is planned against the ticket as it
//! was read, applies only if it has not changed meanwhile, and leaves a line on the timeline
//! naming who did it.

use serde::Deserialize;

use crate::inline::Rejection;
use crate::outbound::{record_delivery, OutboundCall};
use crate::platforms::caresoft::{normalize_phone, ZnsSend};
use crate::reach::{
    reach, zns_call, Addressed, Channel, Contact, Outgoing, Reach, Recipient, Unreachable, Why,
    UNLIMITED,
};
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
    /// The phone of the card-shop order the ticket is linked to (a Shop buyer's, say).
    #[serde(default)]
    pub order_phone: Option<String>,
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

    /// The channel that reaches the customer, and their id there: a Shop buyer through the
    /// Shop, everyone with an OpenID through the Official Account.
    pub fn channel(&self) -> Option<(Channel, &str)> {
        match self.channel.as_str() {
            "shop" => Some((Channel::Shop, &self.customer_id)),
            crate::tickets::ZALO => Some((Channel::Zalo, &self.customer_id)),
            _ => self.openid().map(|openid| (Channel::Oa, openid)),
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

    /// The channel `message` to this customer would take now (as delivery `delivery_id`), and
    /// why; or why none would. `contact` is what the timeline says of them on their channel.
    pub fn reach(
        &self,
        message: Outgoing,
        delivery_id: &str,
        rules: &Rules,
        settings: &Settings,
        contact: &Contact,
        now: i64,
    ) -> Result<Reach, Unreachable> {
        let on = self.channel().map(|(channel, id)| Addressed {
            channel,
            id,
            window: channel.window(contact, now),
        });
        if let Some(missing) = on.and_then(|on| on.channel.missing_setting(settings)) {
            return Err(Unreachable {
                why: Why::MissingSetting(missing),
                window: on.map(|on| on.window),
            });
        }
        let to = Recipient {
            on,
            phone: self
                .customer_phone
                .as_deref()
                .or(self.order_phone.as_deref()),
        };
        reach(
            message,
            delivery_id,
            &to,
            rules.zns_fallback.as_ref(),
            |field| self.placeholder(field),
            settings.zns_phone_format,
            now,
        )
    }
}

/// What the dashboard shows about reaching the customer: the channel (`none` when no channel
/// does), why (a code it translates, and the English text), and the window's end and the
/// messages left when the customer's channel has a window.
pub fn describe_reach(reach: &Result<Reach, Unreachable>) -> serde_json::Value {
    let (channel, why, window) = match reach {
        Ok(r) => (channel_name(&r.call), r.why, r.window),
        Err(u) => ("none", u.why, u.window),
    };
    let mut described = serde_json::json!({
        "channel": channel,
        "why": why.to_string(),
        "reason": why.code(),
    });
    if let Why::MissingSetting(name) = why {
        described["setting"] = name.into();
    }
    if let Some(w) = window {
        described["window"] = serde_json::json!({
            "open_until": w.open_until,
            // null: the channel does not count its sends.
            "sends_left": (w.sends_left != UNLIMITED).then_some(w.sends_left),
        });
        if let Some(free) = w.free_replies_left {
            described["window"]["free_replies_left"] = free.into();
        }
    }
    described
}

fn channel_name(call: &OutboundCall) -> &'static str {
    match call {
        OutboundCall::Zns { .. } => "zns",
        OutboundCall::ShopSend { .. } => Channel::Shop.name(),
        OutboundCall::ZaloCs { .. } => Channel::Zalo.name(),
        _ => Channel::Oa.name(),
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

/// A staff reply: a text, or (to a Shop buyer) a product or order card.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReplyBody {
    #[serde(default)]
    pub text: Option<String>,
    #[serde(default)]
    pub product_id: Option<String>,
    #[serde(default)]
    pub order_id: Option<String>,
}

/// A checked staff reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StaffReply {
    Text(String),
    ProductCard(String),
    OrderCard(String),
}

impl StaffReply {
    pub fn outgoing(&self) -> Outgoing<'_> {
        match self {
            StaffReply::Text(text) => Outgoing::Text(text),
            StaffReply::ProductCard(id) => Outgoing::ProductCard(id),
            StaffReply::OrderCard(id) => Outgoing::OrderCard(id),
        }
    }

    /// The agent's line on the timeline.
    fn describe(&self) -> String {
        match self {
            StaffReply::Text(text) => text.clone(),
            StaffReply::ProductCard(id) => format!("[product card] {id}"),
            StaffReply::OrderCard(id) => format!("[order card] {id}"),
        }
    }
}

/// Checks a reply: exactly one of `text` (1..=2048 bytes, not only spaces), `product_id` or
/// `order_id` (digits, as the Shop numbers them).
pub fn parse_reply(body: &str) -> Result<StaffReply, Rejection> {
    let reply: ReplyBody = serde_json::from_str(body)
        .map_err(|e| Rejection::Malformed(format!("invalid reply: {e}")))?;
    let card = |id: String, what: &str| {
        let id = id.trim();
        if id.is_empty() || id.len() > 32 || !id.bytes().all(|b| b.is_ascii_digit()) {
            return Err(Rejection::Malformed(format!(
                "{what} must be 1 to 32 digits"
            )));
        }
        Ok(id.to_owned())
    };
    match (reply.text, reply.product_id, reply.order_id) {
        (Some(text), None, None) => {
            let text = text.trim();
            if text.is_empty() || text.len() > MAX_REPLY_BYTES {
                return Err(Rejection::Malformed(format!(
                    "text must be 1..={MAX_REPLY_BYTES} bytes"
                )));
            }
            Ok(StaffReply::Text(text.to_owned()))
        }
        (None, Some(id), None) => card(id, "product_id").map(StaffReply::ProductCard),
        (None, None, Some(id)) => card(id, "order_id").map(StaffReply::OrderCard),
        _ => Err(Rejection::Malformed(
            "a reply is one of text, product_id or order_id".into(),
        )),
    }
}

/// The transaction for a reply on the channel `reached`: the window's check, the delivery, the
/// agent's line on the timeline, and the ticket's first response when this is it.
pub fn plan_reply(
    t: &TicketRow,
    reply: &StaffReply,
    reached: &Reach,
    actor: &str,
    delivery_id: &str,
    now: i64,
) -> Vec<Statement> {
    let via = match reached.call {
        OutboundCall::Zns { .. } => "Zalo ZNS",
        OutboundCall::ShopSend { .. } => "WeChat Shop",
        OutboundCall::ZaloCs { .. } => "Zalo OA",
        _ => "WeChat",
    };
    let mut statements: Vec<Statement> = reached.guard.iter().cloned().collect();
    statements.extend([
        record_delivery(delivery_id, &reached.call, Some(t.id), now),
        note(
            t,
            format!("reply:{delivery_id}"),
            actor,
            &format!("reply via {via}: {}", reply.describe()),
            now,
        ),
        Statement::new(
            "UPDATE tickets SET first_response_at = COALESCE(first_response_at, ?), assignee = COALESCE(assignee, ?), updated_at = ? WHERE id = ?",
            vec![now.into(), actor.into(), now.into(), t.id.into()],
        ),
    ]);
    statements
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
            order_phone: None,
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

    fn wrote(at: i64, sent: u32) -> Contact {
        Contact {
            last_message_at: Some(at),
            sent_since_message: sent,
            ..Contact::default()
        }
    }

    #[test]
    fn the_reach_is_described_for_the_page() {
        let settings = Settings::from_lookup(|name| {
            matches!(name, "SHOP_APPID" | "SHOP_APPSECRET").then(|| "x".into())
        });
        let hi = Outgoing::Text("hi");
        let reach = |t: &TicketRow, rules: &Rules, contact: Contact| {
            describe_reach(&t.reach(hi, "d", rules, &settings, &contact, NOW))
        };
        let t = ticket("oa", "open");
        let open = reach(&t, &fallback_rules(), wrote(NOW - 60, 1));
        assert_eq!(open["channel"], "wechat");
        assert_eq!(open["reason"], "window_open");
        assert_eq!(open["window"]["sends_left"], 4);
        assert_eq!(open["window"]["open_until"], NOW - 60 + WECHAT_WINDOW_SECS);
        let closed = reach(&t, &fallback_rules(), wrote(NOW - WECHAT_WINDOW_SECS, 0));
        assert_eq!(closed["channel"], "zns");
        let shop = ticket("shop", "open");
        let buyer = reach(&shop, &Rules::default(), wrote(NOW - 60, 0));
        assert_eq!(buyer["channel"], "wechat_shop");
        assert_eq!(buyer["window"]["sends_left"], 5);
        let sixth = reach(&shop, &Rules::default(), wrote(NOW - 60, 5));
        assert_eq!(sixth["channel"], "none");
        assert_eq!(sixth["reason"], "sends_used_without_fallback");
        assert_eq!(sixth["window"]["sends_left"], 0);
        // A Shop buyer with a phone from a linked card-shop order: ZNS once the window closed.
        let mut linked = ticket("shop", "open");
        linked.customer_phone = None;
        assert_eq!(
            reach(&linked, &fallback_rules(), wrote(0, 0))["channel"],
            "none"
        );
        linked.order_phone = Some("0983123148".into());
        let zns = reach(&linked, &fallback_rules(), wrote(0, 0));
        assert_eq!(zns["channel"], "zns");
        assert_eq!(zns["reason"], "window_closed");
        let nothing = Settings::from_lookup(|_| None);
        let unset =
            describe_reach(&shop.reach(hi, "d", &Rules::default(), &nothing, &wrote(NOW, 0), NOW));
        assert_eq!(
            (
                unset["channel"].as_str(),
                unset["reason"].as_str(),
                unset["setting"].as_str()
            ),
            (Some("none"), Some("missing_setting"), Some("SHOP_APPID"))
        );
        let mut stranger = ticket("orders", "open");
        stranger.customer_phone = None;
        let none = reach(&stranger, &Rules::default(), Contact::default());
        assert_eq!(
            (none["channel"].as_str(), none["reason"].as_str()),
            (Some("none"), Some("unreachable"))
        );
        assert!(none.get("window").is_none());
    }

    #[test]
    fn the_channel_is_the_tickets() {
        assert_eq!(
            ticket("shop", "open").channel(),
            Some((Channel::Shop, "oU"))
        );
        assert_eq!(ticket("oa", "open").channel(), Some((Channel::Oa, "oU")));
        assert_eq!(ticket("orders", "open").channel(), None);
        assert_eq!(
            ticket("zalo", "open").channel(),
            Some((Channel::Zalo, "oU"))
        );
    }

    #[test]
    fn a_zalo_customer_is_reached_on_zalo_with_the_free_replies_shown() {
        let settings = Settings::from_lookup(|name| {
            matches!(name, "ZALO_APP_ID" | "ZALO_APP_SECRET").then(|| "x".into())
        });
        let t = ticket("zalo", "open");
        let reach = |contact: Contact| {
            let hi = Outgoing::Text("hi");
            describe_reach(&t.reach(hi, "d", &fallback_rules(), &settings, &contact, NOW))
        };
        let open = reach(wrote(NOW - 60, 2));
        assert_eq!(
            (open["channel"].as_str(), open["reason"].as_str()),
            (Some("zalo"), Some("window_open"))
        );
        assert_eq!(
            open["window"],
            serde_json::json!({
                "open_until": NOW - 60 + crate::platforms::zalo::WINDOW_SECS,
                "sends_left": null,
                "free_replies_left": 6,
            })
        );
        let closed = reach(wrote(NOW - crate::platforms::zalo::WINDOW_SECS, 0));
        assert_eq!(
            (closed["channel"].as_str(), closed["reason"].as_str()),
            (Some("zns"), Some("window_closed"))
        );
        let nothing = Settings::from_lookup(|_| None);
        let unset = describe_reach(&t.reach(
            Outgoing::Text("hi"),
            "d",
            &Rules::default(),
            &nothing,
            &wrote(NOW, 0),
            NOW,
        ));
        assert_eq!(unset["setting"], "ZALO_APP_ID");
    }

    #[test]
    fn a_reply_records_its_guard_delivery_and_line() {
        let settings = Settings::from_lookup(|name| {
            matches!(name, "SHOP_APPID" | "SHOP_APPSECRET").then(|| "x".into())
        });
        let t = ticket("shop", "open");
        let reply = StaffReply::OrderCard("372".into());
        let reached = t
            .reach(
                reply.outgoing(),
                "reply:u",
                &Rules::default(),
                &settings,
                &wrote(NOW - 60, 2),
                NOW,
            )
            .unwrap();
        let statements = plan_reply(&t, &reply, &reached, "anna", "reply:u", NOW);
        assert!(statements[0].sql.contains("expectations"));
        assert!(statements[1]
            .sql
            .contains("INSERT OR IGNORE INTO deliveries"));
        assert!(statements[1].params.contains(&"shop:oU".into()));
        assert!(statements[2]
            .params
            .contains(&"reply via WeChat Shop: [order card] 372".into()));
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
        assert_eq!(
            parse_reply(r#"{"text": " hi "}"#),
            Ok(StaffReply::Text("hi".into()))
        );
        assert_eq!(
            parse_reply(r#"{"product_id": "10000141308512"}"#),
            Ok(StaffReply::ProductCard("10000141308512".into()))
        );
        assert_eq!(
            parse_reply(r#"{"order_id": " 3721712203692901632 "}"#),
            Ok(StaffReply::OrderCard("3721712203692901632".into()))
        );
        for bad in [
            r#"{"text": "  "}"#,
            r#"{}"#,
            "nope",
            r#"{"text": "a", "x": 1}"#,
            r#"{"text": "a", "order_id": "1"}"#,
            r#"{"order_id": "12a"}"#,
            r#"{"product_id": ""}"#,
        ] {
            assert_eq!(parse_reply(bad).unwrap_err().status(), 400, "{bad}");
        }
        let long = format!(r#"{{"text": "{}"}}"#, "a".repeat(MAX_REPLY_BYTES + 1));
        assert!(parse_reply(&long).is_err());
    }
}
