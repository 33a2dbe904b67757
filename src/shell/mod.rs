//! The Worker: entry points and routing. Each handler reads what the core needs from the
//! bindings, calls the core, and performs the I/O the core asks for.

mod admin;
mod consumer;
mod cron;
mod io;
mod oa;
mod orders;
mod payfeedback;
mod perform;
mod push;
mod shop;
mod store;

use worker::worker_sys::web_sys;
use worker::{event, Context, Env, MessageBatch, Result, ScheduleContext, ScheduledEvent};

use crate::http;
use crate::inline::Reply;
use crate::log;
use io::respond;

/// Takes and answers the runtime's own request and response objects: a request is converted to
/// workers-rs's type only on the routes that read more than its method and URL.
#[event(fetch)]
async fn fetch(req: web_sys::Request, env: Env, _ctx: Context) -> Result<web_sys::Response> {
    let started = io::now_millis();
    let (method, url) = (req.method(), req.url());
    let path = http::url_path(&url);
    let reply = match (method.as_str(), path) {
        ("GET", "/healthz") => Reply::json(200, r#"{"ok":true}"#.into()),
        ("GET" | "POST", "/wechat/oa") => oa::handle(req.into(), &env).await,
        ("GET" | "POST", "/wechat/shop") => shop::handle(req.into(), &env).await,
        ("POST", "/wechat/payfeedback") => payfeedback::handle(req.into(), &env).await,
        ("POST", "/hooks/orders") => orders::handle(req.into(), &env).await,
        (_, p) if p == "/api" || p.starts_with("/api/") => admin::handle(req.into(), &env).await,
        _ => Reply::json(
            404,
            r#"{"error":"no such route","code":"not_found"}"#.into(),
        ),
    };
    let ms = io::now_millis() - started;
    if let Some(line) = log::request(&method, path, &reply, ms) {
        worker::console_log!("{line}");
    }
    respond(reply)
}

#[event(queue)]
async fn queue(batch: MessageBatch<String>, env: Env, _ctx: Context) -> Result<()> {
    consumer::handle(batch, &env).await;
    // Every message was acked or retried individually; an Err here would panic the isolate.
    Ok(())
}

#[event(scheduled)]
async fn scheduled(_event: ScheduledEvent, env: Env, _ctx: ScheduleContext) {
    cron::run(&env).await;
}
