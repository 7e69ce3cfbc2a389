//! Adjacent pure stages become one call path.

use flux_core::{EdgeSpec, ExecutionPlan, Junction, PlanError, PlannerPass, Purity, StageKind};

/// Fuses every junction between stages that may share a call path, and
/// puts a boundary on both sides of every stateful transform.
///
/// Pure transforms fuse with each other and with the source and sink, so a
/// stateless pipeline runs as one segment with no channel at all. A stateful
/// stage (an accumulator) runs as its own segment: its state and timers then
/// belong to one unit an engine can schedule, and its pending memory counts
/// in the backpressure of the boundary in front of it. A later pass may
/// fuse it back.
#[derive(Clone, Copy, Debug, Default)]
pub struct FusePure;

impl PlannerPass for FusePure {
    fn name(&self) -> &'static str {
        "fuse-pure"
    }

    fn run(&self, plan: &mut ExecutionPlan) -> Result<(), PlanError> {
        let fusible = |i: usize| {
            let stage = &plan.stages[i];
            matches!(stage.kind, StageKind::Source | StageKind::Sink) || stage.purity == Purity::Pure
        };
        let decided: Vec<Junction> =
            (0..plan.junctions.len())
                .map(|i| {
                    if fusible(i) && fusible(i + 1) { Junction::Fused } else { Junction::Boundary(EdgeSpec::default()) }
                })
                .collect();
        plan.junctions = decided;
        Ok(())
    }
}
