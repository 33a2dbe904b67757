//! `POST /wechat/payfeedback`: WeChat Pay complaint notifications (`PAY_SIGN_KEY`).

use worker::{Env, Request};

use super::io::{self, Meter};
use super::push::{enqueue_then_reply, read_body};
use crate::inline::{Rejection, Reply};
use crate::platforms::payfeedback;

pub async fn handle(mut req: Request, env: &Env, meter: &Meter) -> Reply {
    io::reply_or_log("/wechat/payfeedback", accept(&mut req, env, meter).await)
}

async fn accept(req: &mut Request, env: &Env, meter: &Meter) -> Result<Reply, Rejection> {
    let settings = io::settings(env);
    let body = read_body(req).await?;
    let now = io::now_secs();
    let accepted = payfeedback::handle_post(&body, &settings, now)?;
    enqueue_then_reply(env, meter, accepted, now).await
}
