//! Latency per stage, on request: every call into the timed stage is
//! counted, and its slow calls show in the upper quantiles.

use std::time::Duration;

use flux_core::{EdgeSpec, Junction, Pipeline, Runnable};
use flux_engine_sync::SyncEngine;
use flux_observe::{Report, StageTimes, TimeSteps};
use flux_plan::Planner;
use flux_steps::Steps;
use flux_test::{IterSource, VecSink};

/// Real time, to make a call slow for a known while.
#[allow(clippy::disallowed_methods, reason = "the test makes a stage slow in real time")]
fn spin(for_: Duration) {
    let started = std::time::Instant::now();
    while started.elapsed() < for_ {
        std::hint::spin_loop();
    }
}

#[test]
fn every_call_is_timed_and_the_slow_ones_are_the_upper_quantiles() {
    let times = StageTimes::new();
    let out = VecSink::new();
    // One call in 20 takes at least 300 µs; a boundary after the stage,
    // so that its time is its own.
    let pipeline = Pipeline::from_source(IterSource::new(0..2_000u64))
        .map(|n| {
            if n % 20 == 0 {
                spin(Duration::from_micros(300));
            }
            n
        })
        .named("sometimes-slow")
        .timed(&times)
        .sink(out.clone());
    let mut plan = Planner::new().plan(pipeline.describe()).unwrap();
    plan.junctions[1] = Junction::Boundary(EdgeSpec { capacity: 4, batch_size: 64 });
    let _report = SyncEngine::new().run(&plan, pipeline).unwrap();

    let figures = times.figures();
    assert_eq!(figures.calls, 2_000, "one push per envelope, none lost at the end");
    assert!(figures.p99_nanos >= 300_000 && figures.max_nanos >= 300_000, "{figures:?}");
    assert!(figures.p50_nanos < figures.p99_nanos, "{figures:?}");
    assert!(figures.p50_nanos <= figures.p90_nanos && figures.p99_nanos <= figures.p999_nanos, "{figures:?}");
    assert_eq!(out.payloads().len(), 2_000);
    let report = Report::default().with_figures("sometimes-slow call times", figures.named());
    assert!(report.to_string().contains("sometimes-slow call times: calls 2000, p50 ns "), "{report}");
}
