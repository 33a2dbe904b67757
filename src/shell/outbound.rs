//! Performs outbound calls for the consumer and the cron: the HTTP request, the WeChat
//! access_token (cached in KV, refreshed before expiry and at once when refused), delivery
//! attempts with retries through the queue, dead letters, and the WeCom robot's alert flushing
//! within its rate limit.

use serde::Deserialize;
use worker::{Env, Fetch, Headers, Method, QueueRetryOptionsBuilder, Request, RequestInit};

use super::io::{self, KV, QUEUE};
use super::store::{self, db};
use crate::event::QueueMessage;
use crate::http::{classify, describe, HttpMethod, HttpRequest, HttpResult, Outcome};
use crate::outbound::{record_attempt, OutboundCall};
use crate::platforms::wecom::{self, PendingAlert, MESSAGES_PER_MINUTE};
use crate::settings::{required, Settings};
use crate::wechat::api::{self, CachedToken};

pub const TOKEN_KEY: &str = "wechat_access_token";

pub async fn http(request: &HttpRequest) -> HttpResult {
    match send(request).await {
        Ok(result) => result,
        Err(e) => HttpResult::NetworkError(e.to_string()),
    }
}

async fn send(request: &HttpRequest) -> worker::Result<HttpResult> {
    let headers = Headers::new();
    for (name, value) in &request.headers {
        headers.set(name, value)?;
    }
    let mut init = RequestInit::new();
    init.with_method(match request.method {
        HttpMethod::Get => Method::Get,
        HttpMethod::Post => Method::Post,
    })
    .with_headers(headers)
    .with_body(request.body.as_deref().map(Into::into));
    let mut response = Fetch::Request(Request::new_with_init(&request.url, &init)?)
        .send()
        .await?;
    let status = response.status_code();
    let body = response.text().await.unwrap_or_default();
    Ok(HttpResult::Response { status, body })
}

/// The cached access_token, fetched anew when missing, near expiry, or `force`d (after WeChat
/// refused it). The error is the outcome of the failed token call.
pub async fn access_token(env: &Env, settings: &Settings, force: bool) -> Result<String, Outcome> {
    let now = io::now_secs();
    let kv = env
        .kv(KV)
        .map_err(|_| Outcome::Retryable("KV binding KEFU_KV missing".into()))?;
    if !force {
        if let Ok(Some(cached)) = kv.get(TOKEN_KEY).json::<CachedToken>().await {
            if cached.is_fresh(now) {
                return Ok(cached.access_token);
            }
        }
    }
    let appid = required(&settings.wechat_appid, "WECHAT_APPID")
        .map_err(|r| Outcome::Permanent(r.reason))?;
    let secret = required(&settings.wechat_appsecret, "WECHAT_APPSECRET")
        .map_err(|r| Outcome::Permanent(r.reason))?;
    let result = http(&api::token_request(
        &settings.wechat_api_base,
        appid,
        secret,
    ))
    .await;
    match classify(&result) {
        Outcome::Delivered => {}
        // A refused token request is not "token expired": it means bad credentials.
        Outcome::TokenExpired(reason) => return Err(Outcome::Permanent(reason)),
        failure => return Err(failure),
    }
    let HttpResult::Response { body, .. } = &result else {
        unreachable!("classified as delivered")
    };
    let token = api::parse_token(body, now).map_err(Outcome::Permanent)?;
    let ttl = (token.expires_at - now).max(60) as u64;
    if let Ok(put) = kv.put(TOKEN_KEY, serde_json::to_string(&token).unwrap_or_default()) {
        // A failed cache write only costs another token request next time.
        let _ = put.expiration_ttl(ttl).execute().await;
    }
    Ok(token.access_token)
}

/// Makes a WeChat API call that needs the access_token: on 40001/40014/42001 the token is
/// refreshed once and the call retried once.
pub async fn call_with_token(
    env: &Env,
    settings: &Settings,
    build: impl Fn(&str) -> Result<HttpRequest, String>,
) -> (Outcome, Option<HttpResult>) {
    let mut force = false;
    loop {
        let token = match access_token(env, settings, force).await {
            Ok(token) => token,
            Err(outcome) => return (outcome, None),
        };
        let request = match build(&token) {
            Ok(r) => r,
            Err(reason) => return (Outcome::Permanent(reason), None),
        };
        let result = http(&request).await;
        let outcome = classify(&result);
        if matches!(outcome, Outcome::TokenExpired(_)) && !force {
            force = true;
            continue;
        }
        return (outcome, Some(result));
    }
}

fn payload(call: &OutboundCall) -> String {
    serde_json::to_string(call).expect("outbound calls are plain data")
}

pub async fn send_later(env: &Env, message: &QueueMessage, delay_secs: u32) -> Result<(), String> {
    let queue = env
        .queue(QUEUE)
        .map_err(|_| "queue binding KEFU_EVENTS missing".to_owned())?;
    let mut builder = worker::MessageBuilder::new(message.to_json());
    if delay_secs > 0 {
        builder = builder.delay_seconds(delay_secs);
    }
    queue.send(builder.build()).await.map_err(|e| e.to_string())
}

