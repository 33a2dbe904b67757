//! `GET|POST /wechat/oa`: reads settings, rules and the online-agent list, lets the core decide,
//! enqueues the event, then replies.

use futures_util::future::join;
use worker::{Env, Method, Request};

use super::io::{self, log_rejection, KV, QUEUE};
use crate::event::QueueMessage;
use crate::inline::{Rejection, Reply};
use crate::platforms::oa::{self, OnlineAgents};
use crate::rules::Rules;
use crate::settings::{required, Settings};
use crate::wechat::callback::{self, CallbackQuery, Endpoint};
use crate::wechat::crypto::AesKey;

pub const RULES_KEY: &str = "rules";
pub const ONLINE_AGENTS_KEY: &str = "kf_online";

pub async fn handle(req: Request, env: &Env) -> Reply {
    match accept(req, env).await {
        Ok(reply) => reply,
        Err(rejection) => {
            log_rejection("/wechat/oa", &rejection);
            rejection.to_reply()
        }
    }
}

async fn accept(mut req: Request, env: &Env) -> Result<Reply, Rejection> {
    let settings = io::settings(env);
    let url = req.url().map_err(|_| Rejection::bad_request("bad URL"))?;
    let query = CallbackQuery::parse(url.query().unwrap_or(""));
    let aes_key = aes_key(&settings)?;
    let endpoint = Endpoint {
        token: required(&settings.wechat_token, "WECHAT_TOKEN")?,
        aes: match &aes_key {
            Some(key) => Some((
                key.clone(),
                required(&settings.wechat_appid, "WECHAT_APPID")?,
            )),
            None => None,
        },
        max_skew_secs: settings.callback_max_skew_secs,
        aes_setting_name: "WECHAT_AES_KEY",
    };
    let now = io::now_secs();
    if req.method() == Method::Get {
        return callback::verify_url(&query, &endpoint, now).map(Reply::text);
    }
    if let Ok(Some(len)) = req.headers().get("content-length") {
        if len
            .parse::<usize>()
            .is_ok_and(|n| n > crate::xml::MAX_BODY_BYTES)
        {
            return Err(Rejection::too_large());
        }
    }
    let body = req
        .bytes()
        .await
        .map_err(|_| Rejection::bad_request("unreadable body"))?;
    let (rules, online) = read_routing_state(env).await;
    let random16 = io::random_bytes::<16>()?;
    let nonce = io::random_nonce()?;
    let ctx = oa::Context {
        endpoint,
        rules: &rules,
        online: online.as_ref(),
        now,
        random16: &random16,
        nonce: &nonce,
    };
    let accepted = oa::handle_post(&query, &body, &ctx)?;
    enqueue(env, QueueMessage::Inbound(accepted.event)).await?;
    Ok(accepted.reply)
}

fn aes_key(settings: &Settings) -> Result<Option<AesKey>, Rejection> {
    settings
        .wechat_aes_key
        .as_deref()
        .map(|k| {
            AesKey::from_encoding_aes_key(k)
                .map_err(|_| Rejection::missing_setting("WECHAT_AES_KEY (valid, 43 characters)"))
        })
        .transpose()
}

/// The rules and online-agent list from KV. A missing or invalid document is logged and routing
/// falls back to "no rules": a customer is never refused because of the merchant's config.
async fn read_routing_state(env: &Env) -> (Rules, Option<OnlineAgents>) {
    let Ok(kv) = env.kv(KV) else {
        log_rejection(
            "/wechat/oa",
            &Rejection::unavailable("KV binding KEFU_KV missing"),
        );
        return (Rules::default(), None);
    };
    let (rules_doc, online_doc) =
        join(kv.get(RULES_KEY).text(), kv.get(ONLINE_AGENTS_KEY).text()).await;
    let rules = match rules_doc {
        Ok(Some(doc)) => Rules::parse(&doc).unwrap_or_else(|why| {
            log_rejection(
                "/wechat/oa",
                &Rejection {
                    status: 500,
                    reason: format!("ignoring rules: {why}"),
                },
            );
            Rules::default()
        }),
        _ => Rules::default(),
    };
    let online = match online_doc {
        Ok(Some(doc)) => OnlineAgents::parse(&doc).ok(),
        _ => None,
    };
    (rules, online)
}

/// Enqueues before the reply; a failure answers 503 so that the platform retries.
pub async fn enqueue(env: &Env, message: QueueMessage) -> Result<(), Rejection> {
    let queue = env
        .queue(QUEUE)
        .map_err(|_| Rejection::unavailable("queue binding KEFU_EVENTS missing"))?;
    queue
        .send(message.to_json())
        .await
        .map_err(|e| Rejection::unavailable(format!("enqueue failed: {e}")))
}
