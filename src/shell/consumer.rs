//! The queue consumer: each message runs its flow (`pipeline::consume`) and is acked, or retried
//! later when a dependency failed; the handler itself never fails (an `Err` would panic the
//! isolate).

use worker::wasm_bindgen::JsValue;
use worker::{Env, MessageBatch, MessageExt, QueueRetryOptionsBuilder, RawMessage};

use super::{io, perform};
use crate::pipeline::{self, delivery::RETRY_LATER_SECS};

pub const DEAD_LETTER_QUEUE: &str = "kefu-events-dlq";

pub async fn handle(batch: MessageBatch<String>, env: &Env) {
    let from_dead_letter_queue = batch.queue() == DEAD_LETTER_QUEUE;
    let settings = io::settings(env);
    for message in batch.raw_iter() {
        let body = body_text(&message);
        let Ok(cx) = perform::context(&settings) else {
            message.retry_with_options(&later());
            continue;
        };
        match perform::run(env, pipeline::consume(&body, from_dead_letter_queue, &cx)).await {
            Ok(report) => {
                worker::console_log!("queue: {report}");
                message.ack();
            }
            Err(why) => {
                worker::console_error!("queue: will retry: {why}");
                message.retry_with_options(&later());
            }
        }
    }
}

fn body_text(message: &RawMessage) -> String {
    let body: JsValue = message.body();
    body.as_string().unwrap_or_else(|| format!("{body:?}"))
}

/// A dependency failed (D1 down): retry later, not at once, so an outage does not spin.
fn later() -> worker::QueueRetryOptions {
    QueueRetryOptionsBuilder::new()
        .with_delay_seconds(RETRY_LATER_SECS)
        .build()
}
