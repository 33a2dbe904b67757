//! The few things every handler needs from the runtime: settings, clock, randomness, replies,
//! and logging that names a problem once.

use std::cell::RefCell;
use std::collections::BTreeSet;
use std::rc::Rc;

use worker::wasm_bindgen::JsValue;
use worker::worker_sys::{self, web_sys};
use worker::{js_sys, Env};

use super::js;
use crate::inline::{Rejection, Reply};
use crate::settings::Settings;
use crate::usage::Usage;

pub const KV: &str = "KEFU_KV";
pub const QUEUE: &str = "KEFU_EVENTS";
pub const DB: &str = "KEFU_DB";

/// What one invocation used of what is billed per operation, added to where the I/O happens
/// and written on the invocation's log line.
pub type Meter = RefCell<Usage>;

thread_local! {
    /// The settings as read from this `env` object, with the AES keys decoded.
    static SETTINGS: RefCell<Option<(Env, Rc<Settings>)>> = const { RefCell::new(None) };
}

/// The settings, read and decoded once per `env`. Vars and secrets only change with a new
/// version of the Worker, which the runtime starts with a new `env` object (and `wrangler dev`
/// with a new isolate), so the object's identity is the cache key: a cheap comparison that can
/// never serve settings of another version.
pub fn settings(env: &Env) -> Rc<Settings> {
    let cached = SETTINGS.with(|cache| {
        cache
            .borrow()
            .as_ref()
            .filter(|(read_from, _)| js_sys::Object::is(read_from, env))
            .map(|(_, settings)| settings.clone())
    });
    cached.unwrap_or_else(|| {
        let settings = Rc::new(Settings::from_lookup(|name| js::text_binding(env, name)));
        SETTINGS.with(|cache| *cache.borrow_mut() = Some((env.clone(), settings.clone())));
        settings
    })
}

/// Unix milliseconds from the runtime's clock (`SystemTime` panics on wasm32): `Date.now()`,
/// which, unlike `new Date()`, makes no object.
pub fn now_millis() -> i64 {
    js_sys::Date::now() as i64
}

/// Unix seconds from the runtime's clock.
pub fn now_secs() -> i64 {
    now_millis() / 1000
}

/// `N` random blocks of `M` bytes, in one draw: each draw is a call out of the wasm into the
/// runtime's `crypto.getRandomValues`, so a request draws what it needs at once.
pub fn random_blocks<const M: usize, const N: usize>() -> Result<[[u8; M]; N], Rejection> {
    let mut blocks = [[0u8; M]; N];
    getrandom::fill(blocks.as_flattened_mut())
        .map_err(|_| Rejection::Unavailable("no randomness available".into()))?;
    Ok(blocks)
}

/// What sealing a reply takes (`oa::SealRandomness`), in one draw.
pub fn seal_randomness() -> Result<([u8; 16], u64), Rejection> {
    let [random16, nonce] = random_blocks::<16, 2>()?;
    // The block's low 8 bytes: the core takes the nonce's digits from a u64.
    let nonce = u128::from_le_bytes(nonce) as u64;
    Ok((random16, nonce))
}

/// The queue binding `KEFU_EVENTS`, when it is set.
pub fn queue(env: &Env) -> Option<worker_sys::Queue> {
    js::binding(env, QUEUE)
}

/// Sends one message after `delay_secs`; why it failed, as text.
pub async fn send(queue: &worker_sys::Queue, body: &str, delay_secs: u32) -> Result<(), String> {
    let options = match delay_secs {
        0 => JsValue::UNDEFINED,
        secs => js::delay(secs),
    };
    js::settle(queue.send(JsValue::from_str(body), options))
        .await
        .map(drop)
        .map_err(js::error_text)
}

/// Sends one message (as `QueueMessage::for_queue` encoded it) on `KEFU_EVENTS`. A failure is
/// a 503: a callback that could not be enqueued is refused so that the platform retries it, and
/// nothing is lost silently.
pub async fn enqueue(env: &Env, meter: &Meter, message: String) -> Result<(), Rejection> {
    let queue = queue(env)
        .ok_or_else(|| Rejection::Unavailable("queue binding KEFU_EVENTS missing".into()))?;
    send(&queue, &message, 0)
        .await
        .map_err(|e| Rejection::Unavailable(format!("enqueue failed: {e}")))?;
    meter.borrow_mut().queue_send(message.len());
    Ok(())
}

/// The runtime's response for a reply, built directly: a string body and its headers.
pub fn respond(reply: Reply) -> Result<web_sys::Response, JsValue> {
    let headers = web_sys::Headers::new()?;
    headers.set("content-type", reply.content_type)?;
    if let Some(etag) = &reply.etag {
        headers.set("etag", etag)?;
    }
    let init = web_sys::ResponseInit::new();
    init.set_status(reply.status);
    init.set_headers(&headers);
    web_sys::Response::new_with_opt_str_and_init(Some(&reply.body), &init)
}

thread_local! {
    static LOGGED: RefCell<BTreeSet<String>> = const { RefCell::new(BTreeSet::new()) };
}

/// A line for the Worker's log, handed to `console.log` as it is (`worker::console_log!` would
/// copy it through `format!` first: every request logs one).
pub fn log_line(line: &str) {
    web_sys::console::log_1(&JsValue::from_str(line));
}

/// A line for the Worker's log as an error (`console.error`).
pub fn log_error_line(line: &str) {
    web_sys::console::error_1(&JsValue::from_str(line));
}

/// Logs a rejection. Server-side problems (5xx: a missing setting, a failed dependency) are
/// logged once per isolate so a misconfiguration does not flood the log; 4xx are one line each.
pub fn log_rejection(route: &str, rejection: &Rejection) {
    let line = format!("{route}: {} {rejection}", rejection.status());
    if rejection.status() >= 500 {
        let first = LOGGED.with(|seen| seen.borrow_mut().insert(line.clone()));
        if first {
            log_error_line(&line);
        }
    } else {
        log_line(&line);
    }
}

/// The reply of a route: its own, or its rejection's (logged).
pub fn reply_or_log(route: &str, result: Result<Reply, Rejection>) -> Reply {
    result.unwrap_or_else(|rejection| {
        log_rejection(route, &rejection);
        rejection.to_reply()
    })
}
