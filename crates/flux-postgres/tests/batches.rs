//! When the PostgreSQL sink writes a batch: at a row count, at a byte
//! total from the envelopes' costs, or when its oldest record has waited
//! long enough on the engine's clock (the sync engine's virtual clock, and
//! tokio's). Against a real server (`FLUX_POSTGRES_URL`; skipped without).

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{Order, Scratch, order_row, orders, orders_table, query, server};
use flux_core::{Cost, Envelope, Instant, Pipeline, Runnable};
use flux_engine_async::AsyncEngine;
use flux_engine_sync::{Decision, SyncEngine};
use flux_plan::Planner;
use flux_postgres::PostgresSink;
use flux_steps::Steps;
use flux_test::TimedSource;

/// Envelopes of 300 bytes each, batches of at most 1,000 bytes: a batch
/// is written at every fourth envelope (1,200 bytes), the rest at close.
#[test]
fn a_batch_is_written_when_its_envelopes_costs_reach_the_byte_limit() {
    let Some(url) = server("a_batch_is_written_when_its_envelopes_costs_reach_the_byte_limit") else { return };
    let db = Scratch::new(&url, "flux_batch_bytes");
    let sink = PostgresSink::new(&url, orders_table(&db.name), order_row()).create_table().batch_bytes(1_000);
    let stats = sink.stats();
    let timed = orders(0..10)
        .into_iter()
        .enumerate()
        .map(|(i, order)| (Instant::ZERO, Envelope::new(order).with_sequence(i as u64).with_cost(Cost::bytes(300))))
        .collect();
    let pipeline = Pipeline::from_source(TimedSource::new(timed)).sink(sink);
    let plan = Planner::new().plan(pipeline.describe()).unwrap();
    let report = SyncEngine::new().run(&plan, pipeline).unwrap();
    assert_eq!(db.ids(), (0..10).collect::<Vec<u64>>());
    assert_eq!((stats.rows(), stats.batches()), (10, 3), "4 + 4 at 1,200 bytes, then 2 at close");
    assert!(report.dead_letters.is_empty());
}

/// Three records at 0, 1 and 2 `tick`s, then one at 100, in batches of
/// 1,000 that linger 5 ticks; when the fourth passes, how many rows the
/// table has.
fn lingering(db: &Scratch, seen: &Arc<Mutex<Option<String>>>, tick: Duration) -> impl Runnable + use<> {
    let (url, table, seen) = (db.url.clone(), db.name.clone(), seen.clone());
    let timed = [0u64, 1, 2, 100].map(|ticks| {
        let order = orders(ticks..ticks + 1).remove(0);
        (Instant::ZERO + tick * ticks as u32, Envelope::new(order).with_sequence(ticks))
    });
    let sink = PostgresSink::new(&db.url, orders_table(&db.name), order_row()).create_table().batch_linger(tick * 5);
    Pipeline::from_source(TimedSource::new(timed.to_vec()))
        .map(move |order: Order| {
            if order.id == 100 {
                *seen.lock().unwrap() = query(&url, &format!("SELECT COUNT(*) FROM {table}")).pop();
            }
            order
        })
        .sink(sink)
}

/// The first three records are in the table when the fourth arrives:
/// written at 5 s of the sync engine's virtual time, not only at the end.
#[test]
fn a_batch_that_lingers_is_written_on_the_engines_clock_though_not_full() {
    let Some(url) = server("a_batch_that_lingers_is_written_on_the_engines_clock_though_not_full") else { return };
    let db = Scratch::new(&url, "flux_linger_sync");
    let seen_at_100 = Arc::default();
    let pipeline = lingering(&db, &seen_at_100, Duration::from_secs(1));
    let plan = Planner::new().plan(pipeline.describe()).unwrap();
    let report = SyncEngine::new().run(&plan, pipeline).unwrap();
    assert_eq!(seen_at_100.lock().unwrap().as_deref(), Some("3"), "written at 5 s, before the record at 100 s");
    assert_eq!(db.ids(), [0, 1, 2, 100]);
    assert_eq!(report.end_time, Instant::from_secs(100), "the last record's linger does not hold the end");
    let timers: Vec<Instant> = report
        .trace
        .iter()
        .filter_map(|decision| match decision {
            Decision::Timer { at } => Some(*at),
            _ => None,
        })
        .collect();
    assert_eq!(timers, [Instant::from_secs(5)], "the engine woke the sink when its batch had lingered 5 s");
}

/// On tokio the sink runs on a thread of its own, in real time: ticks of
/// 20 ms, so the batch is written at 100 ms and the fourth record comes at
/// 2 s.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_that_lingers_is_written_on_tokio_time_though_not_full() {
    let Some(url) = server("a_batch_that_lingers_is_written_on_tokio_time_though_not_full") else { return };
    let db = Scratch::new(&url, "flux_linger_tokio");
    let seen_at_100 = Arc::default();
    let pipeline = lingering(&db, &seen_at_100, Duration::from_millis(20));
    let plan = Planner::new().plan(pipeline.describe()).unwrap();
    let _report = AsyncEngine::new().run(&plan, pipeline).await.unwrap();
    assert_eq!(seen_at_100.lock().unwrap().as_deref(), Some("3"), "written after 100 ms, before the record at 2 s");
    assert_eq!(db.ids(), [0, 1, 2, 100]);
}
