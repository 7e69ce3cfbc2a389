//! What the demo's tests share: a scratch directory, and a database's
//! tables as text.

#![allow(dead_code, reason = "each test file uses part of it")]

pub(crate) mod kill;
pub(crate) mod postgres;

use std::path::{Path, PathBuf};

/// A directory of the test's own, removed when dropped.
pub(crate) struct Scratch(PathBuf);

impl Scratch {
    pub(crate) fn new(name: &str) -> Self {
        let path = std::env::temp_dir().join(format!("flux-cli-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path).unwrap();
        Scratch(path)
    }

    pub(crate) fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The demo's tables and the columns a dump shows of each.
pub(crate) const DUMPED: [(&str, &str); 4] =
    [("orders", "*"), ("order_items", "*"), ("partial_orders", "*"), ("dead_letters", "byte_offset, line, error")];

/// Every row of the demo's four tables in the SQLite `database`, in the
/// order they were written, each value as text (NULL as `NULL`), without
/// the dead letters' file path (which names the test's directory): what
/// [`postgres::plain`] prints of a PostgreSQL load.
pub(crate) fn dump(database: &Path) -> Vec<String> {
    let db = rusqlite::Connection::open(database).unwrap();
    let mut rows = Vec::new();
    for (table, columns) in DUMPED {
        let mut query = db.prepare(&format!("SELECT {columns} FROM {table} ORDER BY rowid")).unwrap();
        let width = query.column_count();
        let mut cursor = query.query([]).unwrap();
        while let Some(row) = cursor.next().unwrap() {
            let values: Vec<String> = (0..width)
                .map(|i| match row.get::<_, rusqlite::types::Value>(i).unwrap() {
                    rusqlite::types::Value::Text(text) => text,
                    rusqlite::types::Value::Integer(n) => n.to_string(),
                    rusqlite::types::Value::Null => "NULL".to_owned(),
                    other => format!("{other:?}"),
                })
                .collect();
            rows.push(format!("{table}: {}", values.join(" | ")));
        }
    }
    rows
}
