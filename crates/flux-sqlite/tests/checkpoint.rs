//! Restartable loads: the rows and the load's progress committed in one
//! transaction, and a run after a stop writing exactly what is missing;
//! several tables filled in one transaction.

use std::path::PathBuf;

use bytes::Bytes;
use flux_core::{CheckpointToken, Context, Envelope, Instant, Pipeline, Runnable, Sink, TransactionalSink};
use flux_engine_sync::SyncEngine;
use flux_plan::Planner;
use flux_sqlite::{Checkpoint, Row, Rows, SqliteSink, Table, checkpoint};
use flux_steps::Steps;
use flux_test::{Diverted, IterSource};
use rusqlite::Connection;

/// A database file of the test's own, removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Self {
        let path = std::env::temp_dir().join(format!("flux-sqlite-ck-{name}-{}.db", std::process::id()));
        let scratch = Scratch(path);
        scratch.remove();
        scratch
    }

    fn remove(&self) {
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", self.0.display()));
        }
    }

    fn column(&self, sql: &str) -> Vec<i64> {
        let db = Connection::open(&self.0).unwrap();
        let mut query = db.prepare(sql).unwrap();
        query.query_map([], |row| row.get(0)).unwrap().map(Result::unwrap).collect()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        self.remove();
    }
}

fn ids_table() -> Table {
    Table::new("ids").unwrap().column("id", "INTEGER PRIMARY KEY").unwrap()
}

