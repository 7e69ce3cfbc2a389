//! `map_async`: results in the inputs' order (or as they complete), never
//! more futures in flight than the limit, every future polled while the
//! stage waits for room downstream, and nothing lost when a future panics
//! or the run stops with futures in flight. On both engines.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

use flux_core::{EdgeSpec, Junction, Pipeline, Runnable};
use flux_engine_async::{AsyncEngine, Stop, StopHandle};
use flux_engine_sync::SyncEngine;
use flux_plan::Planner;
use flux_stream::AsyncSteps;
use flux_test::{IterSource, VecSink};

/// A future that is ready after being polled `left` more times, waking
/// itself each time it is not: work that needs no runtime, so it runs on
/// the sync engine too, and completes in an order set by the test.
struct AfterPolls {
    left: u32,
}

impl Future for AfterPolls {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        if self.left == 0 {
            return Poll::Ready(());
        }
        self.left -= 1;
        cx.waker().wake_by_ref();
        Poll::Pending
    }
}

/// Futures in flight now, and the most there ever were.
#[derive(Clone, Default)]
struct InFlight {
    now: Arc<AtomicUsize>,
    most: Arc<AtomicUsize>,
}

impl InFlight {
    fn started(&self) {
        let now = self.now.fetch_add(1, Ordering::SeqCst) + 1;
        self.most.fetch_max(now, Ordering::SeqCst);
    }

    fn most(&self) -> usize {
        self.most.load(Ordering::SeqCst)
    }
}

/// Input `n` takes more polls the earlier it comes in each group of
/// seven, so later inputs complete first.
fn slow_early(n: u64, in_flight: InFlight) -> impl Future<Output = u64> + Send + 'static {
    in_flight.started();
    let now = in_flight.now.clone();
    async move {
        AfterPolls { left: (7 - (n % 7) as u32) * 3 }.await;
        now.fetch_sub(1, Ordering::SeqCst);
        n * 10
    }
}

const COUNT: u64 = 3_000;
const LIMIT: usize = 5;

fn ordered(out: &VecSink<u64>, in_flight: &InFlight) -> impl Runnable + use<> {
    let in_flight = in_flight.clone();
    Pipeline::from_source(IterSource::new(0..COUNT))
        .map_async(LIMIT, move |n| slow_early(n, in_flight.clone()))
        .sink(out.clone())
}

fn unordered(out: &VecSink<u64>, in_flight: &InFlight) -> impl Runnable + use<> {
    let in_flight = in_flight.clone();
    Pipeline::from_source(IterSource::new(0..COUNT))
        .map_async_unordered(LIMIT, move |n| slow_early(n, in_flight.clone()))
        .sink(out.clone())
}

fn on_sync(pipeline: impl Runnable) -> flux_engine_sync::RunReport {
    let plan = Planner::new().plan(pipeline.describe()).unwrap();
    SyncEngine::new().run(&plan, pipeline).unwrap()
}

fn on_tokio(pipeline: impl Runnable) -> flux_engine_async::RunReport {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let plan = Planner::new().plan(pipeline.describe()).unwrap();
    runtime.block_on(AsyncEngine::new().run(&plan, pipeline)).unwrap()
}

#[test]
fn results_go_on_in_the_inputs_order_with_the_limit_in_flight_on_both_engines() {
    let expected: Vec<u64> = (0..COUNT).map(|n| n * 10).collect();
    for engine in ["sync", "tokio"] {
        let (out, in_flight) = (VecSink::new(), InFlight::default());
        let pipeline = ordered(&out, &in_flight);
        let emitted = match engine {
            "sync" => on_sync(pipeline).row("map_async-1").unwrap().emitted,
            _ => on_tokio(pipeline).row("map_async-1").unwrap().emitted,
        };
        assert_eq!(out.payloads(), expected, "{engine}: every result, in the inputs' order");
        assert_eq!(emitted, COUNT, "{engine}: the ledger counts every result");
        assert_eq!(in_flight.most(), LIMIT, "{engine}: the limit is reached and never passed");
        let sequences: Vec<u64> = out.envelopes().iter().map(|e| e.meta().sequence).collect();
        assert_eq!(sequences, (0..COUNT).collect::<Vec<_>>(), "{engine}: each result keeps its input's metadata");
    }
}

