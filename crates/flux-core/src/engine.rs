//! The trait every engine implements.

use crate::{ExecutionPlan, Runnable};

/// Runs a planned pipeline.
///
/// The same pipeline value runs on every engine with no change to user code:
/// an engine assembles it against the plan (see [`Runnable::assemble`]),
/// drives its segments, and returns a report that includes the ledger.
pub trait Engine {
    /// What a successful run reports.
    type Report;
    /// Why a run failed.
    type Error: std::error::Error;

    /// Runs `pipeline` as `plan` says, until its source ends or it fails.
    ///
    /// # Errors
    ///
    /// The plan does not fit the pipeline, a stage failed fatally, the
    /// ledger does not balance, or a buffer leaked.
    fn run<P: Runnable>(&mut self, plan: &ExecutionPlan, pipeline: P) -> Result<Self::Report, Self::Error>;
}
