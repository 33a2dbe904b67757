//! D1 access: running the core's statements, and the few reads the shell needs. Through the
//! binding itself (`js`): the rows come back as JSON text for serde_json.

use serde_json::Value;
use worker::js_sys::Array;
use worker::wasm_bindgen::{JsCast, JsValue};
use worker::worker_sys::{D1Database, D1PreparedStatement, D1Result};
use worker::Env;

use super::io::{Meter, DB};
use super::js;
use crate::sql::{Param, Statement, StoreError};

pub fn db(env: &Env) -> Result<D1Database, StoreError> {
    js::binding(env, DB).ok_or_else(|| StoreError::Unavailable("D1 binding KEFU_DB missing".into()))
}

fn js(param: &Param) -> JsValue {
    match param {
        Param::Text(s) => JsValue::from_str(s),
        // Timestamps and ids: far below 2^53, exact as JS numbers.
        Param::Int(i) => JsValue::from_f64(*i as f64),
        Param::Null => JsValue::NULL,
    }
}

fn prepare(db: &D1Database, statement: &Statement) -> Result<D1PreparedStatement, StoreError> {
    let params: Array = statement.params.iter().map(js).collect();
    db.prepare(&statement.sql)
        .and_then(|prepared| prepared.bind(params))
        .map_err(store_error)
}

/// D1 tells why it refused a batch only in its message, which `StoreError` reads.
fn store_error(error: JsValue) -> StoreError {
    StoreError::from_message(&js::error_text(error))
}

/// What a statement's result says it did, added to the meter; the rows it changed.
fn metered(meter: &Meter, result: &D1Result) -> usize {
    let meta = result
        .meta()
        .map(JsValue::from)
        .unwrap_or(JsValue::UNDEFINED);
    let count = |name| js::property(&meta, name).as_f64().unwrap_or(0.0) as u64;
    meter
        .borrow_mut()
        .d1_statement(count("rows_read"), count("rows_written"));
    count("changes") as usize
}

/// Runs statements as one transaction; returns the number of rows each changed.
pub async fn transaction(
    db: &D1Database,
    meter: &Meter,
    statements: &[Statement],
) -> Result<Vec<usize>, StoreError> {
    let prepared = statements
        .iter()
        .map(|s| prepare(db, s).map(JsValue::from))
        .collect::<Result<Array, _>>()?;
    let results: Array = js::settle(db.batch(prepared))
        .await
        .map_err(store_error)?
        .unchecked_into();
    Ok(results
        .iter()
        .map(|result| metered(meter, result.unchecked_ref()))
        .collect())
}

/// Runs a query; each row as a JSON object by column name.
pub async fn rows(
    db: &D1Database,
    meter: &Meter,
    statement: &Statement,
) -> Result<Vec<Value>, StoreError> {
    let result: D1Result = js::settle(prepare(db, statement)?.all())
        .await
        .map_err(store_error)?
        .unchecked_into();
    metered(meter, &result);
    let Some(rows) = result.results().map_err(store_error)? else {
        return Ok(Vec::new());
    };
    let text = js::json_text(&rows).map_err(store_error)?;
    serde_json::from_str(&text)
        .map_err(|e| StoreError::Unavailable(format!("D1 answered rows that are not JSON: {e}")))
}
