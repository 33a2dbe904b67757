//! SQL statements as data: the core decides what to write, the shell binds and runs them (in one
//! D1 batch, which is a transaction).

use std::borrow::Cow;

#[derive(Debug, Clone, PartialEq)]
pub enum Param {
    Text(String),
    Int(i64),
    Null,
}

impl From<&str> for Param {
    fn from(v: &str) -> Self {
        Param::Text(v.to_owned())
    }
}

impl From<String> for Param {
    fn from(v: String) -> Self {
        Param::Text(v)
    }
}

impl From<i64> for Param {
    fn from(v: i64) -> Self {
        Param::Int(v)
    }
}

impl<T: Into<Param>> From<Option<T>> for Param {
    fn from(v: Option<T>) -> Self {
        v.map_or(Param::Null, Into::into)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_are_told_apart_by_what_refused_them() {
        let of = StoreError::from_message;
        assert_eq!(
            of("D1_ERROR: UNIQUE constraint failed: events.dedup_key: SQLITE_CONSTRAINT"),
            StoreError::Duplicate
        );
        assert_eq!(
            of("UNIQUE constraint failed: idempotency_keys.key"),
            StoreError::Duplicate
        );
        assert_eq!(
            of("UNIQUE constraint failed: complaints.feedback_id"),
            StoreError::Conflict
        );
        assert_eq!(
            of("CHECK constraint failed: holds = 1"),
            StoreError::Conflict
        );
        assert_eq!(
            of("Network connection lost."),
            StoreError::Unavailable("Network connection lost.".into())
        );
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Statement {
    /// Fixed text, or built from the filters a read was given (so the planner can use an index
    /// for each: `(? IS NULL OR col = ?)` defeats it).
    pub sql: Cow<'static, str>,
    pub params: Vec<Param>,
    /// What to do once the transaction committed, if this statement changed a row.
    pub follow_up: Option<FollowUp>,
}

/// Work a committed statement leaves for the queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FollowUp {
    /// It added a staff alert: flush the robot.
    FlushAlerts,
    /// It recorded this delivery: attempt it.
    Deliver(String),
}

impl Statement {
    pub fn new(sql: impl Into<Cow<'static, str>>, params: Vec<Param>) -> Self {
        Statement {
            sql: sql.into(),
            params,
            follow_up: None,
        }
    }

    /// A list read with an optional filter: `filtered` (which binds the value, then `tail`) when
    /// a value is given, else `all` (which binds `tail`). Two fixed texts rather than
    /// `(? IS NULL OR col = ?)`, which keeps the planner from using an index for either.
    pub fn filtered_or_all(
        filtered: &'static str,
        all: &'static str,
        value: Option<String>,
        tail: Vec<Param>,
    ) -> Self {
        match value {
            Some(value) => Statement::new(filtered, [vec![value.into()], tail].concat()),
            None => Statement::new(all, tail),
        }
    }

    /// A statement that inserts a staff alert (when it changes a row).
    pub fn alert(sql: &'static str, params: Vec<Param>) -> Self {
        Statement {
            follow_up: Some(FollowUp::FlushAlerts),
            ..Statement::new(sql, params)
        }
    }

    /// A statement that records delivery `id` (when it changes a row).
    pub fn delivery(sql: &'static str, params: Vec<Param>, id: String) -> Self {
        Statement {
            follow_up: Some(FollowUp::Deliver(id)),
            ..Statement::new(sql, params)
        }
    }
}

/// The follow-ups of the statements that changed rows (`changes`, one count per statement),
/// with one robot flush however many alerts were added.
pub fn follow_ups(statements: &[Statement], changes: &[usize]) -> Vec<FollowUp> {
    let mut due: Vec<FollowUp> = Vec::new();
    for (statement, &changed) in statements.iter().zip(changes) {
        match &statement.follow_up {
            Some(f) if changed > 0 && !due.contains(f) => due.push(f.clone()),
            _ => {}
        }
    }
    due
}

/// Why a transaction did not commit. The shell's store tells the two apart from the database's
/// answer in one place; everything else decides on this type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreError {
    /// A dedup key (an event's, an Idempotency-Key) refused the row: this was done before.
    Duplicate,
    /// The state the plan was made from changed meanwhile (an expectation failed, or another
    /// writer created the same row first): read again and plan again.
    Conflict,
    /// The database could not be reached or failed: try again later.
    Unavailable(String),
}

/// The columns whose uniqueness means "already done".
const DEDUP_KEYS: [&str; 2] = ["events.dedup_key", "idempotency_keys.key"];

impl StoreError {
    /// What a refused transaction means, from the database's message: SQLite's wording, which
    /// D1 passes on. The one place that reads meaning out of an error text.
    pub fn from_message(message: &str) -> StoreError {
        if message.contains("UNIQUE constraint failed") {
            if DEDUP_KEYS.iter().any(|key| message.contains(key)) {
                StoreError::Duplicate
            } else {
                StoreError::Conflict
            }
        } else if message.contains("CHECK constraint failed") {
            StoreError::Conflict
        } else {
            StoreError::Unavailable(message.to_owned())
        }
    }
}

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StoreError::Duplicate => f.write_str("duplicate key"),
            StoreError::Conflict => f.write_str("the state changed meanwhile"),
            StoreError::Unavailable(why) => write!(f, "storage unavailable: {why}"),
        }
    }
}