#[test]
fn unordered_results_go_on_as_they_complete_with_the_limit_in_flight_on_both_engines() {
    for engine in ["sync", "tokio"] {
        let (out, in_flight) = (VecSink::new(), InFlight::default());
        let pipeline = unordered(&out, &in_flight);
        match engine {
            "sync" => drop(on_sync(pipeline)),
            _ => drop(on_tokio(pipeline)),
        }
        let mut got = out.payloads();
        assert!(got.windows(2).any(|pair| pair[0] > pair[1]), "{engine}: a later input completed first");
        for envelope in out.envelopes().iter() {
            assert_eq!(*envelope.payload(), envelope.meta().sequence * 10, "{engine}: metadata stays with its result");
        }
        got.sort_unstable();
        assert_eq!(got, (0..COUNT).map(|n| n * 10).collect::<Vec<_>>(), "{engine}: every result, once");
        assert_eq!(in_flight.most(), LIMIT, "{engine}: the limit is reached and never passed");
    }
}

/// When each input's future started and completed, on tokio's clock.
type Latencies = Arc<Mutex<Vec<Duration>>>;

/// The `futures` `buffered` trap (futures-rs#2387): a consumer that takes
/// a second per record must not hold back the futures already in flight.
/// Each sleeps 10 or 50 ms; had they been polled only when the pipeline got
/// room downstream, most would have completed a second or more after
/// starting. The two lengths leave the boundary full while a slower future
/// is still in flight, so the source segment also waits for room before it
/// reads with work in flight, and must poll it there too.
///
/// The consumer is a second async map of one future at a time, each a
/// second long, in a segment of its own behind a boundary of one envelope:
/// a task on the test's one thread, so that the paused clock moves only
/// when every task waits. (A consumer on a thread of its own, as the
/// output stream's sink is, races tokio's paused clock: the clock can jump
/// past a timer another thread has just set, which made this test fail
/// one run in twenty.)
#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn futures_in_flight_keep_going_while_downstream_is_busy() {
    let latencies: Latencies = Arc::default();
    let recorded = latencies.clone();
    let out = VecSink::new();
    let pipeline = Pipeline::from_source(IterSource::new(0..40u64))
        .map_async(4, move |n| {
            let (recorded, started) = (recorded.clone(), tokio::time::Instant::now());
            async move {
                tokio::time::sleep(Duration::from_millis(if n % 2 == 0 { 10 } else { 50 })).await;
                recorded.lock().unwrap().push(started.elapsed());
                n
            }
        })
        .map_async(1, |n| async move {
            tokio::time::sleep(Duration::from_secs(1)).await;
            n
        })
        .sink(out.clone());
    let mut plan = Planner::new().plan(pipeline.describe()).unwrap();
    // Stages: source, the 10 ms map, the one-second map, sink. One cut,
    // after the 10 ms map, whose boundary holds one envelope: the map soon
    // waits for room.
    for junction in &mut plan.junctions {
        *junction = Junction::Fused;
    }
    plan.junctions[1] = Junction::Boundary(EdgeSpec { capacity: 1, batch_size: 1 });
    assert_eq!(plan.segments().len(), 2);
    let started = tokio::time::Instant::now();
    let report = AsyncEngine::new().run(&plan, pipeline).await.unwrap();
    assert_eq!(report.row("map_async-1").unwrap().emitted, 40);
    assert_eq!(out.payloads(), (0..40).collect::<Vec<_>>());
    // The consumer set the pace: about a second a record.
    assert!(started.elapsed() >= Duration::from_secs(40), "{:?}", started.elapsed());
    let latencies = latencies.lock().unwrap();
    assert_eq!(latencies.len(), 40);
    let slowest = latencies.iter().max().unwrap();
    assert!(*slowest < Duration::from_millis(100), "a future waited on the consumer: {slowest:?}");
}

