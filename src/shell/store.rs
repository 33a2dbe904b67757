//! D1 access: running the core's statements, and the few reads the shell needs.

use serde_json::Value;
use worker::wasm_bindgen::JsValue;
use worker::{D1Database, D1PreparedStatement, D1Result, Env};

use super::io::{Meter, DB};
use crate::sql::{Param, Statement, StoreError};

pub fn db(env: &Env) -> Result<D1Database, StoreError> {
    env.d1(DB)
        .map_err(|_| StoreError::Unavailable("D1 binding KEFU_DB missing".into()))
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
    let params: Vec<JsValue> = statement.params.iter().map(js).collect();
    db.prepare(statement.sql).bind(&params).map_err(store_error)
}

/// D1 tells why it refused a batch only in its message, which `StoreError` reads.
fn store_error(error: worker::Error) -> StoreError {
    StoreError::from_message(&error.to_string())
}

/// What a statement's result says it did, added to the meter; the rows it changed.
fn metered(meter: &Meter, result: &D1Result) -> usize {
    let meta = result.meta().ok().flatten();
    let count = |n: Option<usize>| n.unwrap_or(0) as u64;
    let (read, written) = meta
        .as_ref()
        .map_or((0, 0), |m| (count(m.rows_read), count(m.rows_written)));
    meter.borrow_mut().d1_statement(read, written);
    meta.and_then(|m| m.changes).unwrap_or(0)
}

/// Runs statements as one transaction; returns the number of rows each changed.
pub async fn transaction(
    db: &D1Database,
    meter: &Meter,
    statements: &[Statement],
) -> Result<Vec<usize>, StoreError> {
    let prepared = statements
        .iter()
        .map(|s| prepare(db, s))
        .collect::<Result<Vec<_>, _>>()?;
    let results = db.batch(prepared).await.map_err(store_error)?;
    Ok(results.iter().map(|r| metered(meter, r)).collect())
}

/// Runs a query; each row as a JSON object by column name.
pub async fn rows(
    db: &D1Database,
    meter: &Meter,
    statement: &Statement,
) -> Result<Vec<Value>, StoreError> {
    let result = prepare(db, statement)?.all().await.map_err(store_error)?;
    metered(meter, &result);
    result.results::<Value>().map_err(store_error)
}
