//! The queue consumer. Each message is handled on its own and acked, or retried later when a
//! dependency failed; the handler itself never fails (an `Err` would panic the isolate).

use worker::wasm_bindgen::JsValue;
use worker::{Env, MessageBatch, MessageExt, RawMessage};

use super::io;
use super::outbound::{self, later, send_later};
use super::store::{self, db};
use serde::Deserialize;
use worker::D1Database;

use crate::complaints::{self, OrderFacts};
use crate::event::{Inbound, QueueMessage, QueuedEvent};
use crate::platforms::payfeedback::{ComplaintStatus, GoodsKind, Notification};
use crate::sql::{Statement, StoreError};
use crate::tickets;

pub const DEAD_LETTER_QUEUE: &str = "kefu-events-dlq";

pub async fn handle(batch: MessageBatch<String>, env: &Env) {
    let from_dead_letter_queue = batch.queue() == DEAD_LETTER_QUEUE;
    for message in batch.raw_iter() {
        let body = body_text(&message);
        let outcome = if from_dead_letter_queue {
            keep_dead_letter(env, &body).await
        } else {
            process(env, &body).await
        };
        match outcome {
            Ok(()) => message.ack(),
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

async fn process(env: &Env, body: &str) -> Result<(), String> {
    let message = match QueueMessage::from_json(body) {
        Ok(m) => m,
        // Never processable: kept as a dead letter rather than retried or dropped.
        Err(why) => return store_dead_letter(env, body, &why).await,
    };
    match message {
        QueueMessage::Inbound(event) => store_inbound(env, &event).await,
        QueueMessage::Deliver { delivery_id } => outbound::deliver(env, &delivery_id).await,
        QueueMessage::FlushAlerts => outbound::flush_alerts(env).await,
    }
}

/// Stores the event and applies it (to tickets, or to a complaint) in one transaction; a
/// duplicate fails the first insert, rolls everything back and is acked.
async fn store_inbound(env: &Env, event: &QueuedEvent) -> Result<(), String> {
    let db = db(env)?;
    let now = io::now_secs();
    let plan = match &event.inbound {
        Inbound::PayFeedback(n) => {
            let (current, order) = complaint_state(&db, n).await?;
            complaints::plan_notification(event, n, current, order, now)
        }
        _ => tickets::plan(event, now),
    };
    match store::transaction(&db, &plan).await {
        Ok(changes) => {
            worker::console_log!("queue: stored {}", event.describe());
            if alert_raised(&plan, &changes) {
                // Best effort: the cron flushes pending alerts every minute anyway.
                let _ = send_later(env, &QueueMessage::FlushAlerts, 0).await;
            }
            Ok(())
        }
        Err(StoreError::Duplicate) => {
            worker::console_log!("queue: duplicate {}", event.describe());
            Ok(())
        }
        Err(e) => Err(e.to_string()),
    }
}

/// The complaint's current status and what the card shop said about its order.
async fn complaint_state(
    db: &D1Database,
    n: &Notification,
) -> Result<(Option<ComplaintStatus>, OrderFacts), String> {
    #[derive(Deserialize)]
    struct Status {
        status: String,
    }
    #[derive(Deserialize)]
    struct Order {
        goods_kind: Option<GoodsKind>,
        delivered: i64,
    }
    let status: Vec<Status> = store::query(
        db,
        "SELECT status FROM complaints WHERE feedback_id = ?",
        vec![n.feedback_id.as_str().into()],
    )
    .await?;
    let current = status
        .first()
        .and_then(|s| complaints::parse_status(&s.status));
    let order: Vec<Order> = match &n.trans_id {
        Some(trans_id) => {
            store::query(
                db,
                "SELECT goods_kind, delivered_at IS NOT NULL AS delivered FROM orders WHERE trans_id = ?",
                vec![trans_id.as_str().into()],
            )
            .await?
        }
        None => Vec::new(),
    };
    let facts = order
        .first()
        .map(|o| OrderFacts {
            goods_kind: o.goods_kind,
            delivered: Some(o.delivered != 0),
        })
        .unwrap_or_default();
    Ok((current, facts))
}

fn alert_raised(plan: &[Statement], changes: &[usize]) -> bool {
    plan.iter()
        .zip(changes)
        .any(|(s, &n)| n > 0 && s.sql.contains("INTO alerts"))
}

/// A message that exhausted its queue retries (or could never be read): kept in D1 with the
/// reason, visible and replayable from the admin API.
async fn keep_dead_letter(env: &Env, body: &str) -> Result<(), String> {
    store_dead_letter(env, body, "queue retries exhausted").await
}

async fn store_dead_letter(env: &Env, body: &str, reason: &str) -> Result<(), String> {
    let db = db(env)?;
    let now = io::now_secs();
    store::transaction(
        &db,
        &[
            Statement::new(
                "INSERT INTO dead_letters (source, body, reason, created_at) VALUES ('queue', ?, ?, ?)",
                vec![body.into(), reason.into(), now.into()],
            ),
            Statement::new(
                "INSERT OR IGNORE INTO alerts (dedup_key, text, created_at) VALUES ('dead-queue:' || last_insert_rowid(), ?, ?)",
                vec![format!("A queue message became a dead letter: {reason}").into(), now.into()],
            ),
        ],
    )
    .await
    .map_err(|e| e.to_string())?;
    worker::console_error!("queue: dead letter: {reason}");
    let _ = send_later(env, &QueueMessage::FlushAlerts, 0).await;
    Ok(())
}
