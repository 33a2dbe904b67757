//! The `KEFU_EVENTS` consumer: each message is stored once (the dedup key is a D1 unique key)
//! and acked, or retried on its own when storage fails.

use worker::wasm_bindgen::JsValue;
use worker::{D1Database, Env, MessageBatch, MessageExt, QueueRetryOptionsBuilder};

use super::io::{self, DB};
use crate::event::{QueueMessage, QueuedEvent};

/// Storage failures are retried after this delay, so a D1 outage does not spin the queue.
const RETRY_DELAY_SECS: u32 = 10;

pub async fn handle(batch: MessageBatch<String>, env: &Env) {
    let db = env.d1(DB);
    for message in batch.raw_iter() {
        let body: JsValue = message.body();
        let Some(json) = body.as_string() else {
            worker::console_error!("queue: dropping a message that is not a JSON string");
            message.ack();
            continue;
        };
        let parsed = match QueueMessage::from_json(&json) {
            Ok(m) => m,
            Err(why) => {
                worker::console_error!("queue: {why}");
                message.ack();
                continue;
            }
        };
        let outcome = match (&db, parsed) {
            (Ok(db), QueueMessage::Inbound(event)) => store_event(db, &event).await,
            (Err(_), _) => Err("D1 binding KEFU_DB missing".to_owned()),
        };
        match outcome {
            Ok(()) => message.ack(),
            Err(why) => {
                worker::console_error!("queue: will retry: {why}");
                message.retry_with_options(
                    &QueueRetryOptionsBuilder::new()
                        .with_delay_seconds(RETRY_DELAY_SECS)
                        .build(),
                );
            }
        }
    }
}

async fn store_event(db: &D1Database, event: &QueuedEvent) -> Result<(), String> {
    let payload = serde_json::to_string(&event.inbound).map_err(|e| e.to_string())?;
    let kind = serde_json::to_value(&event.inbound)
        .ok()
        .and_then(|v| v.get("kind").and_then(|k| k.as_str()).map(str::to_owned))
        .unwrap_or_default();
    let result = db
        .prepare("INSERT OR IGNORE INTO events (dedup_key, kind, payload, received_at, stored_at) VALUES (?1, ?2, ?3, ?4, ?5)")
        .bind(&[
            event.dedup_key.as_str().into(),
            kind.into(),
            payload.into(),
            (event.received_at as f64).into(),
            (io::now_secs() as f64).into(),
        ])
        .map_err(|e| e.to_string())?
        .run()
        .await
        .map_err(|e| e.to_string())?;
    let inserted = result
        .meta()
        .ok()
        .flatten()
        .and_then(|m| m.changes)
        .unwrap_or(0)
        > 0;
    worker::console_log!(
        "queue: {} {}",
        if inserted { "stored" } else { "duplicate" },
        event.describe()
    );
    Ok(())
}
