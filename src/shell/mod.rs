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

use worker::{
    event, Context, Env, MessageBatch, Method, Request, Response, Result, ScheduleContext,
    ScheduledEvent,
};

use crate::inline::Reply;
use crate::log;
use io::respond;

#[event(fetch)]
async fn fetch(req: Request, env: Env, _ctx: Context) -> Result<Response> {
    let started = worker::Date::now().as_millis();
    let path = req.path();
    let method = req.method();
    let meter = io::Meter::default();
    let reply = match (method.clone(), path.as_str()) {
        (Method::Get, "/healthz") => Reply::json(200, r#"{"ok":true}"#.into()),
        (Method::Get | Method::Post, "/wechat/oa") => oa::handle(req, &env, &meter).await,
        (Method::Get | Method::Post, "/wechat/shop") => shop::handle(req, &env, &meter).await,
        (Method::Post, "/wechat/payfeedback") => payfeedback::handle(req, &env, &meter).await,
        (Method::Post, "/hooks/orders") => orders::handle(req, &env, &meter).await,
        (_, p) if p == "/api" || p.starts_with("/api/") => admin::handle(req, &env, &meter).await,
        _ => Reply::json(
            404,
            r#"{"error":"no such route","code":"not_found"}"#.into(),
        ),
    };
    let ms = (worker::Date::now().as_millis() - started) as i64;
    let line = log::request(method.as_ref(), &path, &reply, ms, &meter.borrow());
    worker::console_log!("{line}");
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
