//! The shell of a WeChat push route (`/wechat/oa`, `/wechat/shop`): settings → endpoint, the
//! URL check on GET (synchronous), the body read with its size checked first on POST, the core's
//! decision, enqueue before the reply (503 when that fails, so the platform retries), rejections
//! logged.

use std::future::Future;

use worker::Env;

use super::incoming::Incoming;
use super::io::{self, Meter};
use crate::event::{Platform, QueueMessage, QueuedPush};
use crate::inline::{Rejection, Reply};
use crate::settings::Settings;
use crate::wechat::callback::{self, CallbackQuery, Endpoint, Opened};
use crate::xml::MAX_BODY_BYTES;

/// An authenticated POST (`callback::open`), for the route's core to answer.
pub struct Post<'a> {
    pub opened: Opened<'a>,
    pub endpoint: Endpoint<'a>,
    pub now: i64,
}

/// A push route: its path (for the log line) and whose pushes it takes (for the queue).
pub struct PushRoute {
    pub path: &'static str,
    pub platform: Platform,
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
/// `answer` is the route's core: given the opened push, it parses it and builds the reply, which
/// names the push for the log line (`Answer::logged_reply`). The push may borrow the opened
/// text, so the text is enqueued here, after the push is done with.
pub async fn serve<S>(
    route: PushRoute,
    req: &Incoming,
    env: &Env,
    meter: &Meter,
    endpoint: impl FnOnce(&Settings) -> Result<Endpoint<'_>, Rejection>,
    state: impl Future<Output = Result<S, Rejection>>,
    answer: impl FnOnce(&Post<'_>, S) -> Result<Reply, Rejection>,
) -> Reply {
    io::reply_or_log(
        route.path,
        accept(route.platform, req, env, meter, endpoint, state, answer).await,
    )
}

async fn accept<S>(
    platform: Platform,
    req: &Incoming,
    env: &Env,
    meter: &Meter,
    endpoint: impl FnOnce(&Settings) -> Result<Endpoint<'_>, Rejection>,
    state: impl Future<Output = Result<S, Rejection>>,
    answer: impl FnOnce(&Post<'_>, S) -> Result<Reply, Rejection>,
) -> Result<Reply, Rejection> {
    let settings = io::settings(env);
    let endpoint = endpoint(&settings)?;
    let query = CallbackQuery::parse(req.query());
    let now = io::now_secs();
    let body = req.body(MAX_BODY_BYTES).await?;
    let state = state.await?;
    let post = Post {
        opened: callback::open(&query, &body, &endpoint, now)?,
        endpoint,
        now,
    };
    let reply = answer(&post, state)?;
    let queued = QueuedPush {
        platform,
        received_at: now,
        text: post.opened.plaintext.into_owned(),
    };
    enqueue_then_reply(env, meter, queued, reply).await
}

/// Enqueues an accepted callback's text; its reply goes out only once that succeeded.
pub async fn enqueue_then_reply(
    env: &Env,
    meter: &Meter,
    queued: QueuedPush,
    reply: Reply,
) -> Result<Reply, Rejection> {
    io::enqueue(env, meter, QueueMessage::Inbound(queued).for_queue()?).await?;
    Ok(reply)
}
