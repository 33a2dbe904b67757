//! The shell of a WeChat push route (`/wechat/oa`, `/wechat/shop`): settings → endpoint, the
//! URL check on GET, the body read with its size checked first on POST, the core's decision,
//! enqueue before the reply (503 when that fails, so the platform retries), rejections logged.

use std::future::Future;

use worker::{Env, Method, Request};

use super::io::{self, log_rejection};
use crate::event::QueueMessage;
use crate::inline::{Accepted, Rejection, Reply};
use crate::settings::Settings;
use crate::wechat::callback::{self, CallbackQuery, Endpoint};
use crate::xml::MAX_BODY_BYTES;

/// An authenticated-to-be POST, as read from the request, for the route's core to decide on.
pub struct Post<'a> {
    pub query: CallbackQuery,
    pub body: Vec<u8>,
    pub endpoint: Endpoint<'a>,
    pub now: i64,
}

/// Serves one WeChat push route. `state` is what the route's core needs besides the request
/// (read from KV, say); it is awaited only for a POST whose size is acceptable. `decide` is the
/// route's core: it authenticates, parses and builds the reply and the event to enqueue.
pub async fn serve<S>(
    route: &'static str,
    req: Request,
    env: &Env,
    endpoint: impl FnOnce(&Settings) -> Result<Endpoint<'_>, Rejection>,
    state: impl Future<Output = Result<S, Rejection>>,
    decide: impl FnOnce(Post<'_>, S) -> Result<Accepted, Rejection>,
) -> Reply {
    match accept(req, env, endpoint, state, decide).await {
        Ok(reply) => reply,
        Err(rejection) => {
            log_rejection(route, &rejection);
            rejection.to_reply()
        }
    }
}

async fn accept<S>(
    mut req: Request,
    env: &Env,
    endpoint: impl FnOnce(&Settings) -> Result<Endpoint<'_>, Rejection>,
    state: impl Future<Output = Result<S, Rejection>>,
    decide: impl FnOnce(Post<'_>, S) -> Result<Accepted, Rejection>,
) -> Result<Reply, Rejection> {
    let settings = io::settings(env);
    let endpoint = endpoint(&settings)?;
    let url = req.url().map_err(|_| Rejection::bad_request("bad URL"))?;
    let query = CallbackQuery::parse(url.query().unwrap_or(""));
    let now = io::now_secs();
    if req.method() == Method::Get {
        return callback::verify_url(&query, &endpoint, now).map(Reply::text);
    }
    if let Ok(Some(len)) = req.headers().get("content-length") {
        if len.parse::<usize>().is_ok_and(|n| n > MAX_BODY_BYTES) {
            return Err(Rejection::too_large());
        }
    }
    let body = req
        .bytes()
        .await
        .map_err(|_| Rejection::bad_request("unreadable body"))?;
    let state = state.await?;
    let post = Post {
        query,
        body,
        endpoint,
        now,
    };
    let accepted = decide(post, state)?;
    io::enqueue(env, QueueMessage::Inbound(Box::new(accepted.event))).await?;
    Ok(accepted.reply)
}
