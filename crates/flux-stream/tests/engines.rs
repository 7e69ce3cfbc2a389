//! A stream that is not always ready, on both engines: the source is
//! pending until the stream wakes it, and nothing is lost or reordered.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use flux_core::{EdgeSpec, Junction, Pipeline, Runnable};
use flux_engine_async::AsyncEngine;
use flux_engine_sync::SyncEngine;
use flux_plan::Planner;
use flux_steps::Steps;
use flux_stream::{Stream, StreamSource};
use flux_test::VecSink;

/// Counts the polls that found nothing ready, and says so on `told`
/// (a feeder that waits for it then sends the next item).
struct CountPending<S> {
    inner: Pin<Box<S>>,
    pending: Arc<AtomicU64>,
    told: Option<flume::Sender<()>>,
}

impl<S: Stream> Stream for CountPending<S> {
    type Item = S::Item;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<S::Item>> {
        let polled = self.inner.as_mut().poll_next(cx);
        if polled.is_pending() {
            self.pending.fetch_add(1, Ordering::Relaxed);
            if let Some(told) = &self.told {
                let _ = told.send(());
            }
        }
        polled
    }
}

fn squares<S>(stream: S, pending: &Arc<AtomicU64>, told: Option<flume::Sender<()>>, out: &VecSink<u64>) -> impl Runnable
where
    S: Stream<Item = u64> + Send + 'static,
{
    let counted = CountPending { inner: Box::pin(stream), pending: pending.clone(), told };
    Pipeline::from_source(StreamSource::new(counted)).map(|n| n * n).named("square").sink(out.clone())
}

#[test]
fn the_sync_engine_blocks_on_a_pending_stream_until_it_wakes_and_loses_nothing() {
    // The feeder sends each item only once the source found the stream
    // empty: every item comes after a wait, from another thread.
    let (tx, rx) = flume::bounded(1);
    let (told, waits) = flume::unbounded();
    let feeder = std::thread::spawn(move || {
        for n in 0..50u64 {
            waits.recv().unwrap();
            tx.send(n).unwrap();
        }
    });
    let (pending, out) = (Arc::new(AtomicU64::new(0)), VecSink::new());
    let pipeline = squares(rx.into_stream(), &pending, Some(told), &out);
    let plan = Planner::new().plan(pipeline.describe()).unwrap();
    let report = SyncEngine::new().run(&plan, pipeline).unwrap();
    feeder.join().unwrap();

    assert_eq!(out.payloads(), (0..50u64).map(|n| n * n).collect::<Vec<_>>());
    assert!(pending.load(Ordering::Relaxed) >= 50, "the engine waited for the stream before every item");
    assert_eq!(report.row("source").unwrap().counts.created, 50);
    assert_eq!(report.end_time, flux_core::Instant::ZERO, "waiting on the outside world takes no virtual time");
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn the_tokio_engine_suspends_a_pending_stream_task_until_it_wakes() {
    let (tx, rx) = flume::bounded(1);
    let feeder = tokio::spawn(async move {
        for n in 0..50u64 {
            tokio::time::sleep(Duration::from_secs(1)).await;
            tx.send_async(n).await.unwrap();
        }
    });
    let (pending, out) = (Arc::new(AtomicU64::new(0)), VecSink::new());
    let pipeline = squares(rx.into_stream(), &pending, None, &out);
    let mut plan = Planner::new().plan(pipeline.describe()).unwrap();
    plan.junctions[1] = Junction::Boundary(EdgeSpec { capacity: 2, batch_size: 4 });
    let report = AsyncEngine::new().run(&plan, pipeline).await.unwrap();
    feeder.await.unwrap();

    assert_eq!(out.payloads(), (0..50u64).map(|n| n * n).collect::<Vec<_>>());
    assert!(pending.load(Ordering::Relaxed) >= 50, "pending before each item");
    assert_eq!(report.elapsed, Duration::from_secs(50), "the run ended when the stream did");
    assert!(report.problems.is_empty());
}
