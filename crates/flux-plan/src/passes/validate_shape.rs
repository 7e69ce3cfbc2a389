//! A source first, a sink last, nothing else at either end.

use flux_core::{ExecutionPlan, PlanError, PlannerPass, StageKind};

/// Rejects an empty plan, a plan that does not start with its only source
/// and end with its only sink, and a junction list of the wrong length.
#[derive(Clone, Copy, Debug, Default)]
pub struct ValidateShape;

impl PlannerPass for ValidateShape {
    fn name(&self) -> &'static str {
        "validate-shape"
    }

    fn run(&self, plan: &mut ExecutionPlan) -> Result<(), PlanError> {
        let n = plan.stages.len();
        if n < 2 {
            return Err(PlanError::Empty);
        }
        if plan.junctions.len() != n - 1 {
            return Err(PlanError::JunctionCount { expected: n - 1, found: plan.junctions.len() });
        }
        for (index, stage) in plan.stages.iter().enumerate() {
            let in_place = match stage.kind {
                StageKind::Source => index == 0,
                StageKind::Sink => index == n - 1,
                StageKind::Transform | StageKind::Accumulate => index != 0 && index != n - 1,
            };
            if !in_place {
                return Err(PlanError::Misplaced { stage: stage.id.clone(), index });
            }
        }
        Ok(())
    }
}
