//! The plan an engine executes, and the trait for passes that shape it.

use core::fmt;
use std::error::Error;

use crate::{StageDescriptor, StageId};

/// How a boundary channel is shaped: filled in by the planner, read by engines.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct EdgeSpec {
    /// How many batches the channel holds before the sender feels backpressure.
    pub capacity: usize,
    /// How many envelopes travel together in one batch.
    pub batch_size: usize,
}

impl Default for EdgeSpec {
    /// 8 batches of 512: large enough to amortise a hand-off, small enough
    /// to keep latency and memory bounded.
    fn default() -> Self {
        EdgeSpec { capacity: 8, batch_size: 512 }
    }
}

/// What connects two adjacent stages at run time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub enum Junction {
    /// A direct call inside one segment.
    Fused,
    /// A segment boundary: a bounded channel of batches.
    Boundary(EdgeSpec),
}

/// Summary numbers a planner reports about its plan.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct PlanDiagnostics {
    /// Runs of two or more adjacent pure stages joined into one call path.
    pub fused_runs: Vec<(usize, usize)>,
    /// Junctions between pure stages that were fused.
    pub fusion_count: usize,
    /// Number of segments (boundaries + 1).
    pub segment_count: usize,
    /// Indexes, in [`ExecutionPlan::stages`], of the accumulating stages.
    pub accumulator_indexes: Vec<usize>,
    /// Memory the plan may hold: stage hints plus full boundary channels, in
    /// bytes (assuming `envelope_bytes` per envelope in a channel).
    pub estimated_memory_bytes: u64,
    /// Longest time an envelope may wait inside stages, summed along the
    /// pipeline, in nanoseconds.
    pub max_latency_window_ns: u64,
    /// Which passes ran, in order.
    pub passes: Vec<&'static str>,
}

/// What an engine runs: every stage of a pipeline in order, from the source
/// (index 0) to the sink (last), and what joins each adjacent pair.
///
/// Planner passes edit it; engines execute it exactly: a [`Junction::Boundary`]
/// becomes a channel and a segment, a [`Junction::Fused`] a direct call.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct ExecutionPlan {
    /// Every stage, source first, sink last.
    pub stages: Vec<StageDescriptor>,
    /// `junctions[i]` joins `stages[i]` and `stages[i + 1]`.
    pub junctions: Vec<Junction>,
    /// What the planner found.
    pub diagnostics: PlanDiagnostics,
}

impl ExecutionPlan {
    /// An unplanned draft: every junction fused, no diagnostics yet.
    pub fn draft(stages: Vec<StageDescriptor>) -> Self {
        let junctions = vec![Junction::Fused; stages.len().saturating_sub(1)];
        ExecutionPlan { stages, junctions, diagnostics: PlanDiagnostics::default() }
    }

    /// The segments as `(first, last)` stage index ranges, inclusive.
    pub fn segments(&self) -> Vec<(usize, usize)> {
        let mut segments = Vec::new();
        let mut start = 0;
        for (i, junction) in self.junctions.iter().enumerate() {
            if let Junction::Boundary(_) = junction {
                segments.push((start, i));
                start = i + 1;
            }
        }
        if !self.stages.is_empty() {
            segments.push((start, self.stages.len() - 1));
        }
        segments
    }

    /// The index of the stage with id `id`.
    pub fn index_of(&self, id: &str) -> Option<usize> {
        self.stages.iter().position(|s| s.id.as_str() == id)
    }
}

impl fmt::Display for ExecutionPlan {
    /// One line per stage with its junction to the next, for humans.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, stage) in self.stages.iter().enumerate() {
            write!(f, "[{i}] {} ({:?}, {:?})", stage.id, stage.kind, stage.purity)?;
            match self.junctions.get(i) {
                Some(Junction::Fused) => writeln!(f, "\n   |  fused")?,
                Some(Junction::Boundary(edge)) => {
                    writeln!(f, "\n   == boundary: {} batches x {} envelopes", edge.capacity, edge.batch_size)?
                }
                None => writeln!(f)?,
            }
        }
        Ok(())
    }
}

