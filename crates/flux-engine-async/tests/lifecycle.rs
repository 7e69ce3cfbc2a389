//! Open and close, on both engines: a source, a stage and a sink that wait
//! on the outside world before the first envelope and after the last; the
//! order they are called in; and what a failure or a panic there does.

use std::error::Error;
use std::sync::{Arc, Mutex};
use std::task::Poll;

use flux_core::{
    Context, Emit, EngineHint, Envelope, ExecutionPlan, Pipeline, Pull, Runnable, Sink, Source, SourceError, Stage,
    StageDescriptor, WriteError,
};
use flux_engine_async::AsyncEngine;
use flux_engine_sync::SyncEngine;
use flux_plan::Planner;
use flux_steps::Steps;

type Failure = Box<dyn Error + Send + Sync>;

/// What happened, in order, across the source, the stage and the sink, and
/// the name of the thread each happened on.
#[derive(Clone, Default)]
struct Journal(Arc<Mutex<Vec<(String, String)>>>);

impl Journal {
    fn note(&self, what: impl Into<String>) {
        let thread = std::thread::current().name().unwrap_or("unnamed").to_owned();
        self.0.lock().unwrap().push((what.into(), thread));
    }

    fn events(&self) -> Vec<String> {
        self.0.lock().unwrap().iter().map(|(event, _)| event.clone()).collect()
    }

    /// The thread `event` happened on.
    fn thread_of(&self, event: &str) -> String {
        let events = self.0.lock().unwrap();
        events.iter().find(|(noted, _)| noted == event).map(|(_, thread)| thread.clone()).expect(event)
    }
}

/// Pending once (waking its waker at once, as a connection that completes
/// on the next poll would), then ready: the engine must poll again.
#[derive(Default)]
struct Slow {
    polled: bool,
}

impl Slow {
    fn poll(&mut self, cx: &Context<'_>) -> Poll<()> {
        if std::mem::replace(&mut self.polled, true) {
            Poll::Ready(())
        } else {
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }
}

struct Numbers {
    next: u64,
    end: u64,
    journal: Journal,
    open: Slow,
    close: Slow,
}

impl Source for Numbers {
    type Item = u64;

    fn pull(&mut self, _cx: &mut Context<'_>) -> Result<Pull<u64>, SourceError> {
        assert!(self.open.polled, "pulled before it was open");
        if self.next == self.end {
            return Ok(Pull::End);
        }
        self.next += 1;
        Ok(Pull::Item(Envelope::new(self.next - 1).with_sequence(self.next - 1)))
    }

    fn poll_open(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), SourceError>> {
        self.journal.note("source open polled");
        self.open.poll(cx).map(|()| {
            self.journal.note("source open");
            Ok(())
        })
    }

    fn poll_close(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), SourceError>> {
        self.close.poll(cx).map(|()| {
            self.journal.note(format!("source closed after {} pulled", self.next));
            Ok(())
        })
    }
}

/// Doubles; opens and closes slowly, or fails to close; hinted
/// `Isolate` when told.
struct Double {
    journal: Journal,
    open: Slow,
    close: Slow,
    fail_close: bool,
    isolate: bool,
}

impl Stage<u64> for Double {
    type Out = u64;

    fn process(&mut self, input: Envelope<u64>, out: &mut impl Emit<u64>) {
        assert!(self.open.polled, "given an input before it was open");
        out.emit(input.map(|n| n * 2));
    }

