//! Schedule hooks: simulated backpressure, and the engine's guard rails.

mod support;

use flux_core::{Emit, Envelope, Instant, Pipeline, Runnable, Stage};
use flux_engine_sync::{Decision, DownstreamFirst, RunError, RunErrorKind, ScheduleHook, SyncEngine, UpstreamFirst};
use flux_plan::Planner;
use flux_steps::Steps;
use flux_test::{IterSource, VecSink};

fn run_with(hook: impl ScheduleHook + 'static) -> (Vec<u64>, flux_engine_sync::RunReport) {
    let out = VecSink::new();
    let pipeline = Pipeline::from_source(IterSource::new(0..5_000u64)).map(|n| n + 1).map(|n| n * 2).sink(out.clone());
    let plan = Planner::new().with_pass(support::small_edges()).plan(pipeline.describe()).unwrap();
    let report = SyncEngine::new().with_hook(hook).run(&plan, pipeline).unwrap();
    (out.payloads(), report)
}

#[test]
fn upstream_first_is_held_back_by_full_channels_and_the_waits_are_counted() {
    let (downstream_out, downstream) = run_with(DownstreamFirst);
    let (upstream_out, upstream) = run_with(UpstreamFirst);
    assert_eq!(downstream_out, upstream_out);
    let first_edge = |r: &flux_engine_sync::RunReport| r.edges[0];
    // Upstream first would fill the channel without end: the engine holds
    // the source back while its channel is full, and counts each wait.
    assert!(first_edge(&upstream).held_back > 0);
    // A source step pulls no more than its channel has room for (two
    // batches of 16 into an empty channel of 2), so no queue ever holds
    // more than its capacity, and no send finds one full.
    for report in [&downstream, &upstream] {
        for edge in &report.edges {
            assert!(edge.max_depth <= edge.capacity, "{edge:?}");
            assert_eq!(edge.backpressured_sends, 0, "{edge:?}");
            assert_eq!((edge.capacity, edge.batch_size), (2, 16));
            assert_eq!(edge.envelopes_sent, 5_000);
            assert_eq!(edge.batches_sent, 5_000u64.div_ceil(16));
        }
    }
    // Downstream first: the source finds room for two batches each time,
    // and the first channel fills to its capacity.
    assert_eq!(first_edge(&downstream).max_depth, 2);
    let pulls = |r: &flux_engine_sync::RunReport| r.trace.iter().filter(|d| matches!(d, Decision::Pull { .. })).count();
    assert_eq!(pulls(&downstream), 5_000usize.div_ceil(32), "32 envelopes a pull; the last also finds the end");
}

/// Always picks segment 7, which does not exist.
struct Wrong;

impl ScheduleHook for Wrong {
    fn choose(&mut self, _runnable: &[usize], _now: Instant) -> usize {
        7
    }
}

#[test]
fn a_hook_that_chooses_a_segment_that_cannot_run_fails_the_run() {
    let pipeline = Pipeline::from_source(IterSource::new(0..3u64)).sink(VecSink::new());
    let plan = Planner::new().plan(pipeline.describe()).unwrap();
    let err = SyncEngine::new().with_hook(Wrong).run(&plan, pipeline).unwrap_err();
    assert!(matches!(err.kind(), RunErrorKind::InvalidChoice { chosen: 7, runnable } if runnable == &[0]), "{err}");
}

/// Holds its inputs and releases them when a deadline fires; the deadline
/// is reported only for the end of input (or, when `stuck`, never cleared).
struct AtEndOnly {
    held: Vec<Envelope<u64>>,
    deadline: Option<Instant>,
    stuck: bool,
}

impl Stage<u64> for AtEndOnly {
    type Out = u64;
    fn purity(&self) -> flux_core::Purity {
        flux_core::Purity::Stateful
    }
    fn process(&mut self, input: Envelope<u64>, out: &mut impl Emit<u64>) {
        self.deadline.get_or_insert(out.now() + std::time::Duration::from_secs(60));
        self.held.push(input);
    }
    fn held(&self) -> u64 {
        self.held.len() as u64
    }
    fn next_deadline(&self, at_end: bool) -> Option<Instant> {
        if at_end { self.deadline } else { None }
    }
    fn on_time(&mut self, out: &mut impl Emit<u64>) {
        if self.deadline.is_some_and(|d| d <= out.now()) {
            if !self.stuck {
                self.deadline = None;
            }
            for item in self.held.drain(..) {
                out.emit(item);
            }
        }
    }
}

fn at_end_only(stuck: bool) -> Result<(Vec<u64>, flux_engine_sync::RunReport), RunError> {
    let out = VecSink::new();
    let stage = AtEndOnly { held: Vec::new(), deadline: None, stuck };
    let pipeline = Pipeline::from_source(IterSource::new(0..3u64)).stage(stage).sink(out.clone());
    let plan = Planner::new().plan(pipeline.describe()).unwrap();
    let report = SyncEngine::new().run(&plan, pipeline)?;
    Ok((out.payloads(), report))
}

#[test]
fn a_deadline_reported_only_for_the_end_of_input_fires_and_the_run_ends() {
    let (out, report) = at_end_only(false).unwrap();
    assert_eq!(out, vec![0, 1, 2]);
    assert_eq!(report.end_time, support::secs(60));
}

#[test]
fn a_timer_that_never_clears_is_an_error_not_a_hang() {
    let err = at_end_only(true).unwrap_err();
    assert!(matches!(err.kind(), RunErrorKind::StuckTimer { at } if *at == support::secs(60)), "{err}");
}