fn ids_sink(db: &Scratch, batch: usize) -> SqliteSink<u64, impl flux_sqlite::ToRows<u64> + use<>> {
    SqliteSink::new(&db.0, ids_table(), |id: &u64, row: &mut Row<'_>| row.push(id).map(drop))
        .create_table()
        .batch_rows(batch)
        .checkpoint_as("ids")
}

/// Loads `ids` into the table; the run stops (a panic in a stage) at the
/// value `stop_at`, if given.
fn load(db: &Scratch, ids: Vec<u64>, stop_at: Option<u64>) -> (flux_sqlite::SqliteStats, flux_engine_sync::RunReport) {
    let sink = ids_sink(db, 100);
    let stats = sink.stats();
    let pipeline = Pipeline::from_source(IterSource::new(ids))
        .map(move |id: u64| {
            assert!(Some(id) != stop_at, "stopped at {id}");
            id
        })
        .sink(sink);
    (stats, run(pipeline))
}

/// Runs `pipeline` on the sync engine: its report, stopped or not.
///
/// Planned for the one thread the sync engine runs on: a file source stays
/// fused with the stages after it, so a panic in them stops the reading at
/// once (behind a cut, the stages would drain the batch already sent).
fn run(pipeline: impl Runnable) -> flux_engine_sync::RunReport {
    let plan = Planner::for_one_thread().plan(pipeline.describe()).unwrap();
    match SyncEngine::new().run(&plan, pipeline) {
        Ok(report) => report,
        Err(failed) => failed.into_report().expect("a stopped run has a report"),
    }
}

#[test]
fn a_stopped_load_run_again_writes_every_row_exactly_once() {
    let db = Scratch::new("stopped");
    let (first, _) = load(&db, (0..1_000).collect(), Some(537));
    let written: Vec<i64> = (0..537).collect();
    assert_eq!(db.column("SELECT id FROM ids ORDER BY id"), written, "the rows before the stop, held ones at close");
    assert_eq!(first.rows(), 537);
    assert_eq!(checkpoint(&db.0, "ids").unwrap(), Some(Checkpoint { records: 537, sequence: Some(536) }));

    let (second, report) = load(&db, (0..1_000).collect(), None);
    assert_eq!(db.column("SELECT id FROM ids ORDER BY id"), (0..1_000).collect::<Vec<i64>>());
    assert_eq!((second.skipped(), second.rows()), (537, 463), "the first run's rows passed over, the rest written");
    assert_eq!(checkpoint(&db.0, "ids").unwrap(), Some(Checkpoint { records: 1_000, sequence: Some(999) }));
    assert!(report.dead_letters.is_empty());
    assert_eq!(report.row("sink").unwrap().counts.consumed, 1_000, "passed-over records are consumed");
}

#[test]
fn a_third_run_of_a_finished_load_writes_nothing() {
    let db = Scratch::new("finished");
    let (_, first) = load(&db, (0..250).collect(), None);
    assert!(first.dead_letters.is_empty());
    let (again, _) = load(&db, (0..250).collect(), None);
    assert_eq!((again.skipped(), again.rows(), again.batches()), (250, 0, 0));
    assert_eq!(db.column("SELECT COUNT(*) FROM ids"), [250]);
}

/// A failed batch's records keep their places: a restarted run passes
/// over them too (they were the dead letters of the run that failed).
#[test]
fn a_failed_batch_counts_as_taken_so_a_restart_does_not_shift_the_stream() {
    let db = Scratch::new("failed");
    let mut ids: Vec<u64> = (0..300).collect();
    ids[150] = 149; // the batch 100..200 fails on the primary key
    let (first, report) = load(&db, ids.clone(), None);
    assert_eq!((first.rows(), first.failed_batches()), (200, 1));
    assert_eq!(report.dead_letters.len(), 100);
    assert_eq!(checkpoint(&db.0, "ids").unwrap().map(|c| c.records), Some(300));
    let (second, report) = load(&db, ids, None);
    assert_eq!((second.skipped(), second.rows(), second.failed_batches()), (300, 0, 0));
    assert!(report.dead_letters.is_empty());
}

#[test]
fn the_checkpoint_is_in_the_same_transaction_as_the_rows() {
    let db = Scratch::new("transaction");
    let mut sink = ids_sink(&db, 1_000);
    let mut diverted = Diverted::default();
    let mut cx = Context::new(Instant::ZERO, &mut diverted);
    for id in 0..3u64 {
        sink.write(Envelope::new(id).with_sequence(10 + id), &mut cx).unwrap();
    }
    assert_eq!(checkpoint(&db.0, "ids").unwrap(), None, "nothing committed yet");
    sink.commit(&CheckpointToken { sequence: 40, state: Bytes::new() }).unwrap();
    assert_eq!(checkpoint(&db.0, "ids").unwrap(), Some(Checkpoint { records: 3, sequence: Some(40) }));
    sink.write(Envelope::new(3u64).with_sequence(41), &mut cx).unwrap();
    sink.abort();
    sink.close(&mut cx).unwrap();
    assert_eq!(db.column("SELECT id FROM ids ORDER BY id"), [0, 1, 2], "the aborted write never reached the table");
    assert_eq!(checkpoint(&db.0, "ids").unwrap(), Some(Checkpoint { records: 3, sequence: Some(40) }));
}

/// Each order writes a row into `orders` and one per item into `items`;
/// order 6 has two items with the same number, so its batch (orders 5..10)
/// fails on `items` and is rolled back in both tables.
#[test]
fn several_tables_fill_in_one_transaction_and_roll_back_together() {
    let db = Scratch::new("tables");
    let orders = Table::new("orders").unwrap().column("id", "INTEGER PRIMARY KEY").unwrap();
    let items = Table::new("items").unwrap().column("order_id", "INTEGER").unwrap().column("item", "INTEGER").unwrap();
    let db_path = db.0.clone();
    let sink = SqliteSink::tables(&db_path, vec![orders, items], |order: &u64, rows: &mut Rows<'_, '_>| {
        rows.insert("orders", |row| row.push(order).map(drop))?;
        let numbers: &[u64] = if *order == 6 { &[1, 1] } else { &[1, 2] };
        for n in numbers {
            rows.insert("items", |row| row.push(order)?.push(n).map(drop))?;
        }
        Ok(())
    })
    .create_table()
    .batch_rows(5);
    // A unique index makes the repeated item a constraint failure.
    Connection::open(&db.0)
        .unwrap()
        .execute_batch("CREATE TABLE items (order_id INTEGER, item INTEGER, UNIQUE (order_id, item))")
        .unwrap();
    let stats = sink.stats();
    let pipeline = Pipeline::from_source(IterSource::new(0..15u64)).sink(sink);
    let report = run(pipeline);
    let kept: Vec<i64> = (0..5).chain(10..15).collect();
    assert_eq!(db.column("SELECT id FROM orders ORDER BY id"), kept);
    assert_eq!(db.column("SELECT DISTINCT order_id FROM items ORDER BY order_id"), kept);
    assert_eq!(db.column("SELECT COUNT(*) FROM items"), [20]);
    assert_eq!((stats.rows(), stats.failed_batches()), (30, 1), "three rows per order in the two good batches");
    let dead: Vec<u64> = report.dead_letters.iter().map(|letter| letter.meta.sequence).collect();
    assert_eq!(dead, [5, 6, 7, 8, 9]);
    let cause = report.dead_letters[0].error.cause().downcast_ref::<flux_sqlite::BatchFailed>().unwrap();
    assert_eq!(cause.table, "orders, items");
}

#[test]
fn a_row_for_a_table_the_sink_does_not_have_fails_its_batch() {
    let db = Scratch::new("no-table");
    let sink = SqliteSink::tables(&db.0, vec![ids_table()], |id: &u64, rows: &mut Rows<'_, '_>| {
        rows.insert(if *id == 3 { "idz" } else { "ids" }, |row| row.push(id).map(drop))
    })
    .create_table()
    .batch_rows(2);
    let report = run(Pipeline::from_source(IterSource::new(0..6u64)).sink(sink));
    assert_eq!(db.column("SELECT id FROM ids ORDER BY id"), [0, 1, 4, 5]);
    let cause = report.dead_letters[0].error.cause().downcast_ref::<flux_sqlite::BatchFailed>().unwrap();
    assert!(cause.error.contains("no table `idz`"), "{}", cause.error);
}

/// A file of ids, one per line, loaded by a pipeline that keeps order and
/// holds no state: the restarted run restores the file source from the
/// committed input position and reads only what was not covered.
#[test]
fn a_stateless_load_resumes_its_file_source_from_the_committed_position() {
    use flux_core::RecoverableSource;
    use flux_memory::FramedSource;
    use flux_sqlite::Resume;

    let db = Scratch::new("from-source");
    let file = db.0.with_extension("ids");
    std::fs::write(&file, (0..1_000).map(|id| format!("{id}\n")).collect::<String>()).unwrap();
    let load = |stop_at: Option<u64>| {
        let mut source = FramedSource::lines(&file).unwrap();
        if let Some(token) = checkpoint(&db.0, "ids").unwrap().and_then(|c| c.token()) {
            source.restore(&token).unwrap();
        }
        let sink = ids_sink(&db, 100).resume(Resume::FromSource);
        let stats = sink.stats();
        let pipeline = Pipeline::from_source(source)
            .named("file")
            .map(move |line: bytes::Bytes| {
                let id: u64 = std::str::from_utf8(&line).unwrap().parse().unwrap();
                assert!(Some(id) != stop_at, "stopped at {id}");
                id
            })
            .sink(sink);
        (stats, run(pipeline))
    };
    let (first, _) = load(Some(537));
    assert_eq!(first.rows(), 537);
    let (second, report) = load(None);
    let _ = std::fs::remove_file(&file);
    assert_eq!(db.column("SELECT id FROM ids ORDER BY id"), (0..1_000).collect::<Vec<i64>>(), "every id once");
    assert_eq!((second.skipped(), second.rows()), (0, 463), "nothing passed over at the sink");
    assert_eq!(report.row("file").unwrap().emitted, 463, "the source read only the lines not covered");
    assert_eq!(checkpoint(&db.0, "ids").unwrap(), Some(Checkpoint { records: 1_000, sequence: Some(999) }));
}