#[derive(Deserialize)]
struct DeliveryRow {
    payload: String,
    attempts: i64,
    ticket_id: Option<i64>,
}

/// One attempt at a recorded delivery. The row is claimed first (state `sending`), so two
/// queue messages for the same delivery never both call out.
pub async fn deliver(env: &Env, id: &str) -> Result<(), String> {
    let now = io::now_secs();
    let db = db(env)?;
    let rows: Vec<DeliveryRow> = store::query(
        &db,
        "SELECT payload, attempts, ticket_id FROM deliveries WHERE id = ?",
        vec![id.into()],
    )
    .await?;
    let Some(row) = rows.into_iter().next() else {
        worker::console_error!("deliver: no delivery {id}");
        return Ok(());
    };
    let call: OutboundCall =
        serde_json::from_str(&row.payload).map_err(|e| format!("delivery {id}: {e}"))?;
    let claimed = store::execute(
        &db,
        "UPDATE deliveries SET state = 'sending', updated_at = ? WHERE id = ? AND state IN ('pending', 'retrying') AND next_attempt_at <= ?",
        vec![now.into(), id.into(), (now + 2).into()],
    )
    .await?;
    if claimed == 0 {
        return Ok(()); // delivered, dead, in flight elsewhere, or not yet due
    }
    // Only a claimed delivery takes one of the robot's slots; without one it waits its turn.
    if matches!(call, OutboundCall::WecomRobot { .. }) {
        if let Some(wait) = take_robot_slot(&db, now).await? {
            store::execute(
                &db,
                "UPDATE deliveries SET state = 'retrying', next_attempt_at = ?, updated_at = ? WHERE id = ?",
                vec![(now + i64::from(wait)).into(), now.into(), id.into()],
            )
            .await?;
            let message = QueueMessage::Deliver {
                delivery_id: id.to_owned(),
            };
            return send_later(env, &message, wait).await;
        }
    }
    attempt(env, &db, id, &call, row.ticket_id, row.attempts as u32 + 1).await
}

async fn attempt(
    env: &Env,
    db: &worker::D1Database,
    id: &str,
    call: &OutboundCall,
    ticket_id: Option<i64>,
    attempt: u32,
) -> Result<(), String> {
    let settings = io::settings(env);
    let (outcome, result) = if call.needs_access_token() {
        call_with_token(env, &settings, |token| call.request(&settings, Some(token))).await
    } else {
        match call.request(&settings, None) {
            Ok(request) => {
                let result = http(&request).await;
                (classify(&result), Some(result))
            }
            Err(reason) => (Outcome::Permanent(reason), None),
        }
    };
    let last_result = describe(result.as_ref(), &outcome);
    let random = u32::from_le_bytes(io::random_bytes::<4>().map_err(|r| r.reason)?);
    let record = record_attempt(
        id,
        call,
        ticket_id,
        attempt,
        &outcome,
        &last_result,
        io::now_secs(),
        random,
    );
    store::transaction(db, &record.statements)
        .await
        .map_err(|e| e.to_string())?;
    worker::console_log!("deliver: {id} attempt {attempt}: {outcome:?}");
    if record.alert_raised {
        let _ = send_later(env, &QueueMessage::FlushAlerts, 0).await; // the cron flushes otherwise
    }
    match record.retry_after {
        Some(delay) => {
            send_later(
                env,
                &QueueMessage::Deliver {
                    delivery_id: id.to_owned(),
                },
                delay,
            )
            .await
        }
        None => Ok(()),
    }
}

#[derive(Deserialize)]
struct OldestSend {
    at: Option<i64>,
}

/// Takes one of the robot's 20-a-minute request slots. `Some(wait)` when none is free: the
/// seconds until the oldest send in the window leaves it.
async fn take_robot_slot(db: &worker::D1Database, now: i64) -> Result<Option<u32>, String> {
    let taken = store::execute(
        db,
        "INSERT INTO robot_sends (at) SELECT ? WHERE (SELECT COUNT(*) FROM robot_sends WHERE at > ?) < ?",
        vec![now.into(), (now - 60).into(), MESSAGES_PER_MINUTE.into()],
    )
    .await?;
    if taken == 1 {
        return Ok(None);
    }
    let oldest: Vec<OldestSend> = store::query(
        db,
        "SELECT MIN(at) AS at FROM robot_sends WHERE at > ?",
        vec![(now - 60).into()],
    )
    .await?;
    let wait = oldest
        .first()
        .and_then(|o| o.at)
        .map_or(1, |at| (at + 61 - now).clamp(1, 61));
    Ok(Some(wait as u32))
}

