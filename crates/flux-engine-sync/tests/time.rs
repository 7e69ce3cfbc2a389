//! Kernel question 5: time belongs to the engine.

mod support;

use std::time::Duration;

use flux_core::{Envelope, Pipeline, Runnable};
use flux_engine_sync::{Decision, SyncEngine};
use flux_plan::Planner;
use flux_steps::Steps;
use flux_test::{TimedSource, VecSink};
use support::{WindowSum, secs};

fn run(wait_at_end: bool) -> (Vec<u64>, Vec<flux_core::Instant>, flux_engine_sync::RunReport) {
    let out = VecSink::new();
    let input = vec![
        (secs(0), Envelope::new(1u64)),
        (secs(10), Envelope::new(2)),
        (secs(1_800), Envelope::new(4)), // exactly at the first window's deadline
        (secs(7_200), Envelope::new(8)),
    ];
    let pipeline = Pipeline::from_source(TimedSource::new(input))
        .stage(WindowSum { wait_at_end, ..WindowSum::new(Duration::from_secs(1_800)) })
        .named("window")
        .inspect(|_| {})
        .sink(out.clone());
    let plan = Planner::new().plan(pipeline.describe()).unwrap();
    let report = SyncEngine::new().run(&plan, pipeline).unwrap();
    let timers =
        report.trace.iter().filter_map(|d| if let Decision::Timer { at } = d { Some(*at) } else { None }).collect();
    (out.payloads(), timers, report)
}

#[test]
fn a_thirty_minute_window_runs_on_virtual_time_and_fires_exactly_on_its_deadline() {
    let (out, timers, report) = run(false);
    // The timer at t=1800 s fires before the item released at t=1800 s is
    // pulled, so that item opens the next window.
    assert_eq!(out, vec![3, 4, 8]);
    assert_eq!(timers, vec![secs(1_800), secs(3_600)]);
    assert_eq!(report.end_time, secs(7_200));
    let window = report.row("window").unwrap();
    assert_eq!((window.counts.merged, window.counts.released, window.counts.created), (4, 4, 3));
}

#[test]
fn a_stage_that_asks_to_wait_at_end_of_input_gets_its_timer_on_virtual_time() {
    let (out, timers, report) = run(true);
    assert_eq!(out, vec![3, 4, 8]);
    assert_eq!(timers, vec![secs(1_800), secs(3_600), secs(9_000)]);
    assert_eq!(report.end_time, secs(9_000), "the engine waited 30 virtual minutes after the last item");
}

/// Tags each payload with the engine time at which it arrived.
struct StampArrival;

impl flux_core::Stage<u64> for StampArrival {
    type Out = (u64, flux_core::Instant);
    fn purity(&self) -> flux_core::Purity {
        flux_core::Purity::Stateful // its own segment: arrivals cross a boundary
    }
    fn process(&mut self, input: Envelope<u64>, out: &mut impl flux_core::Emit<(u64, flux_core::Instant)>) {
        let now = out.now();
        out.emit(input.map(|n| (n, now)));
    }
}

#[test]
fn what_a_timer_emits_reaches_the_next_segment_at_the_timers_instant() {
    let out = VecSink::new();
    let input = vec![(secs(0), Envelope::new(1u64)), (secs(100), Envelope::new(2)), (secs(500), Envelope::new(4))];
    let pipeline = Pipeline::from_source(TimedSource::new(input))
        .stage(WindowSum::new(Duration::from_secs(10)))
        .stage(StampArrival)
        .sink(out.clone());
    let plan = Planner::new().plan(pipeline.describe()).unwrap();
    assert_eq!(plan.diagnostics.segment_count, 4, "each stateful stage runs as its own segment");
    let report = SyncEngine::new().run(&plan, pipeline).unwrap();
    assert_eq!(report.end_time, secs(500));
    // Windows close at 10 s and 110 s, while the source waits for its next
    // item; the last one is flushed at end of input (500 s).
    assert_eq!(out.payloads(), vec![(1, secs(10)), (2, secs(110)), (4, secs(500))]);
}

#[test]
fn a_source_that_waits_for_later_instants_again_and_again_is_not_stuck() {
    let out = VecSink::new();
    let input: Vec<_> = (0..5u64).map(|i| (secs(i * 10), Envelope::new(i))).collect();
    let pipeline = Pipeline::from_source(TimedSource::new(input)).sink(out.clone());
    let plan = Planner::new().plan(pipeline.describe()).unwrap();
    let report = SyncEngine::new().run(&plan, pipeline).unwrap();
    assert_eq!(out.payloads(), [0, 1, 2, 3, 4]);
    assert_eq!(report.end_time, secs(40));
    let wakes = report.trace.iter().filter(|d| matches!(d, flux_engine_sync::Decision::Wake { .. })).count();
    assert_eq!(wakes, 4, "one wake per later instant");
}
