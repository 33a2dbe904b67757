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

/// Why a transaction did not commit. The shell's store tells the two apart from the database's
/// answer in one place; everything else decides on this type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoreError {
    /// A unique key refused a row: for an inbound event, "already stored".
    Duplicate,
    /// The database could not be reached or failed: try again later.
    Unavailable(String),
}

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            StoreError::Duplicate => f.write_str("duplicate key"),
            StoreError::Unavailable(why) => write!(f, "storage unavailable: {why}"),
        }
    }
}
