//! Every boundary can carry something.

use flux_core::{ExecutionPlan, Junction, PlanError, PlannerPass};

/// Rejects a boundary with a capacity or batch size of zero: a channel that
/// holds nothing would make every send wait forever.
#[derive(Clone, Copy, Debug, Default)]
pub struct ValidateEdges;

/// The cause of a [`PlanError::Pass`] from [`ValidateEdges`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ZeroSizedEdge {
    /// The junction (the boundary after stage `junction`).
    pub junction: usize,
}

impl core::fmt::Display for ZeroSizedEdge {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "the boundary after stage {} has a capacity or batch size of zero", self.junction)
    }
}

impl std::error::Error for ZeroSizedEdge {}

impl PlannerPass for ValidateEdges {
    fn name(&self) -> &'static str {
        "validate-edges"
    }

    fn run(&self, plan: &mut ExecutionPlan) -> Result<(), PlanError> {
        for (junction, j) in plan.junctions.iter().enumerate() {
            if let Junction::Boundary(edge) = j
                && (edge.capacity == 0 || edge.batch_size == 0)
            {
                return Err(PlanError::Pass {
                    pass: self.name(),
                    stage: Some(plan.stages[junction].id.clone()),
                    cause: Box::new(ZeroSizedEdge { junction }),
                });
            }
        }
        Ok(())
    }
}
