//! The runtime's bindings called directly where workers-rs's wrappers would convert options and
//! results through serde_wasm_bindgen at every call (D1 results and meta, queue send and retry
//! options, KV's options and listings): code the wasm carries only for that (bench/README.md,
//! Size).

use worker::js_sys::{self, Object, Promise, Reflect};
use worker::wasm_bindgen::prelude::wasm_bindgen;
use worker::wasm_bindgen::{JsCast, JsValue};
use worker::wasm_bindgen_futures::JsFuture;
use worker::Env;

use crate::pipeline::effect::KeyPage;

/// The binding `name` of `env`, when it is set.
pub fn binding<T: JsCast>(env: &Env, name: &str) -> Option<T> {
    let value = property(env, name);
    (!value.is_undefined()).then(|| value.unchecked_into())
}

/// A plain object of these properties, as the runtime's options are.
pub fn object(properties: &[(&str, JsValue)]) -> Object {
    let object = Object::new();
    for (name, value) in properties {
        // Setting a property of a new plain object cannot fail.
        let _ = Reflect::set(&object, &JsValue::from_str(name), value);
    }
    object
}

/// The queue's option object for a message sent or retried after `secs`.
pub fn delay(secs: u32) -> JsValue {
    object(&[("delaySeconds", secs.into())]).into()
}

/// A property of an object; `undefined` when there is none.
pub fn property(value: &JsValue, name: &str) -> JsValue {
    Reflect::get(value, &JsValue::from_str(name)).unwrap_or(JsValue::UNDEFINED)
}

/// What a call that returns a promise settles to.
pub async fn settle(call: Result<Promise, JsValue>) -> Result<JsValue, JsValue> {
    JsFuture::from(call?).await
}

/// A thrown value as text: `Name: message` for an `Error`, as the runtime prints them.
pub fn error_text(error: JsValue) -> String {
    match error.dyn_ref::<js_sys::Error>() {
        Some(error) => format!(
            "{}: {}",
            String::from(error.name()),
            String::from(error.message())
        ),
        None => error
            .as_string()
            .unwrap_or_else(|| "a thrown value that is neither an Error nor text".into()),
    }
}

/// The text value of a setting (a var or a secret: both are strings to the Worker).
pub fn text_binding(env: &Env, name: &str) -> Option<String> {
    property(env, name).as_string()
}

/// An array's items as JSON text, for serde_json to read.
pub fn json_text(value: &JsValue) -> Result<String, JsValue> {
    Ok(js_sys::JSON::stringify(value)?.into())
}

#[wasm_bindgen(wasm_bindgen = worker::wasm_bindgen)]
extern "C" {
    /// A KV namespace binding.
    pub type KvNamespace;

    #[wasm_bindgen(method, catch, js_name = get)]
    fn get_text(this: &KvNamespace, key: &str) -> Result<Promise, JsValue>;

    #[wasm_bindgen(method, catch, js_name = put)]
    fn put_text(
        this: &KvNamespace,
        key: &str,
        value: &str,
        options: &JsValue,
    ) -> Result<Promise, JsValue>;

    #[wasm_bindgen(method, catch, js_name = delete)]
    fn delete_key(this: &KvNamespace, key: &str) -> Result<Promise, JsValue>;

    #[wasm_bindgen(method, catch, js_name = list)]
    fn list_keys(this: &KvNamespace, options: &Object) -> Result<Promise, JsValue>;
}

/// KV's calls, each failing with the runtime's reason as text.
impl KvNamespace {
    /// The value of `key` as text; `None` when there is none.
    pub async fn text(&self, key: &str) -> Result<Option<String>, String> {
        let value = settle(self.get_text(key)).await.map_err(error_text)?;
        Ok(value.as_string())
    }

    /// Stores `value` under `key`, expiring after `ttl_secs` when given.
    pub async fn put(&self, key: &str, value: &str, ttl_secs: Option<u64>) -> Result<(), String> {
        let options = match ttl_secs {
            Some(ttl) => object(&[("expirationTtl", JsValue::from_f64(ttl as f64))]).into(),
            None => JsValue::UNDEFINED,
        };
        settle(self.put_text(key, value, &options))
            .await
            .map(drop)
            .map_err(error_text)
    }

    pub async fn delete(&self, key: &str) -> Result<(), String> {
        settle(self.delete_key(key))
            .await
            .map(drop)
            .map_err(error_text)
    }

    /// A page of the keys that start with `prefix` (at most `limit`, and 1,000), after
    /// `cursor`; with the next page's cursor unless this was the last.
    pub async fn keys(
        &self,
        prefix: &str,
        cursor: Option<&str>,
        limit: u32,
    ) -> Result<KeyPage, String> {
        let mut options = vec![
            ("prefix", JsValue::from_str(prefix)),
            ("limit", JsValue::from_f64(f64::from(limit.clamp(1, 1000)))),
        ];
        if let Some(cursor) = cursor {
            options.push(("cursor", JsValue::from_str(cursor)));
        }
        let listed = settle(self.list_keys(&object(&options)))
            .await
            .map_err(error_text)?;
        let keys = js_sys::Array::from(&property(&listed, "keys"))
            .iter()
            .filter_map(|key| property(&key, "name").as_string())
            .collect();
        let complete = property(&listed, "list_complete").as_bool() != Some(false);
        let cursor = property(&listed, "cursor")
            .as_string()
            .filter(|_| !complete);
        Ok(KeyPage { keys, cursor })
    }
}

/// The KV namespace bound as `name`.
pub fn kv(env: &Env, name: &str) -> Result<KvNamespace, String> {
    binding(env, name).ok_or_else(|| format!("KV binding {name} missing"))
}
