//! Reading for the admin API: named queries run one after the other, answered as one JSON
//! object (`{"ticket": {…}, "timeline": […]}`), or nothing when a record asked for is missing.

use serde_json::{Map, Value};

use super::effect::{self, Answered, Effect, Flow, Step};
use crate::sql::{Statement, StoreError};

/// One part of the answer.
pub struct Part {
    pub name: &'static str,
    pub query: Statement,
    /// A record (its first row, required) rather than a list.
    pub record: bool,
}

impl Part {
    pub fn list(name: &'static str, query: Statement) -> Part {
        Part {
            name,
            query,
            record: false,
        }
    }

    pub fn record(name: &'static str, query: Statement) -> Part {
        Part {
            name,
            query,
            record: true,
        }
    }
}

pub struct ReadFlow {
    parts: Vec<Part>,
    asked: Option<Part>,
    answer: Map<String, Value>,
}

impl ReadFlow {
    pub fn new(parts: Vec<Part>) -> Self {
        let mut parts = parts;
        parts.reverse();
        ReadFlow {
            parts,
            asked: None,
            answer: Map::new(),
        }
    }
}

impl Flow for ReadFlow {
    /// `None` when a record part found no row.
    type Output = Result<Option<Value>, StoreError>;

    fn step(&mut self, answer: Option<Answered>) -> Step<Self::Output> {
        if let Some(part) = self.asked.take() {
            let rows = match effect::rows::<Value>(answer) {
                Ok(rows) => rows,
                Err(e) => return Step::Done(Err(e)),
            };
            let value = if part.record {
                match rows.into_iter().next() {
                    Some(row) => row,
                    None => return Step::Done(Ok(None)),
                }
            } else {
                Value::Array(rows)
            };
            self.answer.insert(part.name.to_owned(), value);
        }
        match self.parts.pop() {
            Some(part) => {
                let query = part.query.clone();
                self.asked = Some(part);
                Step::Do(Effect::Query(query))
            }
            None => Step::Done(Ok(Some(Value::Object(std::mem::take(&mut self.answer))))),
        }
    }
}
