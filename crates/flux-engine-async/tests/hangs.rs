//! Nothing hangs: a task that dies, a timer that never clears, a timer
//! that panics, a run dropped half-way or stopped before it starts each
//! end the run with a reason, and every other task ends too.

use std::time::Duration;

use flux_core::{
    Context, EdgeSpec, Envelope, Instant, Junction, Layer, LedgerVisitor, Pipeline, Purity, Push, Runnable,
    StageDescriptor, StageId, StageKind,
};
use flux_engine_async::{AsyncEngine, RunErrorKind, Stop, StopHandle};
use flux_plan::Planner;
use flux_test::{IterSource, TimedSource, VecSink};

/// How a [`Faulty`] node misbehaves.
#[derive(Clone, Copy, Debug)]
enum Fault {
    /// `next_deadline` panics: engines call it outside any catch.
    DeadlinePanics,
    /// It always has a timer due now that `on_time` never clears.
    StuckTimer,
    /// `on_time` panics.
    TimerPanics,
    /// It passes every other envelope on and drops the rest without a
    /// word: a lossy user node.
    Loses,
}

struct Faulty {
    fault: Fault,
}

struct FaultyNode<D> {
    fault: Fault,
    next: D,
}

impl Layer<u64> for Faulty {
    type Out = u64;
    type Node<D: Push<u64> + 'static> = FaultyNode<D>;

    fn descriptor(&self) -> StageDescriptor {
        StageDescriptor::new("faulty", StageKind::Transform, Purity::Stateful).with_types("u64", "u64")
    }

    fn set_id(&mut self, _id: StageId) {}

    fn into_node<D: Push<u64> + 'static>(self, next: D) -> FaultyNode<D> {
        FaultyNode { fault: self.fault, next }
    }
}

impl<D: Push<u64>> Push<u64> for FaultyNode<D> {
    fn push(&mut self, item: Envelope<u64>, cx: &mut Context<'_>) {
        if matches!(self.fault, Fault::Loses) && item.meta().sequence % 2 == 1 {
            return;
        }
        self.next.push(item, cx);
    }

    fn on_time(&mut self, cx: &mut Context<'_>) {
        if let Fault::TimerPanics = self.fault {
            panic!("on_time");
        }
        self.next.on_time(cx);
    }

    fn next_deadline(&self, at_end: bool) -> Option<Instant> {
        match self.fault {
            Fault::DeadlinePanics => panic!("next_deadline"),
            Fault::StuckTimer | Fault::TimerPanics => Some(Instant::ZERO),
            Fault::Loses => None,
        }
        .or(self.next.next_deadline(at_end))
    }

    fn finish(&mut self, cx: &mut Context<'_>) {
        self.next.finish(cx);
    }

    fn visit(&self, visitor: &mut dyn LedgerVisitor) {
        self.next.visit(visitor);
    }
    fn poll_lifecycle(
        &mut self,
        phase: flux_core::Lifecycle,
        cx: &mut flux_core::Context<'_>,
    ) -> std::task::Poll<Result<(), flux_core::StageError>> {
        self.next.poll_lifecycle(phase, cx)
    }
}

/// Runs 10,000 numbers through a faulty stage in a segment of its own,
/// behind boundaries of one batch of one envelope (so that a source step
/// fills its channel and must wait for room), into `sink`.
async fn run_faulty<K: flux_core::Sink<u64> + 'static>(fault: Fault, sink: K) -> flux_engine_async::RunError {
    let pipeline = Pipeline::from_source(IterSource::new(0..10_000u64)).layer(Faulty { fault }).sink(sink);
    let mut plan = Planner::new().plan(pipeline.describe()).unwrap();
    assert_eq!(plan.segments().len(), 3, "the faulty stage runs in a segment of its own");
    for junction in &mut plan.junctions {
        if let Junction::Boundary(edge) = junction {
            *edge = EdgeSpec { capacity: 1, batch_size: 1 };
        }
    }
    AsyncEngine::new().run(&plan, pipeline).await.unwrap_err()
}

