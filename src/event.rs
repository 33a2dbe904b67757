//! What travels on the `KEFU_EVENTS` queue: accepted pushes as the platform sent them, each
//! read again by the consumer into a typed event with the key that makes storing it idempotent.

use serde::{Deserialize, Serialize};

use crate::inline::{Accepted, Answer, Rejection, Reply, QUEUE_MESSAGE_MAX_BYTES};

use crate::platforms::oa::{OaEvent, OaMessage, Push as OaPush};
use crate::platforms::orders::{self, OrderEvent};
use crate::platforms::payfeedback::Notification;
use crate::platforms::shop::{ShopEvent, ShopMessage, ShopPush};
use crate::platforms::zalo::ZaloPush;

/// One queue message, named by its variant (`{"inbound": {…}}`, `"flush_alerts"`) so a consumer
/// can refuse what it does not understand. Externally tagged: serde reads that without first
/// buffering the message, which an internal tag needs (a few KB of wasm).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum QueueMessage {
    /// Store an accepted callback and apply it to tickets.
    Inbound(QueuedPush),
    /// Make (another) attempt at the outbound call recorded in `deliveries` under this id.
    Deliver { delivery_id: String },
    /// Send pending staff alerts to the WeCom robot, coalesced, within its rate limit.
    FlushAlerts,
}

/// An accepted callback as the queue carries it: the platform's authenticated text (decrypted
/// in safe mode), which the consumer reads again with the route's own parser. Carrying the text
/// rather than the parsed event means each event type has one parser and no deserializer of its
/// own: that kept ~40 KB (gzip) of serde code out of the wasm (bench/README.md, Size).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QueuedPush {
    pub platform: Platform,
    /// Server time (unix seconds) when the callback was accepted.
    pub received_at: i64,
    pub text: String,
}

/// Whose push a queued text is, which says how to read it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Platform {
    Oa,
    Shop,
    PayFeedback,
    Order,
    Zalo,
}

/// An accepted callback, parsed.
#[derive(Debug, Clone, PartialEq)]
pub struct QueuedEvent {
    /// Unique per real-world event: retries of the same callback share it.
    pub dedup_key: String,
    /// Server time (unix seconds) when the callback was accepted.
    pub received_at: i64,
    pub inbound: Inbound,
}

/// A platform's event, as stored in `events.payload` (JSON, tagged by `kind`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Inbound {
    OaMessage(OaMessage<'static>),
    OaEvent(OaEvent<'static>),
    /// A buyer's message to the WeChat Shop's customer service (`commkf_send_msg_to_kf`).
    ShopMessage(ShopMessage),
    /// Any other WeChat Shop push: acknowledged and kept as received.
    ShopEvent(ShopEvent),
    /// A WeChat Pay complaint (维权) notification.
    PayFeedback(Notification),
    /// A card-shop order event (`POST /hooks/orders`).
    Order(OrderEvent),
    /// A Zalo user writing to the Official Account (`user_send_*`, `user_submit_info`).
    ZaloMessage(ZaloPush),
    /// Any other Zalo OA webhook event (follow, receipts, …).
    ZaloEvent(ZaloPush),
}

impl Inbound {
    /// The `kind` its stored JSON is tagged with.
    pub fn kind(&self) -> &'static str {
        match self {
            Inbound::OaMessage(_) => "oa_message",
            Inbound::OaEvent(_) => "oa_event",
            Inbound::ShopMessage(_) => "shop_message",
            Inbound::ShopEvent(_) => "shop_event",
            Inbound::PayFeedback(_) => "pay_feedback",
            Inbound::Order(_) => "order",
            Inbound::ZaloMessage(_) => "zalo_message",
            Inbound::ZaloEvent(_) => "zalo_event",
        }
    }

    /// The card-shop order the event is about (`events.order_id`: an order's events are found
    /// by index).
    pub fn order_id(&self) -> Option<&str> {
        match self {
            Inbound::Order(e) => Some(&e.order.id),
            _ => None,
        }
    }
}

/// A platform's accepted push: whose it is, the key its retries share, and its log line.
pub trait Keyed {
    const PLATFORM: Platform;
    fn dedup_key(&self) -> String;
    /// One line for logs, with personal data masked (as `QueuedEvent::describe`).
    fn describe(&self) -> String;
}

