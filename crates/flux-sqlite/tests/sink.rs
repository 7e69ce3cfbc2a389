//! The SQLite sink against a real database file: every row committed in
//! batches, a failed batch rolled back whole with its records as dead
//! letters (by sequence), a database that cannot be opened failing the run
//! before the first record, on both engines.

use std::path::PathBuf;

use flux_core::{Pipeline, Runnable};
use flux_engine_async::AsyncEngine;
use flux_engine_sync::SyncEngine;
use flux_plan::Planner;
use flux_sqlite::{BatchFailed, Row, SqliteSink, Table};
use flux_test::IterSource;
use rusqlite::Connection;

/// A database file of the test's own, removed when dropped.
struct Scratch(PathBuf);

impl Scratch {
    fn new(name: &str) -> Self {
        let path = std::env::temp_dir().join(format!("flux-sqlite-{name}-{}.db", std::process::id()));
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
        }
        Scratch(path)
    }

    fn ids(&self) -> Vec<u64> {
        let db = Connection::open(&self.0).unwrap();
        let mut query = db.prepare("SELECT id FROM orders ORDER BY id").unwrap();
        query.query_map([], |row| row.get(0)).unwrap().map(Result::unwrap).collect()
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", self.0.display()));
        }
    }
}

/// An order: its id and its total in cents.
#[derive(Clone, Debug)]
struct Order {
    id: u64,
    cents: i64,
}

fn orders_table() -> Table {
    Table::new("orders")
        .unwrap()
        .column("id", "INTEGER PRIMARY KEY")
        .unwrap()
        .column("cents", "INTEGER NOT NULL")
        .unwrap()
}

fn orders_sink(db: &Scratch, batch: usize) -> SqliteSink<Order, impl flux_sqlite::ToRows<Order> + use<>> {
    SqliteSink::new(&db.0, orders_table(), |order: &Order, row: &mut Row<'_>| {
        row.push(order.id)?.push(order.cents)?;
        Ok(())
    })
    .create_table()
    .batch_rows(batch)
}

fn orders(ids: impl Iterator<Item = u64>) -> Vec<Order> {
    ids.map(|id| Order { id, cents: (id as i64) * 3 }).collect()
}

#[test]
fn a_load_commits_every_row_in_batches_on_the_sync_engine() {
    let db = Scratch::new("load");
    let sink = orders_sink(&db, 1_000);
    let stats = sink.stats();
    let pipeline = Pipeline::from_source(IterSource::new(orders(0..10_500))).sink(sink);
    let plan = Planner::new().plan(pipeline.describe()).unwrap();
    let report = SyncEngine::new().run(&plan, pipeline).unwrap();
    assert_eq!(db.ids(), (0..10_500).collect::<Vec<u64>>());
    let total: i64 =
        Connection::open(&db.0).unwrap().query_row("SELECT SUM(cents) FROM orders", [], |r| r.get(0)).unwrap();
    assert_eq!(total, (0..10_500i64).map(|id| id * 3).sum::<i64>());
    assert_eq!(
        (stats.rows(), stats.batches(), stats.failed_batches()),
        (10_500, 11, 0),
        "ten full batches, then the rest at close"
    );
    assert_eq!(report.row("sink").unwrap().counts.consumed, 10_500);
    assert!(report.dead_letters.is_empty());
}

/// Ids 0..100 in batches of ten, but the record at sequence 45 repeats id
/// 42: the batch of sequences 40..50 fails on the primary key and is
/// rolled back whole. Its ten records are dead letters; every other batch
/// is in the table.
#[test]
fn a_failed_batch_is_rolled_back_whole_and_its_records_are_dead_letters() {
    let db = Scratch::new("failed-batch");
    let sink = orders_sink(&db, 10);
    let stats = sink.stats();
    let mut input = orders(0..100);
    input[45].id = 42;
    let pipeline = Pipeline::from_source(IterSource::new(input)).sink(sink);
    let plan = Planner::new().plan(pipeline.describe()).unwrap();
    let report = SyncEngine::new().run(&plan, pipeline).unwrap();

    let expected: Vec<u64> = (0..40).chain(50..100).collect();
    assert_eq!(db.ids(), expected, "no row of the failed batch, every row of the others");
    let dead: Vec<u64> = report.dead_letters.iter().map(|letter| letter.meta.sequence).collect();
    assert_eq!(dead, (40..50).collect::<Vec<u64>>());
    let cause = report.dead_letters[0].error.cause().downcast_ref::<BatchFailed>().expect("the batch's failure");
    assert_eq!((cause.table.as_str(), cause.rows), ("orders", 10));
    assert!(cause.error.contains("UNIQUE constraint failed: orders.id"), "{}", cause.error);
    assert_eq!((stats.rows(), stats.batches(), stats.failed_batches(), stats.retries()), (90, 9, 1, 0));
    let sink = report.row("sink").unwrap();
    assert_eq!(
        (sink.received, sink.counts.consumed, sink.dead_letters),
        (100, 90, 10),
        "written + dead letters = input"
    );
    assert!(report.problems.is_empty());
}

/// A record that binds fewer values than the table has columns fails its
/// batch, which is rolled back: SQLite would have stored a NULL.
#[test]
fn a_row_with_too_few_values_fails_its_batch() {
    let db = Scratch::new("short-row");
    let sink = SqliteSink::new(&db.0, orders_table(), |order: &Order, row: &mut Row<'_>| {
        row.push(order.id)?;
        if order.id != 7 {
            row.push(order.cents)?;
        }
        Ok(())
    })
    .create_table()
    .batch_rows(5);
    let pipeline = Pipeline::from_source(IterSource::new(orders(0..10))).sink(sink);
    let plan = Planner::new().plan(pipeline.describe()).unwrap();
    let report = SyncEngine::new().run(&plan, pipeline).unwrap();
    assert_eq!(db.ids(), [0, 1, 2, 3, 4]);
    let dead: Vec<u64> = report.dead_letters.iter().map(|letter| letter.meta.sequence).collect();
    assert_eq!(dead, [5, 6, 7, 8, 9]);
}

