//! `POST /wechat/payfeedback`: WeChat Pay complaint notifications (`PAY_SIGN_KEY`).

use worker::Env;

use super::incoming::Incoming;
use super::io::{self, Meter};
use super::push::enqueue_then_reply;
use crate::inline::{Rejection, Reply};
use crate::platforms::payfeedback;
use crate::xml::MAX_BODY_BYTES;

pub async fn handle(req: &Incoming, env: &Env, meter: &Meter) -> Reply {
    io::reply_or_log("/wechat/payfeedback", accept(req, env, meter).await)
}

async fn accept(req: &Incoming, env: &Env, meter: &Meter) -> Result<Reply, Rejection> {
    let settings = io::settings(env);
    let body = req.body(MAX_BODY_BYTES).await?;
    let now = io::now_secs();
    let (queued, reply) = payfeedback::handle_post(&body, &settings, now)?.into_queued(now);
    enqueue_then_reply(env, meter, queued, reply).await
}
