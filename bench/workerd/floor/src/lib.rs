//! A POST's I/O and nothing else, as bench/workerd/empty-io.mjs does it with `KV_KEEP_MS`: the
//! body read, the KV keys `rules` and `kf_online` read together and kept 10 s in the isolate, one
//! queue send, a constant reply. Exported, read and answered the way kefu-edge's shell does it
//! (src/shell/mod.rs, incoming.rs, io.rs): the runtime's own request, `arrayBuffer()` into a
//! `Vec`, a promise per await, a `Headers` object on the response.

use std::cell::Cell;

use futures_util::future::join;
use worker::js_sys::{Date, Reflect, Uint8Array};
use worker::wasm_bindgen::prelude::{wasm_bindgen, JsValue};
use worker::wasm_bindgen::JsCast;
use worker::wasm_bindgen_futures::{future_to_promise, JsFuture};
use worker::worker_sys::{web_sys, Context, Queue};
use worker::Env;

/// As kefu-edge's allocator (src/shell/mod.rs).
/// Safety: `new_global` assumes one thread, which a Worker's wasm (no atomics) always is.
#[global_allocator]
static ALLOCATOR: talc::TalckWasm = unsafe { talc::TalckWasm::new_global() };

const KEEP_MS: f64 = 10_000.0;
const REPLY: &str = "<xml><ToUserName><![CDATA[oUserBench0123456789]]></ToUserName><FromUserName><![CDATA[gh_bench]]></FromUserName><CreateTime>1700000000</CreateTime><MsgType><![CDATA[transfer_customer_service]]></MsgType></xml>";

thread_local! {
    /// When the keys were read, and whether `rules` was there.
    static KEPT: Cell<Option<(f64, bool)>> = const { Cell::new(None) };
}

#[wasm_bindgen(wasm_bindgen = worker::wasm_bindgen)]
pub fn fetch(req: web_sys::Request, env: Env, _ctx: Context) -> Result<JsValue, JsValue> {
    Ok(future_to_promise(async move {
        let body = JsFuture::from(req.array_buffer()?).await?;
        let body = Uint8Array::new(&body).to_vec();
        let rules = match KEPT.get() {
            Some((read_at, rules)) if Date::now() - read_at < KEEP_MS => rules,
            _ => read_keys(&env).await?,
        };
        let queue: Queue = Reflect::get(&env, &JsValue::from_str("KEFU_EVENTS"))?.unchecked_into();
        let message = format!(
            r#"{{"bytes":{},"rules":{rules},"online":null}}"#,
            body.len()
        );
        JsFuture::from(queue.send(JsValue::from_str(&message), JsValue::UNDEFINED)?).await?;
        let headers = web_sys::Headers::new()?;
        headers.set("content-type", "application/xml")?;
        let init = web_sys::ResponseInit::new();
        init.set_headers(&headers);
        Ok(web_sys::Response::new_with_opt_str_and_init(Some(REPLY), &init)?.into())
    })
    .into())
}

/// Reads both keys together and keeps the time and whether `rules` was there.
async fn read_keys(env: &Env) -> Result<bool, JsValue> {
    let kv = env
        .kv("KEFU_KV")
        .map_err(|e| JsValue::from_str(&e.to_string()))?;
    let (rules, _online) = join(kv.get("rules").text(), kv.get("kf_online").text()).await;
    let rules = rules
        .map_err(|e| JsValue::from_str(&e.to_string()))?
        .is_some();
    KEPT.set(Some((Date::now(), rules)));
    Ok(rules)
}
