//! What travels on the `KEFU_EVENTS` queue: typed inbound events, each with the key that makes
//! storing it idempotent.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

use crate::inline::{Rejection, QUEUE_MESSAGE_MAX_BYTES};

use crate::platforms::oa::{OaEvent, OaMessage, Push as OaPush};
use crate::platforms::orders::OrderEvent;
use crate::platforms::payfeedback::Notification;
use crate::platforms::shop::{ShopEvent, ShopMessage, ShopPush};

/// One queue message, tagged so a consumer can refuse what it does not understand.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum QueueMessage {
    /// Store an accepted callback and apply it to tickets.
    Inbound(Box<QueuedEvent>),
    /// Make (another) attempt at the outbound call recorded in `deliveries` under this id.
    Deliver { delivery_id: String },
    /// Send pending staff alerts to the WeCom robot, coalesced, within its rate limit.
    FlushAlerts,
}

/// An accepted callback, as enqueued before the platform got its reply.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QueuedEvent {
    /// Unique per real-world event: retries of the same callback share it.
    pub dedup_key: String,
    /// Server time (unix seconds) when the callback was accepted.
    pub received_at: i64,
    pub inbound: Inbound,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Inbound {
    OaMessage(OaMessage),
    OaEvent(OaEvent),
    /// A buyer's message to the WeChat Shop's customer service (`commkf_send_msg_to_kf`).
    ShopMessage(ShopMessage),
    /// Any other WeChat Shop push: acknowledged and kept as received.
    ShopEvent(ShopEvent),
    /// A WeChat Pay complaint (维权) notification.
    PayFeedback(Notification),
    /// A card-shop order event (`POST /hooks/orders`).
    Order(OrderEvent),
}

/// A platform's accepted push, as the queue carries it: the event and the key its retries share.
pub trait Keyed: Into<Inbound> {
    fn dedup_key(&self) -> String;
}

impl QueuedEvent {
    /// The event for a push accepted at `received_at` (server time).
    pub fn accepted<P: Keyed>(push: P, received_at: i64) -> Self {
        QueuedEvent {
            dedup_key: push.dedup_key(),
            received_at,
            inbound: push.into(),
        }
    }
}

impl From<OaPush> for Inbound {
    fn from(push: OaPush) -> Self {
        match push {
            OaPush::Message(m) => Inbound::OaMessage(m),
            OaPush::Event(e) => Inbound::OaEvent(e),
        }
    }
}

impl Keyed for OaPush {
    fn dedup_key(&self) -> String {
        OaPush::dedup_key(self)
    }
}

impl From<ShopPush> for Inbound {
    fn from(push: ShopPush) -> Self {
        match push {
            ShopPush::Message(m) => Inbound::ShopMessage(m),
            ShopPush::Event(e) => Inbound::ShopEvent(e),
        }
    }
}

impl Keyed for ShopPush {
    fn dedup_key(&self) -> String {
        ShopPush::dedup_key(self)
    }
}

impl From<Notification> for Inbound {
    fn from(n: Notification) -> Self {
        Inbound::PayFeedback(n)
    }
}

impl Keyed for Notification {
    fn dedup_key(&self) -> String {
        Notification::dedup_key(self)
    }
}

impl From<OrderEvent> for Inbound {
    fn from(e: OrderEvent) -> Self {
        Inbound::Order(e)
    }
}

impl Keyed for OrderEvent {
    fn dedup_key(&self) -> String {
        OrderEvent::dedup_key(self)
    }
}

impl QueueMessage {
    /// The message as the queue carries it, or a 413 when JSON's escaping grew an accepted body
    /// past what the queue takes (refused at once: a retry would fail the same way).
    pub fn for_queue(&self) -> Result<String, Rejection> {
        let json = self.to_json();
        if json.len() > QUEUE_MESSAGE_MAX_BYTES {
            return Err(Rejection::TooLargeForQueue(json.len()));
        }
        Ok(json)
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("queue messages are plain data")
    }

    pub fn from_json(json: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(json)
    }
}

