//! A PostgreSQL batch that fails in a way that may pass (its session ended
//! in the middle of it, or the server gave up on it for a serialization
//! failure) is rolled back, tried again (connecting again if need be) and
//! lands once; when the tries run out its records are dead letters.
//! Against a real server (`FLUX_POSTGRES_URL`; skipped without).
//!
//! The failures come from a trigger on the table, on the row with id 250,
//! counted by a sequence (which no rollback undoes): the first `fail_times`
//! times that row is written, the trigger ends its own session
//! (`pg_terminate_backend(pg_backend_pid())`) or raises SQLSTATE 40001.

mod common;

use std::time::Duration;

use common::{Scratch, execute, order_row, orders, orders_table, row_of, server};
use flux_core::{Pipeline, Runnable};
use flux_engine_sync::{RunReport, SyncEngine};
use flux_plan::Planner;
use flux_postgres::{BatchFailed, PostgresSink, PostgresStats};
use flux_test::IterSource;

/// The table `name` with a trigger that does `failure` while its sequence
/// is at most `fail_times`.
fn failing_table(url: &str, name: &str, failure: &str, fail_times: u32) -> Scratch {
    let db = Scratch::new(url, name);
    execute(
        url,
        &format!(
            "DROP SEQUENCE IF EXISTS {name}_failures;
             CREATE SEQUENCE {name}_failures;
             {create};
             CREATE OR REPLACE FUNCTION {name}_fail() RETURNS trigger LANGUAGE plpgsql AS $$
             BEGIN
               IF NEW.id = 250 AND nextval('{name}_failures') <= {fail_times} THEN
                 {failure};
               END IF;
               RETURN NEW;
             END $$;
             CREATE TRIGGER {name}_fail BEFORE INSERT ON {name} FOR EACH ROW EXECUTE FUNCTION {name}_fail();",
            create = orders_table(name).create_sql(),
        ),
    );
    db
}

fn load(db: &Scratch, retries: u32) -> (RunReport, PostgresStats) {
    let sink = PostgresSink::new(&db.url, orders_table(&db.name), order_row())
        .batch_rows(100)
        .retries(retries)
        .retry_delay(Duration::from_millis(5));
    let stats = sink.stats();
    let pipeline = Pipeline::from_source(IterSource::new(orders(0..500))).sink(sink);
    let plan = Planner::new().plan(pipeline.describe()).unwrap();
    (SyncEngine::new().run(&plan, pipeline).unwrap(), stats)
}

const END_SESSION: &str = "PERFORM pg_terminate_backend(pg_backend_pid())";

/// The session ends halfway through the third batch's COPY: that batch is
/// rolled back (its first fifty rows are not kept), the sink connects again
/// and writes it whole.
#[test]
fn a_batch_whose_session_ends_midway_is_written_again_on_a_new_connection() {
    let Some(url) = server("a_batch_whose_session_ends_midway_is_written_again_on_a_new_connection") else { return };
    let db = failing_table(&url, "flux_retry_session", END_SESSION, 1);
    let (report, stats) = load(&db, 3);
    assert_eq!(db.rows(), (0..500).map(row_of).collect::<Vec<_>>(), "every row once");
    assert!(report.dead_letters.is_empty());
    assert_eq!(
        (stats.rows(), stats.batches(), stats.retries(), stats.reconnects(), stats.failed_batches()),
        (500, 5, 1, 1, 0)
    );
}

/// The same lost session in a restartable load: after connecting again
/// the sink reads the checkpoint (the lost try might have committed), finds
/// it short of the batch, and writes the batch whole; the checkpoint ends
/// at every record once.
#[test]
fn a_restartable_batch_whose_session_ends_midway_is_written_again_and_counted_once() {
    let Some(url) = server("a_restartable_batch_whose_session_ends_midway_is_written_again_and_counted_once") else {
        return;
    };
    let name = "flux_retry_checkpoint";
    let db = failing_table(&url, name, END_SESSION, 1);
    execute(
        &url,
        &format!(
            "DO $$ BEGIN IF to_regclass('flux_checkpoints') IS NOT NULL THEN \
             DELETE FROM flux_checkpoints WHERE name = '{name}'; END IF; END $$"
        ),
    );
    let sink = PostgresSink::new(&db.url, orders_table(name), order_row())
        .batch_rows(100)
        .retries(3)
        .retry_delay(Duration::from_millis(5))
        .checkpoint_as(name);
    let stats = sink.stats();
    let pipeline = Pipeline::from_source(IterSource::new(orders(0..500))).sink(sink);
    let plan = Planner::new().plan(pipeline.describe()).unwrap();
    let report = SyncEngine::new().run(&plan, pipeline).unwrap();
    assert_eq!(db.rows(), (0..500).map(row_of).collect::<Vec<_>>(), "every row once");
    assert!(report.dead_letters.is_empty());
    assert_eq!((stats.rows(), stats.batches(), stats.retries(), stats.reconnects()), (500, 5, 1, 1));
    let committed = flux_postgres::checkpoint(&url, name).unwrap();
    assert_eq!(committed, Some(flux_postgres::Checkpoint { records: 500, sequence: Some(499) }));
}

/// A serialization failure is tried again on the same connection.
#[test]
fn a_serialization_failure_is_tried_again() {
    let Some(url) = server("a_serialization_failure_is_tried_again") else { return };
    let raise = "RAISE EXCEPTION 'made to fail' USING ERRCODE = 'serialization_failure'";
    let db = failing_table(&url, "flux_retry_serialization", raise, 2);
    let (report, stats) = load(&db, 3);
    assert_eq!(db.ids(), (0..500).collect::<Vec<u64>>());
    assert!(report.dead_letters.is_empty());
    assert_eq!((stats.rows(), stats.retries(), stats.reconnects()), (500, 2, 0));
}

/// When every try fails, the batch's hundred records are dead letters
/// with the last error, and the other batches land.
#[test]
fn a_batch_that_fails_every_try_is_dead_letters_whole() {
    let Some(url) = server("a_batch_that_fails_every_try_is_dead_letters_whole") else { return };
    let db = failing_table(&url, "flux_retry_exhausted", END_SESSION, 1_000);
    let (report, stats) = load(&db, 2);
    assert_eq!(db.ids(), (0..200).chain(300..500).collect::<Vec<u64>>());
    let dead: Vec<u64> = report.dead_letters.iter().map(|letter| letter.meta.sequence).collect();
    assert_eq!(dead, (200..300).collect::<Vec<u64>>());
    let cause = report.dead_letters[0].error.cause().downcast_ref::<BatchFailed>().expect("the batch's failure");
    assert_eq!(cause.rows, 100);
    assert!(cause.error.contains("SQLSTATE 57P01"), "the session was ended: {}", cause.error);
    assert_eq!((stats.rows(), stats.retries(), stats.reconnects(), stats.failed_batches()), (400, 2, 3, 1));
}
