//! The card shop's (发卡平台) order webhook, seed 004: `POST /hooks/orders`, signed with
//! HMAC-SHA256 over `"<X-Kefu-Timestamp>.<raw body>"` under `ORDER_WEBHOOK_SECRET`. Events
//! about an order (paid, delivered, failed, delayed, invalid card, refund) become typed events
//! on the queue, idempotent by the event's `id`.

use std::borrow::Cow;

use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::inline::{body_text, Accepted, Rejection, Reply};
use crate::platforms::payfeedback::GoodsKind;
use crate::rules::PROBLEM_CATEGORIES;
use crate::settings::Settings;
use crate::wechat::crypto::{constant_time_eq_ignore_ascii_case, hex};
use crate::xml::MAX_BODY_BYTES;

/// One webhook event as the card shop sends it. Only `id`, `type` and `order.id` are required.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OrderEvent {
    pub id: String,
    /// The event type as sent; an unknown type is kept and acts on nothing.
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub created_at: Option<i64>,
    pub order: Order,
    #[serde(default)]
    pub customer: Customer,
    #[serde(default)]
    pub message: Option<String>,
    /// For `ticket.submitted`: the customer's choice of problem, when it is a known category.
    #[serde(default)]
    pub category: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Order {
    pub id: String,
    #[serde(default)]
    pub trans_id: Option<String>,
    /// In the currency's smallest unit (fen for CNY).
    #[serde(default)]
    pub amount: Option<i64>,
    #[serde(default)]
    pub currency: Option<String>,
    #[serde(default)]
    pub product: Option<String>,
    #[serde(default)]
    pub goods_kind: Option<GoodsKind>,
    #[serde(default)]
    pub paid_at: Option<i64>,
    #[serde(default)]
    pub delivered_at: Option<i64>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Customer {
    #[serde(default)]
    pub openid: Option<String>,
    #[serde(default)]
    pub phone: Option<String>,
    #[serde(default)]
    pub email: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
}

/// What an event type means here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventType {
    Paid,
    Delivered,
    DeliveryFailed,
    Delayed,
    CardInvalid,
    RefundRequested,
    RefundSucceeded,
    TicketSubmitted,
    /// A type this version does not know: stored, acts on nothing.
    Other,
}

/// A problem's category, as tickets and routing rules name it.
pub const CATEGORIES: [&str; 5] = [
    "not_delivered",
    "invalid_card",
    "delayed",
    "refund",
    "general",
];

impl OrderEvent {
    pub fn event_type(&self) -> EventType {
        match self.kind.as_str() {
            "order.paid" => EventType::Paid,
            "order.delivered" => EventType::Delivered,
            "order.delivery_failed" => EventType::DeliveryFailed,
            "order.delayed" => EventType::Delayed,
            "card.invalid" => EventType::CardInvalid,
            "refund.requested" => EventType::RefundRequested,
            "refund.succeeded" => EventType::RefundSucceeded,
            "ticket.submitted" => EventType::TicketSubmitted,
            _ => EventType::Other,
        }
    }

    /// The category of the problem this event reports, if it reports one.
    pub fn problem_category(&self) -> Option<&'static str> {
        match self.event_type() {
            EventType::DeliveryFailed => Some("not_delivered"),
            EventType::CardInvalid => Some("invalid_card"),
            EventType::Delayed => Some("delayed"),
            EventType::RefundRequested => Some("refund"),
            EventType::TicketSubmitted => Some(
                PROBLEM_CATEGORIES
                    .into_iter()
                    .find(|c| self.category.as_deref() == Some(*c))
                    .unwrap_or("general"),
            ),
            EventType::Paid
            | EventType::Delivered
            | EventType::RefundSucceeded
            | EventType::Other => None,
        }
    }

    /// The event with its blank optional fields made absent.
    fn without_blanks(self) -> Self {
        let OrderEvent {
            id,
            kind,
            created_at,
            order,
            customer,
            message,
            category,
        } = self;
        OrderEvent {
            id,
            kind,
            created_at,
            order: Order {
                trans_id: present(order.trans_id),
                currency: present(order.currency),
                product: present(order.product),
                ..order
            },
            customer: Customer {
                openid: present(customer.openid),
                phone: present(customer.phone),
                email: present(customer.email),
                name: present(customer.name),
            },
            message: present(message),
            category: present(category),
        }
    }

    /// Retries of one event share its id.
    pub fn dedup_key(&self) -> String {
        ["orders", &self.id].join(":")
    }
}