#[test]
fn a_future_that_panics_makes_its_input_a_dead_letter_and_stops_the_run_naming_the_stage() {
    let out = VecSink::new();
    let pipeline = Pipeline::from_source(IterSource::new(0..100u64))
        .map_async(3, |n| async move {
            AfterPolls { left: 2 }.await;
            assert!(n != 40, "no forty");
            n
        })
        .sink(out.clone());
    let plan = Planner::new().plan(pipeline.describe()).unwrap();
    let error = SyncEngine::new().keep_dead_letters(usize::MAX).run(&plan, pipeline).unwrap_err();
    assert!(error.to_string().contains("map_async-1"), "{error}");
    let report = error.report().expect("the report as it stood");
    let panicked = &report.dead_letters[0];
    assert_eq!(panicked.meta.sequence, 40, "the input whose future panicked, first");
    assert_eq!(panicked.error.stage().as_str(), "map_async-1");
    assert!(panicked.error.cause().to_string().contains("no forty"));
    // The run stopped at once: what the stage still held (the whole input
    // was pulled in one step) is a dead letter too, saying why.
    for letter in &report.dead_letters[1..] {
        assert!(letter.error.cause().to_string().contains("the run stopped"), "{}", letter.error);
    }
    // By sequence: what went on and the dead letters are the input, once.
    let mut seen = out.payloads();
    assert_eq!(seen[..40], (0..40).collect::<Vec<_>>(), "everything before it went on, in order");
    seen.extend(report.dead_letters.iter().map(|letter| letter.meta.sequence));
    seen.sort_unstable();
    assert_eq!(seen, (0..100).collect::<Vec<_>>());
    assert!(report.problems.is_empty(), "{:?}", report.problems);
}

#[test]
fn a_transform_that_panics_before_its_future_exists_settles_its_input_the_same_way() {
    let pipeline = Pipeline::from_source(IterSource::new(0..10u64))
        .map_async_unordered(2, |n| {
            assert!(n != 3, "no three");
            async move { n }
        })
        .sink(VecSink::new());
    let plan = Planner::new().plan(pipeline.describe()).unwrap();
    let error = SyncEngine::new().run(&plan, pipeline).unwrap_err();
    let report = error.report().unwrap();
    assert_eq!(report.dead_letters.iter().map(|l| l.meta.sequence).collect::<Vec<_>>(), [3]);
    assert!(report.problems.is_empty(), "{:?}", report.problems);
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn a_run_stopped_at_once_makes_every_input_still_in_flight_a_dead_letter() {
    let out = VecSink::new();
    // Inputs from 10 on never complete: the source is stopped too.
    let pipeline = Pipeline::from_source(IterSource::new(0..5_000u64))
        .map_async(4, |n| async move {
            if n >= 10 {
                std::future::pending::<()>().await;
            }
            n
        })
        .sink(out.clone());
    let plan = Planner::new().plan(pipeline.describe()).unwrap();
    let handle = StopHandle::new();
    let stopper = handle.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(5)).await;
        stopper.stop(Stop::Now);
    });
    let report = AsyncEngine::new().keep_dead_letters(usize::MAX).stop_with(handle).run(&plan, pipeline).await.unwrap();
    assert_eq!(report.stopped, Some(Stop::Now));
    assert_eq!(out.payloads(), (0..10).collect::<Vec<_>>());
    let mut letters: Vec<u64> = report.dead_letters.iter().map(|letter| letter.meta.sequence).collect();
    letters.sort_unstable();
    let pulled = report.row("source").unwrap().counts.created;
    assert!((14..5_000).contains(&pulled), "four futures in flight at least, and not the whole input: {pulled}");
    assert_eq!(letters, (10..pulled).collect::<Vec<_>>(), "every input held: in flight or waiting its turn");
    assert!(report.dead_letters[0].error.cause().to_string().contains("before this input's future completed"));
    assert!(report.problems.is_empty(), "{:?}", report.problems);
}

