//! Which boundary gets which policy: by the stage before it.

use std::sync::Arc;

use flux_core::{BackpressurePolicy, ChoosePolicy, ExecutionPlan, Junction, PlanError, PlannerPass, StageId};

/// Makes a fresh policy for each run.
type MakePolicy = Arc<dyn Fn() -> Box<dyn BackpressurePolicy> + Send + Sync>;

/// Policies by the stage whose output they govern. Give it to the planner
/// as a pass (it cuts a boundary after each named stage, shaped by the
/// policy's [`edge`](BackpressurePolicy::edge)), and to the engine, which
/// asks it for each boundary's policy when a run starts.
///
/// # Examples
///
/// ```
/// use flux_backpressure::{Block, EdgePolicies, Limit, Shedding};
/// use flux_core::{ChoosePolicy, ExecutionPlan, Junction, PlannerPass, Purity, StageDescriptor, StageId, StageKind};
///
/// let policies = EdgePolicies::new()
///     .after("parse", || Shedding::drop_oldest(Limit::batches(4).batch_size(64)));
/// let mut plan = ExecutionPlan::draft(vec![
///     StageDescriptor::new("source", StageKind::Source, Purity::Stateful),
///     StageDescriptor::new("parse", StageKind::Transform, Purity::Pure),
///     StageDescriptor::new("sink", StageKind::Sink, Purity::Stateful),
/// ]);
/// policies.run(&mut plan).unwrap();
/// assert!(matches!(plan.junctions[1], Junction::Boundary(edge) if edge.capacity == 4 && edge.batch_size == 64));
/// let parse = StageId::from_static("parse");
/// assert_eq!(policies.policy_for(1, &parse).unwrap().name(), "drop-oldest");
/// assert!(policies.policy_for(0, &StageId::from_static("source")).is_none());
/// ```
#[derive(Clone, Default)]
pub struct EdgePolicies {
    by_stage: Vec<(StageId, MakePolicy)>,
}

impl EdgePolicies {
    /// No policies: every boundary is the plan's bounded channel.
    pub fn new() -> Self {
        EdgePolicies::default()
    }

    /// The boundary after `stage` gets a policy `make` makes, fresh for each run.
    pub fn after<P: BackpressurePolicy + 'static>(
        mut self,
        stage: &'static str,
        make: impl Fn() -> P + Send + Sync + 'static,
    ) -> Self {
        let make: MakePolicy = Arc::new(move || Box::new(make()));
        self.by_stage.push((StageId::from_static(stage), make));
        self
    }

    fn make(&self, stage: &StageId) -> Option<Box<dyn BackpressurePolicy>> {
        self.by_stage.iter().rev().find(|(id, _)| id == stage).map(|(_, make)| make())
    }
}

impl ChoosePolicy for EdgePolicies {
    fn policy_for(&self, _junction: usize, after: &StageId) -> Option<Box<dyn BackpressurePolicy>> {
        self.make(after)
    }
}

/// Cuts a boundary after each named stage, shaped by its policy.
impl PlannerPass for EdgePolicies {
    fn name(&self) -> &'static str {
        "edge-policies"
    }

    fn run(&self, plan: &mut ExecutionPlan) -> Result<(), PlanError> {
        for (stage, make) in &self.by_stage {
            let index =
                plan.index_of(stage.as_str()).filter(|index| *index < plan.junctions.len()).ok_or_else(|| {
                    let why = format!("no stage `{stage}` with a boundary after it");
                    PlanError::Pass { pass: "edge-policies", stage: Some(stage.clone()), cause: why.into() }
                })?;
            plan.junctions[index] = Junction::Boundary(make().edge());
        }
        Ok(())
    }
}

impl core::fmt::Debug for EdgePolicies {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let stages: Vec<_> = self.by_stage.iter().map(|(id, _)| id).collect();
        f.debug_struct("EdgePolicies").field("after", &stages).finish()
    }
}
