//! Performs what the core's flows ask for (`pipeline::effect`) on D1, KV, Queues and fetch, and
//! feeds each answer back until the flow is done.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::time::Duration;

use futures_util::future::{select, Either};
use worker::js_sys;
use worker::wasm_bindgen::{JsCast, JsValue};
use worker::wasm_bindgen_futures::JsFuture;
use worker::web_sys::{self, AbortSignal};
use worker::{AbortController, Delay, Env};

use super::io::{self, Meter, KV};
use super::js;
use super::oa::forget_routing_state;
use super::store::{self, db};
use crate::event::QueueMessage;
use crate::http::{parse_retry_after, HttpMethod, HttpRequest, HttpResult, TIMEOUT_SECS};
use crate::inline::Rejection;
use crate::kv;
use crate::pipeline::effect::{Answer, Answered, Effect, Flow, Step};
use crate::pipeline::Context;
use crate::settings::Settings;
use crate::sql::StoreError;
use crate::wechat::crypto::hex;

/// The settings, clock and randomness a flow starts from.
pub fn context(settings: &Settings) -> Result<Context<'_>, Rejection> {
    let [random, unique @ ..] = io::random_blocks::<4, 3>()?;
    Ok(Context {
        settings,
        now: io::now_secs(),
        random: u32::from_le_bytes(random),
        unique: hex(unique.as_flattened()),
    })
}

pub async fn run<F: Flow>(env: &Env, meter: &Meter, mut flow: F) -> F::Output {
    let mut answer = None;
    loop {
        match flow.step(answer.take()) {
            Step::Done(output) => return output,
            Step::Do(effect) => {
                answer = Some(match remembered(&effect) {
                    Some(value) => Ok(Answer::Value(value)),
                    None => {
                        meter.borrow_mut().attempt(&effect);
                        perform(env, meter, effect).await
                    }
                });
            }
        }
    }
}

thread_local! {
    /// What this isolate read from KV lately, for the keys `kv::isolate_cache_secs` names:
    /// key → (read at, value).
    static KV_READS: RefCell<BTreeMap<String, (i64, Option<String>)>> =
        const { RefCell::new(BTreeMap::new()) };
}

/// A KV read this isolate may answer from memory.
fn remembered(effect: &Effect) -> Option<Option<String>> {
    let Effect::KvGet(key) = effect else {
        return None;
    };
    let secs = kv::isolate_cache_secs(key)?;
    let now = io::now_secs();
    KV_READS.with(|reads| {
        reads
            .borrow()
            .get(key)
            .filter(|(read_at, _)| now - read_at < secs)
            .map(|(_, value)| value.clone())
    })
}

fn remember(key: &str, value: &Option<String>) {
    if kv::isolate_cache_secs(key).is_some() {
        let read = (io::now_secs(), value.clone());
        KV_READS.with(|reads| reads.borrow_mut().insert(key.to_owned(), read));
    }
}

fn forget(key: &str) {
    KV_READS.with(|reads| reads.borrow_mut().remove(key));
}

fn unavailable(e: impl ToString) -> StoreError {
    StoreError::Unavailable(e.to_string())
}

fn kv_namespace(env: &Env) -> Result<js::KvNamespace, StoreError> {
    js::kv(env, KV).map_err(StoreError::Unavailable)
}

async fn perform(env: &Env, meter: &Meter, effect: Effect) -> Answered {
    match effect {
        Effect::Query(statement) => store::rows(&db(env)?, meter, &statement)
            .await
            .map(Answer::Rows),
        Effect::Transaction(statements) => store::transaction(&db(env)?, meter, &statements)
            .await
            .map(Answer::Changes),
        Effect::Fetch(request) => Ok(Answer::Http(fetch(&request).await)),
        Effect::KvGet(key) => {
            let value = kv_namespace(env)?
                .text(&key)
                .await
                .map_err(StoreError::Unavailable)?;
            remember(&key, &value);
            Ok(Answer::Value(value))
        }
        Effect::KvPut {
            key,
            value,
            ttl_secs,
        } => {
            kv_namespace(env)?
                .put(&key, &value, ttl_secs)
                .await
                .map_err(StoreError::Unavailable)?;
            forget(&key);
            if key == kv::ONLINE_AGENTS || key == kv::RULES {
                forget_routing_state(); // this isolate's own cache of them
            }
            Ok(Answer::Done)
        }
        Effect::KvList {
            prefix,
            cursor,
            limit,
        } => kv_namespace(env)?
            .keys(prefix, cursor.as_deref(), limit)
            .await
            .map(Answer::Keys)
            .map_err(StoreError::Unavailable),
        Effect::KvDelete(key) => {
            forget(&key);
            kv_namespace(env)?
                .delete(&key)
                .await
                .map(|()| Answer::Done)
                .map_err(StoreError::Unavailable)
        }
        Effect::Enqueue {
            message,
            delay_secs,
        } => send(env, meter, &message, delay_secs)
            .await
            .map(|()| Answer::Done),
    }
}