const MISSING_SIGNATURE: &str = "missing X-Kefu-Timestamp or X-Kefu-Signature: sha256=<hex>";
const BAD_SIGNATURE: &str = "signature mismatch";
const STALE_TIMESTAMP: &str = "timestamp outside the allowed window";

/// The signature of a webhook call: hex HMAC-SHA256 of `"<timestamp>.<body>"` (`None` only if
/// the HMAC refused the key, which it never does for SHA-256).
pub fn signature(secret: &str, timestamp: &str, body: &[u8]) -> Option<String> {
    let mut mac = <Hmac<Sha256>>::new_from_slice(secret.as_bytes()).ok()?;
    mac.update(timestamp.as_bytes());
    mac.update(b".");
    mac.update(body);
    Some(hex(&mac.finalize().into_bytes()))
}

/// The secrets `ORDER_WEBHOOK_SECRET` holds: one, or two separated by a comma while the card
/// shop moves from the first to the second (a signature by either is accepted).
pub fn secrets(setting: &str) -> impl Iterator<Item = &str> {
    setting.split(',').map(str::trim).filter(|s| !s.is_empty())
}

/// The request as the webhook route reads it.
pub struct HookRequest<'a> {
    pub timestamp: Option<&'a str>,
    pub signature: Option<&'a str>,
    pub body: &'a [u8],
}

/// Authenticates a webhook call, then parses its event. The signature is checked before the
/// timestamp, and both before the body is parsed.
pub fn open<'a>(
    request: &HookRequest<'a>,
    secret: Option<&str>,
    now: i64,
    max_skew_secs: i64,
) -> Result<(OrderEvent, &'a str), Rejection> {
    let secrets: Vec<&str> = secret.map(secrets).into_iter().flatten().collect();
    if secrets.is_empty() {
        return Err(Rejection::MissingSetting("ORDER_WEBHOOK_SECRET".into()));
    }
    if request.body.len() > MAX_BODY_BYTES {
        return Err(Rejection::TooLarge);
    }
    let (Some(timestamp), Some(presented)) = (
        request.timestamp.map(str::trim),
        request
            .signature
            .and_then(|s| s.trim().strip_prefix("sha256=")),
    ) else {
        return Err(Rejection::Unauthenticated(MISSING_SIGNATURE));
    };
    // Every secret is tried, so the time taken does not tell which one matched.
    let matched = secrets
        .iter()
        .filter_map(|secret| signature(secret, timestamp, request.body))
        .fold(false, |matched, expected| {
            constant_time_eq_ignore_ascii_case(presented, &expected) | matched
        });
    if !matched {
        return Err(Rejection::Unauthenticated(BAD_SIGNATURE));
    }
    let stale = || Rejection::Unauthenticated(STALE_TIMESTAMP);
    let sent_at: i64 = timestamp.parse().map_err(|_| stale())?;
    if sent_at.abs_diff(now) > max_skew_secs.unsigned_abs() {
        return Err(stale());
    }
    let text = body_text(request.body)?;
    Ok((parse(text)?, text))
}

/// Parses an event, naming the first required field that is missing.
pub fn parse(text: &str) -> Result<OrderEvent, Rejection> {
    let value: serde_json::Value = serde_json::from_str(text)
        .map_err(|e| Rejection::Malformed(format!("malformed JSON: {e}")))?;
    let filled = |v: Option<&serde_json::Value>| {
        v.and_then(serde_json::Value::as_str)
            .is_some_and(|s| !s.trim().is_empty())
    };
    for (field, present) in [
        ("id", filled(value.get("id"))),
        ("type", filled(value.get("type"))),
        ("order", value.get("order").is_some_and(|o| o.is_object())),
        ("order.id", filled(value.pointer("/order/id"))),
    ] {
        if !present {
            return Err(Rejection::Malformed(format!(
                "missing or empty field {field}"
            )));
        }
    }
    // The text is read a second time rather than the checked `value` converted: reading it
    // from a `Value` would carry a second deserializer for every event type in the wasm.
    let event: OrderEvent = serde_json::from_str(text)
        .map_err(|e| Rejection::Malformed(format!("invalid event: {e}")))?;
    let o = &event.order;
    for (field, value) in [
        ("created_at", event.created_at),
        ("order.amount", o.amount),
        ("order.paid_at", o.paid_at),
        ("order.delivered_at", o.delivered_at),
    ] {
        if value.is_some_and(|v| v.unsigned_abs() > MAX_SAFE_INTEGER) {
            return Err(Rejection::Malformed(format!(
                "{field} is beyond ±{MAX_SAFE_INTEGER}"
            )));
        }
    }
    Ok(event.without_blanks())
}

