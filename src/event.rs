//! What travels on the `KEFU_EVENTS` queue: typed inbound events, each with the key that makes
//! storing it idempotent.

use serde::{Deserialize, Serialize};

use crate::platforms::oa::{OaEvent, OaMessage};

/// One queue message. Versioned so a consumer can refuse what it does not understand.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum QueueMessage {
    Inbound(QueuedEvent),
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
        };
        format!("{kind} {detail} from {}", crate::mask::mask(who))
    }
}
