//! `POST /zalo/oa`: Zalo OA's webhook, signed with `X-ZEvent-Signature` (`ZALO_OA_SECRET_KEY`).

use worker::Env;

use super::incoming::Incoming;
use super::io::{self, Meter};
use super::push::enqueue_then_reply;
use crate::inline::{Rejection, Reply};
use crate::platforms::zalo::{self, WebhookRequest};
use crate::xml::MAX_BODY_BYTES;

pub async fn handle(req: &Incoming, env: &Env, meter: &Meter) -> Reply {
    io::reply_or_log("/zalo/oa", accept(req, env, meter).await)
}

async fn accept(req: &Incoming, env: &Env, meter: &Meter) -> Result<Reply, Rejection> {
    let settings = io::settings(env);
    let body = req.body(MAX_BODY_BYTES).await?;
    let signature = req.header("x-zevent-signature");
    let request = WebhookRequest {
        signature: signature.as_deref(),
        body: &body,
    };
    let now = io::now_secs();
    let (queued, reply) = zalo::handle_post(&request, &settings, now)?.into_queued(now);
    enqueue_then_reply(env, meter, queued, reply).await
}