/// The largest integer D1 stores exactly: it binds numbers as JavaScript's (doubles), so a
/// larger one would be stored inexactly and read back as a float the watch cannot read.
const MAX_SAFE_INTEGER: u64 = (1 << 53) - 1;

/// An empty (or blank) optional field is an absent one: `"trans_id": ""` is no transaction,
/// `"openid": ""` no WeChat customer.
pub fn present(field: Option<String>) -> Option<String> {
    field.filter(|v| !v.trim().is_empty())
}

/// `POST /hooks/orders`: authenticate and parse, then the event to enqueue and the answer the
/// card shop gets once it is enqueued (a repeat of an event id gets the same answer).
pub fn handle_post<'a>(
    request: &HookRequest<'a>,
    settings: &Settings,
    now: i64,
) -> Result<Accepted<'a, OrderEvent>, Rejection> {
    let (event, text) = open(
        request,
        settings.order_webhook_secret.as_deref(),
        now,
        settings.callback_max_skew_secs,
    )?;
    let reply = Reply::json(
        200,
        serde_json::json!({ "ok": true, "id": event.id }).to_string(),
    );
    Ok(Accepted {
        push: event,
        text: Cow::Borrowed(text),
        reply,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "e2e-webhook-secret";
    const BODY: &str = r#"{"id":"evt_1","type":"order.paid","order":{"id":"O1"}}"#;

    fn request<'a>(timestamp: &'a str, signature: &'a str, body: &'a str) -> HookRequest<'a> {
        HookRequest {
            timestamp: Some(timestamp),
            signature: Some(signature),
            body: body.as_bytes(),
        }
    }

    #[test]
    fn signatures_match_an_independent_implementation() {
        // Python: hmac.new(secret, ts + b"." + body, hashlib.sha256).hexdigest()
        assert_eq!(
            signature(SECRET, "1732400000", BODY.as_bytes()).unwrap(),
            "0099900847e3249f2d4b614e17ca198266ecccc4c91bd74626779e373636d34e"
        );
        assert_eq!(
            signature("kéy", "1", "付款成功但没收到卡密".as_bytes()).unwrap(),
            "be2c0c4994b5bf3f2451cecd61c8b27f58fd7cf76aedf456e4c7e77b72ffe6e6"
        );
    }

    #[test]
    fn a_signed_fresh_event_opens() {
        let sig = format!(
            "sha256={}",
            signature(SECRET, "1000", BODY.as_bytes()).unwrap()
        );
        let (event, text) = open(&request("1000", &sig, BODY), Some(SECRET), 1100, 300).unwrap();
        assert_eq!(text, BODY);
        assert_eq!(
            (event.id.as_str(), event.order.id.as_str()),
            ("evt_1", "O1")
        );
        assert_eq!(event.event_type(), EventType::Paid);
        assert_eq!(event.dedup_key(), "orders:evt_1");
        // Upper-case hex is the same signature.
        let upper = format!(
            "sha256={}",
            signature(SECRET, "1000", BODY.as_bytes())
                .unwrap()
                .to_uppercase()
        );
        assert!(open(&request("1000", &upper, BODY), Some(SECRET), 1000, 300).is_ok());
    }

    #[test]
    fn refusals_name_what_is_wrong() {
        let sig = format!(
            "sha256={}",
            signature(SECRET, "1000", BODY.as_bytes()).unwrap()
        );
        let refuse = |r: &HookRequest, secret, now| open(r, secret, now, 300).unwrap_err();
        assert_eq!(
            refuse(&request("1000", &sig, BODY), None, 1000),
            Rejection::MissingSetting("ORDER_WEBHOOK_SECRET".into())
        );
        assert_eq!(
            refuse(&request("1000", &sig, BODY), Some("other"), 1000),
            Rejection::Unauthenticated(BAD_SIGNATURE)
        );
        assert_eq!(
            refuse(&request("1001", &sig, BODY), Some(SECRET), 1000),
            Rejection::Unauthenticated(BAD_SIGNATURE)
        );
        let tampered = BODY.replace("O1", "O2");
        assert_eq!(
            refuse(&request("1000", &sig, &tampered), Some(SECRET), 1000),
            Rejection::Unauthenticated(BAD_SIGNATURE)
        );
        let bare = sig.trim_start_matches("sha256=");
        assert_eq!(
            refuse(&request("1000", bare, BODY), Some(SECRET), 1000),
            Rejection::Unauthenticated(MISSING_SIGNATURE)
        );
        let none = HookRequest {
            timestamp: None,
            signature: Some(&sig),
            body: BODY.as_bytes(),
        };
        assert_eq!(
            refuse(&none, Some(SECRET), 1000),
            Rejection::Unauthenticated(MISSING_SIGNATURE)
        );
        assert_eq!(
            refuse(&request("1000", &sig, BODY), Some(SECRET), 1301),
            Rejection::Unauthenticated(STALE_TIMESTAMP)
        );
        assert_eq!(
            refuse(&request("1000", &sig, BODY), Some(SECRET), 699),
            Rejection::Unauthenticated(STALE_TIMESTAMP)
        );
        // Extreme timestamps never overflow.
        let min = i64::MIN.to_string();
        let signed = format!(
            "sha256={}",
            signature(SECRET, &min, BODY.as_bytes()).unwrap()
        );
        assert_eq!(
            refuse(&request(&min, &signed, BODY), Some(SECRET), i64::MAX),
            Rejection::Unauthenticated(STALE_TIMESTAMP)
        );
        let big = "x".repeat(MAX_BODY_BYTES + 1);
        assert_eq!(
            refuse(&request("1000", &sig, &big), Some(SECRET), 1000),
            Rejection::TooLarge
        );
    }

    #[test]
    fn either_of_two_secrets_signs_while_the_secret_rotates() {
        let sign = |secret: &str| {
            format!(
                "sha256={}",
                signature(secret, "1000", BODY.as_bytes()).unwrap()
            )
        };
        for setting in ["old-secret,new-secret", " old-secret , new-secret ,"] {
            for secret in ["old-secret", "new-secret"] {
                let signed = sign(secret);
                let opened = open(&request("1000", &signed, BODY), Some(setting), 1000, 300);
                assert!(opened.is_ok(), "{setting:?} {secret}");
            }
            let other = sign("old-secret,new-secret");
            assert_eq!(
                open(&request("1000", &other, BODY), Some(setting), 1000, 300).unwrap_err(),
                Rejection::Unauthenticated(BAD_SIGNATURE)
            );
        }
        for empty in ["", " , "] {
            assert_eq!(
                open(&request("1000", &sign("x"), BODY), Some(empty), 1000, 300).unwrap_err(),
                Rejection::MissingSetting("ORDER_WEBHOOK_SECRET".into())
            );
        }
        assert_eq!(secrets("a, b").collect::<Vec<_>>(), ["a", "b"]);
    }

    #[test]
    fn blank_optional_fields_are_absent() {
        let event = parse(
            r#"{"id":"e","type":"order.paid","order":{"id":"O","trans_id":"","currency":" ","product":""},
                "customer":{"openid":"","phone":"","email":" ","name":""},"message":"","category":""}"#,
        )
        .unwrap();
        assert_eq!(
            (
                event.order.trans_id,
                event.order.currency,
                event.order.product
            ),
            (None, None, None)
        );
        assert_eq!(event.customer, Customer::default());
        assert_eq!((event.message, event.category), (None, None));
        let kept = parse(r#"{"id":"e","type":"t","order":{"id":"O","trans_id":"42"},"customer":{"openid":"oA"}}"#)
            .unwrap();
        assert_eq!(
            (
                kept.order.trans_id.as_deref(),
                kept.customer.openid.as_deref()
            ),
            (Some("42"), Some("oA"))
        );
    }

    #[test]
    fn integers_d1_cannot_store_exactly_are_refused() {
        let max = (1_i64 << 53) - 1;
        let with = |field: &str, value: i64| match field {
            "created_at" => {
                format!(r#"{{"id":"e","type":"t","created_at":{value},"order":{{"id":"O"}}}}"#)
            }
            _ => format!(r#"{{"id":"e","type":"t","order":{{"id":"O","{field}":{value}}}}}"#),
        };
        for field in ["created_at", "amount", "paid_at", "delivered_at"] {
            assert!(parse(&with(field, max)).is_ok(), "{field}");
            assert!(parse(&with(field, -max)).is_ok(), "{field}");
            match parse(&with(field, max + 1)) {
                Err(Rejection::Malformed(why)) => assert!(why.contains(field), "{why}"),
                other => panic!("{field}: {other:?}"),
            }
        }
    }

    #[test]
    fn required_fields_are_named() {
        let malformed = |body: &str| match parse(body) {
            Err(Rejection::Malformed(why)) => why,
            other => panic!("{other:?}"),
        };
        assert!(malformed("{").starts_with("malformed JSON"));
        assert_eq!(
            malformed(r#"{"type":"order.paid","order":{"id":"O1"}}"#),
            "missing or empty field id"
        );
        assert_eq!(
            malformed(r#"{"id":"e","order":{"id":"O1"}}"#),
            "missing or empty field type"
        );
        assert_eq!(
            malformed(r#"{"id":"e","type":"t"}"#),
            "missing or empty field order"
        );
        assert_eq!(
            malformed(r#"{"id":"e","type":"t","order":{"id":""}}"#),
            "missing or empty field order.id"
        );
        assert!(
            malformed(r#"{"id":"e","type":"t","order":{"id":"O","amount":"ten"}}"#)
                .starts_with("invalid event")
        );
    }

    #[test]
    fn the_full_example_parses_and_types_map_to_categories() {
        let body = r#"{"id": "evt_01H", "type": "order.delivery_failed", "created_at": 1732400000,
          "order": {"id": "O20261124001", "trans_id": "4200001234202611240001", "amount": 1990, "currency": "CNY",
                    "product": "Steam 100元 充值卡", "goods_kind": "virtual", "paid_at": 1732399000, "delivered_at": null},
          "customer": {"openid": "oAbc", "phone": "0983123148", "email": "a@b.c", "name": "Nguyễn Hải Hà"},
          "message": "付款成功但没收到卡密"}"#;
        let event = parse(body).unwrap();
        assert_eq!(event.order.goods_kind, Some(GoodsKind::Virtual));
        assert_eq!(event.customer.name.as_deref(), Some("Nguyễn Hải Hà"));
        assert_eq!(event.problem_category(), Some("not_delivered"));
        let of = |kind: &str, category: Option<&str>| {
            let mut e = event.clone();
            e.kind = kind.into();
            e.category = category.map(str::to_owned);
            (e.event_type(), e.problem_category())
        };
        assert_eq!(
            of("card.invalid", None),
            (EventType::CardInvalid, Some("invalid_card"))
        );
        assert_eq!(
            of("order.delayed", None),
            (EventType::Delayed, Some("delayed"))
        );
        assert_eq!(
            of("refund.requested", None),
            (EventType::RefundRequested, Some("refund"))
        );
        assert_eq!(
            of("ticket.submitted", Some("refund")),
            (EventType::TicketSubmitted, Some("refund"))
        );
        assert_eq!(of("ticket.submitted", Some("made-up")).1, Some("general"));
        assert_eq!(of("order.paid", None), (EventType::Paid, None));
        assert_eq!(of("order.delivered", None), (EventType::Delivered, None));
        assert_eq!(
            of("refund.succeeded", None),
            (EventType::RefundSucceeded, None)
        );
        assert_eq!(of("order.exploded", None), (EventType::Other, None));
    }
}
