//! The Worker: entry points and routing. Each handler reads what the core needs from the
//! bindings, calls the core, and performs the I/O the core asks for.

mod admin;
mod consumer;
mod cron;
mod incoming;
mod io;
mod js;
mod media;
mod oa;
mod orders;
mod payfeedback;
mod perform;
mod push;
mod shop;
mod store;
mod zalo;

use worker::wasm_bindgen::prelude::{wasm_bindgen, JsValue};
use worker::wasm_bindgen_futures::future_to_promise;
use worker::worker_sys::web_sys;
use worker::{event, Env, ScheduleContext, ScheduledEvent};

use crate::inline::Reply;
use crate::log;
use crate::routes::{self, Deferred, Immediate, Route};
use crate::usage::Usage;
use incoming::Incoming;
use io::{respond, Meter};

/// talc instead of Rust's default dlmalloc: 2 KB less of the gzipped wasm (bench/README.md, Size).
/// Safety: `new_global` assumes one thread, which a Worker's wasm (no atomics) always is.
#[global_allocator]
static ALLOCATOR: talc::TalckWasm = unsafe { talc::TalckWasm::new_global() };

/// The fetch handler, exported by hand rather than with `#[event(fetch)]`: a route that needs no
/// I/O is answered synchronously, without the promise and task an asynchronous export makes for
/// every request. Takes and answers the runtime's own objects (`Incoming`, `io::respond`).
#[wasm_bindgen(wasm_bindgen = worker::wasm_bindgen)]
pub fn fetch(
    req: web_sys::Request,
    env: Env,
    _ctx: worker::worker_sys::Context,
) -> std::result::Result<JsValue, JsValue> {
    let started = io::now_millis();
    let req = Incoming::new(req);
    let reply = match routes::route(&req.method, req.path()) {
        Route::Immediate(Immediate::Health) => Reply::json(200, r#"{"ok":true}"#.into()),
        Route::Immediate(Immediate::VerifyOa) => oa::verify_url(&req, &env),
        Route::Immediate(Immediate::VerifyShop) => shop::verify_url(&req, &env),
        Route::Immediate(Immediate::NotFound) => Reply::json(
            404,
            r#"{"error":"no such route","code":"not_found"}"#.into(),
        ),
        Route::Deferred(route) => {
            let answered = async move {
                let meter = Meter::default();
                if let Deferred::Media = route {
                    let streamed = media::handle(&req, &env, &meter).await;
                    let usage = *meter.borrow();
                    return match streamed {
                        Ok(response) => Ok(response.into()),
                        Err(reply) => answer(&req.method, req.path(), reply, started, &usage),
                    };
                }
                let reply = match route {
                    Deferred::OaPush => oa::handle(&req, &env, &meter).await,
                    Deferred::ShopPush => shop::handle(&req, &env, &meter).await,
                    Deferred::PayFeedback => payfeedback::handle(&req, &env, &meter).await,
                    Deferred::Orders => orders::handle(&req, &env, &meter).await,
                    Deferred::ZaloOa => zalo::handle(&req, &env, &meter).await,
                    Deferred::Admin | Deferred::Media => admin::handle(&req, &env, &meter).await,
                };
                let usage = *meter.borrow();
                answer(&req.method, req.path(), reply, started, &usage)
            };
            return Ok(future_to_promise(answered).into());
        }
    };
    answer(&req.method, req.path(), reply, started, &Usage::default())
}

/// The response for a reply, and its log line (`log::request`) with what it used.
fn answer(
    method: &str,
    path: &str,
    reply: Reply,
    started: i64,
    usage: &Usage,
) -> std::result::Result<JsValue, JsValue> {
    let ms = io::now_millis() - started;
    if let Some(line) = log::request(method, path, &reply, ms, usage) {
        io::log_line(&line);
    }
    Ok(respond(reply)?.into())
}

/// The queue handler, exported by hand like `fetch`: the batch and its messages are the
/// runtime's own objects (`consumer`). Every message is acked or retried individually, so it
/// never fails.
#[wasm_bindgen(wasm_bindgen = worker::wasm_bindgen)]
pub fn queue(
    batch: worker::worker_sys::MessageBatch,
    env: Env,
    _ctx: worker::worker_sys::Context,
) -> worker::js_sys::Promise {
    future_to_promise(async move {
        consumer::handle(batch, &env).await;
        Ok(JsValue::UNDEFINED)
    })
}

#[event(scheduled)]
async fn scheduled(_event: ScheduledEvent, env: Env, _ctx: ScheduleContext) {
    cron::run(&env).await;
}
