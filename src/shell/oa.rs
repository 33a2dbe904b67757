//! `GET|POST /wechat/oa`: reads the rules and the online-agent list, lets the core decide, and
//! leaves the rest of the route (settings, body, enqueue, reply) to `push::serve`.

use futures_util::future::join;
use worker::{Env, Request};

use super::io::{self, log_rejection, KV};
use super::push::{self, Post};
use crate::inline::{Rejection, Reply};
use crate::platforms::oa::{self, OnlineAgents};
use crate::rules::Rules;
use crate::settings::Settings;

pub const RULES_KEY: &str = "rules";
pub const ONLINE_AGENTS_KEY: &str = "kf_online";
const ROUTE: &str = "/wechat/oa";

/// What the core needs besides the request: state from KV, and randomness for a sealed reply.
struct RoutingState {
    rules: Rules,
    online: Option<OnlineAgents>,
    random16: [u8; 16],
    nonce: String,
}

pub async fn handle(req: Request, env: &Env) -> Reply {
    let state = async {
        let (rules, online) = read_routing_state(env).await;
        Ok(RoutingState {
            rules,
            online,
            random16: io::random_bytes::<16>()?,
            nonce: io::random_nonce()?,
        })
    };
    push::serve(
        ROUTE,
        req,
        env,
        Settings::oa_endpoint,
        state,
        |post: Post, state: RoutingState| {
            let ctx = oa::Context {
                endpoint: post.endpoint,
                rules: &state.rules,
                online: state.online.as_ref(),
                now: post.now,
                random16: &state.random16,
                nonce: &state.nonce,
            };
            oa::handle_post(&post.query, &post.body, &ctx)
        },
    )
    .await
}

/// The rules and online-agent list from KV. A missing or invalid document is logged and routing
/// falls back to "no rules": a customer is never refused because of the merchant's config.
async fn read_routing_state(env: &Env) -> (Rules, Option<OnlineAgents>) {
    let Ok(kv) = env.kv(KV) else {
        log_rejection(ROUTE, &Rejection::unavailable("KV binding KEFU_KV missing"));
        return (Rules::default(), None);
    };
    let (rules_doc, online_doc) =
        join(kv.get(RULES_KEY).text(), kv.get(ONLINE_AGENTS_KEY).text()).await;
    let rules = match rules_doc {
        Ok(Some(doc)) => Rules::parse(&doc).unwrap_or_else(|why| {
            log_rejection(
                ROUTE,
                &Rejection {
                    status: 500,
                    reason: format!("ignoring rules: {why}"),
                },
            );
            Rules::default()
        }),
        _ => Rules::default(),
    };
    let online = match online_doc {
        Ok(Some(doc)) => OnlineAgents::parse(&doc).ok(),
        _ => None,
    };
    (rules, online)
}
