//! The PostgreSQL sink against a real server (`FLUX_POSTGRES_URL`; each
//! test says it is skipped without one): every row landing exactly by
//! COPY, INSERT and upsert, a failed batch rolled back whole with its
//! records as dead letters (by sequence), a connection killed mid-run made
//! again, and a server, table or key that is not there failing the run
//! before the first record, on both engines.

mod common;

use common::{Order, Scratch, execute, named, order_row, orders, orders_table, query, row_of, server};
use flux_core::{Pipeline, Runnable};
use flux_engine_async::AsyncEngine;
use flux_engine_sync::SyncEngine;
use flux_plan::Planner;
use flux_postgres::{BatchFailed, OnConflict, PostgresSink, Row, ToRow};
use flux_test::IterSource;

fn orders_sink(db: &Scratch, batch: usize) -> PostgresSink<Order, impl flux_postgres::ToRows<Order> + use<>> {
    PostgresSink::new(&db.url, orders_table(&db.name), order_row()).create_table().batch_rows(batch).retries(0)
}

fn run_sync(pipeline: impl Runnable) -> flux_engine_sync::RunReport {
    let plan = Planner::new().plan(pipeline.describe()).unwrap();
    SyncEngine::new().run(&plan, pipeline).unwrap()
}

fn dead_sequences(report: &flux_engine_sync::RunReport) -> Vec<u64> {
    report.dead_letters.iter().map(|letter| letter.meta.sequence).collect()
}

#[test]
fn a_copy_load_lands_every_row_exactly_in_batches_on_the_sync_engine() {
    let Some(url) = server("a_copy_load_lands_every_row_exactly_in_batches_on_the_sync_engine") else { return };
    let db = Scratch::new(&url, "flux_copy_load");
    let sink = orders_sink(&db, 1_000);
    let stats = sink.stats();
    let report = run_sync(Pipeline::from_source(IterSource::new(orders(0..10_500))).sink(sink));
    assert_eq!(db.rows(), (0..10_500).map(row_of).collect::<Vec<_>>(), "every row, each value, NULLs as NULL");
    assert_eq!(
        (stats.rows(), stats.batches(), stats.failed_batches()),
        (10_500, 11, 0),
        "ten full batches, then the rest at close"
    );
    assert_eq!(report.row("sink").unwrap().counts.consumed, 10_500);
    assert!(report.dead_letters.is_empty());
}

/// The same rows as one `INSERT` each, mapped by a type of the caller's
/// (the trait, not a closure).
#[test]
fn the_insert_mode_lands_every_row_exactly() {
    struct ById;
    impl ToRow<Order> for ById {
        fn bind(&mut self, order: &Order, row: &mut Row<'_>) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
            row.push(order.id as i64)?.push(order.cents)?.push(order.note.as_deref())?;
            Ok(())
        }
    }
    let Some(url) = server("the_insert_mode_lands_every_row_exactly") else { return };
    let db = Scratch::new(&url, "flux_insert_load");
    let sink = PostgresSink::new(&url, orders_table(&db.name), ById).insert().create_table().batch_rows(100);
    let stats = sink.stats();
    let report = run_sync(Pipeline::from_source(IterSource::new(orders(0..1_050))).sink(sink));
    assert_eq!(db.rows(), (0..1_050).map(row_of).collect::<Vec<_>>());
    assert_eq!((stats.rows(), stats.batches()), (1_050, 11));
    assert!(report.dead_letters.is_empty());
}

/// Ids 0..20 are in the table with cents 0; the load brings ids 10..30,
/// id 15 twice in one batch (its second value wins). Updating: 10..30
/// carry the new cents. Skipping: 10..20 keep theirs.
#[test]
fn an_upsert_updates_or_keeps_the_rows_whose_key_is_there() {
    let Some(url) = server("an_upsert_updates_or_keeps_the_rows_whose_key_is_there") else { return };
    for (name, on_conflict) in
        [("flux_upsert_update", OnConflict::Update), ("flux_upsert_nothing", OnConflict::Nothing)]
    {
        let db = Scratch::new(&url, name);
        execute(&url, &orders_table(name).create_sql());
        execute(&url, &format!("INSERT INTO {name} (id, cents) SELECT n, 0 FROM generate_series(0, 19) AS n"));
        let mut input = orders(10..30);
        input.insert(6, Order { id: 15, cents: -1, note: None });
        let sink = PostgresSink::new(&url, orders_table(name), order_row()).upsert(&["id"], on_conflict).batch_rows(8);
        let stats = sink.stats();
        let report = run_sync(Pipeline::from_source(IterSource::new(input)).sink(sink));
        assert!(report.dead_letters.is_empty(), "{on_conflict:?}");
        assert_eq!(stats.rows(), 21, "{on_conflict:?}: every record written, a skipped one too");
        let expected: Vec<String> = (0..30)
            .map(|id| match (id, on_conflict) {
                (0..10, _) | (10..20, OnConflict::Nothing) => format!("{id},0,"),
                (15, OnConflict::Update) => "15,-1,".to_owned(),
                _ => row_of(id),
            })
            .collect();
        assert_eq!(db.rows(), expected, "{on_conflict:?}");
    }
}

