//! The planner: an ordered list of passes.

use flux_core::{ExecutionPlan, PlanError, PlannerPass, StageDescriptor};

use crate::passes::{
    Diagnose, FusePure, IsolateHeavy, SplitByCost, TypeContinuity, UniqueIds, ValidateEdges, ValidateShape,
};

/// Runs planner passes in order over a draft plan.
///
/// [`Planner::new`] holds the built-in passes; [`Planner::with_pass`] adds a
/// pass of your own after them. Whatever the passes do, the planner checks
/// the result last ([`ValidateShape`], [`UniqueIds`], [`ValidateEdges`]) and
/// then computes the diagnostics from the plan as the final pass left it.
///
/// # Examples
///
/// A pass that forbids fusing the stage named `parse` with what follows
/// makes the engine cut a segment boundary there:
///
/// ```
/// use flux_core::{EdgeSpec, ExecutionPlan, Junction, Pipeline, PlanError, PlannerPass, Runnable};
/// use flux_steps::Steps;
/// use flux_test::{IterSource, VecSink};
/// use flux_plan::Planner;
///
/// struct CutAfter(&'static str);
/// impl PlannerPass for CutAfter {
///     fn name(&self) -> &'static str { "cut-after" }
///     fn run(&self, plan: &mut ExecutionPlan) -> Result<(), PlanError> {
///         if let Some(i) = plan.index_of(self.0) {
///             plan.junctions[i] = Junction::Boundary(EdgeSpec::default());
///         }
///         Ok(())
///     }
/// }
///
/// let pipeline = Pipeline::from_source(IterSource::new(["1", "2"]))
///     .map(|s: &str| s.len())
///     .named("parse")
///     .map(|n| n * 2)
///     .sink(VecSink::new());
/// let plan = Planner::new().with_pass(CutAfter("parse")).plan(pipeline.describe()).unwrap();
/// assert_eq!(plan.diagnostics.segment_count, 2);
/// assert_eq!(plan.diagnostics.passes.last(), Some(&"cut-after"));
/// ```
pub struct Planner {
    passes: Vec<Box<dyn PlannerPass>>,
}

impl Default for Planner {
    fn default() -> Self {
        Self::new()
    }
}

impl Planner {
    /// The built-in passes: validation, fusion of pure stages, isolation of
    /// heavy and blocking stages, and a cut of runs whose hinted work is
    /// enough for two cores into parts of about equal work. For an engine
    /// that runs every segment on one thread,
    /// [`Planner::for_one_thread`] leaves out the two cutting passes.
    pub fn new() -> Self {
        Self::for_one_thread().with_pass(IsolateHeavy::default()).with_pass(SplitByCost::default())
    }

    /// The passes for an engine that runs every segment on one thread, as
    /// the sync engine does: [`Planner::new`]'s without the two that cut
    /// only to run parts side by side ([`IsolateHeavy`], for stages hinted
    /// heavy or blocking, and [`SplitByCost`]). On one thread the parts of
    /// a cut run in turn and pay the hand-off between them (under 17 ns an
    /// item for a map, a boundary and a sink, `docs/BENCHMARKS.md`), and a
    /// blocking call stalls the run wherever it is. The boundaries the
    /// stages ask for themselves, around an accumulator, stay.
    ///
    /// `flux::run` plans with it.
    ///
    /// ```
    /// use flux_core::{Pipeline, Runnable};
    /// use flux_plan::Planner;
    /// use flux_steps::{HintSteps, Steps};
    /// use flux_test::{IterSource, VecSink};
    ///
    /// let pipeline = Pipeline::from_source(IterSource::new(0..10u64))
    ///     .map(|n| n + 1)
    ///     .cpu_hint_ns(900)
    ///     .map(|n| n * 2)
    ///     .cpu_hint_ns(900)
    ///     .sink(VecSink::new());
    /// let stages = pipeline.describe();
    /// assert_eq!(Planner::new().plan(stages.clone())?.segments().len(), 4, "cut for two cores");
    /// let plan = Planner::for_one_thread().plan(stages)?;
    /// assert_eq!(plan.segments().len(), 1, "fused for one");
    /// assert_eq!(plan.diagnostics.passes, ["validate-shape", "unique-ids", "type-continuity", "fuse-pure"]);
    /// # Ok::<(), flux_core::PlanError>(())
    /// ```
    pub fn for_one_thread() -> Self {
        Planner {
            passes: vec![Box::new(ValidateShape), Box::new(UniqueIds), Box::new(TypeContinuity), Box::new(FusePure)],
        }
    }

    /// A planner with no passes but diagnostics, for building a pass list from scratch.
    pub fn empty() -> Self {
        Planner { passes: Vec::new() }
    }

    /// Adds a pass that runs after those already added.
    #[must_use]
    pub fn with_pass(mut self, pass: impl PlannerPass + 'static) -> Self {
        self.passes.push(Box::new(pass));
        self
    }

    /// Plans the pipeline described by `stages` (source first, sink last).
    ///
    /// # Errors
    ///
    /// The first error a pass returns; it names the stage at fault.
    pub fn plan(&self, stages: Vec<StageDescriptor>) -> Result<ExecutionPlan, PlanError> {
        let mut plan = ExecutionPlan::draft(stages);
        for pass in &self.passes {
            pass.run(&mut plan)?;
            plan.diagnostics.passes.push(pass.name());
        }
        // Whatever the passes did, the plan an engine gets is well formed.
        ValidateShape.run(&mut plan)?;
        UniqueIds.run(&mut plan)?;
        ValidateEdges.run(&mut plan)?;
        Diagnose.run(&mut plan)?;
        Ok(plan)
    }
}

impl core::fmt::Debug for Planner {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let passes: Vec<&str> = self.passes.iter().map(|pass| pass.name()).collect();
        f.debug_struct("Planner").field("passes", &passes).finish()
    }
}
