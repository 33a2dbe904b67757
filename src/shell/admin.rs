//! `/api/*`: the admin API, behind `Authorization: Bearer ADMIN_TOKEN`.

use serde_json::{json, Value};
use worker::{Env, Method, Request};

use super::io::{self, KV};
use super::oa::{forget_routing_state, RULES_KEY};
use super::perform;
use super::store::{self, db};
use crate::admin::{authorize, OrderRecord};
use crate::complaints::ResolveRequest;
use crate::inline::{Rejection, Reply};
use crate::pipeline::dead_letters::{ReplayFlow, Replayed};
use crate::pipeline::outage::{ListParkedFlow, ReplayParkedFlow};
use crate::pipeline::resolve::{ResolveFlow, Resolved};
use crate::rules::Rules;
use crate::settings::Settings;
use crate::sql::Param;
use crate::stats::{summarize, TicketTimes, TICKET_TIMES_SQL};
use crate::wechat::crypto::hex;
use crate::wechat::custom_send::CustomSendLimits;

pub async fn handle(req: Request, env: &Env) -> Reply {
    io::reply_or_log("/api", route(req, env).await)
}

fn unavailable(e: impl ToString) -> Rejection {
    Rejection::Unavailable(e.to_string())
}

fn not_found() -> Rejection {
    Rejection::NotFound
}

