//! `POST /hooks/orders`: the card shop's signed order events (`ORDER_WEBHOOK_SECRET`).

use worker::Env;

use super::incoming::Incoming;
use super::io::{self, Meter};
use super::push::enqueue_then_reply;
use crate::inline::{Rejection, Reply};
use crate::platforms::orders::{self, HookRequest};
use crate::xml::MAX_BODY_BYTES;

pub async fn handle(req: &Incoming, env: &Env, meter: &Meter) -> Reply {
    io::reply_or_log("/hooks/orders", accept(req, env, meter).await)
}

async fn accept(req: &Incoming, env: &Env, meter: &Meter) -> Result<Reply, Rejection> {
    let settings = io::settings(env);
    let body = req.body(MAX_BODY_BYTES).await?;
    let (timestamp, signature) = (
        req.header("x-kefu-timestamp"),
        req.header("x-kefu-signature"),
    );
    let request = HookRequest {
        timestamp: timestamp.as_deref(),
        signature: signature.as_deref(),
        body: &body,
    };
    let now = io::now_secs();
    let (queued, reply) = orders::handle_post(&request, &settings, now)?.into_queued(now);
    enqueue_then_reply(env, meter, queued, reply).await
}
