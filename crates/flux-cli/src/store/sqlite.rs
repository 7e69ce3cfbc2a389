//! The demo's tables in a SQLite file: the sink, the checkpoint, and the
//! summary's queries.

use std::path::{Path, PathBuf};

use flux_sqlite::{Rows, SqliteSink, SqliteStats, Table, ToRows};

use super::{DeadLetters, sql};
use crate::error::{DemoError, OrSay};
use crate::order::Loaded;
use crate::tables::{Kind, SCHEMA, TABLES, ToTables, Value, column_type};

/// SQLite's name for a kind of column.
fn sql_type(kind: Kind) -> &'static str {
    match kind {
        Kind::Text => "TEXT",
        Kind::Integer => "INTEGER",
    }
}

/// The four tables, as SQLite creates them.
///
/// # Panics
///
/// Never: every name is a plain identifier.
pub(crate) fn tables() -> Vec<Table> {
    SCHEMA
        .iter()
        .map(|(name, columns)| {
            columns.iter().try_fold(Table::new(name)?, |table, (column, kind, constraint)| {
                table.column(column, &column_type(*kind, constraint, sql_type))
            })
        })
        .collect::<Result<_, _>>()
        .expect("the demo's table names are plain identifiers")
}

/// The sink writing the four tables of `database`, restartable as `name`.
pub(crate) fn sink(
    database: &Path,
    to_tables: ToTables,
    name: &str,
) -> SqliteSink<Loaded, impl ToRows<Loaded> + use<>> {
    let map = move |loaded: &Loaded, rows: &mut Rows<'_, '_>| {
        to_tables.each_row(loaded, |table, values| {
            rows.insert(table, |row| {
                for value in values {
                    match *value {
                        Value::Text(text) => row.push(text)?,
                        Value::Integer(n) => row.push(n)?,
                    };
                }
                Ok(())
            })
        })
    };
    SqliteSink::tables(database, tables(), map).create_table().batch_rows(2_000).checkpoint_as(name)
}

/// The sink's figures, as the report lists them.
pub(crate) fn figures(stats: &SqliteStats) -> [(&'static str, u64); 5] {
    [
        ("rows", stats.rows()),
        ("transactions", stats.batches()),
        ("passed over (committed by an earlier run)", stats.skipped()),
        ("failed batches", stats.failed_batches()),
        ("retries", stats.retries()),
    ]
}

pub(super) fn prepare(database: &Path, name: &str, fresh: bool) -> Result<u64, DemoError> {
    if !fresh
        && database.exists()
        && let Some(found) = flux_sqlite::checkpoint(database, name)
            .or_say(format_args!("cannot open the database {}", database.display()))?
    {
        return Ok(found.records);
    }
    for suffix in ["", "-wal", "-shm"] {
        let file = PathBuf::from(format!("{}{suffix}", database.display()));
        match std::fs::remove_file(&file) {
            Err(error) if error.kind() != std::io::ErrorKind::NotFound => {
                return Err(error).or_say(format_args!("cannot clear the database {}", database.display()));
            }
            _ => {}
        }
    }
    Ok(0)
}

fn open(database: &Path) -> Result<rusqlite::Connection, DemoError> {
    rusqlite::Connection::open(database).or_say(format_args!("cannot read the database {}", database.display()))
}

pub(super) fn count_rows(database: &Path) -> Result<[u64; 4], DemoError> {
    let db = open(database)?;
    let mut rows = [0; 4];
    for (count, table) in rows.iter_mut().zip(TABLES) {
        *count = db
            .query_row(&format!("SELECT COUNT(*) FROM {table}"), [], |row| row.get(0))
            .or_say(format_args!("cannot read the database {}", database.display()))?;
    }
    Ok(rows)
}

pub(super) fn dead_letters(database: &Path) -> Result<DeadLetters, DemoError> {
    let db = open(database)?;
    let read = || -> rusqlite::Result<DeadLetters> {
        let causes = db.prepare(sql::CAUSES)?.query_map([], |row| Ok((row.get(0)?, row.get(1)?)))?.collect();
        let first = db.prepare(sql::FIRST)?.query_map([], |row| Ok((row.get(0)?, row.get(1)?, row.get(2)?)))?.collect();
        let (causes, first): (rusqlite::Result<_>, rusqlite::Result<_>) = (causes, first);
        Ok(DeadLetters { causes: causes?, first: first? })
    };
    read().or_say(format_args!("cannot read the database {}", database.display()))
}
