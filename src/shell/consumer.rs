//! The queue consumer: each message runs its flow (`pipeline::consume`) and is acked, or retried
//! later when a dependency failed; the handler itself never fails (an `Err` would panic the
//! isolate).

use worker::wasm_bindgen::{JsCast, JsValue};
use worker::worker_sys::{Message, MessageBatch};
use worker::Env;

use super::io::{self, Meter};
use super::{js, perform};
use crate::log;
use crate::pipeline::{self, retry_delay_secs};

pub const DEAD_LETTER_QUEUE: &str = "kefu-events-dlq";

pub async fn handle(batch: MessageBatch, env: &Env) {
    let queue = batch.queue().map(String::from).unwrap_or_default();
    let from_dead_letter_queue = queue == DEAD_LETTER_QUEUE;
    let settings = io::settings(env);
    let messages = batch.messages().unwrap_or_default();
    for message in messages.iter().map(JsCast::unchecked_into::<Message>) {
        let body = body_text(&message);
        let Ok(cx) = perform::context(&settings) else {
            retry_later(&message, pipeline::MIN_RETRY_DELAY_SECS as u32);
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
                io::log_line(&line);
                // Acking cannot fail for a message of the batch being handled.
                let _ = message.ack();
            }
            Err(_) => {
                // A message without its timestamp counts as just sent: the shortest delay.
                let sent_at = message
                    .timestamp()
                    .map_or(cx.now * 1000, |at| at.get_time() as i64);
                let age_secs = (cx.now * 1000 - sent_at) / 1000;
                let delay = retry_delay_secs(age_secs);
                meter.borrow_mut().queue_retry(body.len());
                let line = log::queue_message(&queue, &report, Some(delay), ms, &meter.borrow());
                io::log_error_line(&line);
                retry_later(&message, delay);
            }
        }
    }
    io::log_line(&log::queue_batch(&queue, messages.length() as usize));
}

fn body_text(message: &Message) -> String {
    let body = message.body().unwrap_or(JsValue::UNDEFINED);
    body.as_string().unwrap_or_else(|| format!("{body:?}"))
}

fn retry_later(message: &Message, delay_secs: u32) {
    // Like acking, retrying a message of the batch being handled cannot fail.
    let _ = message.retry(js::delay(delay_secs));
}
