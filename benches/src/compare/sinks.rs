//! `cargo xtask bench sinks`: rows into SQLite (here) and PostgreSQL
//! (`sinks_postgres`), each sink against a hand-written loop, one line each.
//!
//! `sinks/sqlite`: rows per second into SQLite through Flux's
//! `SqliteSink` against a hand-written rusqlite loop inserting the same
//! rows in the same transactions (1,000 rows each, the same prepared
//! `INSERT`, the same write-ahead log and busy wait), each run into a
//! fresh database file.

use std::hint::black_box;
use std::path::{Path, PathBuf};

use flux_core::{Pipeline, Runnable};
use flux_engine_sync::SyncEngine;
use flux_plan::Planner;
use flux_sqlite::{Row, SqliteSink, Table};
use rusqlite::Connection;

use crate::{Comparison, Variant};

/// Rows a run writes.
pub(super) const ROWS: u64 = 200_000;
/// Rows a transaction writes.
const BATCH: usize = 1_000;

/// One order: what a row is made from.
#[derive(Clone, Debug)]
pub(super) struct Order {
    pub(super) id: u64,
    pub(super) cents: i64,
    pub(super) customer: String,
}

pub(super) fn orders() -> Vec<Order> {
    (0..ROWS)
        .map(|id| Order { id, cents: (id as i64 * 37) % 10_000, customer: format!("customer-{:06}", id % 5_000) })
        .collect()
}

fn table() -> Table {
    let table = Table::new("orders").and_then(|t| t.column("id", "INTEGER PRIMARY KEY"));
    let table = table.and_then(|t| t.column("cents", "INTEGER NOT NULL"));
    table.and_then(|t| t.column("customer", "TEXT NOT NULL")).expect("plain names")
}

/// A database file of its own for each side, emptied before each run.
fn fresh(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/flux-bench");
    std::fs::create_dir_all(&dir).expect("the bench's directory");
    let path = dir.join(format!("{name}.db"));
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
    path
}

fn count(path: &Path) -> u64 {
    let db = Connection::open(path).expect("the database");
    db.query_row("SELECT COUNT(*) FROM orders", [], |row| row.get(0)).expect("a count")
}

fn flux_load(input: &[Order]) -> u64 {
    let path = fresh("sinks-flux");
    let sink = SqliteSink::new(&path, table(), |order: &Order, row: &mut Row<'_>| {
        row.push(order.id)?.push(order.cents)?.push(&order.customer)?;
        Ok(())
    })
    .create_table()
    .batch_rows(BATCH);
    let pipeline = Pipeline::from_source(flux_test::IterSource::new(input.to_vec())).sink(sink);
    let plan = Planner::new().plan(pipeline.describe()).expect("a plan");
    let _report = SyncEngine::new().run(&plan, pipeline).expect("the load");
    count(&path)
}

fn hand_load(input: &[Order]) -> u64 {
    let path = fresh("sinks-hand");
    let mut db = Connection::open(&path).expect("the database");
    db.busy_timeout(std::time::Duration::from_secs(5)).expect("a busy wait");
    db.pragma_update(None, "journal_mode", "WAL").expect("a write-ahead log");
    db.execute(&table().create_sql(), []).expect("the table");
    let insert = table().insert_sql();
    let records = input.to_vec();
    for batch in records.chunks(BATCH) {
        let transaction = db.transaction().expect("a transaction");
        {
            let mut statement = transaction.prepare_cached(&insert).expect("the insert");
            for order in batch {
                statement.execute(rusqlite::params![order.id, order.cents, &order.customer]).expect("a row");
            }
        }
        transaction.commit().expect("a commit");
    }
    drop(db);
    count(&path)
}

/// Both sinks' comparisons (PostgreSQL's when a server is named).
pub fn comparisons() -> Vec<Comparison> {
    let mut comparisons = vec![sqlite()];
    comparisons.extend(super::sinks_postgres::comparison());
    comparisons
}

/// SQLite's comparison: Flux's sink against the hand loop.
pub fn sqlite() -> Comparison {
    let input = orders();
    let hand_input = input.clone();
    Comparison {
        name: "sinks/sqlite",
        work: ROWS,
        unit: "rows",
        flux: Variant { label: "flux SqliteSink", run: Box::new(move || flux_load(black_box(&input))) },
        baselines: vec![Variant { label: "rusqlite loop", run: Box::new(move || hand_load(black_box(&hand_input))) }],
        extra: Vec::new(),
    }
}
