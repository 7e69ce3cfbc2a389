//! The planner's passes on real pipelines and on hand-made descriptor lists.

use flux_core::{
    EngineHint, ExecutionPlan, Junction, Pipeline, PlanError, PlannerPass, Purity, Runnable, StageDescriptor, StageKind,
};
use flux_plan::Planner;
use flux_steps::Steps;
use flux_test::{IterSource, VecSink};

fn stage(id: &'static str, kind: StageKind, purity: Purity) -> StageDescriptor {
    StageDescriptor::new(id, kind, purity).with_types("u32", "u32")
}

/// Source, four pure stages hinted `ns` each, sink.
fn four_hinted(ns: [u32; 4]) -> Vec<StageDescriptor> {
    let mut stages = linear(&[("a", Purity::Pure), ("b", Purity::Pure), ("c", Purity::Pure), ("d", Purity::Pure)]);
    for (stage, ns) in stages[1..5].iter_mut().zip(ns) {
        *stage = stage.clone().with_cpu_hint_ns(ns);
    }
    stages
}

fn linear(middle: &[(&'static str, Purity)]) -> Vec<StageDescriptor> {
    let mut stages = vec![stage("source", StageKind::Source, Purity::Stateful).with_types("()", "u32")];
    for &(id, purity) in middle {
        let kind = if purity == Purity::Pure { StageKind::Transform } else { StageKind::Accumulate };
        stages.push(stage(id, kind, purity));
    }
    stages.push(stage("sink", StageKind::Sink, Purity::Stateful).with_types("u32", "()"));
    stages
}

#[test]
fn duplicate_ids_are_rejected_naming_both_positions() {
    let pipeline = Pipeline::from_source(IterSource::new(0..3u32))
        .map(|n| n)
        .named("step")
        .map(|n| n)
        .named("step")
        .sink(VecSink::new());
    let err = Planner::new().plan(pipeline.describe()).unwrap_err();
    assert!(matches!(&err, PlanError::DuplicateId { id, first: 1, second: 2 } if id.as_str() == "step"));
    assert_eq!(err.to_string(), "stage id `step` is used by stage 1 and stage 2");
}

#[test]
fn empty_and_misplaced_pipelines_are_rejected() {
    assert!(matches!(Planner::new().plan(vec![]), Err(PlanError::Empty)));
    let only_source = vec![stage("source", StageKind::Source, Purity::Stateful)];
    assert!(matches!(Planner::new().plan(only_source), Err(PlanError::Empty)));

    let mut stages = linear(&[("a", Purity::Pure)]);
    stages.swap(0, 1);
    let err = Planner::new().plan(stages).unwrap_err();
    assert!(matches!(&err, PlanError::Misplaced { stage, index: 0 } if stage.as_str() == "a"), "{err}");
}

#[test]
fn type_mismatch_in_a_run_time_plan_names_both_stages() {
    let mut stages = linear(&[("parse", Purity::Pure), ("store", Purity::Pure)]);
    stages[2] = stages[2].clone().with_types("String", "u32");
    let err = Planner::new().plan(stages).unwrap_err();
    assert_eq!(err.to_string(), "stage `parse` emits `u32` but the next stage `store` accepts `String`");
}

#[test]
fn fuses_exactly_the_pure_runs() {
    let stages = linear(&[
        ("a", Purity::Pure),
        ("b", Purity::Pure),
        ("acc", Purity::Stateful),
        ("c", Purity::Pure),
        ("d", Purity::Pure),
        ("e", Purity::Pure),
    ]);
    let plan = Planner::new().plan(stages).unwrap();
    let boundary = |j: &Junction| matches!(j, Junction::Boundary(_));
    let cuts: Vec<usize> = plan.junctions.iter().enumerate().filter(|(_, j)| boundary(j)).map(|(i, _)| i).collect();
    assert_eq!(cuts, vec![2, 3], "boundaries on both sides of the accumulator only");
    assert_eq!(plan.diagnostics.fused_runs, vec![(1, 2), (4, 6)]);
    assert_eq!(plan.diagnostics.fusion_count, 3);
    assert_eq!(plan.diagnostics.segment_count, 3);
    assert_eq!(plan.diagnostics.accumulator_indexes, vec![3]);
    assert_eq!(plan.segments(), vec![(0, 2), (3, 3), (4, 7)]);
}

#[test]
fn heavy_stages_are_isolated_and_cheap_ones_are_not() {
    let mut stages = linear(&[("parse", Purity::Pure), ("enrich", Purity::Pure), ("format", Purity::Pure)]);
    stages[2] = stages[2].clone().with_cpu_hint_ns(2_000);
    stages[3] = stages[3].clone().with_cpu_hint_ns(100);
    let plan = Planner::new().plan(stages.clone()).unwrap();
    assert_eq!(plan.segments(), vec![(0, 1), (2, 2), (3, 4)]);

    stages[2] = stages[2].clone().with_cpu_hint_ns(0).with_engine_hint(EngineHint::Blocking);
    assert_eq!(Planner::new().plan(stages).unwrap().diagnostics.segment_count, 3);
}

#[test]
fn a_run_of_hinted_stages_is_cut_into_two_parts_of_equal_work() {
    assert_eq!(Planner::new().plan(four_hinted([0; 4])).unwrap().segments(), vec![(0, 5)], "no hints: one segment");

    let hinted = |ns: [u32; 4]| Planner::new().plan(four_hinted(ns)).unwrap();
    let plan = hinted([25; 4]);
    assert_eq!(plan.segments(), vec![(0, 2), (3, 5)], "50 ns a part: cut in the middle");
    assert_eq!(plan.diagnostics.passes.last(), Some(&"split-by-cost"));
    assert_eq!(hinted([60, 10, 10, 20]).segments(), vec![(0, 1), (2, 5)], "60 against 40");
    assert_eq!(hinted([19; 4]).segments(), vec![(0, 5)], "38 ns a part does not pay for a boundary");
    assert_eq!(hinted([20; 4]).segments(), vec![(0, 2), (3, 5)], "40 ns a part does");
}

#[test]
fn hinted_runs_are_weighed_between_the_boundaries_already_there() {
    let mut stages = linear(&[
        ("a", Purity::Pure),
        ("b", Purity::Pure),
        ("acc", Purity::Stateful),
        ("c", Purity::Pure),
        ("d", Purity::Pure),
    ]);
    for i in [1, 2, 4, 5] {
        stages[i] = stages[i].clone().with_cpu_hint_ns(40);
    }
    let plan = Planner::new().plan(stages).unwrap();
    // The accumulator's boundaries first, then each side of it in two.
    assert_eq!(plan.segments(), vec![(0, 1), (2, 2), (3, 3), (4, 4), (5, 6)]);
}

#[test]
fn a_source_hinted_heavy_reads_in_a_segment_of_its_own() {
    let mut stages = linear(&[("parse", Purity::Pure), ("format", Purity::Pure)]);
    assert_eq!(Planner::new().plan(stages.clone()).unwrap().segments(), vec![(0, 3)], "fused without a hint");
    for hint in [EngineHint::Isolate, EngineHint::Blocking] {
        stages[0] = stages[0].clone().with_engine_hint(hint);
        let plan = Planner::new().plan(stages.clone()).unwrap();
        assert_eq!(plan.segments(), vec![(0, 0), (1, 3)], "{hint:?}: one cut, after the source");
    }
}

#[test]
fn the_one_thread_planner_cuts_for_no_hint_and_keeps_an_accumulators_boundaries() {
    let mut stages = linear(&[
        ("parse", Purity::Pure),
        ("heavy", Purity::Pure),
        ("acc", Purity::Stateful),
        ("format", Purity::Pure),
    ]);
    stages[0] = stages[0].clone().with_engine_hint(EngineHint::Blocking);
    stages[2] = stages[2].clone().with_cpu_hint_ns(2_000);
    stages[4] = stages[4].clone().with_cpu_hint_ns(400).with_engine_hint(EngineHint::Isolate);
    stages[5] = stages[5].clone().with_engine_hint(EngineHint::Blocking);
    assert_eq!(
        Planner::new().plan(stages.clone()).unwrap().segments(),
        vec![(0, 0), (1, 1), (2, 2), (3, 3), (4, 4), (5, 5)],
        "every hint cuts for two cores"
    );
    let plan = Planner::for_one_thread().plan(stages).unwrap();
    assert_eq!(plan.segments(), vec![(0, 2), (3, 3), (4, 5)], "only the accumulator's own boundaries");

    // Hints too small to isolate a stage, enough to cut the run in two.
    let cheap = four_hinted([25; 4]);
    assert_eq!(Planner::new().plan(cheap.clone()).unwrap().segments(), vec![(0, 2), (3, 5)], "split by cost");
    assert_eq!(Planner::for_one_thread().plan(cheap).unwrap().segments(), vec![(0, 5)], "one segment");
}

#[test]
fn diagnostics_estimate_memory_and_latency_from_hints_and_channels() {
    let mut stages = linear(&[("a", Purity::Pure), ("acc", Purity::Stateful)]);
    stages[2] = stages[2].clone().with_memory_hint(1_000).with_latency_hint_ns(30_000);
    let plan = Planner::new().plan(stages).unwrap();
    let edge = flux_core::EdgeSpec::default();
    let channels = 2 * (edge.capacity * edge.batch_size) as u64 * flux_plan::passes::ENVELOPE_BYTES_ESTIMATE;
    assert_eq!(plan.diagnostics.estimated_memory_bytes, 1_000 + channels);
    assert_eq!(plan.diagnostics.max_latency_window_ns, 30_000);
}

struct ForbidFusionInto(&'static str);

impl PlannerPass for ForbidFusionInto {
    fn name(&self) -> &'static str {
        "forbid-fusion"
    }

    fn run(&self, plan: &mut ExecutionPlan) -> Result<(), PlanError> {
        let i = plan.index_of(self.0).ok_or_else(|| PlanError::Pass {
            pass: "forbid-fusion",
            stage: None,
            cause: format!("no stage `{}`", self.0).into(),
        })?;
        plan.junctions[i - 1] = Junction::Boundary(flux_core::EdgeSpec { capacity: 2, batch_size: 4 });
        Ok(())
    }
}

#[test]
fn a_user_pass_runs_after_the_built_ins_and_diagnostics_see_its_changes() {
    let stages = linear(&[("a", Purity::Pure), ("b", Purity::Pure), ("c", Purity::Pure)]);
    let plan = Planner::new().with_pass(ForbidFusionInto("b")).plan(stages.clone()).unwrap();
    assert_eq!(plan.junctions[1], Junction::Boundary(flux_core::EdgeSpec { capacity: 2, batch_size: 4 }));
    assert_eq!(plan.diagnostics.fused_runs, vec![(2, 3)]);
    assert_eq!(plan.diagnostics.segment_count, 2);
    assert_eq!(
        plan.diagnostics.passes,
        vec![
            "validate-shape",
            "unique-ids",
            "type-continuity",
            "fuse-pure",
            "isolate-heavy",
            "split-by-cost",
            "forbid-fusion"
        ]
    );

    let err = Planner::new().with_pass(ForbidFusionInto("zzz")).plan(stages).unwrap_err();
    assert_eq!(err.to_string(), "planner pass `forbid-fusion` rejected the plan");
    assert_eq!(std::error::Error::source(&err).unwrap().to_string(), "no stage `zzz`");
}

/// A pass that breaks the plan after the built-in checks have run.
struct Break(fn(&mut ExecutionPlan));

impl PlannerPass for Break {
    fn name(&self) -> &'static str {
        "break"
    }
    fn run(&self, plan: &mut ExecutionPlan) -> Result<(), PlanError> {
        (self.0)(plan);
        Ok(())
    }
}

#[test]
fn what_a_user_pass_leaves_is_checked_again() {
    let stages = linear(&[("a", Purity::Pure), ("b", Purity::Pure)]);
    let zero_edge =
        Break(|plan| plan.junctions[1] = Junction::Boundary(flux_core::EdgeSpec { capacity: 0, batch_size: 8 }));
    let err = Planner::new().with_pass(zero_edge).plan(stages.clone()).unwrap_err();
    assert_eq!(err.to_string(), "planner pass `validate-edges` rejected stage `a`");
    let cause = std::error::Error::source(&err).unwrap();
    assert_eq!(cause.to_string(), "the boundary after stage 1 has a capacity or batch size of zero");

    let dropped_junction = Break(|plan| {
        plan.junctions.pop();
    });
    let err = Planner::new().with_pass(dropped_junction).plan(stages.clone()).unwrap_err();
    assert!(matches!(err, PlanError::JunctionCount { expected: 3, found: 2 }), "{err}");

    let renamed = Break(|plan| plan.stages[2].id = plan.stages[1].id.clone());
    let err = Planner::new().with_pass(renamed).plan(stages).unwrap_err();
    assert!(matches!(err, PlanError::DuplicateId { first: 1, second: 2, .. }), "{err}");
}

#[test]
fn an_empty_planner_runs_no_pass_and_a_planner_shows_its_passes_in_order() {
    let stages = linear(&[("a", Purity::Pure)]);
    let plan = Planner::empty().plan(stages).unwrap();
    assert!(plan.diagnostics.passes.is_empty(), "{:?}", plan.diagnostics.passes);
    assert_eq!(
        format!("{:?}", Planner::for_one_thread()),
        r#"Planner { passes: ["validate-shape", "unique-ids", "type-continuity", "fuse-pure"] }"#
    );
}