// Methods of the inline path's types that need what names and queues a push: here rather than
// in `inline`, which everything in this module is built on.
impl<P: Keyed> Answer<P> {
    /// The reply, naming the push for the request's log line; the push is done with.
    pub fn logged_reply(self) -> Reply {
        Reply {
            accepted: Some(self.push.describe()),
            ..self.reply
        }
    }
}

impl<P: Keyed> Accepted<'_, P> {
    /// What is enqueued, received at `received_at`, and the reply that goes out once it is.
    pub fn into_queued(self, received_at: i64) -> (QueuedPush, Reply) {
        let queued = QueuedPush {
            platform: P::PLATFORM,
            received_at,
            text: self.text.into_owned(),
        };
        let answer = Answer {
            push: self.push,
            reply: self.reply,
        };
        (queued, answer.logged_reply())
    }
}

impl QueuedPush {
    /// The event, read with the parser its route used when it accepted the push.
    pub fn event(&self) -> Result<QueuedEvent, Rejection> {
        let at = self.received_at;
        Ok(match self.platform {
            Platform::Oa => QueuedEvent::accepted(OaPush::parse_owned(&self.text)?, at),
            Platform::Shop => QueuedEvent::accepted(ShopPush::parse(&self.text)?, at),
            Platform::PayFeedback => QueuedEvent::accepted(Notification::parse(&self.text)?, at),
            Platform::Order => QueuedEvent::accepted(orders::parse(&self.text)?, at),
            Platform::Zalo => QueuedEvent::accepted(ZaloPush::parse(&self.text)?, at),
        })
    }
}

impl QueuedEvent {
    /// The event for a push accepted at `received_at` (server time).
    pub fn accepted<P: Keyed + Into<Inbound>>(push: P, received_at: i64) -> Self {
        QueuedEvent {
            dedup_key: push.dedup_key(),
            received_at,
            inbound: push.into(),
        }
    }
}

impl From<OaPush<'static>> for Inbound {
    fn from(push: OaPush<'static>) -> Self {
        match push {
            OaPush::Message(m) => Inbound::OaMessage(m),
            OaPush::Event(e) => Inbound::OaEvent(e),
        }
    }
}

impl Keyed for OaPush<'_> {
    const PLATFORM: Platform = Platform::Oa;

    fn dedup_key(&self) -> String {
        OaPush::dedup_key(self)
    }

    fn describe(&self) -> String {
        match self {
            OaPush::Message(m) => describe_oa_message(m),
            OaPush::Event(e) => describe_oa_event(e),
        }
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
    const PLATFORM: Platform = Platform::Shop;

    fn dedup_key(&self) -> String {
        ShopPush::dedup_key(self)
    }

    fn describe(&self) -> String {
        match self {
            ShopPush::Message(m) => describe_shop_message(m),
            ShopPush::Event(e) => describe_shop_event(e),
        }
    }
}

impl From<Notification> for Inbound {
    fn from(n: Notification) -> Self {
        Inbound::PayFeedback(n)
    }
}

impl Keyed for Notification {
    const PLATFORM: Platform = Platform::PayFeedback;

    fn dedup_key(&self) -> String {
        Notification::dedup_key(self)
    }

    fn describe(&self) -> String {
        describe_notification(self)
    }
}

impl From<OrderEvent> for Inbound {
    fn from(e: OrderEvent) -> Self {
        Inbound::Order(e)
    }
}

impl Keyed for OrderEvent {
    const PLATFORM: Platform = Platform::Order;

    fn dedup_key(&self) -> String {
        OrderEvent::dedup_key(self)
    }

    fn describe(&self) -> String {
        describe_order(self)
    }
}

impl From<ZaloPush> for Inbound {
    fn from(push: ZaloPush) -> Self {
        if push.is_customer_message() {
            Inbound::ZaloMessage(push)
        } else {
            Inbound::ZaloEvent(push)
        }
    }
}

impl Keyed for ZaloPush {
    const PLATFORM: Platform = Platform::Zalo;

    fn dedup_key(&self) -> String {
        ZaloPush::dedup_key(self)
    }

    fn describe(&self) -> String {
        describe_zalo(self)
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
        match &self.inbound {
            Inbound::OaMessage(m) => describe_oa_message(m),
            Inbound::OaEvent(e) => describe_oa_event(e),
            Inbound::ShopMessage(m) => describe_shop_message(m),
            Inbound::ShopEvent(e) => describe_shop_event(e),
            Inbound::PayFeedback(n) => describe_notification(n),
            Inbound::Order(o) => describe_order(o),
            Inbound::ZaloMessage(z) | Inbound::ZaloEvent(z) => describe_zalo(z),
        }
    }
}

