//! A [`PlannerPass`] that gives one stage a segment of its own.

use core::fmt;
use std::borrow::Cow;
use std::error::Error;

use flux_core::{EdgeSpec, ExecutionPlan, Junction, PlanError, PlannerPass};

/// Cuts a boundary on both sides of the stage with a given id, whatever
/// the planner's fusion passes decided: the stage then runs as its own
/// segment, fed and drained by channels of `edge`'s shape.
///
/// Use it to keep a stage you know to be heavy off the source's thread on
/// a threaded engine, or to see a pipeline's batches crossing a boundary in
/// the sync engine's trace. Planning fails, naming the pass, if no stage
/// has that id.
///
/// # Examples
///
/// ```
/// use flux_core::{EdgeSpec, ExecutionPlan, PlannerPass, Purity, StageDescriptor, StageKind};
/// use flux_user_extension::Isolate;
///
/// let stage = |id, kind| StageDescriptor::new(id, kind, Purity::Pure);
/// let mut plan = ExecutionPlan::draft(vec![
///     stage("source", StageKind::Source),
///     stage("split", StageKind::Transform),
///     stage("sink", StageKind::Sink),
/// ]);
/// Isolate::stage("split", EdgeSpec::default()).run(&mut plan).unwrap();
/// assert_eq!(plan.segments(), vec![(0, 0), (1, 1), (2, 2)]);
/// assert!(Isolate::stage("parse", EdgeSpec::default()).run(&mut plan).is_err());
/// ```
#[derive(Clone, Debug)]
pub struct Isolate {
    stage: Cow<'static, str>,
    edge: EdgeSpec,
}

impl Isolate {
    /// Isolates the stage with id `stage` behind channels shaped by `edge`.
    pub fn stage(stage: impl Into<Cow<'static, str>>, edge: EdgeSpec) -> Self {
        Isolate { stage: stage.into(), edge }
    }
}

impl PlannerPass for Isolate {
    fn name(&self) -> &'static str {
        "isolate"
    }

    fn run(&self, plan: &mut ExecutionPlan) -> Result<(), PlanError> {
        let Some(index) = plan.index_of(&self.stage) else {
            let cause = Box::new(UnknownStage { id: self.stage.to_string() });
            return Err(PlanError::Pass { pass: self.name(), stage: None, cause });
        };
        // Junction `i` joins stages `i` and `i + 1`: the one before the
        // stage is `index - 1` (none for the source), the one after is
        // `index` (none for the sink).
        if let Some(before) = index.checked_sub(1) {
            plan.junctions[before] = Junction::Boundary(self.edge);
        }
        if let Some(after) = plan.junctions.get_mut(index) {
            *after = Junction::Boundary(self.edge);
        }
        Ok(())
    }
}

/// The plan has no stage with the id a pass was given.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UnknownStage {
    /// The id looked for.
    pub id: String,
}

impl fmt::Display for UnknownStage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "no stage has the id `{}`", self.id)
    }
}

impl Error for UnknownStage {}
