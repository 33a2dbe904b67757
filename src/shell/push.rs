//! The shell of a WeChat push route (`/wechat/oa`, `/wechat/shop`): settings → endpoint, the
//! URL check on GET, the body read with its size checked first on POST, the core's decision,
//! enqueue before the reply (503 when that fails, so the platform retries), rejections logged.

use std::future::Future;

use futures_util::StreamExt;

use worker::{Env, Method, Request};

use super::io::{self, Meter};
use crate::event::{Keyed, QueueMessage, QueuedEvent};
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
pub async fn serve<S, P: Keyed>(
    route: &'static str,
    req: Request,
    env: &Env,
    meter: &Meter,
    endpoint: impl FnOnce(&Settings) -> Result<Endpoint<'_>, Rejection>,
    state: impl Future<Output = Result<S, Rejection>>,
    decide: impl FnOnce(Post<'_>, S) -> Result<Accepted<P>, Rejection>,
) -> Reply {
    io::reply_or_log(
        route,
        accept(req, env, meter, endpoint, state, decide).await,
    )
}

async fn accept<S, P: Keyed>(
    mut req: Request,
    env: &Env,
    meter: &Meter,
    endpoint: impl FnOnce(&Settings) -> Result<Endpoint<'_>, Rejection>,
    state: impl Future<Output = Result<S, Rejection>>,
    decide: impl FnOnce(Post<'_>, S) -> Result<Accepted<P>, Rejection>,
) -> Result<Reply, Rejection> {
    let settings = io::settings(env);
    let endpoint = endpoint(&settings)?;
    let url = req
        .url()
        .map_err(|_| Rejection::Malformed("bad URL".into()))?;
    let query = CallbackQuery::parse(url.query().unwrap_or(""));
    let now = io::now_secs();
    if req.method() == Method::Get {
        return callback::verify_url(&query, &endpoint, now).map(Reply::text);
    }
    let body = read_body(&mut req).await?;
    let state = state.await?;
    let post = Post {
        query,
        body,
        endpoint,
        now,
    };
    enqueue_then_reply(env, meter, decide(post, state)?, now).await
}

/// The request body, refused with 413 as soon as it is known to be too big: from its declared
/// length, or while it streams in (a chunked body declares none).
pub async fn read_body(req: &mut Request) -> Result<Vec<u8>, Rejection> {
    if let Ok(Some(len)) = req.headers().get("content-length") {
        if len.parse::<usize>().is_ok_and(|n| n > MAX_BODY_BYTES) {
            return Err(Rejection::TooLarge);
        }
    }
    let unreadable = |_| Rejection::Malformed("unreadable body".into());
    let mut stream = req.stream().map_err(unreadable)?;
    let mut body = Vec::new();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(unreadable)?;
        if body.len() + chunk.len() > MAX_BODY_BYTES {
            return Err(Rejection::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// Enqueues an accepted callback's event; its reply goes out only once that succeeded.
pub async fn enqueue_then_reply<P: Keyed>(
    env: &Env,
    meter: &Meter,
    accepted: Accepted<P>,
    received_at: i64,
) -> Result<Reply, Rejection> {
    let event = QueuedEvent::accepted(accepted.push, received_at);
    let described = event.describe();
    io::enqueue(
        env,
        meter,
        QueueMessage::Inbound(Box::new(event)).for_queue()?,
    )
    .await?;
    Ok(Reply {
        accepted: Some(described),
        ..accepted.reply
    })
}