async fn send(
    env: &Env,
    meter: &Meter,
    message: &QueueMessage,
    delay_secs: u32,
) -> Result<(), StoreError> {
    let body = message.to_json();
    let queue = io::queue(env).ok_or_else(|| unavailable("queue binding KEFU_EVENTS missing"))?;
    io::send(&queue, &body, delay_secs)
        .await
        .map_err(StoreError::Unavailable)?;
    meter.borrow_mut().queue_send(body.len());
    Ok(())
}

/// Makes the request, giving up (and aborting it) after `TIMEOUT_SECS`.
pub async fn fetch(request: &HttpRequest) -> HttpResult {
    let controller = AbortController::default();
    let signal = controller.signal();
    let call = Box::pin(fetch_with(request, &signal));
    let timeout = Delay::from(Duration::from_secs(TIMEOUT_SECS));
    let result = match select(call, timeout).await {
        Either::Left((Ok(result), _)) => result,
        Either::Left((Err(e), _)) => HttpResult::NetworkError(js::error_text(e)),
        Either::Right(((), _)) => {
            controller.abort();
            HttpResult::NetworkError(format!("no answer within {TIMEOUT_SECS} s"))
        }
    };
    result
}

/// The runtime's own fetch, through web_sys: worker's `Fetch`/`RequestInit` carry Cloudflare's
/// image and cache options, converted through serde at every call (code the wasm would carry
/// only for this).
async fn fetch_with(request: &HttpRequest, signal: &AbortSignal) -> Result<HttpResult, JsValue> {
    let response = fetch_response(request, signal).await?;
    let retry_after = response
        .headers()
        .get("retry-after")?
        .and_then(|v| parse_retry_after(&v));
    let body = match response.text() {
        Ok(text) => JsFuture::from(text).await.ok().and_then(|t| t.as_string()),
        Err(_) => None,
    };
    Ok(HttpResult::Response {
        status: response.status(),
        body: body.unwrap_or_default(),
        retry_after,
    })
}

/// The upstream's response to `request` once its headers arrived (within the timeout), its
/// body unread: for streaming it on as it is (`media`).
pub async fn fetch_streamed(request: &HttpRequest) -> Result<web_sys::Response, String> {
    let controller = AbortController::default();
    let signal = controller.signal();
    let call = Box::pin(fetch_response(request, &signal));
    let timeout = Delay::from(Duration::from_secs(TIMEOUT_SECS));
    let answered = match select(call, timeout).await {
        Either::Left((Ok(response), _)) => Ok(response),
        Either::Left((Err(e), _)) => Err(js::error_text(e)),
        Either::Right(((), _)) => {
            controller.abort();
            Err(format!("no answer within {TIMEOUT_SECS} s"))
        }
    };
    answered
}

async fn fetch_response(
    request: &HttpRequest,
    signal: &AbortSignal,
) -> Result<web_sys::Response, JsValue> {
    let headers = web_sys::Headers::new()?;
    for (name, value) in &request.headers {
        headers.set(name, value)?;
    }
    let init = web_sys::RequestInit::new();
    init.set_method(match request.method {
        HttpMethod::Get => "GET",
        HttpMethod::Post => "POST",
    });
    init.set_headers(&headers);
    if let Some(body) = &request.body {
        init.set_body(&JsValue::from_str(body));
    }
    init.set_signal(Some(signal));
    let global: web_sys::WorkerGlobalScope = js_sys::global().unchecked_into();
    JsFuture::from(global.fetch_with_str_and_init(&request.url, &init))
        .await?
        .dyn_into()
}
