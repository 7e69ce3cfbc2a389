//! A failure on tokio stops the run as on the sync engine: the source is
//! not pulled again, what is inside drains, every sink closes, and the
//! error names the stage and carries a balanced report.

use flux_core::{EdgeSpec, ExecutionPlan, Junction, Pipeline, Runnable};
use flux_engine_async::{AsyncEngine, RunErrorKind};
use flux_plan::Planner;
use flux_steps::Steps;
use flux_test::{Conservation, IterSource, PanicOnPull, PanicOnWrite, VecSink};

fn cut_everywhere(mut plan: ExecutionPlan) -> ExecutionPlan {
    for junction in &mut plan.junctions {
        *junction = Junction::Boundary(EdgeSpec { capacity: 2, batch_size: 8 });
    }
    plan
}

/// Doubles, panicking on the input whose payload is 500.
fn fragile(out: &VecSink<u64>) -> impl Runnable {
    Pipeline::from_source(IterSource::new(0..10_000u64))
        .map(|n| n + 1)
        .named("inc")
        .map(|n| if n == 500 { panic!("no 500s") } else { n * 2 })
        .named("double")
        .sink(out.clone())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panic_in_a_stage_stops_the_run_naming_it_and_everything_pulled_is_accounted_for() {
    let out = VecSink::new();
    let plan = cut_everywhere(Planner::new().plan(fragile(&out).describe()).unwrap());
    let error = AsyncEngine::new().run(&plan, fragile(&out)).await.unwrap_err();

    assert_eq!(error.stage().unwrap().as_str(), "double");
    assert_eq!(error.to_string(), "stage `double` stopped the run at sequence 499");
    let report = error.report().expect("a failed run carries its report");
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    let pulled = report.row("source").unwrap().counts.created;
    assert!((500..10_000).contains(&pulled), "the source stopped early: {pulled}");
    let dead: Vec<u64> = report.dead_letters.iter().map(|l| l.meta.sequence).collect();
    assert_eq!(dead, [499]);
    let written: Vec<u64> = out.take().iter().map(|e| e.meta().sequence).collect();
    Conservation::of(0..pulled).output(written).dead_letters(dead).assert();
}

#[tokio::test(flavor = "current_thread")]
async fn a_panicking_source_and_a_panicking_sink_are_named_and_their_runs_drain() {
    let out = VecSink::new();
    let source = PanicOnPull::new(IterSource::new(0..100u32), 40);
    let pipeline = Pipeline::from_source(source).map(|n| n + 1).sink(out.clone());
    let plan = cut_everywhere(Planner::new().plan(pipeline.describe()).unwrap());
    let error = AsyncEngine::new().run(&plan, pipeline).await.unwrap_err();
    assert_eq!(error.stage().unwrap().as_str(), "source");
    assert_eq!(out.payloads(), (1..=40).collect::<Vec<_>>(), "what came before the panic was written");
    assert!(error.report().unwrap().problems.is_empty());

    let out = VecSink::new();
    let pipeline = Pipeline::from_source(IterSource::new(0..100u32)).sink(PanicOnWrite::new(out.clone(), 10));
    let plan = Planner::new().plan(pipeline.describe()).unwrap();
    let error = AsyncEngine::new().run(&plan, pipeline).await.unwrap_err();
    assert_eq!(error.stage().unwrap().as_str(), "sink");
    let report = error.report().unwrap();
    assert_eq!(report.dead_letters.iter().map(|l| l.meta.sequence).collect::<Vec<_>>(), [10]);
    assert!(report.problems.is_empty());
}

#[tokio::test(flavor = "current_thread")]
async fn a_plan_made_for_another_pipeline_is_refused_before_anything_runs() {
    let a = Pipeline::from_source(IterSource::new(0..3u32)).map(|n| n).named("a").sink(VecSink::new());
    let b = Pipeline::from_source(IterSource::new(0..3u32)).map(|n| n).named("b").sink(VecSink::new());
    let plan_for_a = Planner::new().plan(a.describe()).unwrap();
    let error = AsyncEngine::new().run(&plan_for_a, b).await.unwrap_err();
    assert!(matches!(error.kind(), RunErrorKind::PlanMismatch(flux_core::PlanError::StageMismatch { index: 1, .. })));
    assert!(error.report().is_none());
    assert_eq!(error.to_string(), "the plan does not fit the pipeline");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panic_no_node_claims_stops_the_run_naming_its_segment_and_no_task_hangs() {
    let out = VecSink::new();
    let pipeline =
        Pipeline::from_source(IterSource::new(0..10_000u64)).layer(flux_test::PanicInNode::at(100)).sink(out.clone());
    let plan = Planner::new().plan(pipeline.describe()).unwrap();
    assert_eq!(plan.segments().len(), 3, "the careless stage runs in a segment of its own");
    let error = AsyncEngine::new().run(&plan, pipeline).await.unwrap_err();

    assert_eq!(error.to_string(), "stage `careless` stopped the run");
    let report = error.report().unwrap();
    // What the careless segment took in but never passed on is a loss the
    // ledger names; the sink's segment still finished.
    assert!(!report.problems.is_empty(), "a node that loses its input is caught by the ledger");
    assert!(out.payloads().len() < 100, "nothing after the panic reached the sink");
    assert!(report.row("source").unwrap().counts.created >= 100);
}
