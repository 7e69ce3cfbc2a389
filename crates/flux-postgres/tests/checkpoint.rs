//! Restartable loads against a real server (`FLUX_POSTGRES_URL`; each
//! test says it is skipped without one): the rows and the load's progress
//! committed in one transaction, a run after a stop writing exactly what
//! is missing, and several tables filled, and rolled back, together.

mod common;

use bytes::Bytes;
use common::{Scratch, execute, query, server};
use flux_core::{CheckpointToken, Context, Envelope, Instant, Pipeline, Runnable, Sink, TransactionalSink};
use flux_engine_sync::SyncEngine;
use flux_plan::Planner;
use flux_postgres::{BatchFailed, Checkpoint, PostgresSink, PostgresStats, Row, Rows, Table, ToRows, checkpoint};
use flux_steps::Steps;
use flux_test::{Diverted, IterSource};

fn ids_table(name: &str) -> Table {
    Table::new(name).unwrap().column("id", "BIGINT PRIMARY KEY").unwrap()
}

/// A table of the test's own, and no checkpoint under its name.
fn fresh(url: &str, name: &str) -> Scratch {
    execute(
        url,
        &format!(
            "DO $$ BEGIN IF to_regclass('flux_checkpoints') IS NOT NULL THEN \
             DELETE FROM flux_checkpoints WHERE name = '{name}'; END IF; END $$"
        ),
    );
    Scratch::new(url, name)
}

fn ids_sink(db: &Scratch, batch: usize) -> PostgresSink<u64, impl ToRows<u64> + use<>> {
    let sink = PostgresSink::new(&db.url, ids_table(&db.name), |id: &u64, row: &mut Row<'_>| {
        row.push(*id as i64)?;
        Ok(())
    });
    sink.create_table().batch_rows(batch).retries(0).checkpoint_as(&db.name)
}

