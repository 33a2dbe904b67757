//! The contract between the pipeline's state machines and whoever performs their I/O (the
//! Worker shell on D1, KV and Queues; SQLite and scripted upstreams in host tests).
//!
//! A flow is stepped with the answer to the effect it last asked for (`None` the first time)
//! and returns the next effect to perform or its result. It never performs I/O itself and reads
//! the clock and randomness only as values it was built with.

use serde::de::value::MapDeserializer;
use serde::de::DeserializeOwned;

use crate::event::QueueMessage;
use crate::http::{HttpRequest, HttpResult};
use crate::mask::mask_quoted;
use crate::sql::{Statement, StoreError};

/// One piece of I/O a flow asks for.
#[derive(Debug, Clone, PartialEq)]
pub enum Effect {
    /// Read rows: answered with `Answer::Rows`.
    Query(Statement),
    /// Run statements as one transaction: answered with `Answer::Changes` (rows changed by
    /// each), or `StoreError::Duplicate` when a unique key refused a row and nothing was written.
    Transaction(Vec<Statement>),
    /// Make an HTTP request (with a timeout): answered with `Answer::Http`.
    Fetch(HttpRequest),
    /// Read a KV key: answered with `Answer::Value`.
    KvGet(String),
    /// Write a KV key: answered with `Answer::Done`.
    KvPut {
        key: String,
        value: String,
        ttl_secs: Option<u64>,
    },
    /// A page of the KV keys with `prefix` (at most `limit`, and KV's own 1,000), after
    /// `cursor` (from the page before): answered with `Answer::Keys`.
    KvList {
        prefix: &'static str,
        cursor: Option<String>,
        limit: u32,
    },
    /// Delete a KV key: answered with `Answer::Done`.
    KvDelete(String),
    /// Put a message on the queue, after `delay_secs`: answered with `Answer::Done`.
    Enqueue {
        message: QueueMessage,
        delay_secs: u32,
    },
}

/// What performing an effect gave back.
#[derive(Debug, Clone, PartialEq)]
pub enum Answer {
    Rows(Vec<serde_json::Value>),
    Changes(Vec<usize>),
    Http(HttpResult),
    Value(Option<String>),
    Keys(KeyPage),
    Done,
}

/// A page of KV keys, and the cursor of the next page (`None`: this was the last).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeyPage {
    pub keys: Vec<String>,
    pub cursor: Option<String>,
}

/// The answer to an effect, or why the storage, KV or queue behind it failed.
pub type Answered = Result<Answer, StoreError>;

pub enum Step<T> {
    Do(Effect),
    Done(T),
}

pub trait Flow {
    type Output;

    /// Given the answer to the last effect asked for (`None` on the first call), the next
    /// effect, or the flow's result. Called again after `Done` it answers nothing new.
    fn step(&mut self, answer: Option<Answered>) -> Step<Self::Output>;
}

impl Answer {
    /// What kind of answer this is, for the message when a flow gets one it did not ask for.
    fn kind(&self) -> &'static str {
        match self {
            Answer::Rows(_) => "rows",
            Answer::Changes(_) => "changes",
            Answer::Http(_) => "an HTTP result",
            Answer::Value(_) => "a KV value",
            Answer::Keys(_) => "KV keys",
            Answer::Done => "done",
        }
    }
}

/// An answer in a message: its kind, or its error (not its contents, which may be personal).
fn described(answer: &Option<Answered>) -> String {
    match answer {
        None => "none".into(),
        Some(Ok(answer)) => answer.kind().into(),
        Some(Err(e)) => e.to_string(),
    }
}

fn unexpected(answer: Option<Answered>) -> StoreError {
    StoreError::Unavailable(format!("unexpected answer: {}", described(&answer)))
}

/// The rows of a `Query`, each read as a `T`.
pub fn rows<T: DeserializeOwned>(answer: Option<Answered>) -> Result<Vec<T>, StoreError> {
    match answer {
        Some(Ok(Answer::Rows(rows))) => rows.into_iter().map(row).collect(),
        Some(Err(e)) => Err(e),
        other => Err(unexpected(other)),
    }
}

/// A row (a JSON object by column name) as a `T`. Through serde's map deserializer rather than
/// `serde_json::from_value`: that one also carries, for every row type, the code for a struct
/// read from an array, which a row never is (1.1 KB gzip of the wasm over the row types).
pub fn row<T: DeserializeOwned>(row: serde_json::Value) -> Result<T, StoreError> {
    let serde_json::Value::Object(columns) = row else {
        return Err(StoreError::Unavailable(
            "unexpected row: not an object".into(),
        ));
    };
    T::deserialize(MapDeserializer::<_, serde_json::Error>::new(
        columns.into_iter(),
    ))
    .map_err(|e| {
        let why = mask_quoted(&e.to_string());
        StoreError::Unavailable(format!("unexpected row: {why}"))
    })
}

/// The rows changed by each statement of a `Transaction`.
pub fn changes(answer: Option<Answered>) -> Result<Vec<usize>, StoreError> {
    match answer {
        Some(Ok(Answer::Changes(changes))) => Ok(changes),
        Some(Err(e)) => Err(e),
        other => Err(unexpected(other)),
    }
}

