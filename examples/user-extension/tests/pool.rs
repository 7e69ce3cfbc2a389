//! The user's `VecPool`, rented from by the user's `Lowercase` stage and
//! watched by the sync engine for leaks.

mod support;

use std::sync::Arc;

use flux_core::{BufferPool, LeakError, Pipeline, PoolStats, Position, Runnable};
use flux_engine_sync::{RunError, RunErrorKind, SyncEngine};
use flux_plan::Planner;
use flux_steps::Steps;
use flux_user_extension::{CountingSink, LineSource, Lowercase, PooledBuf, SplitActions, VecPool};

const LOG: &str = "Ada LOGIN View\nBob Login\n";

fn watched_run(pipeline: impl Runnable, pool: &VecPool) -> Result<flux_engine_sync::RunReport, RunError> {
    let plan = Planner::new().plan(pipeline.describe()).unwrap();
    SyncEngine::new().watch_pool(Arc::new(pool.clone())).run(&plan, pipeline)
}

#[test]
fn every_pooled_buffer_comes_back_and_the_watched_run_passes() {
    let pool = VecPool::new("lowercase", 2, 16);
    let words = CountingSink::new();
    let pipeline = Pipeline::from_source(LineSource::new(LOG, 80))
        .stage(SplitActions)
        .stage(Lowercase::new(pool.clone()))
        .map(|buf: PooledBuf| String::from_utf8_lossy(&buf).into_owned()) // the buffer goes back here
        .sink(words.clone());
    let report = watched_run(pipeline, &pool).expect("no buffer is out at stop");
    assert!(report.dead_letters.is_empty());

    assert_eq!(words.payloads(), ["login", "view", "login"]);
    // One segment: each buffer is back before the next word rents one.
    let expected = PoolStats { rented: 3, returned: 3, in_use: 0, high_water: 1, allocations_avoided: 2, capacity: 2 };
    assert_eq!(pool.stats(), expected);
}

#[test]
fn a_sink_that_keeps_pooled_buffers_past_the_run_fails_it_with_a_leak() {
    let pool = VecPool::new("lowercase", 4, 16);
    let kept = CountingSink::new();
    let pipeline = Pipeline::from_source(LineSource::new(LOG, 80))
        .stage(SplitActions)
        .stage(Lowercase::new(pool.clone()))
        .sink(kept.clone());

    match watched_run(pipeline, &pool) {
        Err(error) if matches!(error.kind(), RunErrorKind::Leak(_)) => {
            let RunErrorKind::Leak(leak) = error.kind() else { unreachable!() };
            assert_eq!(leak, &LeakError { pool: "lowercase".into(), outstanding: 3 });
        }
        other => panic!("expected a leak, got {other:?}"),
    }
    assert_eq!(kept.written(), 3, "the sink still holds the buffers");

    drop(kept.take());
    assert_eq!(pool.check_leaks(), Ok(()), "dropping them returned them");
    assert_eq!(pool.stats().returned, 3);
}

#[test]
fn an_exhausted_pool_dead_letters_the_input_and_the_run_goes_on() {
    // The sink keeps what it is given, so the two buffers never come back
    // during the run and the third and fourth lines find the pool empty.
    let pool = VecPool::new("lowercase", 2, 16);
    let kept = CountingSink::new();
    let pipeline = Pipeline::from_source(LineSource::new("Ada LOGIN\nBob\nCy View\nDee\n", 80))
        .stage(Lowercase::new(pool.clone()))
        .named("lowercase")
        .sink(kept.clone());
    let report = support::run(pipeline);

    let lines: Vec<_> = kept.take().iter().map(|e| e.payload().to_vec()).collect();
    assert_eq!(lines, [b"ada login".to_vec(), b"bob".to_vec()]);
    let letters: Vec<_> = report.dead_letters.iter().map(|l| (l.error.stage().as_str(), l.error.position())).collect();
    assert_eq!(letters, [("lowercase", Position::Sequence(2)), ("lowercase", Position::Sequence(3))]);
    assert_eq!(
        support::cause(&report.dead_letters[0].error),
        "buffer pool `lowercase` is exhausted (2 buffers in use)"
    );
    let row = report.row("lowercase").unwrap();
    assert_eq!((row.received, row.emitted, row.dead_letters), (4, 2, 2));
    assert_eq!(pool.check_leaks(), Ok(()), "the sink's buffers went back when it was dropped");
}
