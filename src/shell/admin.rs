//! `/api/*`: the admin API, behind `Authorization: Bearer ADMIN_TOKEN`.

use worker::{Env, Method, Request};

use super::io::{self, log_rejection, DB, KV};
use super::oa::RULES_KEY;
use crate::admin::authorize;
use crate::inline::{Rejection, Reply};
use crate::rules::Rules;

pub async fn handle(req: Request, env: &Env) -> Reply {
    match route(req, env).await {
        Ok(reply) => reply,
        Err(rejection) => {
            log_rejection("/api", &rejection);
            rejection.to_reply()
        }
    }
}

async fn route(mut req: Request, env: &Env) -> Result<Reply, Rejection> {
    let settings = io::settings(env);
    let authorization = req.headers().get("authorization").ok().flatten();
    authorize(authorization.as_deref(), settings.admin_token.as_deref())?;
    let kv = || {
        env.kv(KV)
            .map_err(|_| Rejection::unavailable("KV binding KEFU_KV missing"))
    };
    match (req.method(), req.path().as_str()) {
        (Method::Get, "/api/rules") => {
            let doc = kv()?
                .get(RULES_KEY)
                .text()
                .await
                .map_err(|e| Rejection::unavailable(e.to_string()))?;
            Ok(Reply::json(200, doc.unwrap_or_else(|| "{}".into())))
        }
        (Method::Put, "/api/rules") => {
            let body = req
                .text()
                .await
                .map_err(|_| Rejection::bad_request("unreadable body"))?;
            let rules = Rules::parse(&body).map_err(Rejection::bad_request)?;
            let doc =
                serde_json::to_string(&rules).map_err(|e| Rejection::bad_request(e.to_string()))?;
            kv()?
                .put(RULES_KEY, doc.clone())
                .map_err(|e| Rejection::unavailable(e.to_string()))?
                .execute()
                .await
                .map_err(|e| Rejection::unavailable(e.to_string()))?;
            Ok(Reply::json(200, doc))
        }
        (Method::Get, "/api/events") => list_events(env, &req).await,
        _ => Err(Rejection {
            status: 404,
            reason: "no such admin route".into(),
        }),
    }
}

async fn list_events(env: &Env, req: &Request) -> Result<Reply, Rejection> {
    let url = req.url().map_err(|_| Rejection::bad_request("bad URL"))?;
    let limit: u32 = url
        .query_pairs()
        .find(|(k, _)| k == "limit")
        .and_then(|(_, v)| v.parse().ok())
        .unwrap_or(100)
        .min(1000);
    let db = env
        .d1(DB)
        .map_err(|_| Rejection::unavailable("D1 binding KEFU_DB missing"))?;
    let rows = db
        .prepare("SELECT id, dedup_key, kind, payload, received_at, stored_at FROM events ORDER BY id DESC LIMIT ?1")
        .bind(&[limit.into()])
        .map_err(|e| Rejection::unavailable(e.to_string()))?
        .all()
        .await
        .map_err(|e| Rejection::unavailable(e.to_string()))?
        .results::<serde_json::Value>()
        .map_err(|e| Rejection::unavailable(e.to_string()))?;
    Ok(Reply::json(
        200,
        serde_json::json!({ "events": rows }).to_string(),
    ))
}
