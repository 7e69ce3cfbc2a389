//! Errors are values with a place: sink failures, leaks, mismatched plans.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use flux_core::{Context, Envelope, LeakCheck, LeakError, Pipeline, Position, Runnable, Sink, StageId, WriteError};
use flux_engine_sync::{RunErrorKind, SyncEngine};
use flux_plan::Planner;
use flux_steps::Steps;
use flux_test::IterSource;

/// Fails to write odd payloads, and fails to close if asked to.
struct Picky {
    fail_close: bool,
}

impl Sink<u32> for Picky {
    fn write(&mut self, item: Envelope<u32>, _cx: &mut Context<'_>) -> Result<(), WriteError> {
        if item.payload() % 2 == 1 {
            let (_, meta, _) = item.into_parts();
            return Err(WriteError::new(meta, "odd payloads are refused"));
        }
        Ok(())
    }

    fn close(&mut self, _cx: &mut Context<'_>) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        if self.fail_close { Err("disk full".into()) } else { Ok(()) }
    }
}

#[test]
fn a_failed_write_is_a_dead_letter_naming_the_sink_and_the_sequence() {
    let p = Pipeline::from_source(IterSource::new(0..10u32)).sink(Picky { fail_close: false }).named("db");
    let plan = Planner::new().plan(p.describe()).unwrap();
    let report = SyncEngine::new().run(&plan, p).unwrap();
    let sequences: Vec<u64> = report.dead_letters.iter().map(|l| l.meta.sequence).collect();
    assert_eq!(sequences, vec![1, 3, 5, 7, 9]);
    assert_eq!(report.dead_letters[0].error.to_string(), "stage `db` failed at sequence 1");
    let db = report.row("db").unwrap();
    assert_eq!((db.received, db.counts.consumed, db.dead_letters), (10, 5, 5));
}

#[test]
fn a_failed_close_stops_the_run_with_an_error_naming_the_sink() {
    let p = Pipeline::from_source(IterSource::new(0..4u32)).sink(Picky { fail_close: true }).named("db");
    let plan = Planner::new().plan(p.describe()).unwrap();
    let err = SyncEngine::new().run(&plan, p).unwrap_err();
    let RunErrorKind::Stage(stage_error) = err.kind() else { panic!("{err}") };
    assert_eq!(stage_error.stage(), &StageId::from_static("db"));
    assert_eq!(stage_error.position(), Position::None);
    assert_eq!(stage_error.cause().to_string(), "disk full");
}

/// A pool stand-in whose outstanding count the test controls.
struct Outstanding(AtomicU64);

impl LeakCheck for Outstanding {
    fn check(&self) -> Result<(), LeakError> {
        match self.0.load(Ordering::SeqCst) {
            0 => Ok(()),
            n => Err(LeakError { pool: "slabs".into(), outstanding: n }),
        }
    }
}

#[test]
fn a_watched_pool_with_buffers_out_at_stop_fails_the_run() {
    let pool = Arc::new(Outstanding(AtomicU64::new(0)));
    let run = |pool: &Arc<Outstanding>| {
        let p = Pipeline::from_source(IterSource::new(0..3u32)).sink(flux_test::VecSink::new());
        let plan = Planner::new().plan(p.describe()).unwrap();
        SyncEngine::new().watch_pool(pool.clone()).run(&plan, p)
    };
    assert!(run(&pool).is_ok());
    pool.0.store(2, Ordering::SeqCst);
    let err = run(&pool).unwrap_err();
    assert!(matches!(err.kind(), RunErrorKind::Leak(LeakError { outstanding: 2, .. })));
    assert_eq!(std::error::Error::source(&err).unwrap().to_string(), "buffer pool `slabs` leaked 2 buffers");
}

#[test]
fn a_plan_made_for_another_pipeline_is_refused() {
    let a = Pipeline::from_source(IterSource::new(0..3u32)).map(|n| n).named("a").sink(flux_test::VecSink::new());
    let b = Pipeline::from_source(IterSource::new(0..3u32)).map(|n| n).named("b").sink(flux_test::VecSink::new());
    let plan_for_a = Planner::new().plan(a.describe()).unwrap();
    let err = SyncEngine::new().run(&plan_for_a, b).unwrap_err();
    assert!(matches!(err.kind(), RunErrorKind::PlanMismatch(flux_core::PlanError::StageMismatch { index: 1, .. })));
    assert!(err.report().is_none(), "nothing ran");
    assert_eq!(
        std::error::Error::source(&err).unwrap().to_string(),
        "stage 1 is `a` in the plan but `b` in the pipeline"
    );
}
