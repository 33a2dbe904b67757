//! The scheduled handler (every minute): keeps the access_token and the online-agent list fresh,
//! flushes pending alerts, and re-sends deliveries whose queue message was lost.

use worker::Env;

use super::io::{self, KV};
use super::oa::{forget_routing_state, ONLINE_AGENTS_KEY};
use super::outbound::{self, call_with_token, send_later};
use super::store::{self, db};
use crate::complaints;
use crate::event::QueueMessage;
use crate::http::{HttpResult, Outcome};
use crate::platforms::oa::OnlineAgents;
use crate::wechat::api;

pub async fn run(env: &Env) {
    let settings = io::settings(env);
    if settings.wechat_appid.is_some() && settings.wechat_appsecret.is_some() {
        refresh_online_agents(env, &settings).await;
    }
    if let Err(e) = warn_complaint_deadlines(env).await {
        worker::console_error!("cron: complaint deadlines failed: {e}");
    }
    if let Err(e) = outbound::flush_alerts(env).await {
        worker::console_error!("cron: flushing alerts failed: {e}");
    }
    if let Err(e) = sweep(env).await {
        worker::console_error!("cron: sweep failed: {e}");
    }
}

/// Refreshes `getonlinekflist` into KV (refreshing the access_token first when it is near
/// expiry, as every token use does).
async fn refresh_online_agents(env: &Env, settings: &crate::settings::Settings) {
    let (outcome, result) = call_with_token(env, settings, |token| {
        Ok(api::online_agents_request(&settings.wechat_api_base, token))
    })
    .await;
    let body = match (outcome, result) {
        (Outcome::Delivered, Some(HttpResult::Response { body, .. })) => body,
        (outcome, _) => {
            worker::console_error!("cron: getonlinekflist failed: {outcome:?}");
            return;
        }
    };
    match OnlineAgents::parse(&body) {
        Ok(list) => {
            let stored = match env.kv(KV) {
                Ok(kv) => match kv.put(
                    ONLINE_AGENTS_KEY,
                    serde_json::to_string(&list).unwrap_or_default(),
                ) {
                    Ok(put) => put.execute().await.map_err(|e| e.to_string()),
                    Err(e) => Err(e.to_string()),
                },
                Err(e) => Err(e.to_string()),
            };
            match stored {
                Ok(()) => forget_routing_state(),
                Err(e) => worker::console_error!("cron: storing the online agent list failed: {e}"),
            }
        }
        Err(e) => worker::console_error!("cron: {e}"),
    }
}

/// Alerts for complaints with a quarter of their time left or overdue, once each.
async fn warn_complaint_deadlines(env: &Env) -> Result<(), String> {
    let db = db(env)?;
    let now = io::now_secs();
    let pending: Vec<complaints::Pending> = store::query(
        &db,
        complaints::PENDING_WARNINGS_SQL,
        vec![now.into(), now.into()],
    )
    .await?;
    let statements = complaints::plan_deadline_warnings(&pending, now);
    if !statements.is_empty() {
        store::transaction(&db, &statements)
            .await
            .map_err(|e| e.to_string())?;
    }
    Ok(())
}

#[derive(serde::Deserialize)]
struct Due {
    id: String,
}

/// Deliveries due but not in flight (their queue message was lost), and ones stuck in flight
/// (the isolate died mid-call), are attempted again.
async fn sweep(env: &Env) -> Result<(), String> {
    let db = db(env)?;
    let now = io::now_secs();
    store::execute(
        &db,
        "UPDATE deliveries SET state = 'retrying' WHERE state = 'sending' AND updated_at < ?",
        vec![(now - 300).into()],
    )
    .await?;
    let due: Vec<Due> = store::query(
        &db,
        "SELECT id FROM deliveries WHERE state IN ('pending', 'retrying') AND next_attempt_at < ? LIMIT 100",
        vec![(now - 60).into()],
    )
    .await?;
    for d in due {
        send_later(env, &QueueMessage::Deliver { delivery_id: d.id }, 0).await?;
    }
    store::execute(
        &db,
        "DELETE FROM robot_sends WHERE at < ?",
        vec![(now - 3600).into()],
    )
    .await?;
    Ok(())
}
