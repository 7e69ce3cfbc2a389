//! What an async run reports: kept and counted diversions from every
//! task, watched pools, and how it was stopped.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use flux_accumulate::{AccumulateExt, AtEnd, Policy, TimerStart, count};
use flux_core::{
    EdgeSpec, Emit, Envelope, Instant, Junction, LeakCheck, LeakError, Pipeline, PoolStats, Runnable, SideReason, Stage,
};
use flux_engine_async::{AsyncEngine, RunErrorKind, Stop, StopHandle};
use flux_plan::Planner;
use flux_steps::Steps;
use flux_test::{IterSource, TimedSource, VecSink};

/// Routes every number ending in 7 to the side output.
struct RouteSevens;

impl Stage<u64> for RouteSevens {
    type Out = u64;

    fn process(&mut self, input: Envelope<u64>, out: &mut impl Emit<u64>) {
        if input.payload() % 10 == 7 {
            out.side_output(input.meta().clone(), SideReason::Other("sevens"));
        } else {
            out.emit(input);
        }
    }
}

/// Parses (failing on numbers ending in 3), then routes sevens aside, in
/// two segments of their own.
fn diverting(out: &VecSink<u64>) -> impl Runnable {
    let input: Vec<String> =
        (0..10_000u64).map(|n| if n % 10 == 3 { format!("x{n}") } else { n.to_string() }).collect();
    Pipeline::from_source(IterSource::new(input))
        .try_map(|s: String| s.parse::<u64>())
        .named("parse")
        .stage(RouteSevens)
        .named("route")
        .sink(out.clone())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn diversions_past_the_kept_ones_are_counted_and_every_one_is_in_the_ledger() {
    let out = VecSink::new();
    let mut plan = Planner::new().plan(diverting(&out).describe()).unwrap();
    for junction in &mut plan.junctions {
        *junction = Junction::Boundary(EdgeSpec { capacity: 2, batch_size: 32 });
    }
    let engine = AsyncEngine::new().keep_dead_letters(100);
    assert!(format!("{engine:?}").contains("keep: 100"), "{engine:?}");
    let report = engine.run(&plan, diverting(&out)).await.unwrap();

    assert_eq!((report.dead_letters.len(), report.side_outputs.len()), (100, 100));
    assert_eq!(report.not_kept, 1_800, "900 dead letters and 900 side outputs counted, not kept");
    assert!(report.dead_letters.iter().all(|l| l.meta.sequence % 10 == 3 && l.error.stage().as_str() == "parse"));
    assert!(report.side_outputs.iter().all(|s| s.meta.sequence % 10 == 7 && s.stage.as_str() == "route"));
    let (parse, route) = (report.row("parse").unwrap(), report.row("route").unwrap());
    assert_eq!((parse.dead_letters, parse.side_outputs, parse.emitted), (1_000, 0, 9_000));
    assert_eq!((route.dead_letters, route.side_outputs, route.emitted), (0, 1_000, 8_000));
    assert_eq!(out.payloads().len(), 8_000);
    assert!(report.problems.is_empty());
}

/// A pool stand-in whose outstanding buffers the test sets.
struct Outstanding(AtomicU64);

impl LeakCheck for Outstanding {
    fn check(&self) -> Result<(), LeakError> {
        match self.0.load(Ordering::SeqCst) {
            0 => Ok(()),
            outstanding => Err(LeakError { pool: "slabs".into(), outstanding }),
        }
    }

    fn figures(&self) -> Option<(&str, PoolStats)> {
        Some(("slabs", PoolStats { in_use: self.0.load(Ordering::SeqCst), ..PoolStats::default() }))
    }
}

#[tokio::test(flavor = "current_thread")]
async fn a_watched_pool_is_reported_and_one_with_buffers_out_fails_the_run() {
    let pool = Arc::new(Outstanding(AtomicU64::new(0)));
    let run = |pool: &Arc<Outstanding>| {
        let pipeline = Pipeline::from_source(IterSource::new(0..3u32)).sink(VecSink::new());
        let plan = Planner::new().plan(pipeline.describe()).unwrap();
        let engine = AsyncEngine::new().watch_pool(pool.clone());
        async move { engine.run(&plan, pipeline).await }
    };
    let report = run(&pool).await.unwrap();
    assert_eq!(report.pools, [("slabs".to_owned(), PoolStats::default())]);
    pool.0.store(2, Ordering::SeqCst);
    let error = run(&pool).await.unwrap_err();
    assert!(matches!(error.kind(), RunErrorKind::Leak(LeakError { outstanding: 2, .. })));
    assert_eq!(error.report().unwrap().pools[0].1.in_use, 2);
    assert_eq!(std::error::Error::source(&error).unwrap().to_string(), "buffer pool `slabs` leaked 2 buffers");
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn a_stop_after_the_input_ended_is_no_stop_and_a_graceful_one_still_lets_end_timers_fire() {
    let out = VecSink::new();
    let policy =
        Policy::builder().ttl(Duration::from_secs(60), TimerStart::FirstFragment).at_end(AtEnd::WaitForTimers).build();
    let pipeline = Pipeline::from_source(TimedSource::new(vec![(Instant::ZERO, Envelope::new("a"))]))
        .key_by(|key| *key)
        .accumulate(count(), policy.unwrap())
        .sink(out.clone());
    let plan = Planner::new().plan(pipeline.describe()).unwrap();
    let handle = StopHandle::new();
    let stopper = handle.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(10)).await;
        stopper.stop(Stop::Drain);
    });
    let report = AsyncEngine::new().stop_with(handle).run(&plan, pipeline).await.unwrap();
    assert_eq!(report.stopped, None, "the source had ended when the stop came");
    assert_eq!(report.elapsed, Duration::from_secs(60), "a graceful stop waits for the end timer");
    assert_eq!(out.payloads().len(), 1);
}

/// The report as a person reads it: what was read and written, the
/// ledger table, the first dead letters and the boundary, on tokio's
/// paused clock (so the time is exact).
#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn a_report_prints_what_was_read_and_written_its_ledger_and_its_first_dead_letters() {
    let input: Vec<String> = (0..20u64).map(|n| if n % 7 == 3 { format!("{n}x") } else { n.to_string() }).collect();
    let out = VecSink::new();
    let pipeline = Pipeline::from_source(IterSource::new(input))
        .try_map(|s: String| s.parse::<u64>())
        .named("parse")
        .sink(out.clone());
    let mut plan = Planner::new().plan(pipeline.describe()).unwrap();
    plan.junctions[1] = Junction::Boundary(EdgeSpec { capacity: 4, batch_size: 8 });
    let report = AsyncEngine::new().run(&plan, pipeline).await.unwrap();
    let expected = "\
run took 0.000 s: 20 read, 17 written, 3 dead letters
  stage   received      sent      dead      side   dropped    merged  released discarded   written
  source         0        20         0         0         0         0         0         0         0
  parse         20        17         3         0         0         0         0         0         0
  sink          17         0         0         0         0         0         0         0        17
  dead letter sequence 3: stage `parse` failed at sequence 3: invalid digit found in string
  dead letter sequence 10: stage `parse` failed at sequence 10: invalid digit found in string
  dead letter sequence 17: stage `parse` failed at sequence 17: invalid digit found in string
  boundary 1: 17 sent, 17 received, at most 3 of 4 batches queued, 0 dropped
";
    assert_eq!(report.to_string(), expected, "\n{report}");
}