/// Sends pending alerts to the robot: as many as fit in one message, only when a rate slot is
/// free (otherwise they wait and coalesce), continuing while more are pending.
pub async fn flush_alerts(env: &Env) -> Result<(), String> {
    let settings = io::settings(env);
    if settings.wecom_robot_key.is_none() {
        io::log_rejection(
            "alerts",
            &crate::inline::Rejection::missing_setting("WECOM_ROBOT_KEY"),
        );
        return Ok(()); // alerts stay pending; the cron flushes them once the key is set
    }
    let db = db(env)?;
    let now = io::now_secs();
    let pending: Vec<PendingAlert> = store::query(
        &db,
        "SELECT id, ticket_id, text FROM alerts WHERE claim IS NULL ORDER BY id LIMIT 200",
        vec![],
    )
    .await?;
    let Some(composed) = wecom::compose(&pending) else {
        return Ok(());
    };
    if let Some(wait) = take_robot_slot(&db, now).await? {
        return send_later(env, &QueueMessage::FlushAlerts, wait).await;
    }
    let id = format!(
        "robot:{}",
        crate::wechat::crypto::hex(&io::random_bytes::<8>().map_err(|r| r.reason)?)
    );
    let last = *composed
        .included
        .last()
        .expect("compose includes at least one alert");
    let first = composed.included[0];
    let call = OutboundCall::WecomRobot {
        markdown: composed.markdown,
    };
    // Claim exactly the composed alerts; a concurrent flusher that claimed one first makes this
    // claim partial, so the message is composed again from what was really claimed.
    let changes = store::transaction(
        &db,
        &[
            crate::sql::Statement::new(
                "UPDATE alerts SET claim = ?, claimed_at = ? WHERE claim IS NULL AND id BETWEEN ? AND ?",
                vec![id.as_str().into(), now.into(), first.into(), last.into()],
            ),
            crate::sql::Statement::new(
                "INSERT INTO deliveries (id, target, payload, state, attempts, created_at, updated_at, next_attempt_at) VALUES (?, 'wecom_robot', ?, 'sending', 0, ?, ?, ?)",
                vec![id.as_str().into(), payload(&call).into(), now.into(), now.into(), now.into()],
            ),
        ],
    )
    .await
    .map_err(|e| e.to_string())?;
    let call = if changes[0] == composed.included.len() {
        call
    } else {
        let claimed: Vec<PendingAlert> = store::query(
            &db,
            "SELECT id, ticket_id, text FROM alerts WHERE claim = ? ORDER BY id",
            vec![id.as_str().into()],
        )
        .await?;
        let Some(recomposed) = wecom::compose(&claimed) else {
            store::execute(
                &db,
                "DELETE FROM deliveries WHERE id = ?",
                vec![id.as_str().into()],
            )
            .await?;
            return Ok(());
        };
        let call = OutboundCall::WecomRobot {
            markdown: recomposed.markdown,
        };
        store::execute(
            &db,
            "UPDATE deliveries SET payload = ? WHERE id = ?",
            vec![payload(&call).into(), id.as_str().into()],
        )
        .await?;
        call
    };
    attempt(env, &db, &id, &call, None, 1).await?;
    if pending.len() > composed.included.len() {
        send_later(env, &QueueMessage::FlushAlerts, 0).await?;
    }
    Ok(())
}

/// Puts a dead letter back in line: a delivery is reset and attempted again; a queue message is
/// re-enqueued as it was.
pub async fn replay(env: &Env, dead_letter_id: i64) -> Result<bool, String> {
    #[derive(Deserialize)]
    struct Row {
        source: String,
        delivery_id: Option<String>,
        body: String,
    }
    let db = db(env)?;
    let now = io::now_secs();
    let rows: Vec<Row> = store::query(
        &db,
        "SELECT source, delivery_id, body FROM dead_letters WHERE id = ?",
        vec![dead_letter_id.into()],
    )
    .await?;
    let Some(row) = rows.into_iter().next() else {
        return Ok(false);
    };
    match (row.source.as_str(), row.delivery_id) {
        ("delivery", Some(delivery_id)) => {
            store::execute(
                &db,
                "UPDATE deliveries SET state = 'retrying', attempts = 0, next_attempt_at = ?, updated_at = ? WHERE id = ? AND state = 'dead'",
                vec![now.into(), now.into(), delivery_id.as_str().into()],
            )
            .await?;
            send_later(env, &QueueMessage::Deliver { delivery_id }, 0).await?;
        }
        _ => {
            let message = QueueMessage::from_json(&row.body)?;
            send_later(env, &message, 0).await?;
        }
    }
    store::execute(
        &db,
        "UPDATE dead_letters SET replayed_at = ? WHERE id = ?",
        vec![now.into(), dead_letter_id.into()],
    )
    .await?;
    Ok(true)
}

/// Retry options for a queue message whose processing failed on a dependency (D1 down): later,
/// not at once, so an outage does not spin the consumer.
pub fn later() -> worker::QueueRetryOptions {
    QueueRetryOptionsBuilder::new()
        .with_delay_seconds(10)
        .build()
}
