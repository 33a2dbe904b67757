//! `GET|POST /wechat/shop`: the WeChat Shop's message push (`SHOP_TOKEN`, `SHOP_AES_KEY`,
//! `SHOP_APPID`). The core needs nothing besides the request; `push::serve` does the rest.

use worker::Env;

use super::incoming::Incoming;
use super::io::Meter;
use super::push::{self, Post, PushRoute};
use crate::event::Platform;
use crate::inline::{Answer, Reply};
use crate::platforms::shop;
use crate::settings::Settings;

const ROUTE: &str = "/wechat/shop";

pub fn verify_url(req: &Incoming, env: &Env) -> Reply {
    push::verify_url(ROUTE, req, env, Settings::shop_endpoint)
}

pub async fn handle(req: &Incoming, env: &Env, meter: &Meter) -> Reply {
    push::serve(
        PushRoute {
            path: ROUTE,
            platform: Platform::Shop,
        },
        req,
        env,
        meter,
        Settings::shop_endpoint,
        async { Ok(()) },
        |post: &Post, ()| shop::answer(&post.opened).map(Answer::logged_reply),
    )
    .await
}