#[test]
fn a_named_async_map_is_its_own_line_in_the_ledger() {
    let out = VecSink::new();
    let pipeline = Pipeline::from_source(IterSource::new(0..10u64))
        .map_async(2, |n| async move { n })
        .named("fetch")
        .sink(out.clone());
    let report = on_sync(pipeline);
    assert_eq!(report.row("fetch").map(|row| row.emitted), Some(10));
    assert!(report.row("map_async-1").is_none());
}

/// Writes down the engine time each record arrives at.
#[derive(Clone, Default)]
struct Arrivals(Arc<Mutex<Vec<(u64, flux_core::Instant)>>>);

impl flux_core::Sink<u64> for Arrivals {
    fn write(
        &mut self,
        item: flux_core::Envelope<u64>,
        cx: &mut flux_core::Context<'_>,
    ) -> Result<(), flux_core::WriteError> {
        self.0.lock().unwrap().push((item.into_payload(), cx.now()));
        Ok(())
    }
}

/// The boundary after an async map sends its half-full batch when the
/// clock is about to move, as after any stage: the map passes the engine's
/// timer calls on to what follows it in its segment.
#[test]
fn what_an_async_map_emits_crosses_a_boundary_at_the_instant_it_was_made() {
    let arrivals = Arrivals::default();
    let timed =
        (0..5u64).map(|n| (flux_core::Instant::from_secs(n * 10), flux_core::Envelope::new(n).with_sequence(n)));
    let pipeline = Pipeline::from_source(flux_test::TimedSource::new(timed.collect()))
        .map_async(2, |n| async move { n * 2 })
        .sink(arrivals.clone());
    let mut plan = Planner::new().plan(pipeline.describe()).unwrap();
    // A boundary between the map and the sink, with room for big batches.
    plan.junctions[1] = Junction::Boundary(EdgeSpec { capacity: 4, batch_size: 64 });
    let report = SyncEngine::new().run(&plan, pipeline).unwrap();
    assert_eq!(report.row("map_async-1").unwrap().emitted, 5);
    let expected: Vec<_> = (0..5u64).map(|n| (n * 2, flux_core::Instant::from_secs(n * 10))).collect();
    assert_eq!(*arrivals.0.lock().unwrap(), expected);
}

/// On the sync engine, futures that another thread completes after the
/// input has ended, in a segment after a boundary: the engine parks the
/// thread until a future's waker fires, then polls the futures, though
/// their segment has no input to step on (the source is done, so only
/// the work in flight can wake it). Every result arrives, in order.
#[test]
fn the_sync_engine_wakes_for_work_completed_by_another_thread_after_the_input_ended() {
    let (senders, receivers): (Vec<_>, Vec<_>) = (0..3).map(|_| tokio::sync::oneshot::channel::<u64>()).unzip();
    let receivers = Arc::new(Mutex::new(receivers.into_iter().map(Some).collect::<Vec<_>>()));
    // The other thread answers once every future has started, last first.
    let (started, all_started) = std::sync::mpsc::channel::<()>();
    let out = VecSink::new();
    let pipeline = Pipeline::from_source(IterSource::new(0..3usize))
        .map_async(4, move |n| {
            let answer = receivers.lock().unwrap()[n].take().expect("one future per input");
            started.send(()).unwrap();
            async move { answer.await.expect("the other thread answers") }
        })
        .sink(out.clone());
    let answering = std::thread::spawn(move || {
        all_started.iter().take(3).for_each(drop);
        for (n, sender) in senders.into_iter().enumerate().rev() {
            sender.send(n as u64 * 10).unwrap();
        }
    });
    let mut plan = Planner::new().plan(pipeline.describe()).unwrap();
    plan.junctions[0] = Junction::Boundary(EdgeSpec { capacity: 2, batch_size: 4 });
    let report = SyncEngine::new().run(&plan, pipeline).unwrap();
    answering.join().unwrap();
    assert_eq!(out.payloads(), [0, 10, 20]);
    assert!(report.problems.is_empty());
}