impl QueuedEvent {
    /// A one-line description for logs, with personal data masked.
    pub fn describe(&self) -> String {
        let (kind, detail, who): (&str, Cow<str>, &str) = match &self.inbound {
            Inbound::OaMessage(m) => ("oa_message", m.body.type_name().into(), &m.envelope.openid),
            Inbound::OaEvent(e) => ("oa_event", e.event.raw_name().into(), &e.envelope.openid),
            Inbound::ShopMessage(m) => ("shop_message", m.body.type_name(), &m.openid),
            Inbound::ShopEvent(e) => ("shop_event", e.event.as_str().into(), &e.openid),
            Inbound::PayFeedback(n) => ("payfeedback", n.msg_type.as_str().into(), &n.openid),
            Inbound::Order(o) => ("order", o.kind.as_str().into(), &o.order.id),
        };
        format!("{kind} {detail} from {}", crate::mask::mask(who))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mask::mask;

    const SHOP_PUSH: &str = r#"{"ToUserName":"gh_shop","FromUserName":"oBuyerOpenId99","CreateTime":1730361600,"MsgType":"event","Event":"commkf_send_msg_to_kf","msg_id":18446744073709551615,"msg_type":"order_share","order_share":{"order_id":9007199254740993}}"#;

    fn round_trip(event: &QueuedEvent) -> String {
        let message = QueueMessage::Inbound(Box::new(event.clone()));
        let json = message.to_json();
        assert_eq!(QueueMessage::from_json(&json).unwrap(), message);
        json
    }

    #[test]
    fn a_shop_message_travels_with_its_ids_as_strings() {
        let push = ShopPush::parse(SHOP_PUSH).unwrap();
        let event = QueuedEvent::accepted(push, 1000);
        assert_eq!(event.dedup_key, "shop:msg:18446744073709551615");
        assert_eq!(event.received_at, 1000);
        let json = round_trip(&event);
        assert!(json.contains(r#""kind":"shop_message","#), "{json}");
        assert!(
            json.contains(r#""msg_id":"18446744073709551615""#),
            "{json}"
        );
        assert!(json.contains(r#""order_id":"9007199254740993""#), "{json}");
        assert_eq!(
            event.describe(),
            format!("shop_message order_share from {}", mask("oBuyerOpenId99"))
        );
    }

    #[test]
    fn another_shop_event_is_kept_raw_under_its_own_kind() {
        let push =
            ShopPush::parse(&SHOP_PUSH.replace("commkf_send_msg_to_kf", "kf_other")).unwrap();
        let event = QueuedEvent::accepted(push, 1000);
        assert_eq!(
            event.dedup_key,
            "shop:event:oBuyerOpenId99:1730361600:kf_other"
        );
        let json = round_trip(&event);
        assert!(json.contains(r#""kind":"shop_event""#), "{json}");
        assert_eq!(
            event.describe(),
            format!("shop_event kf_other from {}", mask("oBuyerOpenId99"))
        );
    }

    #[test]
    fn an_oa_message_keeps_its_msg_id() {
        let xml = "<xml><ToUserName><![CDATA[gh_acct]]></ToUserName><FromUserName><![CDATA[o_user_123]]></FromUserName><CreateTime>1348831860</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[hello]]></Content><MsgId>1234567890123456789</MsgId></xml>";
        let event = QueuedEvent::accepted(OaPush::parse(xml).unwrap(), 1000);
        assert_eq!(event.dedup_key, "oa:msg:1234567890123456789");
        assert!(matches!(event.inbound, Inbound::OaMessage(_)));
        let json = round_trip(&event);
        assert!(json.contains(r#""msg_id":"1234567890123456789""#), "{json}");
        assert_eq!(
            event.describe(),
            format!("oa_message text from {}", mask("o_user_123"))
        );
    }

    #[test]
    fn a_message_the_queue_cannot_take_is_refused_not_retried() {
        let quotes = "\"".repeat(64_000);
        let xml = format!("<xml><ToUserName>gh</ToUserName><FromUserName>o_user_123</FromUserName><CreateTime>1</CreateTime><MsgType>text</MsgType><Content><![CDATA[{quotes}]]></Content><MsgId>1</MsgId></xml>");
        assert!(xml.len() < crate::xml::MAX_BODY_BYTES, "an accepted body");
        let message = QueueMessage::Inbound(Box::new(QueuedEvent::accepted(
            OaPush::parse(&xml).unwrap(),
            1,
        )));
        let refused = message.for_queue().unwrap_err();
        assert!(matches!(refused, Rejection::TooLargeForQueue(n) if n > QUEUE_MESSAGE_MAX_BYTES));
        assert_eq!(refused.status(), 413);
        let fits = QueueMessage::FlushAlerts;
        assert_eq!(fits.for_queue().unwrap(), fits.to_json());
    }
}
