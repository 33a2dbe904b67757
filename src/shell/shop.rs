//! `GET|POST /wechat/shop`: the WeChat Shop's message push (`SHOP_TOKEN`, `SHOP_AES_KEY`,
//! `SHOP_APPID`). The core needs nothing besides the request; `push::serve` does the rest.

use worker::Env;

use super::incoming::Incoming;
use super::io::Meter;
use super::push::{self, Post};
use crate::inline::Reply;
use crate::platforms::shop;
use crate::settings::Settings;

const ROUTE: &str = "/wechat/shop";

pub fn verify_url(req: &Incoming, env: &Env) -> Reply {
    push::verify_url(ROUTE, req, env, Settings::shop_endpoint)
}

pub async fn handle(req: &Incoming, env: &Env, meter: &Meter) -> Reply {
    push::serve(
        ROUTE,
        req,
        env,
        meter,
        Settings::shop_endpoint,
        async { Ok(()) },
        |post: Post, ()| shop::handle_post(&post.query, post.body, &post.endpoint, post.now),
    )
    .await
}
