//! `cargo xtask bench sinks` (`sinks/postgres`): rows per second into
//! PostgreSQL through Flux's `PostgresSink` by binary COPY against a
//! hand-written tokio-postgres loop doing the same: the same rows, in
//! transactions of the same size, each one binary `COPY ... FROM STDIN`
//! (tokio-postgres's own `BinaryCopyInWriter`), each run connecting and
//! loading into a freshly made table. The server is the one
//! `FLUX_POSTGRES_URL` names; without it the comparison says it is skipped.

use std::hint::black_box;
use std::pin::pin;

use flux_core::{Pipeline, Runnable};
use flux_engine_sync::SyncEngine;
use flux_plan::Planner;
use flux_postgres::tokio_postgres::binary_copy::BinaryCopyInWriter;
use flux_postgres::tokio_postgres::types::{ToSql, Type};
use flux_postgres::tokio_postgres::{self, Client, NoTls};
use flux_postgres::{PostgresSink, Row, Table};

use super::sinks::{Order, ROWS, orders};
use crate::{Comparison, Variant};

/// Rows a transaction writes: COPY is for bulk, so more than SQLite's.
const BATCH: usize = 10_000;

fn table(name: &str) -> Table {
    let table = Table::new(name).and_then(|t| t.column("id", "BIGINT PRIMARY KEY"));
    let table = table.and_then(|t| t.column("cents", "BIGINT NOT NULL"));
    table.and_then(|t| t.column("customer", "TEXT NOT NULL")).expect("plain names")
}

/// Runs `job` with a fresh connection on a runtime of its own.
fn with_client<R>(url: &str, job: impl AsyncFnOnce(&mut Client) -> R) -> R {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
    runtime.block_on(async {
        let (mut client, connection) = tokio_postgres::connect(url, NoTls).await.expect("the bench's server");
        let connection = tokio::spawn(connection);
        let result = job(&mut client).await;
        drop(client);
        let _ = connection.await;
        result
    })
}

/// Drops the table a side loads into: each run starts from nothing.
fn drop_table(url: &str, name: &str) {
    let sql = format!("DROP TABLE IF EXISTS {name}");
    with_client(url, async |client| client.batch_execute(&sql).await.expect("the table dropped"));
}

fn count(url: &str, name: &str) -> u64 {
    let sql = format!("SELECT COUNT(*) FROM {name}");
    let rows: i64 = with_client(url, async |client| client.query_one(&sql, &[]).await.expect("a count").get(0));
    rows as u64
}

fn flux_load(url: &str, input: &[Order]) -> u64 {
    const NAME: &str = "flux_bench_sink_flux";
    drop_table(url, NAME);
    let sink = PostgresSink::new(url, table(NAME), |order: &Order, row: &mut Row<'_>| {
        row.push(order.id as i64)?.push(order.cents)?.push(&order.customer)?;
        Ok(())
    })
    .create_table()
    .batch_rows(BATCH);
    let pipeline = Pipeline::from_source(flux_test::IterSource::new(input.to_vec())).sink(sink);
    let plan = Planner::new().plan(pipeline.describe()).expect("a plan");
    let _report = SyncEngine::new().run(&plan, pipeline).expect("the load");
    count(url, NAME)
}

fn hand_load(url: &str, input: &[Order]) -> u64 {
    const NAME: &str = "flux_bench_sink_hand";
    drop_table(url, NAME);
    let records = input.to_vec();
    let (create, copy) = (table(NAME).create_sql(), table(NAME).copy_sql());
    with_client(url, async |client| {
        client.batch_execute(&create).await.expect("the table");
        let copy = client.prepare(&copy).await.expect("the COPY");
        for batch in records.chunks(BATCH) {
            let transaction = client.transaction().await.expect("a transaction");
            let sink = transaction.copy_in(&copy).await.expect("a COPY");
            let mut writer = pin!(BinaryCopyInWriter::new(sink, &[Type::INT8, Type::INT8, Type::TEXT]));
            for order in batch {
                let values: [&(dyn ToSql + Sync); 3] = [&(order.id as i64), &order.cents, &order.customer];
                writer.as_mut().write(&values).await.expect("a row");
            }
            writer.finish().await.expect("the COPY's end");
            transaction.commit().await.expect("a commit");
        }
    });
    count(url, NAME)
}

/// The comparison, when `FLUX_POSTGRES_URL` names a server.
pub fn comparison() -> Option<Comparison> {
    let Ok(url) = std::env::var("FLUX_POSTGRES_URL") else {
        #[allow(clippy::print_stdout, reason = "the skip is a line of the comparison's output")]
        {
            println!(
                "sinks/postgres skipped: FLUX_POSTGRES_URL is not set (.ci/postgres.sh installs and starts PostgreSQL)"
            );
        }
        return None;
    };
    let input = orders();
    let hand_input = input.clone();
    let hand_url = url.clone();
    Some(Comparison {
        name: "sinks/postgres",
        work: ROWS,
        unit: "rows",
        flux: Variant { label: "flux PostgresSink (COPY)", run: Box::new(move || flux_load(&url, black_box(&input))) },
        baselines: vec![Variant {
            label: "tokio-postgres COPY loop",
            run: Box::new(move || hand_load(&hand_url, black_box(&hand_input))),
        }],
        extra: vec![("batch_rows".to_owned(), BATCH.to_string())],
    })
}
