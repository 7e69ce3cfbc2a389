//! Each stage accepts what the one before it emits.

use flux_core::{ExecutionPlan, PlanError, PlannerPass};

/// Checks the recorded type names of adjacent stages.
///
/// Pipelines built with the typed builder always pass (the compiler checked
/// them); this pass guards plans assembled at run time from descriptors,
/// for example from configuration.
#[derive(Clone, Copy, Debug, Default)]
pub struct TypeContinuity;

impl PlannerPass for TypeContinuity {
    fn name(&self) -> &'static str {
        "type-continuity"
    }

    fn run(&self, plan: &mut ExecutionPlan) -> Result<(), PlanError> {
        for pair in plan.stages.windows(2) {
            let (up, down) = (&pair[0], &pair[1]);
            if up.output_type != down.input_type {
                return Err(PlanError::TypeMismatch {
                    upstream: up.id.clone(),
                    output: up.output_type,
                    downstream: down.id.clone(),
                    input: down.input_type,
                });
            }
        }
        Ok(())
    }
}
