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

/// A timed accumulator behind a boundary is still the accumulator: it
/// takes its input in batches, keeps its name when renamed after
/// `.timed`, and its TTL fires on the engine's clock (the first group at
/// 5 s, not at the end of input).
#[test]
fn a_timed_stage_keeps_its_batches_its_timers_and_its_name() {
    use flux_accumulate::{AccumulateExt, Keyed, Policy, REASON_HEADER, TimerStart, count};
    use flux_core::{Envelope, Instant};
    let times = StageTimes::new();
    let out: VecSink<Keyed<u64>> = VecSink::new();
    let events = [(0u64, 1u64), (100, 2)]
        .map(|(secs, key)| (Instant::from_secs(secs), Envelope::new(key).with_sequence(secs)))
        .to_vec();
    let policy = Policy::builder().ttl(Duration::from_secs(5), TimerStart::FirstFragment).build().unwrap();
    let pipeline = Pipeline::from_source(flux_test::TimedSource::new(events))
        .key_by(|n: &u64| *n)
        .accumulate(count(), policy)
        .timed(&times)
        .named("counted")
        .sink(out.clone());
    let mut plan = Planner::new().plan(pipeline.describe()).unwrap();
    plan.junctions[1] = Junction::Boundary(EdgeSpec { capacity: 4, batch_size: 8 });
    let report = SyncEngine::new().run(&plan, pipeline).unwrap();

    assert!(report.row("counted").is_some(), "renamed after `.timed`");
    let reasons: Vec<Vec<u8>> =
        out.take().iter().map(|record| record.meta().headers.get(REASON_HEADER).unwrap().to_vec()).collect();
    assert_eq!(reasons, [b"lifetime".to_vec(), b"end-of-stream".to_vec()], "the first group's timer fired");
    assert_eq!(times.figures().calls, 2, "one batch per record, each timed");
    let timer_at_5 = flux_engine_sync::Decision::Timer { at: Instant::from_secs(5) };
    assert!(report.trace.contains(&timer_at_5), "the engine saw the stage's deadline through the wrapper");
}
