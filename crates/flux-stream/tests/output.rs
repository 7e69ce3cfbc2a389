//! A pipeline's output as a `Stream`: a slow consumer holds the pipeline
//! back (what is pulled never runs far ahead of what is consumed), every
//! record arrives in order, and a consumer that goes away stops the run
//! with every record it did not take a dead letter, by sequence.

use std::future::poll_fn;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use flux_core::{Envelope, Junction, Pipeline, Runnable};
use flux_engine_async::AsyncEngine;
use flux_engine_sync::SyncEngine;
use flux_plan::Planner;
use flux_steps::Steps;
use flux_stream::{OutputStream, Stream, output};
use flux_test::IterSource;

async fn next<T: 'static>(records: &mut OutputStream<T>) -> Option<Envelope<T>> {
    poll_fn(|cx| Pin::new(&mut *records).poll_next(cx)).await
}

/// `0..count` through a map that counts what it passed on, into `sink`.
fn counted<K: flux_core::Sink<u64> + 'static>(count: u64, pulled: &Arc<AtomicU64>, sink: K) -> impl Runnable {
    let pulled = pulled.clone();
    Pipeline::from_source(IterSource::new(0..count))
        .map(move |n| {
            pulled.fetch_add(1, Ordering::Relaxed);
            n
        })
        .sink(sink)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_consumer_holds_the_pipeline_back_and_gets_every_record_in_order() {
    const COUNT: u64 = 20_000;
    let pulled = Arc::new(AtomicU64::new(0));
    let (sink, mut records) = output(8);
    let pipeline = counted(COUNT, &pulled, sink);
    let plan = Planner::new().plan(pipeline.describe()).unwrap();
    assert!(matches!(plan.junctions.last(), Some(Junction::Boundary(_))), "the sink has a segment of its own");
    let run = tokio::spawn(async move { AsyncEngine::new().run(&plan, pipeline).await });

    let mut expected = 0;
    while let Some(record) = next(&mut records).await {
        assert_eq!(record.meta().sequence, expected);
        expected += 1;
        // Ahead of the consumer at most: the output channel (8), what the
        // sink holds (1), the boundary before it (8 batches of 512) and a
        // source step (1,024).
        let ahead = pulled.load(Ordering::Relaxed) - expected;
        assert!(ahead <= 8 + 1 + 8 * 512 + 1_024, "{ahead} records pulled ahead of the consumer");
        if expected % 2_000 == 0 {
            tokio::time::sleep(Duration::from_millis(5)).await; // a slow consumer, now and then
        }
    }
    assert_eq!(expected, COUNT);
    let report = run.await.unwrap().unwrap();
    assert_eq!(report.row("sink").unwrap().counts.consumed, COUNT);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_consumer_that_goes_away_stops_the_run_and_every_record_it_did_not_take_is_a_dead_letter() {
    let pulled = Arc::new(AtomicU64::new(0));
    let (sink, mut records) = output(4);
    let pipeline = counted(1_000_000, &pulled, sink);
    let plan = Planner::new().plan(pipeline.describe()).unwrap();
    let run = tokio::spawn(async move { AsyncEngine::new().keep_dead_letters(usize::MAX).run(&plan, pipeline).await });
    for expected in 0..10 {
        assert_eq!(next(&mut records).await.unwrap().meta().sequence, expected);
    }
    drop(records);
    let error = run.await.unwrap().unwrap_err();
    let report = error.report().expect("a stopped run carries its report");
    let pulled = pulled.load(Ordering::Relaxed);
    assert!(pulled < 1_000_000, "the source stopped early");
    // Every record pulled after the ten taken is a dead letter naming the
    // sink: the refused write, what the stream left in the channel, and
    // what the pipeline drained to the sink after the stop.
    let mut dead: Vec<u64> = report.dead_letters.iter().map(|letter| letter.meta.sequence).collect();
    dead.sort_unstable();
    assert!(dead == (10..pulled).collect::<Vec<_>>(), "{} dead letters for {} pulled", dead.len(), pulled);
    assert!(report.dead_letters.iter().all(|letter| letter.error.stage().as_str() == "sink"));
    assert_eq!(report.row("sink").unwrap().counts.consumed, 10, "only what the consumer took counts as written");
}

#[test]
fn on_the_sync_engine_the_stream_is_consumed_on_another_thread() {
    let pulled = Arc::new(AtomicU64::new(0));
    let (sink, mut records) = output(4);
    let pipeline = counted(5_000, &pulled, sink);
    let plan = Planner::new().plan(pipeline.describe()).unwrap();
    let consumer = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread().build().unwrap();
        runtime.block_on(async move {
            let mut seen = Vec::new();
            while let Some(record) = next(&mut records).await {
                seen.push(record.into_payload());
            }
            seen
        })
    });
    let report = SyncEngine::new().with_trace(false).run(&plan, pipeline).unwrap();
    assert_eq!(consumer.join().unwrap(), (0..5_000).collect::<Vec<_>>());
    assert_eq!(report.row("sink").unwrap().counts.consumed, 5_000);
}
