//! `GET|POST /wechat/kf`: the 微信客服 callback. The URL check answers the decrypted echostr;
//! a verified `kf_msg_or_event` is enqueued as a sync of its account and answered `success`
//! at once (the sync runs in the consumer, never inline).

use worker::Env;

use super::incoming::Incoming;
use super::io::{self, Meter};
use crate::event::QueueMessage;
use crate::inline::{Rejection, Reply};
use crate::platforms::wecom_kf;
use crate::xml::MAX_BODY_BYTES;

const ROUTE: &str = "/wechat/kf";

pub fn verify_url(req: &Incoming, env: &Env) -> Reply {
    let settings = io::settings(env);
    let verified = settings.kf_endpoint().and_then(|endpoint| {
        wecom_kf::verify_url(req.query(), &endpoint, io::now_secs()).map(Reply::text)
    });
    io::reply_or_log(ROUTE, verified)
}

pub async fn handle(req: &Incoming, env: &Env, meter: &Meter) -> Reply {
    io::reply_or_log(ROUTE, accept(req, env, meter).await)
}

async fn accept(req: &Incoming, env: &Env, meter: &Meter) -> Result<Reply, Rejection> {
    let settings = io::settings(env);
    let endpoint = settings.kf_endpoint()?;
    let now = io::now_secs();
    let body = req.body(MAX_BODY_BYTES).await?;
    let opened = wecom_kf::open(req.query(), &body, &endpoint, now)?;
    let Some(sync) = wecom_kf::parse_callback(&opened.plaintext, now)? else {
        return Ok(Reply::success());
    };
    let accepted = format!("kf_msg_or_event for {}", sync.open_kfid);
    io::enqueue(env, meter, QueueMessage::KfSync(sync).for_queue()?).await?;
    Ok(Reply {
        accepted: Some(accepted),
        ..Reply::success()
    })
}