async fn route(mut req: Request, env: &Env) -> Result<Reply, Rejection> {
    let settings = io::settings(env);
    let authorization = req.headers().get("authorization").ok().flatten();
    authorize(authorization.as_deref(), settings.admin_token.as_deref())?;
    let url = req
        .url()
        .map_err(|_| Rejection::Malformed("bad URL".into()))?;
    let query = |name: &str| {
        url.query_pairs()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.into_owned())
    };
    let limit = query("limit")
        .and_then(|v| v.parse::<i64>().ok())
        .unwrap_or(100)
        .clamp(1, 1000);
    let path = req.path();
    let segments: Vec<&str> = path.trim_start_matches("/api/").split('/').collect();
    match (req.method(), segments.as_slice()) {
        (Method::Get, ["rules"]) => {
            let kv = env.kv(KV).map_err(unavailable)?;
            let doc = kv.get(RULES_KEY).text().await.map_err(unavailable)?;
            Ok(Reply::json(200, doc.unwrap_or_else(|| "{}".into())))
        }
        (Method::Put, ["rules"]) => {
            let body = req.text().await.map_err(|_| Rejection::Malformed("unreadable body".into()))?;
            let rules = Rules::parse(&body).map_err(Rejection::Malformed)?;
            let doc = serde_json::to_string(&rules).map_err(|e| Rejection::Malformed(e.to_string()))?;
            let kv = env.kv(KV).map_err(unavailable)?;
            kv.put(RULES_KEY, doc.clone()).map_err(unavailable)?.execute().await.map_err(unavailable)?;
            forget_routing_state();
            Ok(Reply::json(200, doc))
        }
        (Method::Get, ["events"]) => {
            list(env, "events", "SELECT id, dedup_key, kind, payload, received_at, stored_at FROM events ORDER BY id DESC LIMIT ?", vec![limit.into()]).await
        }
        (Method::Get, ["tickets"]) => {
            let status = query("status");
            list(
                env,
                "tickets",
                "SELECT * FROM tickets WHERE (?1 IS NULL OR status = ?1) ORDER BY id DESC LIMIT ?2",
                vec![status.into(), limit.into()],
            )
            .await
        }
        (Method::Get, ["tickets", id]) => {
            let id: i64 = id.parse().map_err(|_| not_found())?;
            let db = db(env).map_err(unavailable)?;
            let ticket: Vec<Value> = store::query(&db, "SELECT * FROM tickets WHERE id = ?", vec![id.into()]).await.map_err(unavailable)?;
            let ticket = ticket.into_iter().next().ok_or_else(not_found)?;
            let timeline: Vec<Value> =
                store::query(&db, "SELECT * FROM ticket_timeline WHERE ticket_id = ? ORDER BY id", vec![id.into()]).await.map_err(unavailable)?;
            Ok(Reply::json(200, json!({ "ticket": ticket, "timeline": timeline }).to_string()))
        }
        (Method::Get, ["deliveries"]) => {
            list(
                env,
                "deliveries",
                "SELECT * FROM deliveries WHERE (?1 IS NULL OR state = ?1) ORDER BY created_at DESC LIMIT ?2",
                vec![query("state").into(), limit.into()],
            )
            .await
        }
        (Method::Get, ["alerts"]) => list(env, "alerts", "SELECT * FROM alerts ORDER BY id DESC LIMIT ?", vec![limit.into()]).await,
        (Method::Get, ["dead-letters"]) => {
            list(env, "dead_letters", "SELECT * FROM dead_letters ORDER BY id DESC LIMIT ?", vec![limit.into()]).await
        }
        (Method::Post, ["dead-letters", id, "replay"]) => {
            let id: i64 = id.parse().map_err(|_| not_found())?;
            match perform::run(env, ReplayFlow::new(id, io::now_secs())).await.map_err(unavailable)? {
                Replayed::Yes => Ok(Reply::json(202, json!({ "replayed": id }).to_string())),
                Replayed::NotFound => Err(not_found()),
                Replayed::Unreadable(why) => Err(Rejection::Conflict(format!("cannot replay: {why}"))),
            }
        }
        (Method::Get, ["parked"]) => {
            let parked = perform::run(env, ListParkedFlow::new()).await.map_err(unavailable)?;
            Ok(Reply::json(200, json!({ "parked": parked }).to_string()))
        }
        (Method::Post, ["parked", "replay"]) => {
            let report = perform::run(env, ReplayParkedFlow::new()).await.map_err(unavailable)?;
            Ok(Reply::json(202, json!(report).to_string()))
        }
        (Method::Get, ["complaints"]) => {
            // Overdue (and still waiting for the merchant) first, then by deadline.
            list(
                env,
                "complaints",
                "SELECT * FROM complaints WHERE (?1 IS NULL OR status = ?1) \
                 ORDER BY (status IN ('open', 'reopened') AND deadline <= ?2) DESC, deadline ASC LIMIT ?3",
                vec![query("status").into(), io::now_secs().into(), limit.into()],
            )
            .await
        }
        (Method::Post, ["complaints", feedback_id, "resolve"]) => {
            let key = req.headers().get("idempotency-key").ok().flatten();
            let body = req.text().await.map_err(|_| Rejection::Malformed("unreadable body".into()))?;
            resolve_complaint(env, &settings, feedback_id, key.as_deref(), &body).await
        }
        (Method::Get, ["orders"]) => {
            list(
                env,
                "orders",
                "SELECT * FROM orders WHERE (?1 IS NULL OR status = ?1) ORDER BY updated_at DESC LIMIT ?2",
                vec![query("status").into(), limit.into()],
            )
            .await
        }
        (Method::Get, ["orders", order_id]) => order_detail(env, order_id).await,
        (Method::Put, ["orders", order_id]) => {
            let body = req.text().await.map_err(|_| Rejection::Malformed("unreadable body".into()))?;
            let order: OrderRecord = serde_json::from_str(&body).map_err(|e| Rejection::Malformed(format!("invalid order: {e}")))?;
            let db = db(env).map_err(unavailable)?;
            store::transaction(&db, &[order.upsert(order_id, io::now_secs())]).await.map_err(unavailable)?;
            Ok(Reply::json(200, json!({ "order": order_id }).to_string()))
        }
        (Method::Get, ["stats"]) => stats(env).await,
        _ => Err(not_found()),
    }
}