// One per kind of event, shared by the stored event and the push it was read from (the inline
// route describes the push it borrows, not an owned event).
fn describe_oa_message(m: &OaMessage) -> String {
    description("oa_message", m.body.type_name(), &m.envelope.openid)
}

fn describe_oa_event(e: &OaEvent) -> String {
    description("oa_event", e.event.raw_name(), &e.envelope.openid)
}

fn describe_shop_message(m: &ShopMessage) -> String {
    description("shop_message", &m.body.type_name(), &m.openid)
}

fn describe_shop_event(e: &ShopEvent) -> String {
    description("shop_event", e.event.as_str(), &e.openid)
}

fn describe_notification(n: &Notification) -> String {
    description("payfeedback", n.msg_type.as_str(), &n.openid)
}

fn describe_order(o: &OrderEvent) -> String {
    description("order", o.kind.as_str(), &o.order.id)
}

fn describe_zalo(z: &ZaloPush) -> String {
    description("zalo", &z.event_name, &z.user_id)
}

fn description(kind: &str, detail: &str, who: &str) -> String {
    [kind, " ", detail, " from ", &crate::mask::mask(who)].concat()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mask::mask;

    const SHOP_PUSH: &str = r#"{"ToUserName":"gh_shop","FromUserName":"oBuyerOpenId99","CreateTime":1730361600,"MsgType":"event","Event":"commkf_send_msg_to_kf","msg_id":18446744073709551615,"msg_type":"order_share","order_share":{"order_id":9007199254740993}}"#;
    const OA_TEXT: &str = "<xml><ToUserName><![CDATA[gh_acct]]></ToUserName><FromUserName><![CDATA[o_user_123]]></FromUserName><CreateTime>1348831860</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[hello]]></Content><MsgId>1234567890123456789</MsgId></xml>";
    const OA_EVENT: &str = "<xml><ToUserName>gh_acct</ToUserName><FromUserName>o_user_123</FromUserName><CreateTime>1348831860</CreateTime><MsgType>event</MsgType><Event>subscribe</Event></xml>";
    const COMPLAINT: &str = "<xml><OpenId>oX99</OpenId><AppId>wx01</AppId><TimeStamp>1369743511</TimeStamp><MsgType>request</MsgType><FeedBackId>5883726847655944563</FeedBackId><AppSignature>x</AppSignature></xml>";
    const ORDER: &str = r#"{"id":"evt_1","type":"order.paid","order":{"id":"O1"}}"#;
    const ZALO_TEXT: &str = r#"{"app_id":"1","event_name":"user_send_text","timestamp":"1700000000000","sender":{"id":"4829463028765424516"},"message":{"msg_id":"m1","text":"hi"}}"#;
    const ZALO_FOLLOW: &str = r#"{"app_id":"1","event_name":"follow","timestamp":1,"follower":{"id":"4829463028765424516"}}"#;

    /// The push travels as its text and is read back into the event the route accepted; the
    /// event's stored JSON is returned.
    fn queued(platform: Platform, text: &str) -> (QueuedEvent, String) {
        let push = QueuedPush {
            platform,
            received_at: 1000,
            text: text.into(),
        };
        let message = QueueMessage::Inbound(push.clone());
        let json = message.to_json();
        assert_eq!(QueueMessage::from_json(&json).unwrap(), message);
        let event = push.event().unwrap();
        assert_eq!(event.received_at, 1000);
        let stored = serde_json::to_string(&event.inbound).unwrap();
        (event, stored)
    }

    #[test]
    fn a_shop_message_is_stored_with_its_ids_as_strings() {
        let (event, stored) = queued(Platform::Shop, SHOP_PUSH);
        assert_eq!(
            event,
            QueuedEvent::accepted(ShopPush::parse(SHOP_PUSH).unwrap(), 1000)
        );
        assert_eq!(event.dedup_key, "shop:msg:18446744073709551615");
        assert!(stored.contains(r#""kind":"shop_message","#), "{stored}");
        assert!(
            stored.contains(r#""msg_id":"18446744073709551615""#),
            "{stored}"
        );
        assert!(
            stored.contains(r#""order_id":"9007199254740993""#),
            "{stored}"
        );
        assert_eq!(
            event.describe(),
            format!("shop_message order_share from {}", mask("oBuyerOpenId99"))
        );
    }

    #[test]
    fn a_shop_message_of_a_type_this_version_does_not_know_keeps_its_ids_as_strings() {
        let sticker = SHOP_PUSH.replace(
            r#""msg_type":"order_share","order_share":{"order_id":9007199254740993}"#,
            r#""msg_type":"sticker","sticker":{"id":9007199254740993}"#,
        );
        let (_, stored) = queued(Platform::Shop, &sticker);
        assert!(
            stored.contains(r#""msg_id":"18446744073709551615""#),
            "{stored}"
        );
        assert!(stored.contains("sticker"), "{stored}");
    }

    #[test]
    fn another_shop_event_is_kept_raw_under_its_own_kind() {
        let (event, stored) = queued(
            Platform::Shop,
            &SHOP_PUSH.replace("commkf_send_msg_to_kf", "kf_other"),
        );
        assert_eq!(
            event.dedup_key,
            "shop:event:oBuyerOpenId99:1730361600:kf_other"
        );
        assert!(stored.contains(r#""kind":"shop_event""#), "{stored}");
        assert_eq!(
            event.describe(),
            format!("shop_event kf_other from {}", mask("oBuyerOpenId99"))
        );
    }

    #[test]
    fn an_oa_message_keeps_its_msg_id() {
        let (event, stored) = queued(Platform::Oa, OA_TEXT);
        assert_eq!(event.dedup_key, "oa:msg:1234567890123456789");
        assert!(matches!(event.inbound, Inbound::OaMessage(_)));
        assert!(
            stored.contains(r#""msg_id":"1234567890123456789""#),
            "{stored}"
        );
        assert_eq!(
            event.describe(),
            format!("oa_message text from {}", mask("o_user_123"))
        );
    }

    #[test]
    fn every_kind_is_the_tag_of_the_stored_json() {
        for (platform, text, kind) in [
            (Platform::Oa, OA_TEXT, "oa_message"),
            (Platform::Oa, OA_EVENT, "oa_event"),
            (Platform::Shop, SHOP_PUSH, "shop_message"),
            (
                Platform::Shop,
                &SHOP_PUSH.replace("commkf_send_msg_to_kf", "kf_other"),
                "shop_event",
            ),
            (Platform::PayFeedback, COMPLAINT, "pay_feedback"),
            (Platform::Order, ORDER, "order"),
            (Platform::Zalo, ZALO_TEXT, "zalo_message"),
            (Platform::Zalo, ZALO_FOLLOW, "zalo_event"),
        ] {
            let (event, stored) = queued(platform, text);
            assert_eq!(event.inbound.kind(), kind);
            let stored: serde_json::Value = serde_json::from_str(&stored).unwrap();
            assert_eq!(stored["kind"], kind, "{stored}");
        }
    }

    #[test]
    fn a_queued_text_its_parser_refuses_is_an_error_not_an_event() {
        for platform in [
            Platform::Oa,
            Platform::Shop,
            Platform::PayFeedback,
            Platform::Order,
            Platform::Zalo,
        ] {
            let push = QueuedPush {
                platform,
                received_at: 1,
                text: "<xml><MsgType>text</MsgType></xml>".into(),
            };
            assert!(
                matches!(push.event(), Err(Rejection::Malformed(_))),
                "{platform:?}"
            );
        }
    }

    #[test]
    fn a_message_the_queue_cannot_take_is_refused_not_retried() {
        let quotes = "\"".repeat(64_000);
        let xml = format!("<xml><ToUserName>gh</ToUserName><FromUserName>o_user_123</FromUserName><CreateTime>1</CreateTime><MsgType>text</MsgType><Content><![CDATA[{quotes}]]></Content><MsgId>1</MsgId></xml>");
        assert!(xml.len() < crate::xml::MAX_BODY_BYTES, "an accepted body");
        let message = QueueMessage::Inbound(QueuedPush {
            platform: Platform::Oa,
            received_at: 1,
            text: xml,
        });
        let refused = message.for_queue().unwrap_err();
        assert!(matches!(refused, Rejection::TooLargeForQueue(n) if n > QUEUE_MESSAGE_MAX_BYTES));
        assert_eq!(refused.status(), 413);
        let fits = QueueMessage::FlushAlerts;
        assert_eq!(fits.for_queue().unwrap(), fits.to_json());
    }
}
