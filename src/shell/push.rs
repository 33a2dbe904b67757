//! The shell of a WeChat push route (`/wechat/oa`, `/wechat/shop`): settings → endpoint, the
//! URL check on GET (synchronous), the body read with its size checked first on POST, the core's
//! decision, enqueue before the reply (503 when that fails, so the platform retries), rejections
//! logged.

use std::future::Future;

use worker::Env;

use super::incoming::Incoming;
use super::io::{self, Meter};
use crate::event::{Keyed, QueueMessage, QueuedEvent, QueuedPush};
use crate::inline::{Accepted, Rejection, Reply};
use crate::settings::Settings;
use crate::wechat::callback::{self, CallbackQuery, Endpoint};
use crate::xml::MAX_BODY_BYTES;

/// An authenticated-to-be POST, as read from the request, for the route's core to decide on.
pub struct Post<'a> {
    pub query: CallbackQuery,
    pub body: &'a [u8],
    pub endpoint: Endpoint<'a>,
    pub now: i64,
}

/// Answers WeChat's URL check (GET with `echostr`) of one push route.
pub fn verify_url(
    route: &'static str,
    req: &Incoming,
    env: &Env,
    endpoint: impl FnOnce(&Settings) -> Result<Endpoint<'_>, Rejection>,
) -> Reply {
    let settings = io::settings(env);
    let verified = endpoint(&settings).and_then(|endpoint| {
        let query = CallbackQuery::parse(req.query());
        callback::verify_url(&query, &endpoint, io::now_secs()).map(Reply::text)
    });
    io::reply_or_log(route, verified)
}

/// Serves one push (POST) of a WeChat push route. `state` is what the route's core needs besides
/// the request (read from KV, say); it is awaited only for a body whose size is acceptable.
/// `decide` is the route's core: it authenticates, parses and builds the reply and the event to
/// enqueue.
pub async fn serve<S, P: Keyed>(
    route: &'static str,
    req: &Incoming,
    env: &Env,
    meter: &Meter,
    endpoint: impl FnOnce(&Settings) -> Result<Endpoint<'_>, Rejection>,
    state: impl Future<Output = Result<S, Rejection>>,
    decide: impl FnOnce(Post<'_>, S) -> Result<Accepted<'_, P>, Rejection>,
) -> Reply {
    io::reply_or_log(
        route,
        accept(req, env, meter, endpoint, state, decide).await,
    )
}

async fn accept<S, P: Keyed>(
    req: &Incoming,
    env: &Env,
    meter: &Meter,
    endpoint: impl FnOnce(&Settings) -> Result<Endpoint<'_>, Rejection>,
    state: impl Future<Output = Result<S, Rejection>>,
    decide: impl FnOnce(Post<'_>, S) -> Result<Accepted<'_, P>, Rejection>,
) -> Result<Reply, Rejection> {
    let settings = io::settings(env);
    let endpoint = endpoint(&settings)?;
    let query = CallbackQuery::parse(req.query());
    let now = io::now_secs();
    let body = req.body(MAX_BODY_BYTES).await?;
    let state = state.await?;
    let post = Post {
        query,
        body: &body,
        endpoint,
        now,
    };
    enqueue_then_reply(env, meter, decide(post, state)?, now).await
}

/// Enqueues an accepted callback's event; its reply goes out only once that succeeded.
pub async fn enqueue_then_reply<P: Keyed>(
    env: &Env,
    meter: &Meter,
    accepted: Accepted<'_, P>,
    received_at: i64,
) -> Result<Reply, Rejection> {
    let described = QueuedEvent::accepted(accepted.push, received_at).describe();
    let push = QueuedPush {
        platform: P::PLATFORM,
        received_at,
        text: accepted.text.into_owned(),
    };
    io::enqueue(env, meter, QueueMessage::Inbound(push).for_queue()?).await?;
    Ok(Reply {
        accepted: Some(described),
        ..accepted.reply
    })
}
