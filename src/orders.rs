//! Card-shop orders in storage: what each webhook event writes (the order, its ticket, the
//! alert, the auto-reply), and the undelivered-order watch the cron runs. One event's writes
//! are one transaction that starts with the event's dedup-key insert.

use serde::Deserialize;

use crate::event::QueuedEvent;
use crate::mask::mask;
use crate::outbound::OutboundCall;
use crate::platforms::caresoft::{normalize_phone, ZnsSend};
use crate::platforms::orders::{present, EventType, OrderEvent};
use crate::platforms::payfeedback::GoodsKind;
use crate::reach::{reach, zns_call, Addressed, Channel, Contact, Outgoing, Recipient};
use crate::rules::{render_params, Rules};
use crate::settings::Settings;
use crate::sql::Statement;
use crate::tickets::{self, snippet, Customer, Priority, TimelineEntry};

/// Card-shop tickets: one active ticket per order.
pub const CHANNEL: &str = "orders";
const HOUR: i64 = 3600;

/// How long after payment goods must be delivered (seed 002): virtual 24 h, physical 72 h;
/// unknown kind is held to the shorter.
pub fn delivery_window_secs(kind: Option<GoodsKind>) -> i64 {
    match kind {
        Some(GoodsKind::Physical) => 72 * HOUR,
        Some(GoodsKind::Virtual) | None => 24 * HOUR,
    }
}

/// Digits after the decimal point of the currencies whose minor unit is known: an amount is
/// sent in the smallest unit, so 1990 CNY is 19.90 and 199000 VND is 199000.
fn minor_unit_digits(currency: &str) -> Option<u32> {
    match currency {
        "VND" | "JPY" | "KRW" => Some(0),
        "CNY" | "USD" => Some(2),
        _ => None,
    }
}

/// An amount in the currency's smallest unit, for people: `19.90 CNY` from 1990 CNY,
/// `199000 VND` from 199000 VND; a currency whose minor unit is not known prints the amount as
/// given, with its code. Without a currency the amount is taken as CNY (fen), the card shops'
/// own (seed 004).
pub fn format_amount(amount: i64, currency: Option<&str>) -> String {
    let code = currency.map_or_else(|| "CNY".to_owned(), |c| c.trim().to_ascii_uppercase());
    match minor_unit_digits(&code) {
        Some(2) => {
            let sign = if amount < 0 { "-" } else { "" };
            let cents = amount.unsigned_abs();
            format!("{sign}{}.{:02} {code}", cents / 100, cents % 100)
        }
        _ => format!("{amount} {code}"),
    }
}

fn kind_name(kind: GoodsKind) -> &'static str {
    match kind {
        GoodsKind::Virtual => "virtual",
        GoodsKind::Physical => "physical",
    }
}

/// The status an event puts the order in, if it changes it.
fn status_of(event_type: EventType) -> Option<&'static str> {
    match event_type {
        EventType::Paid => Some("paid"),
        EventType::Delivered => Some("delivered"),
        EventType::DeliveryFailed => Some("delivery_failed"),
        EventType::Delayed => Some("delayed"),
        EventType::RefundRequested => Some("refund_requested"),
        EventType::RefundSucceeded => Some("refunded"),
        EventType::CardInvalid | EventType::TicketSubmitted | EventType::Other => None,
    }
}

/// The text a customer gets when their refund went through.
pub fn refund_notice(e: &OrderEvent) -> String {
    format!(
        "您的订单 {id} 已退款成功。Your refund for order {id} has gone through.",
        id = e.order.id
    )
}

/// What planning a card-shop event reads besides the event itself.
pub struct Planning<'a> {
    pub rules: &'a Rules,
    pub settings: &'a Settings,
    /// What the timeline says of the customer on the Official Account (when they last wrote,
    /// the sends since): their window for customer-service messages.
    pub contact: Contact,
    pub now: i64,
}