/// Ids 0..100 in batches of ten, but the record at sequence 45 repeats id
/// 42: the batch of sequences 40..50 fails on the primary key and is
/// rolled back whole, by COPY as by INSERT. Its ten records are dead
/// letters; every other batch is in the table.
#[test]
fn a_failed_batch_is_rolled_back_whole_and_its_records_are_dead_letters() {
    let Some(url) = server("a_failed_batch_is_rolled_back_whole_and_its_records_are_dead_letters") else { return };
    for (name, insert) in [("flux_failed_copy", false), ("flux_failed_insert", true)] {
        let db = Scratch::new(&url, name);
        let sink = orders_sink(&db, 10).retries(3);
        let sink = if insert { sink.insert() } else { sink };
        let stats = sink.stats();
        let mut input = orders(0..100);
        input[45].id = 42;
        let report = run_sync(Pipeline::from_source(IterSource::new(input)).sink(sink));

        let expected: Vec<u64> = (0..40).chain(50..100).collect();
        assert_eq!(db.ids(), expected, "{name}: no row of the failed batch, every row of the others");
        assert_eq!(dead_sequences(&report), (40..50).collect::<Vec<u64>>(), "{name}");
        let cause = report.dead_letters[0].error.cause().downcast_ref::<BatchFailed>().expect("the batch's failure");
        assert_eq!((cause.table.as_str(), cause.rows), (name, 10));
        assert!(cause.error.contains("duplicate key value violates unique constraint"), "{}", cause.error);
        assert!(cause.error.contains("SQLSTATE 23505") && cause.error.contains("(id)=(42)"), "{}", cause.error);
        assert_eq!(
            (stats.rows(), stats.batches(), stats.failed_batches(), stats.retries()),
            (90, 9, 1, 0),
            "{name}: a constraint is not tried again"
        );
        let sink = report.row("sink").unwrap();
        assert_eq!((sink.received, sink.counts.consumed, sink.dead_letters), (100, 90, 10), "{name}");
    }
}

/// A record whose value its column cannot take (an `i32` for a `BIGINT`),
/// or that pushes too few values or too many, fails its batch before
/// anything is sent, naming the column or the count.
#[test]
fn a_row_that_does_not_fit_the_table_fails_its_batch() {
    let Some(url) = server("a_row_that_does_not_fit_the_table_fails_its_batch") else { return };
    let db = Scratch::new(&url, "flux_bad_rows");
    let sink = PostgresSink::new(&url, orders_table(&db.name), |order: &Order, row: &mut Row<'_>| {
        match order.id {
            7 => row.push(order.id as i32)?,
            13 => row.push(order.id as i64)?.push(order.cents)?,
            17 => row.push(order.id as i64)?.push(order.cents)?.push(order.note.as_deref())?.push(1i64)?,
            _ => row.push(order.id as i64)?.push(order.cents)?.push(order.note.as_deref())?,
        };
        Ok(())
    })
    .create_table()
    .batch_rows(5);
    let report = run_sync(Pipeline::from_source(IterSource::new(orders(0..25))).sink(sink));
    assert_eq!(db.ids(), [0, 1, 2, 3, 4, 20, 21, 22, 23, 24]);
    assert_eq!(dead_sequences(&report), (5..20).collect::<Vec<u64>>());
    let errors: Vec<String> = [0, 5, 10]
        .iter()
        .map(|&i| report.dead_letters[i].error.cause().downcast_ref::<BatchFailed>().unwrap().error.clone())
        .collect();
    assert!(
        errors[0]
            .starts_with("the record at sequence 7: column `id` (int8) cannot take the value pushed: cannot convert"),
        "{}",
        errors[0]
    );
    assert_eq!(errors[1], "the record at sequence 13: a row pushed 2 values for the table's 3 columns");
    assert_eq!(errors[2], "the record at sequence 17: a row pushed more values than the table's 3 columns");
}

