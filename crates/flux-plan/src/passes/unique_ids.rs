//! Every stage id names one stage.

use std::collections::HashMap;

use flux_core::{ExecutionPlan, PlanError, PlannerPass};

/// Rejects two stages with the same id, naming both positions.
#[derive(Clone, Copy, Debug, Default)]
pub struct UniqueIds;

impl PlannerPass for UniqueIds {
    fn name(&self) -> &'static str {
        "unique-ids"
    }

    fn run(&self, plan: &mut ExecutionPlan) -> Result<(), PlanError> {
        let mut seen = HashMap::with_capacity(plan.stages.len());
        for (second, stage) in plan.stages.iter().enumerate() {
            if let Some(&first) = seen.get(&stage.id) {
                return Err(PlanError::DuplicateId { id: stage.id.clone(), first, second });
            }
            seen.insert(stage.id.clone(), second);
        }
        Ok(())
    }
}