/// The transaction for one card-shop event.
pub fn plan(event: &QueuedEvent, e: &OrderEvent, p: &Planning) -> Vec<Statement> {
    let now = p.now;
    let key = event.dedup_key.as_str();
    let event_type = e.event_type();
    if event_type == EventType::Other {
        // Kept as an event, acts on nothing: not even an order row.
        return vec![tickets::store_event(event, now)];
    }
    let mut statements = vec![tickets::store_event(event, now), upsert(e, event_type, now)];
    let order = Customer {
        channel: CHANNEL,
        customer_id: &e.order.id,
    };
    match event_type {
        EventType::Paid => {
            statements.push(start_watch(e, p.settings.delivery_warning_percent, now))
        }
        EventType::Delivered | EventType::Other => {}
        EventType::RefundSucceeded => {
            let id = format!("{key}:refund_notice");
            if let Some(reached) = reach_customer(&refund_notice(e), &id, e, p) {
                statements.push(record_delivery(
                    &id,
                    &reached,
                    &e.order.id,
                    ForTicket::Refund,
                    now,
                ));
            }
            // The refund ticket is about to be resolved: `ticket.resolved` rules fire for it.
            statements.extend(zns_rules(key, "ticket.resolved", e, p, ForTicket::Refund));
            statements.push(order.timeline(TimelineEntry {
                event_key: key,
                at: now,
                kind: "status",
                actor: "card_shop",
                text: "refund succeeded",
            }));
            statements.push(Statement::new(
                "UPDATE tickets SET status = 'resolved', resolved_at = ?, updated_at = ? \
                 WHERE channel = ? AND customer_id = ? AND status IN ('open', 'pending') AND category = 'refund'",
                order.params(vec![now.into(), now.into()]),
            ));
        }
        EventType::DeliveryFailed
        | EventType::Delayed
        | EventType::CardInvalid
        | EventType::RefundRequested
        | EventType::TicketSubmitted => {
            let category = e.problem_category().unwrap_or("general");
            statements.extend(problem(key, e, category, p));
        }
    }
    statements.extend(zns_rules(key, &e.kind, e, p, ForTicket::IfAny));
    statements
}

/// A message to the order's customer (as delivery `id`), on the channel that can reach them.
fn reach_customer(text: &str, id: &str, e: &OrderEvent, p: &Planning) -> Option<OutboundCall> {
    let to = Recipient {
        on: e.customer.openid.as_deref().map(|openid| Addressed {
            channel: Channel::Oa,
            id: openid,
            window: Channel::Oa.window(&p.contact, p.now),
        }),
        phone: e.customer.phone.as_deref(),
    };
    let fallback = p.rules.zns_fallback.as_ref();
    reach(
        Outgoing::Text(text),
        id,
        &to,
        fallback,
        |field| placeholder(e, field),
        p.settings.zns_phone_format,
        p.now,
    )
    .ok()
    .map(|reached| reached.call)
}

/// The value of a ZNS parameter placeholder for this event.
fn placeholder(e: &OrderEvent, field: &str) -> Option<String> {
    let (o, c) = (&e.order, &e.customer);
    match field {
        "event.id" => Some(e.id.clone()),
        "event.type" => Some(e.kind.clone()),
        "order.id" => Some(o.id.clone()),
        "order.trans_id" => o.trans_id.clone(),
        "order.amount" => o.amount.map(|a| format_amount(a, o.currency.as_deref())),
        "order.currency" => o.currency.clone(),
        "order.product" => o.product.clone(),
        "customer.name" => c.name.clone(),
        "customer.phone" => c.phone.clone(),
        "customer.email" => c.email.clone(),
        "message" => e.message.clone(),
        _ => None,
    }
}

/// The ZNS sends the rules ask for on `trigger`, once per event (the delivery is named after
/// it), to the customer's phone. A phone that is not a Vietnamese mobile number is noted on the
/// order's ticket instead.
fn zns_rules(
    key: &str,
    trigger: &str,
    e: &OrderEvent,
    p: &Planning,
    ticket: ForTicket,
) -> Vec<Statement> {
    let Some(raw_phone) = e.customer.phone.as_deref() else {
        return Vec::new();
    };
    let order = Customer {
        channel: CHANNEL,
        customer_id: &e.order.id,
    };
    p.rules
        .zns_for(trigger)
        .map(|(i, rule)| {
            let id = format!("{key}:zns:{i}");
            match normalize_phone(raw_phone, p.settings.zns_phone_format) {
                Ok(phone) => {
                    let send = ZnsSend {
                        phone,
                        template_id: rule.template_id,
                        params: render_params(rule.params.as_ref(), |f| placeholder(e, f)),
                    };
                    record_delivery(&id, &zns_call(send), &e.order.id, ticket, p.now)
                }
                // Named apart from every event's own key: `{key}:zns:{i}` is also the key of an
                // event whose id ends in `:zns:0`, and the timeline's keys are unique.
                Err(why) => order.timeline(TimelineEntry {
                    event_key: &format!("zns-not-sent:{i}:{key}"),
                    at: p.now,
                    kind: "outbound",
                    actor: "caresoft_zns",
                    text: &format!("ZNS template {} not sent: {why}", rule.template_id),
                }),
            }
        })
        .collect()
}

