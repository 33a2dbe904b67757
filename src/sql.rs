//! SQL statements as data: the core decides what to write, the shell binds and runs them (in one
//! D1 batch, which is a transaction).

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

#[derive(Debug, Clone, PartialEq)]
pub struct Statement {
    pub sql: &'static str,
    pub params: Vec<Param>,
}

impl Statement {
    pub fn new(sql: &'static str, params: Vec<Param>) -> Self {
        Statement { sql, params }
    }
}

/// D1 reports a unique-key violation with this text; for the events table it means "already
/// stored", which is how duplicates are recognised without a read first.
pub fn is_unique_violation(error: &str, table_column: &str) -> bool {
    error.contains("UNIQUE constraint failed") && error.contains(table_column)
}
