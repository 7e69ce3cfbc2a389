//! The user's planner passes change how the engine runs a pipeline, and
//! the user's policy shapes the boundaries the engine really uses.

mod support;

use flux_accumulate::{AccumulateExt, Policy};
use flux_core::{EdgeSpec, Instant, Junction, Pipeline, PlanError, Runnable};
use flux_engine_sync::{Decision, RunReport, SyncEngine};
use flux_plan::Planner;
use flux_steps::Steps;
use flux_user_extension::{
    ApplyPolicy, CappedQueue, CountingSink, Isolate, LineSource, Session, Sessions, SplitActions,
};

fn sessions(log: &str, sink: &CountingSink<Session>) -> impl Runnable {
    Pipeline::from_source(LineSource::new(log.to_owned(), 80))
        .stage(SplitActions)
        .accumulate(Sessions, Policy::default())
        .sink(sink.clone())
}

fn run_with(planner: Planner, pipeline: impl Runnable) -> RunReport {
    let plan = planner.plan(pipeline.describe()).unwrap();
    SyncEngine::new().run(&plan, pipeline).unwrap()
}

#[test]
fn a_policy_pass_shapes_every_boundary_the_engine_runs() {
    let log = support::log(200);
    let baseline_sink = CountingSink::new();
    let baseline = support::run(sessions(&log, &baseline_sink));

    let sink = CountingSink::new();
    let pipeline = sessions(&log, &sink);
    let plan = Planner::new().with_pass(ApplyPolicy::new(CappedQueue::new(3, 4))).plan(pipeline.describe()).unwrap();
    let shaped = EdgeSpec { capacity: 3, batch_size: 4 };
    assert_eq!(plan.junctions, [Junction::Fused, Junction::Boundary(shaped), Junction::Boundary(shaped)]);
    let report = SyncEngine::new().run(&plan, pipeline).unwrap();

    assert_eq!(report.edges.len(), 2);
    for edge in &report.edges {
        assert_eq!(edge.capacity, 3);
        assert!(edge.envelopes_sent > 4);
        // Full batches of 4, plus the half-full ones sent when the engine
        // goes idle (so what was made at an instant arrives at it).
        assert!(edge.batches_sent >= edge.envelopes_sent.div_ceil(4), "junction {}", edge.junction);
    }
    // The source reads no more than the first boundary has room for; the
    // sessions' timer, firing after a batch, can emit more than 3 batches
    // in one step, and those sends are counted.
    let (first, second) = (&report.edges[0], &report.edges[1]);
    assert!(first.max_depth <= 3 && first.held_back > 0, "{first:?}");
    assert!(second.backpressured_sends > 0, "{second:?}");
    assert!(report.trace.iter().all(|d| !matches!(d, Decision::Send { envelopes, .. } if *envelopes > 4)));
    // The default edge (8 batches of 512) sends the same envelopes in far fewer batches.
    for (edge, default) in report.edges.iter().zip(&baseline.edges) {
        assert_eq!((default.capacity, default.envelopes_sent), (8, edge.envelopes_sent));
        assert!(default.batches_sent < edge.batches_sent);
    }
    assert_eq!(sink.payloads(), baseline_sink.payloads(), "the same sessions either way");
}

#[test]
fn a_pass_of_our_own_adds_boundaries_and_the_records_stay_the_same() {
    let log = support::log(50);
    let split = |sink: &CountingSink<bytes::Bytes>| {
        Pipeline::from_source(LineSource::new(log.clone(), 80)).stage(SplitActions).named("split").sink(sink.clone())
    };

    let fused_sink = CountingSink::new();
    let fused = support::run(split(&fused_sink));
    assert!(fused.edges.is_empty(), "a pure stage is fused with its source and sink");
    assert!(!fused.trace.iter().any(|d| matches!(d, Decision::Send { .. } | Decision::Receive { .. })));

    let cut_sink = CountingSink::new();
    let edge = EdgeSpec { capacity: 2, batch_size: 8 };
    let cut = run_with(Planner::new().with_pass(Isolate::stage("split", edge)), split(&cut_sink));
    let junctions: Vec<_> = cut.edges.iter().map(|e| (e.junction, e.capacity)).collect();
    assert_eq!(junctions, [(0, 2), (1, 2)]);
    let lines = log.lines().count() as u64;
    assert_eq!(cut.edges[0].envelopes_sent, lines);
    assert_eq!(cut.edges[0].batches_sent, lines.div_ceil(8));
    for junction in [0, 1] {
        assert!(cut.trace.contains(&Decision::Receive { junction, at: Instant::ZERO }));
    }

    let records = |sink: &CountingSink<bytes::Bytes>| {
        sink.take().into_iter().map(|e| (e.meta().sequence, e.meta().key.clone(), e.into_payload())).collect::<Vec<_>>()
    };
    assert_eq!(records(&cut_sink), records(&fused_sink));
    let rows = |report: &RunReport| report.ledger.iter().map(|r| (r.received, r.emitted)).collect::<Vec<_>>();
    assert_eq!(rows(&cut), rows(&fused));
}

#[test]
fn a_pass_naming_no_stage_fails_planning_and_says_which() {
    let pipeline = Pipeline::from_source(LineSource::new("", 80)).stage(SplitActions).sink(CountingSink::new());
    let error = Planner::new().with_pass(Isolate::stage("parse", EdgeSpec::default())).plan(pipeline.describe());
    match error {
        Err(error @ PlanError::Pass { pass: "isolate", stage: None, .. }) => {
            assert_eq!(error.to_string(), "planner pass `isolate` rejected the plan");
            let cause = std::error::Error::source(&error).map(ToString::to_string);
            assert_eq!(cause.as_deref(), Some("no stage has the id `parse`"));
        }
        other => panic!("expected the pass to fail, got {other:?}"),
    }
}