/// Loads `ids`; the run stops (a panic in a stage) at the value `stop_at`,
/// if given.
fn load(db: &Scratch, ids: Vec<u64>, stop_at: Option<u64>) -> (PostgresStats, flux_engine_sync::RunReport) {
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

fn committed(db: &Scratch) -> Option<Checkpoint> {
    checkpoint(&db.url, &db.name).unwrap()
}

#[test]
fn a_stopped_load_run_again_writes_every_row_exactly_once() {
    let Some(url) = server("a_stopped_load_run_again_writes_every_row_exactly_once") else { return };
    let db = fresh(&url, "flux_ck_stopped");
    let (first, _) = load(&db, (0..1_000).collect(), Some(537));
    assert_eq!(db.ids(), (0..537).collect::<Vec<u64>>(), "the rows before the stop, held ones at close");
    assert_eq!(first.rows(), 537);
    assert_eq!(committed(&db), Some(Checkpoint { records: 537, sequence: Some(536) }));

    let (second, report) = load(&db, (0..1_000).collect(), None);
    assert_eq!(db.ids(), (0..1_000).collect::<Vec<u64>>());
    assert_eq!((second.skipped(), second.rows()), (537, 463), "the first run's rows passed over, the rest written");
    assert_eq!(committed(&db), Some(Checkpoint { records: 1_000, sequence: Some(999) }));
    assert!(report.dead_letters.is_empty());
    assert_eq!(report.row("sink").unwrap().counts.consumed, 1_000, "passed-over records are consumed");
}

#[test]
fn a_third_run_of_a_finished_load_writes_nothing() {
    let Some(url) = server("a_third_run_of_a_finished_load_writes_nothing") else { return };
    let db = fresh(&url, "flux_ck_finished");
    let (_, first) = load(&db, (0..250).collect(), None);
    assert!(first.dead_letters.is_empty());
    let (again, _) = load(&db, (0..250).collect(), None);
    assert_eq!((again.skipped(), again.rows(), again.batches()), (250, 0, 0));
    assert_eq!(db.ids().len(), 250);
}

/// A failed batch's records keep their places: a restarted run passes
/// over them too (they were the dead letters of the run that failed).
#[test]
fn a_failed_batch_counts_as_taken_so_a_restart_does_not_shift_the_stream() {
    let Some(url) = server("a_failed_batch_counts_as_taken_so_a_restart_does_not_shift_the_stream") else { return };
    let db = fresh(&url, "flux_ck_failed");
    let mut ids: Vec<u64> = (0..300).collect();
    ids[150] = 149; // the batch 100..200 fails on the primary key
    let (first, report) = load(&db, ids.clone(), None);
    assert_eq!((first.rows(), first.failed_batches()), (200, 1));
    let dead: Vec<u64> = report.dead_letters.iter().map(|letter| letter.meta.sequence).collect();
    assert_eq!(dead, (100..200).collect::<Vec<u64>>());
    assert_eq!(committed(&db), Some(Checkpoint { records: 300, sequence: Some(299) }));
    let (second, report) = load(&db, ids, None);
    assert_eq!((second.skipped(), second.rows(), second.failed_batches()), (300, 0, 0));
    assert!(report.dead_letters.is_empty());
    assert_eq!(db.ids(), (0..100).chain(200..300).collect::<Vec<u64>>());
}

#[test]
fn the_checkpoint_is_in_the_same_transaction_as_the_rows() {
    let Some(url) = server("the_checkpoint_is_in_the_same_transaction_as_the_rows") else { return };
    let db = fresh(&url, "flux_ck_transaction");
    let mut sink = ids_sink(&db, 1_000);
    let mut diverted = Diverted::default();
    let mut cx = Context::new(Instant::ZERO, &mut diverted);
    for id in 0..3u64 {
        sink.write(Envelope::new(id).with_sequence(10 + id), &mut cx).unwrap();
    }
    assert_eq!(committed(&db), None, "nothing committed yet");
    sink.commit(&CheckpointToken { sequence: 40, state: Bytes::new() }).unwrap();
    assert_eq!(committed(&db), Some(Checkpoint { records: 3, sequence: Some(40) }));
    sink.write(Envelope::new(3u64).with_sequence(41), &mut cx).unwrap();
    sink.abort();
    sink.close(&mut cx).unwrap();
    assert_eq!(db.ids(), [0, 1, 2], "the aborted write never reached the table");
    assert_eq!(committed(&db), Some(Checkpoint { records: 3, sequence: Some(40) }));

    // A row the table refuses rolls the checkpoint back with the rows.
    let mut sink = ids_sink(&db, 1_000);
    sink.write(Envelope::new(2u64).with_sequence(50), &mut cx).unwrap();
    let refused = sink.commit(&CheckpointToken { sequence: 50, state: Bytes::new() });
    assert!(refused.is_err(), "the repeated id fails the batch");
    sink.close(&mut cx).unwrap();
    assert_eq!(committed(&db), Some(Checkpoint { records: 3, sequence: Some(40) }), "the checkpoint did not move");
}

/// Each order writes a row into `orders` and one per item into `items`;
/// order 6 has two items with the same number, so its batch (orders 5..10)
/// fails on `items` and is rolled back in both tables.
#[test]
fn several_tables_fill_in_one_transaction_and_roll_back_together() {
    let Some(url) = server("several_tables_fill_in_one_transaction_and_roll_back_together") else { return };
    let (orders_db, items_db) = (fresh(&url, "flux_ck_orders"), fresh(&url, "flux_ck_items"));
    let orders = Table::new("flux_ck_orders").unwrap().column("id", "BIGINT PRIMARY KEY").unwrap();
    let items = Table::new("flux_ck_items").unwrap().column("id", "BIGINT").unwrap().column("item", "BIGINT").unwrap();
    // A unique index makes the repeated item a constraint failure.
    execute(&url, "CREATE TABLE flux_ck_items (id BIGINT, item BIGINT, UNIQUE (id, item))");
    let sink = PostgresSink::tables(&url, vec![orders, items], |order: &i64, rows: &mut Rows<'_>| {
        rows.insert("flux_ck_orders", |row| row.push(order).map(drop).map_err(Into::into))?;
        let numbers: &[i64] = if *order == 6 { &[1, 1] } else { &[1, 2] };
        for n in numbers {
            rows.insert("flux_ck_items", |row| row.push(order)?.push(n).map(drop).map_err(Into::into))?;
        }
        Ok(())
    })
    .create_table()
    .batch_rows(5)
    .retries(0);
    let stats = sink.stats();
    let report = run(Pipeline::from_source(IterSource::new(0..15i64)).sink(sink));
    let kept: Vec<u64> = (0..5).chain(10..15).collect();
    assert_eq!(orders_db.ids(), kept);
    let item_orders = query(&url, "SELECT DISTINCT id FROM flux_ck_items ORDER BY id");
    assert_eq!(item_orders, kept.iter().map(u64::to_string).collect::<Vec<_>>());
    assert_eq!(items_db.ids().len(), 20);
    assert_eq!((stats.rows(), stats.failed_batches()), (30, 1), "three rows per order in the two good batches");
    let dead: Vec<u64> = report.dead_letters.iter().map(|letter| letter.meta.sequence).collect();
    assert_eq!(dead, [5, 6, 7, 8, 9]);
    let cause = report.dead_letters[0].error.cause().downcast_ref::<BatchFailed>().unwrap();
    assert_eq!(cause.table, "flux_ck_orders, flux_ck_items");
}