/// The order's row: later events fill in fields, never blank them; a late `order.paid` never
/// takes a delivered or refunded order back to paid.
fn upsert(e: &OrderEvent, event_type: EventType, now: i64) -> Statement {
    let o = &e.order;
    let c = &e.customer;
    let delivered_at = match event_type {
        EventType::Delivered => Some(o.delivered_at.unwrap_or(now)),
        _ => o.delivered_at,
    };
    Statement::new(
        "INSERT INTO orders (id, trans_id, goods_kind, status, amount, currency, product, customer_openid, customer_phone, customer_email, customer_name, paid_at, delivered_at, updated_at) \
         VALUES (?1, ?2, ?3, COALESCE(?4, 'paid'), ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14) \
         ON CONFLICT (id) DO UPDATE SET \
           trans_id = COALESCE(?2, trans_id), goods_kind = COALESCE(?3, goods_kind), \
           status = CASE WHEN ?4 IS NULL OR (?4 = 'paid' AND status != 'paid') THEN status ELSE ?4 END, \
           amount = COALESCE(?5, amount), currency = COALESCE(?6, currency), product = COALESCE(?7, product), \
           customer_openid = COALESCE(?8, customer_openid), customer_phone = COALESCE(?9, customer_phone), \
           customer_email = COALESCE(?10, customer_email), customer_name = COALESCE(?11, customer_name), \
           paid_at = COALESCE(?12, paid_at), delivered_at = COALESCE(?13, delivered_at), updated_at = ?14",
        vec![
            o.id.as_str().into(),
            o.trans_id.clone().into(),
            o.goods_kind.map(kind_name).into(),
            status_of(event_type).into(),
            o.amount.into(),
            o.currency.clone().into(),
            o.product.clone().into(),
            c.openid.clone().into(),
            c.phone.clone().into(),
            c.email.clone().into(),
            c.name.clone().into(),
            o.paid_at.into(),
            delivered_at.into(),
            now.into(),
        ],
    )
}

/// Starts the undelivered-order watch from the payment (never later than now).
fn start_watch(e: &OrderEvent, warn_percent: i64, now: i64) -> Statement {
    let paid_at = e.order.paid_at.or(e.created_at).unwrap_or(now).min(now);
    let window = delivery_window_secs(e.order.goods_kind);
    let deliver_by = paid_at.saturating_add(window);
    let warn_at = paid_at.saturating_add(window * warn_percent.clamp(1, 100) / 100);
    Statement::new(
        "UPDATE orders SET deliver_by = ?, deliver_warn_at = ? WHERE id = ? AND delivered_at IS NULL AND deliver_by IS NULL",
        vec![deliver_by.into(), warn_at.into(), e.order.id.as_str().into()],
    )
}

/// Which of the order's tickets an outbound call is made for.
#[derive(Clone, Copy)]
enum ForTicket {
    /// The active ticket, whatever its category.
    Active,
    /// The active refund ticket, if there is one.
    Refund,
    /// The active ticket if there is one, else none: the call is made all the same.
    IfAny,
}

