//! `GET|POST /wechat/oa`: reads the rules and the online-agent list, lets the core decide, and
//! leaves the rest of the route (settings, body, enqueue, reply) to `push::serve`.

use std::cell::RefCell;
use std::rc::Rc;

use futures_util::future::join;
use worker::Env;

use super::incoming::Incoming;
use super::io::{self, log_rejection, Meter, KV};
use super::js;
use super::push::{self, Post, PushRoute};
use crate::event::Platform;
use crate::inline::{Answer, Rejection, Reply};
use crate::kv;
use crate::platforms::oa::{self, Routing};
use crate::settings::Settings;

const ROUTE: &str = "/wechat/oa";

thread_local! {
    /// The rules and online agents as read, for `kv::ISOLATE_CACHE_SECS`; this isolate's own
    /// writes (admin rules, the cron's agent list) drop them at once (`forget_routing_state`).
    static ROUTING: RefCell<Option<(i64, Rc<Routing>)>> = const { RefCell::new(None) };
}

/// Makes the next callback read the rules and online agents from KV again.
pub fn forget_routing_state() {
    ROUTING.with(|cache| cache.borrow_mut().take());
}

pub fn verify_url(req: &Incoming, env: &Env) -> Reply {
    push::verify_url(ROUTE, req, env, Settings::oa_endpoint)
}

pub async fn handle(req: &Incoming, env: &Env, meter: &Meter) -> Reply {
    let state = async { Ok(routing_state(env, meter).await) };
    push::serve(
        PushRoute {
            path: ROUTE,
            platform: Platform::Oa,
        },
        req,
        env,
        meter,
        Settings::oa_endpoint,
        state,
        |post: &Post, routing: Rc<Routing>| {
            let ctx = oa::Context {
                endpoint: &post.endpoint,
                rules: &routing.rules,
                online: routing.online.as_ref(),
                now: post.now,
                randomness: &io::seal_randomness,
            };
            oa::answer(&post.opened, &ctx).map(Answer::logged_reply)
        },
    )
    .await
}

async fn routing_state(env: &Env, meter: &Meter) -> Rc<Routing> {
    let now = io::now_secs();
    let cached = ROUTING.with(|cache| {
        cache
            .borrow()
            .as_ref()
            .filter(|(read_at, _)| now - read_at < kv::ISOLATE_CACHE_SECS)
            .map(|(_, r)| r.clone())
    });
    if let Some(routing) = cached {
        return routing;
    }
    let (routing, complete) = read_routing_state(env, meter).await;
    let routing = Rc::new(routing);
    if complete {
        ROUTING.with(|cache| *cache.borrow_mut() = Some((now, routing.clone())));
    }
    routing
}

/// The rules and online-agent list from KV, and whether both reads succeeded (only then is the
/// answer worth caching). A missing or invalid document is logged and routing falls back to "no
/// rules": a customer is never refused because of the merchant's config.
async fn read_routing_state(env: &Env, meter: &Meter) -> (Routing, bool) {
    let kv = match js::kv(env, KV) {
        Ok(kv) => kv,
        Err(missing) => {
            log_rejection(ROUTE, &Rejection::Unavailable(missing));
            return (Routing::from_documents(None, None), false);
        }
    };
    let (rules_doc, online_doc) = join(kv.text(kv::RULES), kv.text(kv::ONLINE_AGENTS)).await;
    meter.borrow_mut().kv_reads += 2;
    let complete = rules_doc.is_ok() && online_doc.is_ok();
    let routing = Routing::from_documents(
        rules_doc.ok().flatten().as_deref(),
        online_doc.ok().flatten().as_deref(),
    );
    if let Some(why) = &routing.ignored {
        log_rejection(ROUTE, &Rejection::Misconfigured(why.clone()));
    }
    (routing, complete)
}
