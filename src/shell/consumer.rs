//! The queue consumer: each message runs its flow (`pipeline::consume`) and is acked, or retried
//! later when a dependency failed; the handler itself never fails (an `Err` would panic the
//! isolate).

use worker::wasm_bindgen::JsValue;
use worker::{Env, MessageBatch, MessageExt, QueueRetryOptionsBuilder, RawMessage};

use super::io::{self, Meter};
use super::perform;
use crate::log;
use crate::pipeline::{self, retry_delay_secs};

pub const DEAD_LETTER_QUEUE: &str = "kefu-events-dlq";

pub async fn handle(batch: MessageBatch<String>, env: &Env) {
    let queue = batch.queue();
    let from_dead_letter_queue = queue == DEAD_LETTER_QUEUE;
    let settings = io::settings(env);
    let mut messages = 0;
    for message in batch.raw_iter() {
        messages += 1;
        let body = body_text(&message);
        let Ok(cx) = perform::context(&settings) else {
            message.retry_with_options(&later(pipeline::MIN_RETRY_DELAY_SECS as u32));
            continue;
        };
        let started = io::now_millis();
        let meter = Meter::default();
        let flow = pipeline::consume(&body, from_dead_letter_queue, &cx);
        let report = perform::run(env, &meter, flow).await;
        let ms = io::now_millis() - started;
        match &report {
            Ok(_) => {
                let line = log::queue_message(&queue, &report, None, ms, &meter.borrow());
                worker::console_log!("{line}");
                message.ack();
            }
            Err(_) => {
                let age_secs = (cx.now * 1000 - message.timestamp().as_millis() as i64) / 1000;
                let delay = retry_delay_secs(age_secs);
                meter.borrow_mut().queue_retry(body.len());
                let line = log::queue_message(&queue, &report, Some(delay), ms, &meter.borrow());
                worker::console_error!("{line}");
                message.retry_with_options(&later(delay));
            }
        }
    }
    worker::console_log!("{}", log::queue_batch(&queue, messages));
}

fn body_text(message: &RawMessage) -> String {
    let body: JsValue = message.body();
    body.as_string().unwrap_or_else(|| format!("{body:?}"))
}

fn later(delay_secs: u32) -> worker::QueueRetryOptions {
    QueueRetryOptionsBuilder::new()
        .with_delay_seconds(delay_secs)
        .build()
}
