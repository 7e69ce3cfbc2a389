//! Where the demo's tables live: a SQLite file (the default) or a
//! PostgreSQL database (`--postgres URL`). Each side makes its sink and
//! answers the few questions the demo asks before and after the load.

pub(crate) mod postgres;
pub(crate) mod sqlite;

use core::fmt;
use std::path::{Path, PathBuf};

use crate::error::DemoError;

pub(crate) use postgres::Session;

/// The database a load writes.
#[derive(Clone, PartialEq, Eq)]
pub enum Store {
    /// A SQLite database file.
    Sqlite(PathBuf),
    /// A PostgreSQL database, by its URL.
    Postgres(String),
}

impl fmt::Debug for Store {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Store::Sqlite(path) => f.debug_tuple("Sqlite").field(path).finish(),
            Store::Postgres(url) => f.debug_tuple("Postgres").field(&flux_postgres::redacted(url)).finish(),
        }
    }
}

impl fmt::Display for Store {
    /// The file's path, or the URL without its password.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Store::Sqlite(path) => write!(f, "{}", path.display()),
            Store::Postgres(url) => f.write_str(&flux_postgres::redacted(url)),
        }
    }
}

/// What a summary shows of the dead letters: how many of each cause, and
/// the first ones (byte offset, cause, line).
pub(crate) struct DeadLetters {
    pub(crate) causes: Vec<(String, i64)>,
    pub(crate) first: Vec<(i64, String, String)>,
}

impl Store {
    /// The SQLite file, when the store is one.
    pub fn sqlite_path(&self) -> Option<&Path> {
        match self {
            Store::Sqlite(path) => Some(path),
            Store::Postgres(_) => None,
        }
    }

    /// The sink's stage name in the plan and the report.
    pub(crate) fn stage(&self) -> &'static str {
        match self {
            Store::Sqlite(_) => "sqlite",
            Store::Postgres(_) => "postgres",
        }
    }

    /// Records an earlier run of the load `name` committed (to pass over),
    /// or 0 after clearing the demo's tables: they hold another load, or
    /// none, or `fresh` asks to start over.
    pub(crate) fn prepare(&self, name: &str, fresh: bool) -> Result<u64, DemoError> {
        match self {
            Store::Sqlite(path) => sqlite::prepare(path, name, fresh),
            Store::Postgres(url) => postgres::prepare(url, name, fresh),
        }
    }

    /// Rows of each table, in [`crate::tables::TABLES`]' order.
    pub(crate) fn count_rows(&self) -> Result<[u64; 4], DemoError> {
        match self {
            Store::Sqlite(path) => sqlite::count_rows(path),
            Store::Postgres(url) => Session::open(url)?.count_rows(),
        }
    }

    /// The dead letters by cause, and the first three.
    pub(crate) fn dead_letters(&self) -> Result<DeadLetters, DemoError> {
        match self {
            Store::Sqlite(path) => sqlite::dead_letters(path),
            Store::Postgres(url) => Session::open(url)?.dead_letters(),
        }
    }

    /// A command line that queries the tables.
    pub(crate) fn query_hint(&self) -> String {
        let sql = "SELECT reason, COUNT(*) FROM partial_orders GROUP BY reason";
        match self {
            Store::Sqlite(path) => format!("sqlite3 {} '{sql}'", path.display()),
            Store::Postgres(url) => format!("psql '{}' -c '{sql}'", flux_postgres::redacted(url)),
        }
    }
}

/// The summary's queries, the same in both databases.
pub(crate) mod sql {
    /// Dead letters by cause, the most frequent first.
    pub(crate) const CAUSES: &str = "SELECT error, COUNT(*) FROM dead_letters GROUP BY error ORDER BY 2 DESC, 1";
    /// The first three dead letters in the file.
    pub(crate) const FIRST: &str = "SELECT byte_offset, error, line FROM dead_letters ORDER BY byte_offset LIMIT 3";
}