/// Records an outbound call for the order's ticket; nothing is recorded (or sent) when there is
/// no such ticket, except for `IfAny`, which records it without one.
fn record_delivery(
    id: &str,
    call: &OutboundCall,
    order_id: &str,
    ticket: ForTicket,
    now: i64,
) -> Statement {
    let sql = match ticket {
        ForTicket::Active => {
            "INSERT OR IGNORE INTO deliveries (id, target, payload, ticket_id, state, attempts, created_at, updated_at, next_attempt_at, recipient) \
             SELECT ?1, ?2, ?3, id, 'pending', 0, ?4, ?5, ?6, ?9 FROM tickets WHERE channel = ?7 AND customer_id = ?8 AND status != 'closed'"
        }
        ForTicket::Refund => {
            "INSERT OR IGNORE INTO deliveries (id, target, payload, ticket_id, state, attempts, created_at, updated_at, next_attempt_at, recipient) \
             SELECT ?1, ?2, ?3, id, 'pending', 0, ?4, ?5, ?6, ?9 FROM tickets \
             WHERE channel = ?7 AND customer_id = ?8 AND status IN ('open', 'pending') AND category = 'refund'"
        }
        ForTicket::IfAny => {
            "INSERT OR IGNORE INTO deliveries (id, target, payload, ticket_id, state, attempts, created_at, updated_at, next_attempt_at, recipient) \
             VALUES (?1, ?2, ?3, (SELECT id FROM tickets WHERE channel = ?7 AND customer_id = ?8 AND status != 'closed'), 'pending', 0, ?4, ?5, ?6, ?9)"
        }
    };
    Statement::delivery(
        sql,
        vec![
            id.into(),
            call.target().into(),
            call.payload().into(),
            now.into(),
            now.into(),
            now.into(),
            CHANNEL.into(),
            order_id.into(),
            call.recipient().into(),
        ],
        id.to_owned(),
    )
}

/// A reported problem: the order's ticket (opened, or appended to), routed, with one alert when
/// it opened and the FAQ's auto-reply to a customer WeChat can reach.
fn problem(key: &str, e: &OrderEvent, category: &'static str, p: &Planning) -> Vec<Statement> {
    let (rules, now) = (p.rules, p.now);
    let order = Customer {
        channel: CHANNEL,
        customer_id: &e.order.id,
    };
    let priority = match e.event_type() {
        EventType::DeliveryFailed | EventType::CardInvalid => Priority::High,
        _ => Priority::Normal,
    };
    let message = e.message.as_deref();
    let assignee = rules
        .route_for_problem(category, message)
        .and_then(|r| r.kf_accounts.first().cloned());
    let c = &e.customer;
    let mut statements: Vec<Statement> = order
        .ensure_active_ticket(key, category, priority, now, None)
        .into();
    statements.push(Statement::new(
        "UPDATE tickets SET order_id = ?, assignee = COALESCE(assignee, ?), customer_name = COALESCE(?, customer_name), \
           customer_phone = COALESCE(?, customer_phone), customer_email = COALESCE(?, customer_email), \
           customer_openid = COALESCE(?, customer_openid), updated_at = ? \
         WHERE channel = ? AND customer_id = ? AND status != 'closed'",
        order.params(vec![
            e.order.id.as_str().into(),
            assignee.clone().into(),
            c.name.clone().into(),
            c.phone.clone().into(),
            c.email.clone().into(),
            c.openid.clone().into(),
            now.into(),
        ]),
    ));
    let text = match message {
        Some(m) => format!("[{}] {m}", e.kind),
        None => format!("[{}]", e.kind),
    };
    statements.push(order.timeline(TimelineEntry {
        event_key: key,
        at: now,
        kind: "inbound",
        actor: c.name.as_deref().unwrap_or("card_shop"),
        text: &text,
    }));
    // Found by the active-ticket index: the ticket this event opened is the active one.
    statements.push(Statement::alert(
        "INSERT OR IGNORE INTO alerts (dedup_key, ticket_id, text, created_at) SELECT ?, id, ?, ? FROM tickets \
         WHERE opened_by = ? AND channel = ? AND customer_id = ? AND status != 'closed'",
        order.params(vec![format!("ticket:{key}").into(), alert_text(e, category).into(), now.into(), key.into()]),
    ));
    let id = format!("{key}:faq");
    let auto_reply = rules
        .faq_reply_for_problem(category, message)
        .and_then(|reply| reach_customer(reply, &id, e, p));
    if let Some(call) = auto_reply {
        statements.push(record_delivery(
            &id,
            &call,
            &e.order.id,
            ForTicket::Active,
            now,
        ));
    }
    statements
}

