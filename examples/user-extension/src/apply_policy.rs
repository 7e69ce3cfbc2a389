//! A [`PlannerPass`] that shapes every boundary with a [`BackpressurePolicy`].

use flux_core::{BackpressurePolicy, ExecutionPlan, Junction, PlanError, PlannerPass};

/// Replaces the [`EdgeSpec`](flux_core::EdgeSpec) of every boundary in the
/// plan with the policy's [`edge`](BackpressurePolicy::edge); fused
/// junctions stay fused.
///
/// Add it after the passes that decide where boundaries go (a
/// `flux_plan::Planner` runs the passes you add after its own), so that it
/// sees the final cuts.
///
/// # Examples
///
/// ```
/// use flux_core::{EdgeSpec, ExecutionPlan, Junction, PlannerPass, Purity, StageDescriptor, StageKind};
/// use flux_user_extension::{ApplyPolicy, CappedQueue};
///
/// let mut plan = ExecutionPlan::draft(vec![
///     StageDescriptor::new("source", StageKind::Source, Purity::Stateful),
///     StageDescriptor::new("sessions", StageKind::Accumulate, Purity::Stateful),
///     StageDescriptor::new("sink", StageKind::Sink, Purity::Stateful),
/// ]);
/// plan.junctions[0] = Junction::Boundary(EdgeSpec::default());
/// ApplyPolicy::new(CappedQueue::new(2, 16)).run(&mut plan).unwrap();
/// assert_eq!(plan.junctions, [Junction::Boundary(EdgeSpec { capacity: 2, batch_size: 16 }), Junction::Fused]);
/// ```
#[derive(Clone, Debug)]
pub struct ApplyPolicy<P> {
    policy: P,
}

impl<P: BackpressurePolicy> ApplyPolicy<P> {
    /// A pass applying `policy`.
    pub fn new(policy: P) -> Self {
        ApplyPolicy { policy }
    }
}

impl<P: BackpressurePolicy> PlannerPass for ApplyPolicy<P> {
    fn name(&self) -> &'static str {
        "apply-policy"
    }

    fn run(&self, plan: &mut ExecutionPlan) -> Result<(), PlanError> {
        let edge = self.policy.edge();
        for junction in &mut plan.junctions {
            if let Junction::Boundary(spec) = junction {
                *spec = edge;
            }
        }
        Ok(())
    }
}