/// Takes everything, and fails to close.
struct FailsToClose;

impl flux_core::Sink<u64> for FailsToClose {
    fn write(&mut self, _item: Envelope<u64>, _cx: &mut Context<'_>) -> Result<(), flux_core::WriteError> {
        Ok(())
    }

    fn close(&mut self, _cx: &mut Context<'_>) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        Err("disk full".into())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_task_that_dies_outside_every_catch_ends_the_run_naming_its_segment() {
    // The source fills its one-batch channel at once, then finds the
    // faulty task gone: it must not wait for room that will never come.
    let error = run_faulty(Fault::DeadlinePanics, VecSink::new()).await;
    assert!(matches!(error.kind(), RunErrorKind::Lost { stage } if stage.as_str() == "faulty"), "{error}");
    let report = error.report().expect("the other tasks ended and reported");
    assert!(report.row("source").unwrap().counts.created < 10_000, "the source stopped early");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_timer_that_never_clears_stops_the_run_and_the_rest_drains() {
    // The sink fails too, later, when it is closed: the stuck timer came
    // first, so it is the cause, and the sink's failure a later one.
    let error = run_faulty(Fault::StuckTimer, FailsToClose).await;
    assert!(
        matches!(error.kind(), RunErrorKind::StuckTimer { stage, at } if stage.as_str() == "faulty" && *at == Instant::ZERO)
    );
    assert!(error.to_string().starts_with("a timer of the segment starting at `faulty` would not clear"), "{error}");
    let later = &error.report().unwrap().later_failures;
    assert_eq!(later.iter().map(|e| e.cause().to_string()).collect::<Vec<_>>(), ["disk full"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_timer_that_panics_poisons_its_segment_and_stops_the_run_naming_it() {
    let error = run_faulty(Fault::TimerPanics, VecSink::new()).await;
    assert_eq!(error.to_string(), "stage `faulty` stopped the run");
    assert!(error.report().is_some());
}

/// An event a second, for a thousand seconds.
fn slow(out: &VecSink<u64>) -> impl Runnable {
    let events = (0..1_000u64).map(|i| (Instant::from_secs(i), Envelope::new(i).with_sequence(i)));
    Pipeline::from_source(TimedSource::new(events.collect())).sink(out.clone())
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn a_run_dropped_half_way_stops_its_tasks() {
    let out = VecSink::new();
    let plan = Planner::new().plan(slow(&out).describe()).unwrap();
    let engine = AsyncEngine::new();
    let timed_out = tokio::time::timeout(Duration::from_millis(5_500), engine.run(&plan, slow(&out))).await;
    assert!(timed_out.is_err(), "the run was still going");
    let seen = out.payloads().len();
    tokio::time::sleep(Duration::from_secs(100)).await;
    assert_eq!(out.payloads().len(), seen, "nothing ran after the run was dropped");
    assert!(seen <= 6, "{seen} events in 5.5 s");
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn a_stop_asked_before_the_run_starts_pulls_nothing() {
    let out = VecSink::new();
    let plan = Planner::new().plan(slow(&out).describe()).unwrap();
    let handle = StopHandle::new();
    handle.stop(Stop::Drain);
    let report = AsyncEngine::new().stop_with(handle).run(&plan, slow(&out)).await.unwrap();
    assert_eq!(report.row("source").unwrap().counts.created, 0);
    assert_eq!(report.stopped, Some(Stop::Drain));
    assert!(out.payloads().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_node_that_loses_envelopes_fails_the_run_as_unbalanced() {
    let error = run_faulty(Fault::Loses, VecSink::new()).await;
    let RunErrorKind::Unbalanced(problems) = error.kind() else { panic!("{error}") };
    assert!(problems.len() >= 2, "the node's row and the run's total: {problems:?}");
    // Every problem, in order, one after another.
    let listed: Vec<String> = problems.iter().map(ToString::to_string).collect();
    assert_eq!(error.to_string(), format!("the run's ledger does not balance: {}", listed.join("; ")));
}

/// A source that is pending before every item, waking itself at once (as
/// a socket's readiness would).
struct Hesitant {
    next: u64,
    ready: bool,
}

impl flux_core::Source for Hesitant {
    type Item = u64;

    fn pull(&mut self, cx: &mut Context<'_>) -> Result<flux_core::Pull<u64>, flux_core::SourceError> {
        if self.next == 100 {
            return Ok(flux_core::Pull::End);
        }
        if !self.ready {
            self.ready = true;
            cx.waker().wake_by_ref();
            return Ok(flux_core::Pull::Pending);
        }
        self.ready = false;
        self.next += 1;
        Ok(flux_core::Pull::Item(Envelope::new(self.next - 1).with_sequence(self.next - 1)))
    }
}

#[tokio::test(flavor = "current_thread")]
async fn a_pending_source_is_asked_again_once_it_wakes_its_waker() {
    let out = VecSink::new();
    let pipeline = Pipeline::from_source(Hesitant { next: 0, ready: false }).sink(out.clone());
    let plan = Planner::new().plan(pipeline.describe()).unwrap();
    let report = AsyncEngine::new().run(&plan, pipeline).await.unwrap();
    assert_eq!(out.payloads(), (0..100).collect::<Vec<_>>());
    assert_eq!(report.row("source").unwrap().counts.created, 100);
}

/// A source that asks, every time, to wait until an instant long past.
struct Stalled;

impl flux_core::Source for Stalled {
    type Item = u64;

    fn pull(&mut self, _cx: &mut Context<'_>) -> Result<flux_core::Pull<u64>, flux_core::SourceError> {
        Ok(flux_core::Pull::Wait(Instant::ZERO))
    }
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn a_source_that_keeps_waiting_for_a_past_instant_stops_the_run() {
    let pipeline = Pipeline::from_source(Stalled).sink(VecSink::new());
    let plan = Planner::new().plan(pipeline.describe()).unwrap();
    let error = AsyncEngine::new().run(&plan, pipeline).await.unwrap_err();
    assert!(matches!(error.kind(), RunErrorKind::StuckSource { stage, .. } if stage.as_str() == "source"), "{error}");
    assert_eq!(error.stage().unwrap().as_str(), "source");
}

/// Records that it was closed.
#[derive(Clone, Default)]
struct Closing(std::sync::Arc<std::sync::atomic::AtomicBool>);

impl flux_core::Sink<u32> for Closing {
    fn write(&mut self, _item: Envelope<u32>, _cx: &mut Context<'_>) -> Result<(), flux_core::WriteError> {
        Ok(())
    }

    fn close(&mut self, _cx: &mut Context<'_>) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        self.0.store(true, std::sync::atomic::Ordering::SeqCst);
        Ok(())
    }
}

#[tokio::test(flavor = "current_thread")]
async fn a_source_that_panics_leaves_its_segment_whole_and_the_sink_in_it_is_closed() {
    let sink = Closing::default();
    let source = flux_test::PanicOnPull::new(IterSource::new(0..100u32), 40);
    let pipeline = Pipeline::from_source(source).sink(sink.clone());
    let plan = Planner::new().plan(pipeline.describe()).unwrap();
    assert_eq!(plan.segments().len(), 1, "source and sink fused");
    let error = AsyncEngine::new().run(&plan, pipeline).await.unwrap_err();
    assert_eq!(error.stage().unwrap().as_str(), "source");
    assert!(sink.0.load(std::sync::atomic::Ordering::SeqCst), "the sink was closed");
    assert_eq!(error.report().unwrap().row("sink").unwrap().counts.consumed, 40);
}