#[test]
fn a_row_for_a_table_the_sink_does_not_have_fails_its_batch() {
    let Some(url) = server("a_row_for_a_table_the_sink_does_not_have_fails_its_batch") else { return };
    let db = fresh(&url, "flux_ck_no_table");
    let sink = PostgresSink::tables(&url, vec![ids_table(&db.name)], |id: &i64, rows: &mut Rows<'_>| {
        let table = if *id == 3 { "idz" } else { "flux_ck_no_table" };
        rows.insert(table, |row| row.push(id).map(drop).map_err(Into::into))
    })
    .create_table()
    .batch_rows(2);
    let report = run(Pipeline::from_source(IterSource::new(0..6i64)).sink(sink));
    assert_eq!(db.ids(), [0, 1, 4, 5]);
    let cause = report.dead_letters[0].error.cause().downcast_ref::<BatchFailed>().unwrap();
    assert!(cause.error.contains("no table `idz`"), "{}", cause.error);
}

/// A file of ids, one per line, loaded by a pipeline that keeps order and
/// holds no state: the restarted run restores the file source from the
/// committed input position and reads only what was not covered.
#[test]
fn a_stateless_load_resumes_its_file_source_from_the_committed_position() {
    use flux_core::RecoverableSource;
    use flux_memory::FramedSource;
    use flux_postgres::Resume;

    let Some(url) = server("a_stateless_load_resumes_its_file_source_from_the_committed_position") else { return };
    let db = fresh(&url, "flux_ck_from_source");
    let file = std::env::temp_dir().join(format!("flux-postgres-ck-{}.ids", std::process::id()));
    std::fs::write(&file, (0..1_000).map(|id| format!("{id}\n")).collect::<String>()).unwrap();
    let load = |stop_at: Option<u64>| {
        let mut source = FramedSource::lines(&file).unwrap();
        if let Some(token) = committed(&db).and_then(|c| c.token()) {
            source.restore(&token).unwrap();
        }
        let sink = ids_sink(&db, 100).resume(Resume::FromSource);
        let stats = sink.stats();
        let pipeline = Pipeline::from_source(source)
            .named("file")
            .map(move |line: Bytes| {
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
    assert_eq!(db.ids(), (0..1_000).collect::<Vec<u64>>(), "every id once");
    assert_eq!((second.skipped(), second.rows()), (0, 463), "nothing passed over at the sink");
    assert_eq!(report.row("file").unwrap().emitted, 463, "the source read only the lines not covered");
    assert_eq!(committed(&db), Some(Checkpoint { records: 1_000, sequence: Some(999) }));
}

/// A restart reads the checkpoint only once no transaction is still
/// writing one: a load killed just after it sent a `COMMIT` may have that
/// commit land after the restart began, and a read before it would pass
/// over too little and write that transaction's rows a second time.
#[test]
fn a_checkpoint_is_read_once_a_commit_still_in_flight_lands() {
    use flux_postgres::tokio_postgres::{self, NoTls};

    let Some(url) = server("a_checkpoint_is_read_once_a_commit_still_in_flight_lands") else { return };
    let db = fresh(&url, "flux_ck_in_flight");
    let (_, report) = load(&db, (0..100).collect(), None);
    assert!(report.dead_letters.is_empty(), "{:?}", report.dead_letters);
    assert_eq!(checkpoint(&db.url, &db.name).unwrap().map(|found| found.records), Some(100));
    let (holding, held) = std::sync::mpsc::channel();
    let (writer_url, name) = (db.url.clone(), db.name.clone());
    // Another session moves the checkpoint on and keeps its transaction
    // open until a read waits for it (or ten seconds have passed: a read
    // that does not wait has returned long before).
    let writer = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
        runtime.block_on(async move {
            let (client, connection) = tokio_postgres::connect(&writer_url, NoTls).await.expect("a connection");
            tokio::spawn(connection);
            let update = format!("BEGIN; UPDATE flux_checkpoints SET records = 200 WHERE name = '{name}'");
            client.batch_execute(&update).await.expect("the update runs");
            holding.send(()).expect("the test waits");
            let waiting = "SELECT count(*) FROM pg_locks WHERE NOT granted AND relation = 'flux_checkpoints'::regclass";
            // At most 2,000 looks 5 ms apart: ten seconds.
            for _ in 0..2_000 {
                let waiters: i64 = client.query_one(waiting, &[]).await.expect("pg_locks reads").get(0);
                if waiters > 0 {
                    break;
                }
                tokio::time::sleep(core::time::Duration::from_millis(5)).await;
            }
            client.batch_execute("COMMIT").await.expect("the commit");
        });
    });
    held.recv().expect("the writer holds its transaction");
    let read = checkpoint(&db.url, &db.name).unwrap().map(|found| found.records);
    writer.join().expect("the writer's thread");
    assert_eq!(read, Some(200), "the read waited for the commit in flight");
}