fn alert_text(e: &OrderEvent, category: &str) -> String {
    let o = &e.order;
    let mut parts = vec![format!(
        "New card-shop ticket ({category}) for order {}",
        o.id
    )];
    if let Some(product) = &o.product {
        parts.push(snippet(product));
    }
    if let Some(amount) = o.amount {
        parts.push(format_amount(amount, o.currency.as_deref()));
    }
    let who: Vec<String> = [
        e.customer.name.as_deref().map(snippet),
        e.customer.phone.as_deref().map(mask),
    ]
    .into_iter()
    .flatten()
    .collect();
    if !who.is_empty() {
        parts.push(who.join(" "));
    }
    let mut text = parts.join(" · ");
    if let Some(m) = &e.message {
        text.push_str(": ");
        text.push_str(&snippet(m));
    }
    text
}

/// `GET /api/orders`: most recently changed first, of one status when asked (each served by an
/// index).
pub fn list(status: Option<String>, limit: i64) -> Statement {
    Statement::filtered_or_all(
        "SELECT * FROM orders WHERE status = ? ORDER BY updated_at DESC LIMIT ?",
        "SELECT * FROM orders ORDER BY updated_at DESC LIMIT ?",
        status,
        vec![limit.into()],
    )
}

/// `GET /api/orders/{id}`: the order (bind its id to each).
pub const ORDER_SQL: &str = "SELECT * FROM orders WHERE id = ?";
/// The order's tickets.
pub const ORDER_TICKETS_SQL: &str = "SELECT * FROM tickets WHERE order_id = ? ORDER BY id";
/// The complaints about the transaction that paid the order (and perhaps others with it).
pub const ORDER_COMPLAINTS_SQL: &str = "SELECT * FROM complaints WHERE trans_id = (SELECT trans_id FROM orders WHERE id = ?) ORDER BY opened_at";
/// The card-shop events about the order, by the column the consumer fills: each one's type and
/// the customer's message, not the whole payload (its phone, e-mail and OpenID are for leads, who
/// read raw events with `GET /api/events`; this read is an agent's).
pub const ORDER_EVENTS_SQL: &str =
    "SELECT id, kind, received_at, json_extract(payload, '$.type') AS type, \
     json_extract(payload, '$.message') AS message FROM events WHERE order_id = ? ORDER BY id";

/// `PUT /api/orders/{id}`: what the merchant tells about an order, for complaint deadlines
/// (goods kind, delivery) and for linking tickets. Absent fields keep their stored value; an
/// empty `trans_id` is absent.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrderRecord {
    pub trans_id: Option<String>,
    pub goods_kind: Option<GoodsKind>,
    pub status: Option<String>,
    pub delivered_at: Option<i64>,
}

impl OrderRecord {
    pub fn upsert(&self, order_id: &str, now: i64) -> Statement {
        let kind = self.goods_kind.map(kind_name);
        let trans_id = present(self.trans_id.clone());
        Statement::new(
            "INSERT INTO orders (id, trans_id, goods_kind, status, delivered_at, updated_at) VALUES (?1, ?2, ?3, COALESCE(?4, 'paid'), ?5, ?6) \
             ON CONFLICT (id) DO UPDATE SET trans_id = COALESCE(?2, trans_id), goods_kind = COALESCE(?3, goods_kind), \
             status = COALESCE(?4, status), delivered_at = COALESCE(?5, delivered_at), updated_at = ?6",
            vec![
                order_id.into(),
                trans_id.into(),
                kind.into(),
                self.status.clone().into(),
                self.delivered_at.into(),
                now.into(),
            ],
        )
    }
}

/// A paid order the watch looks at.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Undelivered {
    pub id: String,
    pub product: Option<String>,
    pub customer_name: Option<String>,
    pub customer_phone: Option<String>,
    pub goods_kind: Option<GoodsKind>,
    pub paid_at: Option<i64>,
    pub deliver_by: i64,
    pub deliver_warn_at: Option<i64>,
    pub deliver_warned_at: Option<i64>,
    pub deliver_overdue_at: Option<i64>,
}