/// The sink's session is ended from another connection with
/// `pg_terminate_backend` halfway through the load; the sink connects
/// again and every row still lands, once.
#[test]
fn a_connection_killed_mid_run_is_made_again_and_no_row_is_lost() {
    let Some(url) = server("a_connection_killed_mid_run_is_made_again_and_no_row_is_lost") else { return };
    use flux_steps::Steps;
    let db = Scratch::new(&url, "flux_reconnect");
    // The process's id in the name: another suite's session is not this one.
    let application = &format!("flux_reconnect_test_{}", std::process::id());
    let sink = PostgresSink::new(&named(&url, application), orders_table(&db.name), order_row())
        .create_table()
        .batch_rows(100)
        .retry_delay(std::time::Duration::from_millis(10));
    let stats = sink.stats();
    let kill = format!(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = '{application}' AND datname = current_database()"
    );
    let admin = url.to_owned();
    let pipeline = Pipeline::from_source(IterSource::new(orders(0..1_000))).map(move |order: Order| {
        if order.id == 450 {
            assert_eq!(query(&admin, &kill), ["t"], "the sink's one session ended");
        }
        order
    });
    let report = run_sync(pipeline.sink(sink));
    assert_eq!(db.rows(), (0..1_000).map(row_of).collect::<Vec<_>>());
    assert!(report.dead_letters.is_empty());
    assert_eq!((stats.rows(), stats.batches(), stats.reconnects()), (1_000, 10, 1));
    assert!(stats.retries() <= 1, "found closed before the batch, or failing it once");
}

/// Nothing listens on port 1: the run fails when it opens, before the
/// source is read, with one line naming the URL without its password. No
/// server is needed for this one.
#[test]
fn an_unreachable_server_fails_the_run_before_the_first_record() {
    let sink = PostgresSink::new("postgresql://flux:s3cret@127.0.0.1:1/flux", orders_table("orders"), order_row());
    let pipeline = Pipeline::from_source(IterSource::new(orders(0..10))).sink(sink);
    let plan = Planner::new().plan(pipeline.describe()).unwrap();
    let error = SyncEngine::new().run(&plan, pipeline).unwrap_err();
    assert_eq!(error.stage().map(|s| s.as_str()), Some("sink"));
    let cause = std::error::Error::source(&error).map(ToString::to_string).unwrap_or_default();
    assert!(
        cause.starts_with("cannot open the PostgreSQL table `orders` at postgresql://flux@127.0.0.1:1/flux: error connecting to server"),
        "{cause}"
    );
    assert!(!cause.contains("s3cret") && !cause.contains('\n'), "{cause}");
    assert_eq!(error.report().unwrap().row("source").unwrap().emitted, 0, "nothing was read");
}

/// A table that is not there (and not to be created), or an upsert key
/// that is not one of its columns, fails the run when it opens.
#[test]
fn a_missing_table_or_a_key_that_is_not_a_column_fails_the_run_when_it_opens() {
    let open_error = |sink: PostgresSink<Order, _>| {
        let pipeline = Pipeline::from_source(IterSource::new(orders(0..10))).sink(sink);
        let plan = Planner::new().plan(pipeline.describe()).unwrap();
        let error = SyncEngine::new().run(&plan, pipeline).unwrap_err();
        std::error::Error::source(&error).map(ToString::to_string).unwrap_or_default()
    };
    let stranger = PostgresSink::new("postgresql://u@127.0.0.1:1/db", orders_table("orders"), order_row())
        .upsert(&["sku"], OnConflict::Update);
    assert_eq!(
        open_error(stranger),
        "cannot open the PostgreSQL table `orders` at postgresql://u@127.0.0.1:1/db: `sku` is not a column of `orders`"
    );
    let Some(url) = server("a_missing_table_or_a_key_that_is_not_a_column_fails_the_run_when_it_opens") else { return };
    let _db = Scratch::new(&url, "flux_not_there");
    let cause = open_error(PostgresSink::new(&url, orders_table("flux_not_there"), order_row()));
    assert!(cause.contains("relation \"flux_not_there\" does not exist (SQLSTATE 42P01)"), "{cause}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_load_runs_on_tokio_with_the_sink_on_a_thread_of_its_own() {
    let Some(url) = server("the_same_load_runs_on_tokio_with_the_sink_on_a_thread_of_its_own") else { return };
    let db = Scratch::new(&url, "flux_tokio_load");
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
    assert_eq!((stats.rows(), stats.batches(), stats.failed_batches()), (2_500, 5, 1));
}