/// One transformation of a plan; the planner runs its passes in order.
///
/// A pass may validate (return an error), change junctions (fuse, cut,
/// reshape an edge) or fill in diagnostics. The engine executes whatever
/// the last pass left, so a user's pass that forbids a fusion or adds a
/// boundary changes how the pipeline runs.
///
/// # Examples
///
/// ```
/// use flux_core::{EdgeSpec, ExecutionPlan, Junction, PlanError, PlannerPass};
///
/// /// Cuts a boundary after the stage named "parse".
/// struct CutAfterParse;
///
/// impl PlannerPass for CutAfterParse {
///     fn name(&self) -> &'static str { "cut-after-parse" }
///     fn run(&self, plan: &mut ExecutionPlan) -> Result<(), PlanError> {
///         if let Some(i) = plan.index_of("parse") {
///             plan.junctions[i] = Junction::Boundary(EdgeSpec::default());
///         }
///         Ok(())
///     }
/// }
///
/// let mut plan = ExecutionPlan::draft(vec![
///     flux_core::StageDescriptor::new("source", flux_core::StageKind::Source, flux_core::Purity::Stateful),
///     flux_core::StageDescriptor::new("parse", flux_core::StageKind::Transform, flux_core::Purity::Pure),
///     flux_core::StageDescriptor::new("sink", flux_core::StageKind::Sink, flux_core::Purity::Stateful),
/// ]);
/// CutAfterParse.run(&mut plan).unwrap();
/// assert_eq!(plan.segments(), vec![(0, 1), (2, 2)]);
/// ```
pub trait PlannerPass {
    /// A short name for diagnostics and errors.
    fn name(&self) -> &'static str;

    /// Runs the pass.
    ///
    /// # Errors
    ///
    /// The plan is invalid; planning stops with this error.
    fn run(&self, plan: &mut ExecutionPlan) -> Result<(), PlanError>;
}

/// Why a pipeline could not be planned, or why an engine refused the plan
/// it was given for a pipeline (the plan was made for another one).
#[derive(Debug)]
#[non_exhaustive]
pub enum PlanError {
    /// A pipeline needs at least a source and a sink.
    Empty,
    /// Two stages share an id.
    DuplicateId {
        /// The shared id.
        id: StageId,
        /// Index of the first stage with it.
        first: usize,
        /// Index of the second.
        second: usize,
    },
    /// A stage's input type is not its upstream's output type.
    TypeMismatch {
        /// The upstream stage.
        upstream: StageId,
        /// What it emits.
        output: &'static str,
        /// The downstream stage.
        downstream: StageId,
        /// What it accepts.
        input: &'static str,
    },
    /// The first stage is not a source or the last not a sink, or a source
    /// or sink stands in the middle.
    Misplaced {
        /// The stage out of place.
        stage: StageId,
        /// Its index.
        index: usize,
    },
    /// The junction list does not match the stage list.
    JunctionCount {
        /// Junctions expected (stages - 1).
        expected: usize,
        /// Junctions found.
        found: usize,
    },
    /// An engine was given a plan with another number of stages (or
    /// junctions) than the pipeline it runs: a plan made for another
    /// pipeline.
    StageCount {
        /// Stages in the plan.
        planned: usize,
        /// Stages in the pipeline.
        actual: usize,
    },
    /// An engine was given a plan whose stage at `index` has another id
    /// than the pipeline's: a plan made for another pipeline, or for this
    /// one before a stage was renamed.
    StageMismatch {
        /// The position.
        index: usize,
        /// The id in the plan.
        planned: StageId,
        /// The id in the pipeline.
        actual: StageId,
    },
    /// A pass rejected the plan.
    Pass {
        /// The pass's name.
        pass: &'static str,
        /// The stage it objected to, if one.
        stage: Option<StageId>,
        /// Why.
        cause: Box<dyn Error + Send + Sync>,
    },
}

impl fmt::Display for PlanError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PlanError::Empty => f.write_str("a pipeline needs at least a source and a sink"),
            PlanError::DuplicateId { id, first, second } => {
                write!(f, "stage id `{id}` is used by stage {first} and stage {second}")
            }
            PlanError::TypeMismatch { upstream, output, downstream, input } => {
                write!(f, "stage `{upstream}` emits `{output}` but the next stage `{downstream}` accepts `{input}`")
            }
            PlanError::Misplaced { stage, index } => {
                write!(f, "stage `{stage}` at index {index} is out of place (sources first, sinks last)")
            }
            PlanError::JunctionCount { expected, found } => {
                write!(f, "plan has {found} junctions for {expected} adjacent stage pairs")
            }
            PlanError::StageCount { planned, actual } => {
                write!(f, "the plan has {planned} stages but the pipeline has {actual}")
            }
            PlanError::StageMismatch { index, planned, actual } => {
                write!(f, "stage {index} is `{planned}` in the plan but `{actual}` in the pipeline")
            }
            PlanError::Pass { pass, stage: Some(stage), .. } => {
                write!(f, "planner pass `{pass}` rejected stage `{stage}`")
            }
            PlanError::Pass { pass, stage: None, .. } => write!(f, "planner pass `{pass}` rejected the plan"),
        }
    }
}

impl Error for PlanError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match self {
            PlanError::Pass { cause, .. } => Some(&**cause),
            _ => None,
        }
    }
}
