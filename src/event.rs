//! What travels on the `KEFU_EVENTS` queue: typed inbound events, each with the key that makes
//! storing it idempotent.

use serde::{Deserialize, Serialize};

use crate::platforms::oa::{OaEvent, OaMessage};
use crate::platforms::orders::OrderEvent;
use crate::platforms::payfeedback::Notification;
use crate::platforms::shop::ShopMessage;

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
    ShopEvent {
        shop: String,
        openid: String,
        create_time: i64,
        event: String,
        /// The whole push: the JSON as received, or for XML an object of its leaves.
        raw: serde_json::Value,
    },
    /// A WeChat Pay complaint (维权) notification.
    PayFeedback(Notification),
    /// A card-shop order event (`POST /hooks/orders`).
    Order(OrderEvent),
}

impl QueueMessage {
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).expect("queue messages are plain data")
    }

    pub fn from_json(json: &str) -> Result<Self, String> {
        serde_json::from_str(json).map_err(|e| format!("unreadable queue message: {e}"))
    }
}

impl QueuedEvent {
    /// A one-line description for logs, with personal data masked.
    pub fn describe(&self) -> String {
        let (kind, detail, who) = match &self.inbound {
            Inbound::OaMessage(m) => ("oa_message", m.body.type_name(), &m.envelope.openid),
            Inbound::OaEvent(e) => ("oa_event", e.event.raw_name(), &e.envelope.openid),
            Inbound::ShopMessage(m) => ("shop_message", m.body.type_name(), &m.openid),
            Inbound::ShopEvent { event, openid, .. } => ("shop_event", event.as_str(), openid),
            Inbound::PayFeedback(n) => ("payfeedback", n.msg_type.as_str(), &n.openid),
            Inbound::Order(o) => ("order", o.kind.as_str(), &o.order.id),
        };
        format!("{kind} {detail} from {}", crate::mask::mask(who))
    }
}
