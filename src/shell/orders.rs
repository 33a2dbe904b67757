//! `POST /hooks/orders`: the card shop's signed order events (`ORDER_WEBHOOK_SECRET`).

use worker::{Env, Request};

use super::io::{self, Meter};
use super::push::{enqueue_then_reply, read_body};
use crate::inline::{Rejection, Reply};
use crate::platforms::orders::{self, HookRequest};

pub async fn handle(mut req: Request, env: &Env, meter: &Meter) -> Reply {
    io::reply_or_log("/hooks/orders", accept(&mut req, env, meter).await)
}

async fn accept(req: &mut Request, env: &Env, meter: &Meter) -> Result<Reply, Rejection> {
    let settings = io::settings(env);
    let body = read_body(req).await?;
    let header = |name| req.headers().get(name).ok().flatten();
    let (timestamp, signature) = (header("x-kefu-timestamp"), header("x-kefu-signature"));
    let request = HookRequest {
        timestamp: timestamp.as_deref(),
        signature: signature.as_deref(),
        body: &body,
    };
    let now = io::now_secs();
    let accepted = orders::handle_post(&request, &settings, now)?;
    enqueue_then_reply(env, meter, accepted, now).await
}