/// Whether a write (`KvPut`, `Enqueue`) was done.
pub fn done(answer: Option<Answered>) -> Result<(), StoreError> {
    match answer {
        Some(Ok(Answer::Done)) => Ok(()),
        Some(Err(e)) => Err(e),
        other => Err(unexpected(other)),
    }
}

/// What a `Fetch` brought back; a missing answer counts as a network error.
pub fn http(answer: Option<Answered>) -> HttpResult {
    match answer {
        Some(Ok(Answer::Http(result))) => result,
        other => HttpResult::NetworkError(format!("no HTTP answer: {}", described(&other))),
    }
}

/// The value a `KvGet` read; a failed read counts as no value (for a cache, a miss).
pub fn value(answer: Option<Answered>) -> Option<String> {
    match answer {
        Some(Ok(Answer::Value(value))) => value,
        _ => None,
    }
}

/// The value a `KvGet` read, or why the read failed.
pub fn read(answer: Option<Answered>) -> Result<Option<String>, StoreError> {
    match answer {
        Some(Ok(Answer::Value(value))) => Ok(value),
        Some(Err(e)) => Err(e),
        other => Err(unexpected(other)),
    }
}

/// The page of keys a `KvList` found.
pub fn keys(answer: Option<Answered>) -> Result<KeyPage, StoreError> {
    match answer {
        Some(Ok(Answer::Keys(page))) => Ok(page),
        Some(Err(e)) => Err(e),
        other => Err(unexpected(other)),
    }
}

impl<F: Flow + ?Sized> Flow for Box<F> {
    type Output = F::Output;

    fn step(&mut self, answer: Option<Answered>) -> Step<F::Output> {
        (**self).step(answer)
    }
}

/// A flow of one effect, whose result is its answer.
pub struct One(Option<Effect>);

impl One {
    pub fn new(effect: Effect) -> Self {
        One(Some(effect))
    }

    /// No effect at all: done at once (an answer that needs no I/O).
    pub fn nothing() -> Self {
        One(None)
    }
}

impl Flow for One {
    type Output = Option<Answered>;

    fn step(&mut self, answer: Option<Answered>) -> Step<Option<Answered>> {
        match self.0.take() {
            Some(effect) => Step::Do(effect),
            None => Step::Done(answer),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_row_is_read_by_column_name_and_anything_else_is_unexpected() {
        #[derive(serde::Deserialize, Debug, PartialEq)]
        struct Row {
            id: i64,
            name: Option<String>,
        }
        let answer = |rows| Some(Ok(Answer::Rows(rows)));
        let read = rows::<Row>(answer(vec![
            serde_json::json!({"id": 1, "name": "a", "extra": true}),
            serde_json::json!({"id": 2, "name": null}),
        ]));
        let want = [(1, Some("a".to_string())), (2, None)].map(|(id, name)| Row { id, name });
        assert_eq!(read.unwrap(), want);
        assert_eq!(
            rows::<Row>(answer(vec![serde_json::json!([1, "a"])])).unwrap_err(),
            StoreError::Unavailable("unexpected row: not an object".into())
        );
        assert_eq!(
            rows::<Row>(answer(vec![serde_json::json!({"name": "a"})])).unwrap_err(),
            StoreError::Unavailable("unexpected row: missing field `id`".into())
        );
    }

    #[test]
    fn an_answer_a_flow_did_not_ask_for_is_named_by_kind_or_error() {
        let unavailable = || Err(StoreError::Unavailable("D1 down".into()));
        assert_eq!(
            rows::<serde_json::Value>(Some(Ok(Answer::Done))).unwrap_err(),
            StoreError::Unavailable("unexpected answer: done".into())
        );
        assert_eq!(
            changes(None).unwrap_err(),
            StoreError::Unavailable("unexpected answer: none".into())
        );
        assert_eq!(
            done(Some(Ok(Answer::Keys(KeyPage::default())))).unwrap_err(),
            StoreError::Unavailable("unexpected answer: KV keys".into())
        );
        assert_eq!(
            keys(Some(Ok(Answer::Value(Some("secret".into()))))).unwrap_err(),
            StoreError::Unavailable("unexpected answer: a KV value".into())
        );
        assert_eq!(
            read(Some(Ok(Answer::Rows(vec![])))).unwrap_err(),
            StoreError::Unavailable("unexpected answer: rows".into())
        );
        assert_eq!(
            done(Some(Ok(Answer::Changes(vec![1])))).unwrap_err(),
            StoreError::Unavailable("unexpected answer: changes".into())
        );
        assert_eq!(
            changes(Some(Ok(Answer::Http(HttpResult::NetworkError("x".into()))))).unwrap_err(),
            StoreError::Unavailable("unexpected answer: an HTTP result".into())
        );
        assert_eq!(
            http(Some(unavailable())),
            HttpResult::NetworkError("no HTTP answer: storage unavailable: D1 down".into())
        );
        assert_eq!(
            http(None),
            HttpResult::NetworkError("no HTTP answer: none".into())
        );
        assert_eq!(
            done(Some(unavailable())),
            Err(StoreError::Unavailable("D1 down".into()))
        );
    }
}