/// Resolves a complaint (`pipeline::resolve`): status `processed`, the message to the customer
/// and the `payfeedback/update` call recorded and sent once.
async fn resolve_complaint(
    env: &Env,
    settings: &Settings,
    feedback_id: &str,
    idempotency_key: Option<&str>,
    body: &str,
) -> Result<Reply, Rejection> {
    let request: ResolveRequest = if body.trim().is_empty() {
        ResolveRequest { message: None }
    } else {
        serde_json::from_str(body)
            .map_err(|e| Rejection::Malformed(format!("invalid resolve request: {e}")))?
    };
    let limits = CustomSendLimits {
        max_news_articles: settings.news_article_limit,
    };
    let unique = hex(&io::random_bytes::<6>()?);
    let flow = ResolveFlow::new(
        feedback_id,
        request,
        limits,
        idempotency_key,
        &unique,
        io::now_secs(),
    );
    let answer = |deliveries: Vec<String>, repeated: bool| {
        let body = json!({ "feedback_id": feedback_id, "status": "processed", "deliveries": deliveries, "repeated": repeated });
        Reply::json(202, body.to_string())
    };
    match perform::run(env, flow).await.map_err(unavailable)? {
        Resolved::Done { deliveries } => Ok(answer(deliveries, false)),
        Resolved::Repeated { deliveries } => Ok(answer(deliveries, true)),
        Resolved::NotFound => Err(not_found()),
        Resolved::BadMessage(why) => Err(Rejection::Malformed(why)),
        Resolved::Conflict(why) => Err(Rejection::Conflict(why)),
    }
}

/// One order with its tickets, complaints (by TransId) and events.
async fn order_detail(env: &Env, order_id: &str) -> Result<Reply, Rejection> {
    let db = db(env).map_err(unavailable)?;
    let read = |sql: &'static str| store::query::<Value>(&db, sql, vec![order_id.into()]);
    let order = read("SELECT * FROM orders WHERE id = ?")
        .await
        .map_err(unavailable)?;
    let order = order.into_iter().next().ok_or_else(not_found)?;
    let tickets = read("SELECT * FROM tickets WHERE order_id = ? ORDER BY id")
        .await
        .map_err(unavailable)?;
    let complaints = read("SELECT * FROM complaints WHERE trans_id = (SELECT trans_id FROM orders WHERE id = ?) ORDER BY opened_at")
        .await
        .map_err(unavailable)?;
    let events = read("SELECT * FROM events WHERE kind = 'order' AND json_extract(payload, '$.order.id') = ? ORDER BY id")
        .await
        .map_err(unavailable)?;
    Ok(Reply::json(
        200,
        json!({ "order": order, "tickets": tickets, "complaints": complaints, "events": events })
            .to_string(),
    ))
}

async fn list(
    env: &Env,
    name: &str,
    sql: &'static str,
    params: Vec<Param>,
) -> Result<Reply, Rejection> {
    let db = db(env).map_err(unavailable)?;
    let rows: Vec<Value> = store::query(&db, sql, params).await.map_err(unavailable)?;
    Ok(Reply::json(200, json!({ name: rows }).to_string()))
}

/// How far back the per-channel and per-category numbers look.
const STATS_DAYS: i64 = 30;

/// Ticket counts by status and response times (seconds), the helpdesk's headline numbers.
async fn stats(env: &Env) -> Result<Reply, Rejection> {
    let db = db(env).map_err(unavailable)?;
    let by_status: Vec<Value> = store::query(
        &db,
        "SELECT status, COUNT(*) AS count FROM tickets GROUP BY status",
        vec![],
    )
    .await
    .map_err(unavailable)?;
    let times: Vec<Value> = store::query(
        &db,
        "SELECT AVG(first_response_at - created_at) AS avg_first_response_secs, \
                AVG(resolved_at - created_at) AS avg_resolution_secs, \
                SUM(CASE WHEN first_response_at IS NULL AND status != 'closed' AND first_response_due < ?1 THEN 1 ELSE 0 END) AS first_response_overdue \
         FROM tickets",
        vec![io::now_secs().into()],
    )
    .await
    .map_err(unavailable)?;
    let deliveries: Vec<Value> = store::query(
        &db,
        "SELECT state, COUNT(*) AS count FROM deliveries GROUP BY state",
        vec![],
    )
    .await
    .map_err(unavailable)?;
    let now = io::now_secs();
    let tickets: Vec<TicketTimes> = store::query(
        &db,
        TICKET_TIMES_SQL,
        vec![(now - STATS_DAYS * 86_400).into()],
    )
    .await
    .map_err(unavailable)?;
    Ok(Reply::json(
        200,
        json!({ "tickets_by_status": by_status, "response_times": times.into_iter().next(), "deliveries_by_state": deliveries,
                "by_channel_and_category": summarize(&tickets, now), "period_days": STATS_DAYS }).to_string(),
    ))
}
