//! Kernel questions 1 and 2: one pipeline value is cut at the plan's
//! boundaries, and a user's planner pass changes how the engine runs it.

mod support;

use std::sync::mpsc;

use flux_core::{
    BatchReceiver, BatchSender, Channels, Context, Diversions, EdgeSpec, Envelope, ErrorEnvelope, ExecutionPlan,
    Instant, Junction, Pipeline, PlanError, PlannerPass, Received, Runnable, SideEnvelope, StageError, Step,
};
use flux_engine_sync::{Decision, SyncEngine};
use flux_plan::Planner;
use flux_steps::Steps;
use flux_test::{IterSource, VecSink};

/// A user pass: a boundary after the named stage.
struct CutAfter(&'static str, EdgeSpec);

impl PlannerPass for CutAfter {
    fn name(&self) -> &'static str {
        "cut-after"
    }
    fn run(&self, plan: &mut ExecutionPlan) -> Result<(), PlanError> {
        let i = plan.index_of(self.0).expect("stage exists");
        plan.junctions[i] = Junction::Boundary(self.1);
        Ok(())
    }
}

fn pipeline(out: &VecSink<u64>) -> impl Runnable {
    Pipeline::from_source(IterSource::new(0..1_000u64))
        .map(|n| n * 3)
        .named("triple")
        .filter(|n| n % 2 == 0)
        .map(|n| n + 1)
        .sink(out.clone())
}

#[test]
fn a_user_pass_that_adds_a_boundary_changes_how_the_engine_runs() {
    let fused_out = VecSink::new();
    let p = pipeline(&fused_out);
    let fused_plan = Planner::new().plan(p.describe()).unwrap();
    let fused = SyncEngine::new().run(&fused_plan, p).unwrap();
    assert!(fused.edges.is_empty());
    assert!(!fused.trace.iter().any(|d| matches!(d, Decision::Send { .. })));

    let cut_out = VecSink::new();
    let p = pipeline(&cut_out);
    let edge = EdgeSpec { capacity: 4, batch_size: 64 };
    let cut_plan = Planner::new().with_pass(CutAfter("triple", edge)).plan(p.describe()).unwrap();
    assert_eq!(cut_plan.diagnostics.segment_count, 2);
    let cut = SyncEngine::new().run(&cut_plan, p).unwrap();

    assert_eq!(cut.edges.len(), 1);
    let stats = cut.edges[0];
    assert_eq!((stats.junction, stats.envelopes_sent, stats.envelopes_received), (1, 1_000, 1_000));
    assert_eq!(stats.batches_sent, 1_000u64.div_ceil(64));
    let sends = cut.trace.iter().filter(|d| matches!(d, Decision::Send { junction: 1, .. })).count();
    assert_eq!(sends as u64, stats.batches_sent);
    // Each batch is received once, and the close once more, all at junction 1.
    let receives: Vec<usize> = cut
        .trace
        .iter()
        .filter_map(|d| if let Decision::Receive { junction, .. } = d { Some(*junction) } else { None })
        .collect();
    assert_eq!(receives.len() as u64, stats.batches_sent + 1);
    assert!(receives.iter().all(|&junction| junction == 1), "{receives:?}");
    assert_eq!(cut_out.payloads(), fused_out.payloads(), "same records either way");
}

/// Channels over `std::sync::mpsc`, so that segments can run on different threads.
struct ThreadChannels;

struct StdSender<T>(Option<mpsc::SyncSender<Vec<Envelope<T>>>>);
struct StdReceiver<T>(mpsc::Receiver<Vec<Envelope<T>>>);

impl<T: Send> BatchSender<T> for StdSender<T> {
    fn send(&mut self, batch: Vec<Envelope<T>>) {
        let tx = self.0.as_ref().expect("send after close");
        tx.send(batch).expect("receiver alive");
    }
    fn close(&mut self) {
        self.0 = None; // dropping the sender is the close
    }
}

impl<T: Send> BatchReceiver<T> for StdReceiver<T> {
    fn recv(&mut self) -> Received<T> {
        match self.0.recv() {
            Ok(batch) => Received::Batch(batch),
            Err(mpsc::RecvError) => Received::Closed,
        }
    }
}

impl Channels for ThreadChannels {
    fn open<T: Send + 'static>(
        &mut self,
        _junction: usize,
        edge: &EdgeSpec,
    ) -> (Box<dyn BatchSender<T>>, Box<dyn BatchReceiver<T>>) {
        let (tx, rx) = mpsc::sync_channel(edge.capacity);
        (Box::new(StdSender(Some(tx))), Box::new(StdReceiver(rx)))
    }
}

#[derive(Default)]
struct Letters(Vec<ErrorEnvelope>);

impl Diversions for Letters {
    fn dead_letter(&mut self, letter: ErrorEnvelope) {
        self.0.push(letter);
    }
    fn side_output(&mut self, _side: SideEnvelope) {}
    fn fail(&mut self, error: StageError) {
        panic!("{error}");
    }
}

fn drive(segment: &mut dyn flux_core::Segment) -> Letters {
    let mut letters = Letters::default();
    let mut cx = Context::new(Instant::ZERO, &mut letters);
    loop {
        match segment.step(&mut cx) {
            Step::Progress => {}
            Step::Exhausted => break,
            other => panic!("unexpected step {other:?}"),
        }
    }
    segment.finish(&mut cx);
    letters
}

#[test]
fn the_same_pipeline_value_runs_across_a_thread_and_a_channel() {
    let out = VecSink::new();
    let p = Pipeline::from_source(IterSource::new(["1", "2", "oops", "4"].repeat(250)))
        .try_map(|s: &str| s.parse::<u64>())
        .named("parse")
        .map(|n| n * 100)
        .named("scale")
        .sink(out.clone());
    let edge = EdgeSpec { capacity: 2, batch_size: 16 };
    let plan = Planner::new().with_pass(CutAfter("parse", edge)).plan(p.describe()).unwrap();
    let mut segments = p.assemble(&plan, &mut ThreadChannels).unwrap();
    assert_eq!(segments.len(), 2);
    let mut downstream = segments.pop().unwrap();
    let mut upstream = segments.pop().unwrap();
    assert_eq!((upstream.first_stage(), downstream.first_stage()), (0, 2));

    let producer = std::thread::spawn(move || drive(&mut *upstream).0.len());
    let downstream_letters = drive(&mut *downstream);
    let upstream_letters = producer.join().unwrap();

    assert_eq!(upstream_letters, 250, "parse failures dead-lettered on the producer thread");
    assert!(downstream_letters.0.is_empty());
    let expected: Vec<u64> = [100, 200, 400].repeat(250);
    assert_eq!(out.payloads(), expected);
}