/// The orders the watch may need to alert about now (bind `now` twice).
pub const UNDELIVERED_SQL: &str = "SELECT id, product, customer_name, customer_phone, goods_kind, paid_at, deliver_by, deliver_warn_at, deliver_warned_at, deliver_overdue_at \
     FROM orders WHERE delivered_at IS NULL AND status NOT IN ('delivered', 'refunded') AND deliver_by IS NOT NULL \
     AND ((deliver_warned_at IS NULL AND deliver_warn_at <= ?) OR (deliver_overdue_at IS NULL AND deliver_by <= ?)) LIMIT 100";

/// Alerts once when an order nears its delivery deadline and once when it is overdue (an order
/// found already overdue gets only the overdue alert). Each alert and its mark are written
/// together, and the alert's dedup key makes a concurrent cron harmless.
pub fn plan_watch(orders: &[Undelivered], now: i64) -> Vec<Statement> {
    let mut statements = Vec::new();
    for o in orders {
        let paid = o.paid_at.map_or(String::new(), |at| {
            format!(", paid {} h ago", (now - at).max(0) / HOUR)
        });
        let who = [
            o.customer_name.clone(),
            o.customer_phone.as_deref().map(mask),
        ]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ");
        let what = format!(
            "order {} ({}{paid}; customer {})",
            o.id,
            o.product.as_deref().unwrap_or("?"),
            if who.is_empty() {
                "unknown".into()
            } else {
                who
            }
        );
        let (which, mark, text) = if o.deliver_by <= now {
            if o.deliver_overdue_at.is_some() {
                continue;
            }
            (
                "overdue",
                Statement::new(
                    "UPDATE orders SET deliver_overdue_at = ?, deliver_warned_at = COALESCE(deliver_warned_at, ?) WHERE id = ?",
                    vec![now.into(), now.into(), o.id.as_str().into()],
                ),
                format!(
                    "NOT DELIVERED: {what} is past its {} h delivery window; deliver or refund before the customer files a WeChat Pay complaint",
                    delivery_window_secs(o.goods_kind) / HOUR
                ),
            )
        } else if o.deliver_warned_at.is_none() && o.deliver_warn_at.is_some_and(|at| at <= now) {
            (
                "warning",
                Statement::new(
                    "UPDATE orders SET deliver_warned_at = ? WHERE id = ?",
                    vec![now.into(), o.id.as_str().into()],
                ),
                format!(
                    "Still not delivered: {what}; {} h left in its delivery window",
                    (o.deliver_by - now + HOUR - 1) / HOUR
                ),
            )
        } else {
            continue;
        };
        statements.push(mark);
        statements.push(Statement::alert(
            "INSERT OR IGNORE INTO alerts (dedup_key, ticket_id, text, created_at) \
             VALUES (?, (SELECT id FROM tickets WHERE channel = 'orders' AND customer_id = ? AND status != 'closed'), ?, ?)",
            vec![
                format!("order:{}:{which}", o.id).into(),
                o.id.as_str().into(),
                text.into(),
                now.into(),
            ],
        ));
    }
    statements
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delivery_windows_follow_the_goods_kind() {
        assert_eq!(delivery_window_secs(Some(GoodsKind::Virtual)), 24 * HOUR);
        assert_eq!(delivery_window_secs(Some(GoodsKind::Physical)), 72 * HOUR);
        assert_eq!(
            delivery_window_secs(None),
            24 * HOUR,
            "unknown: the stricter"
        );
    }

    #[test]
    fn amounts_respect_the_currencys_minor_unit() {
        assert_eq!(format_amount(1990, Some("CNY")), "19.90 CNY");
        assert_eq!(format_amount(1990, Some("usd")), "19.90 USD");
        assert_eq!(
            format_amount(5, None),
            "0.05 CNY",
            "absent: CNY, the seed's"
        );
        assert_eq!(format_amount(199_000, Some("VND")), "199000 VND");
        assert_eq!(format_amount(-250, Some("VND")), "-250 VND");
        assert_eq!(format_amount(1500, Some("JPY")), "1500 JPY");
        assert_eq!(format_amount(12_000, Some(" krw ")), "12000 KRW");
        assert_eq!(
            format_amount(1234, Some("XAU")),
            "1234 XAU",
            "unknown: as given, with its code"
        );
        assert_eq!(format_amount(i64::MIN, None), "-92233720368547758.08 CNY");
        assert_eq!(
            format_amount(i64::MIN, Some("VND")),
            "-9223372036854775808 VND"
        );
    }
}
