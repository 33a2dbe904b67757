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
    /// The statement adds a staff alert when it changes a row: the robot is then flushed.
    pub raises_alert: bool,
}

impl Statement {
    pub fn new(sql: &'static str, params: Vec<Param>) -> Self {
        Statement {
            sql,
            params,
            raises_alert: false,
        }
    }

    /// A statement that inserts a staff alert (when it changes a row).
    pub fn alert(sql: &'static str, params: Vec<Param>) -> Self {
        Statement {
            raises_alert: true,
            ..Statement::new(sql, params)
        }
    }
}

/// Whether running `statements` (which changed `changes` rows each) added a staff alert.
pub fn raised_alert(statements: &[Statement], changes: &[usize]) -> bool {
    statements
        .iter()
        .zip(changes)
        .any(|(s, &n)| s.raises_alert && n > 0)
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