    fn poll_open(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Failure>> {
        self.open.poll(cx).map(|()| {
            self.journal.note("stage open");
            Ok(())
        })
    }

    fn poll_close(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Failure>> {
        self.close.poll(cx).map(|()| {
            self.journal.note("stage closed");
            if self.fail_close { Err("the lookup service hung up".into()) } else { Ok(()) }
        })
    }

    fn describe(&self, descriptor: StageDescriptor) -> StageDescriptor {
        if self.isolate { descriptor.with_engine_hint(EngineHint::Isolate) } else { descriptor }
    }
}

/// Keeps what it is given; connects slowly, or not at all; hinted
/// `Blocking` when told (a blocking client, whose commit blocks too).
struct Table {
    rows: Arc<Mutex<Vec<u64>>>,
    journal: Journal,
    open: Slow,
    commit: Slow,
    refuse_open: bool,
    panic_on_open: bool,
    panic_on_commit: bool,
    blocking: bool,
}

impl Sink<u64> for Table {
    fn write(&mut self, item: Envelope<u64>, _cx: &mut Context<'_>) -> Result<(), WriteError> {
        assert!(self.open.polled, "written before it was open");
        self.rows.lock().unwrap().push(item.into_payload());
        Ok(())
    }

    fn poll_open(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Failure>> {
        assert!(!self.panic_on_open, "the driver panicked while connecting");
        if self.refuse_open {
            return Poll::Ready(Err("connection refused".into()));
        }
        self.open.poll(cx).map(|()| {
            self.journal.note("sink open");
            Ok(())
        })
    }

    fn close(&mut self, _cx: &mut Context<'_>) -> Result<(), Failure> {
        self.journal.note(format!("sink close started with {} rows", self.rows.lock().unwrap().len()));
        Ok(())
    }

    fn poll_close(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Failure>> {
        self.commit.poll(cx).map(|()| {
            assert!(!self.panic_on_commit, "the driver panicked while committing");
            self.journal.note("sink committed");
            Ok(())
        })
    }

    fn engine_hint(&self) -> EngineHint {
        if self.blocking { EngineHint::Blocking } else { EngineHint::Any }
    }
}

#[derive(Clone, Copy, Default)]
struct Faults {
    refuse_open: bool,
    panic_on_open: bool,
    fail_stage_close: bool,
    panic_on_commit: bool,
    /// The stage hinted `Isolate`, the sink `Blocking`.
    own_threads: bool,
}

/// source | stage | sink, each its own segment, and what they share.
fn three_segments(faults: Faults) -> (impl Runnable, ExecutionPlan, Journal, Arc<Mutex<Vec<u64>>>) {
    let journal = Journal::default();
    let rows = Arc::default();
    let source =
        Numbers { next: 0, end: 3_000, journal: journal.clone(), open: Slow::default(), close: Slow::default() };
    let stage = Double {
        journal: journal.clone(),
        open: Slow::default(),
        close: Slow::default(),
        fail_close: faults.fail_stage_close,
        isolate: faults.own_threads,
    };
    let sink = Table {
        rows: Arc::clone(&rows),
        journal: journal.clone(),
        open: Slow::default(),
        commit: Slow::default(),
        refuse_open: faults.refuse_open,
        panic_on_open: faults.panic_on_open,
        panic_on_commit: faults.panic_on_commit,
        blocking: faults.own_threads,
    };
    let pipeline = Pipeline::from_source(source).stage(stage).named("double").sink(sink);
    let mut plan = Planner::new().plan(pipeline.describe()).unwrap();
    for junction in &mut plan.junctions {
        *junction = flux_core::Junction::Boundary(flux_core::EdgeSpec { capacity: 2, batch_size: 64 });
    }
    (pipeline, plan, journal, rows)
}

fn on_tokio<T>(run: impl std::future::Future<Output = T>) -> T {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap().block_on(run)
}

/// The closing half of the journal, which both engines must agree on.
fn closing(events: &[String]) -> Vec<String> {
    let start = events.iter().position(|event| event.starts_with("sink close started")).expect("the sink closed");
    events[start..].to_vec()
}

#[test]
fn everything_opens_before_the_first_envelope_and_closes_sink_first_on_both_engines() {
    let expected_close =
        ["sink close started with 3000 rows", "sink committed", "stage closed", "source closed after 3000 pulled"];
    // The sync engine opens the sink's segment first, then the stage's,
    // then the source's: nothing is read before the table is connected.
    let (pipeline, plan, journal, rows) = three_segments(Faults::default());
    let report = SyncEngine::new().run(&plan, pipeline).unwrap();
    assert_eq!(report.row("sink").unwrap().counts.consumed, 3_000);
    let events = journal.events();
    assert_eq!(events[..4], ["sink open", "stage open", "source open polled", "source open polled"]);
    assert_eq!(events[4], "source open");
    assert_eq!(closing(&events), expected_close);
    assert_eq!(rows.lock().unwrap().len(), 3_000);

    // On tokio the segments open concurrently; each is open before it is
    // given anything (the asserts in `pull`, `process` and `write`), and
    // the closes run in the same order once every segment has finished.
    let (pipeline, plan, journal, rows) = three_segments(Faults::default());
    let report = on_tokio(AsyncEngine::new().run(&plan, pipeline)).unwrap();
    assert_eq!(report.row("sink").unwrap().counts.consumed, 3_000);
    let events = journal.events();
    for opened in ["sink open", "stage open", "source open"] {
        assert_eq!(events.iter().filter(|event| *event == opened).count(), 1, "{opened} once: {events:?}");
    }
    assert_eq!(closing(&events), expected_close);
    assert_eq!(*rows.lock().unwrap(), (0..3_000).map(|n| n * 2).collect::<Vec<_>>());
}

#[test]
fn a_sink_that_cannot_connect_stops_the_run_naming_it_before_the_source_reads_anything() {
    let faults = Faults { refuse_open: true, ..Faults::default() };
    let (pipeline, plan, journal, rows) = three_segments(faults);
    let error = SyncEngine::new().run(&plan, pipeline).unwrap_err();
    let flux_engine_sync::RunErrorKind::Stage(cause) = error.kind() else { panic!("{error}") };
    assert_eq!((cause.stage().as_str(), cause.cause().to_string().as_str()), ("sink", "connection refused"));
    assert!(!journal.events().iter().any(|event| event.starts_with("source open")), "{:?}", journal.events());
    assert!(rows.lock().unwrap().is_empty());

    assert!(journal.events().contains(&"sink close started with 0 rows".to_owned()), "closed, as any stopped run's");

    let (pipeline, plan, journal, rows) = three_segments(faults);
    let error = on_tokio(AsyncEngine::new().run(&plan, pipeline)).unwrap_err();
    let flux_engine_async::RunErrorKind::Stage(cause) = error.kind() else { panic!("{error}") };
    assert_eq!((cause.stage().as_str(), cause.cause().to_string().as_str()), ("sink", "connection refused"));
    // The error's source is the stage's own cause: its message already
    // names the stage.
    let source = std::error::Error::source(&error).map(ToString::to_string);
    assert_eq!(source.as_deref(), Some("connection refused"));
    assert!(rows.lock().unwrap().is_empty(), "nothing written to a sink that never opened");
    assert!(journal.events().contains(&"sink close started with 0 rows".to_owned()), "{:?}", journal.events());
}

#[test]
fn a_panic_while_opening_stops_the_run_naming_the_segment() {
    let faults = Faults { panic_on_open: true, ..Faults::default() };
    let (pipeline, plan, _, _) = three_segments(faults);
    let error = SyncEngine::new().run(&plan, pipeline).unwrap_err();
    let flux_engine_sync::RunErrorKind::Stage(cause) = error.kind() else { panic!("{error}") };
    assert_eq!(cause.stage().as_str(), "sink");
    assert!(cause.cause().to_string().contains("the driver panicked while connecting"));

    let (pipeline, plan, _, _) = three_segments(faults);
    let error = on_tokio(AsyncEngine::new().run(&plan, pipeline)).unwrap_err();
    let flux_engine_async::RunErrorKind::Stage(cause) = error.kind() else { panic!("{error}") };
    assert_eq!(cause.stage().as_str(), "sink");
}

#[test]
fn a_stage_that_fails_to_close_fails_the_run_after_everything_was_written() {
    let faults = Faults { fail_stage_close: true, ..Faults::default() };
    let (pipeline, plan, journal, rows) = three_segments(faults);
    let error = SyncEngine::new().run(&plan, pipeline).unwrap_err();
    let flux_engine_sync::RunErrorKind::Stage(cause) = error.kind() else { panic!("{error}") };
    assert_eq!((cause.stage().as_str(), cause.cause().to_string().as_str()), ("double", "the lookup service hung up"));
    assert_eq!(rows.lock().unwrap().len(), 3_000, "the failure came after the last write");
    assert!(journal.events().contains(&"source closed after 3000 pulled".to_owned()), "the others still closed");
    assert_eq!(error.report().unwrap().row("sink").unwrap().counts.consumed, 3_000);

    let (pipeline, plan, _, rows) = three_segments(faults);
    let error = on_tokio(AsyncEngine::new().run(&plan, pipeline)).unwrap_err();
    let flux_engine_async::RunErrorKind::Stage(cause) = error.kind() else { panic!("{error}") };
    assert_eq!(cause.stage().as_str(), "double");
    assert_eq!(rows.lock().unwrap().len(), 3_000);
}

#[test]
fn segments_hinted_blocking_or_isolate_finish_and_close_on_their_own_threads_sink_first() {
    let faults = Faults { own_threads: true, ..Faults::default() };
    let (pipeline, plan, journal, rows) = three_segments(faults);
    // The sink's segment and the stage's: the two threads seen below.
    assert_eq!(AsyncEngine::own_threads(&plan), 2);
    // The engine's own future on a runtime worker, as under a server's
    // `tokio::spawn`; the workers named, to tell them apart.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("worker")
        .enable_all()
        .build()
        .unwrap();
    let report = runtime
        .block_on(async move { tokio::spawn(async move { AsyncEngine::new().run(&plan, pipeline).await }).await })
        .unwrap()
        .unwrap();

    assert_eq!(report.row("sink").unwrap().counts.consumed, 3_000);
    assert_eq!(*rows.lock().unwrap(), (0..3_000).map(|n| n * 2).collect::<Vec<_>>());
    let expected_close =
        ["sink close started with 3000 rows", "sink committed", "stage closed", "source closed after 3000 pulled"];
    assert_eq!(closing(&journal.events()), expected_close, "the same order, across threads");
    // The sink's segment opens, finishes (`close` starts its commit) and
    // completes its commit on its own thread; the stage's closes on its
    // own; only the source's, hinted nothing, closes on a worker.
    for event in ["sink open", "sink close started with 3000 rows", "sink committed"] {
        assert_eq!(journal.thread_of(event), "flux-sink", "{event}");
    }
    assert_eq!(journal.thread_of("stage open"), "flux-double");
    assert_eq!(journal.thread_of("stage closed"), "flux-double");
    assert_eq!(journal.thread_of("source closed after 3000 pulled"), "worker");
}

#[test]
fn a_failure_or_a_panic_closing_on_a_segments_own_thread_fails_the_run_naming_it_and_the_rest_close() {
    let faults = Faults { own_threads: true, fail_stage_close: true, ..Faults::default() };
    let (pipeline, plan, journal, rows) = three_segments(faults);
    let error = on_tokio(AsyncEngine::new().run(&plan, pipeline)).unwrap_err();
    let flux_engine_async::RunErrorKind::Stage(cause) = error.kind() else { panic!("{error}") };
    assert_eq!((cause.stage().as_str(), cause.cause().to_string().as_str()), ("double", "the lookup service hung up"));
    assert_eq!(rows.lock().unwrap().len(), 3_000);
    assert_eq!(journal.thread_of("stage closed"), "flux-double");
    assert!(journal.events().contains(&"source closed after 3000 pulled".to_owned()), "the source's still closed");
    assert_eq!(error.report().unwrap().row("sink").unwrap().counts.consumed, 3_000);

    let faults = Faults { own_threads: true, panic_on_commit: true, ..Faults::default() };
    let (pipeline, plan, journal, rows) = three_segments(faults);
    let error = on_tokio(AsyncEngine::new().run(&plan, pipeline)).unwrap_err();
    let flux_engine_async::RunErrorKind::Stage(cause) = error.kind() else { panic!("{error}") };
    assert_eq!(cause.stage().as_str(), "sink");
    assert!(cause.cause().to_string().contains("the driver panicked while committing"), "{cause}");
    assert_eq!(rows.lock().unwrap().len(), 3_000);
    let events = journal.events();
    assert_eq!(
        closing(&events),
        ["sink close started with 3000 rows", "stage closed", "source closed after 3000 pulled"]
    );
    assert!(error.report().unwrap().problems.is_empty(), "the ledger still balances");
}

#[test]
fn a_poisoned_segment_is_not_closed_on_its_own_thread_or_on_a_worker_and_the_others_are() {
    for blocking in [false, true] {
        let (journal, rows) = (Journal::default(), Arc::default());
        let source =
            Numbers { next: 0, end: 3_000, journal: journal.clone(), open: Slow::default(), close: Slow::default() };
        let sink = Table {
            rows: Arc::clone(&rows),
            journal: journal.clone(),
            open: Slow::default(),
            commit: Slow::default(),
            refuse_open: false,
            panic_on_open: false,
            panic_on_commit: false,
            blocking,
        };
        // The careless node and the sink in one segment, which its panic
        // poisons: neither is called again, so the sink is not closed.
        let pipeline = Pipeline::from_source(source).layer(flux_test::PanicInNode::at(100)).sink(sink);
        let mut plan = Planner::new().plan(pipeline.describe()).unwrap();
        plan.junctions[0] = flux_core::Junction::Boundary(flux_core::EdgeSpec { capacity: 2, batch_size: 64 });
        plan.junctions[1] = flux_core::Junction::Fused;
        let error = on_tokio(AsyncEngine::new().run(&plan, pipeline)).unwrap_err();

        assert_eq!(error.to_string(), "stage `careless` stopped the run", "blocking: {blocking}");
        assert_eq!(*rows.lock().unwrap(), (0..100).collect::<Vec<_>>(), "written until the push that panicked");
        let events = journal.events();
        assert!(events.iter().any(|event| event.starts_with("source closed after")), "{events:?}");
        assert!(!events.iter().any(|event| event.starts_with("sink c")), "blocking: {blocking}: {events:?}");
    }
}