#[test]
fn a_database_that_cannot_be_opened_fails_the_run_before_the_first_record() {
    let path = std::env::temp_dir().join("flux-sqlite-no-such-dir").join("x").join("orders.db");
    let sink = SqliteSink::new(&path, orders_table(), |order: &Order, row: &mut Row<'_>| {
        row.push(order.id)?.push(order.cents)?;
        Ok(())
    });
    let pipeline = Pipeline::from_source(IterSource::new(orders(0..10))).sink(sink);
    let plan = Planner::new().plan(pipeline.describe()).unwrap();
    let error = SyncEngine::new().run(&plan, pipeline).unwrap_err();
    assert_eq!(error.stage().map(|s| s.as_str()), Some("sink"));
    let cause = std::error::Error::source(&error).map(ToString::to_string).unwrap_or_default();
    assert!(cause.contains("cannot open the SQLite database"), "{error}: {cause}");
    assert_eq!(error.report().unwrap().row("source").unwrap().emitted, 0, "nothing was read");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_load_runs_on_tokio_with_the_sink_on_a_thread_of_its_own() {
    let db = Scratch::new("tokio");
    let sink = orders_sink(&db, 500);
    let stats = sink.stats();
    let mut input = orders(0..3_000);
    input[1_234].id = 1_233;
    let pipeline = Pipeline::from_source(IterSource::new(input)).sink(sink);
    let plan = Planner::new().plan(pipeline.describe()).unwrap();
    let report = AsyncEngine::new().run(&plan, pipeline).await.unwrap();
    let expected: Vec<u64> = (0..1_000).chain(1_500..3_000).collect();
    assert_eq!(db.ids(), expected);
    let mut dead: Vec<u64> = report.dead_letters.iter().map(|letter| letter.meta.sequence).collect();
    dead.sort_unstable();
    assert_eq!(dead, (1_000..1_500).collect::<Vec<u64>>());
    assert_eq!((stats.rows(), stats.failed_batches()), (2_500, 1));
}

/// Three records at 0, 1 and 2 `tick`s, then one at 100, in batches of
/// 1,000 that linger 5 ticks; when the fourth passes, how many rows the
/// table has.
fn lingering(
    db: &Scratch,
    seen: &std::sync::Arc<std::sync::Mutex<Option<u64>>>,
    tick: std::time::Duration,
) -> impl Runnable + use<> {
    use flux_core::{Envelope, Instant};
    use flux_steps::Steps;
    let (path, seen) = (db.0.clone(), seen.clone());
    let timed = [0u64, 1, 2, 100].map(|ticks| {
        (Instant::ZERO + tick * ticks as u32, Envelope::new(Order { id: ticks, cents: 1 }).with_sequence(ticks))
    });
    Pipeline::from_source(flux_test::TimedSource::new(timed.to_vec()))
        .map(move |order: Order| {
            if order.id == 100 {
                let db = Connection::open(&path).unwrap();
                *seen.lock().unwrap() = Some(db.query_row("SELECT COUNT(*) FROM orders", [], |r| r.get(0)).unwrap());
            }
            order
        })
        .sink(orders_sink(db, 1_000).batch_linger(tick * 5))
}

/// The first three records are in the table when the fourth arrives:
/// written at 5 s of engine time, not only at the end.
#[test]
fn a_batch_that_lingers_is_written_on_the_engines_clock_though_not_full() {
    use flux_core::Instant;
    let db = Scratch::new("linger");
    let seen_at_100 = std::sync::Arc::default();
    let pipeline = lingering(&db, &seen_at_100, std::time::Duration::from_secs(1));
    let plan = Planner::new().plan(pipeline.describe()).unwrap();
    let report = SyncEngine::new().run(&plan, pipeline).unwrap();
    assert_eq!(*seen_at_100.lock().unwrap(), Some(3), "written at 5 s, before the record at 100 s");
    assert_eq!(db.ids(), [0, 1, 2, 100]);
    assert_eq!(report.end_time, Instant::from_secs(100), "the last record's linger does not hold the end");
    let timers: Vec<Instant> = report
        .trace
        .iter()
        .filter_map(|decision| match decision {
            flux_engine_sync::Decision::Timer { at } => Some(*at),
            _ => None,
        })
        .collect();
    assert_eq!(timers, [Instant::from_secs(5)], "the engine woke the sink when its batch had lingered 5 s");
}

/// On tokio the sink runs on a thread of its own, in real time (paused
/// time would jump past a thread it does not wait for): ticks of 20 ms,
/// so the batch is written at 100 ms and the fourth record comes at 2 s.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_that_lingers_is_written_on_tokio_time_though_not_full() {
    let db = Scratch::new("linger-tokio");
    let seen_at_100 = std::sync::Arc::default();
    let pipeline = lingering(&db, &seen_at_100, std::time::Duration::from_millis(20));
    let plan = Planner::new().plan(pipeline.describe()).unwrap();
    let _report = AsyncEngine::new().run(&plan, pipeline).await.unwrap();
    assert_eq!(*seen_at_100.lock().unwrap(), Some(3), "written after 100 ms, before the record at 2 s");
    assert_eq!(db.ids(), [0, 1, 2, 100]);
}
