//! `flux::run_async`: plan with the default planner, run on tokio.

use core::fmt;
use std::error::Error as StdError;

use flux_core::{PlanError, Runnable};
use flux_engine_async::{AsyncEngine, RunError, RunReport};
use flux_plan::Planner;

/// Plans `pipeline` with the default planner (`Planner::new`, whose passes
/// also cut where a second core pays, where [`run`](crate::run) plans for
/// one thread) and runs it on the tokio engine from the runtime this is
/// awaited on.
/// The same pipeline value runs on either engine with no change.
///
/// # Errors
///
/// The pipeline could not be planned ([`AsyncError::Plan`]), or the run
/// failed ([`AsyncError::Run`], whose [`RunError::report`] says where every
/// envelope went up to the stop).
///
/// # Examples
///
/// ```
/// use flux::prelude::*;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), flux::AsyncError> {
/// let out = VecSink::new();
/// let report = flux::run_async(Pipeline::from_source(IterSource::new(1..=3u32)).map(|n| n * 2).sink(out.clone())).await?;
/// assert_eq!(out.payloads(), [2, 4, 6]);
/// assert!(report.dead_letters.is_empty());
/// # Ok(())
/// # }
/// ```
pub async fn run_async<P: Runnable>(pipeline: P) -> Result<RunReport, AsyncError> {
    let plan = Planner::new().plan(pipeline.describe()).map_err(AsyncError::Plan)?;
    AsyncEngine::new().run(&plan, pipeline).await.map_err(AsyncError::Run)
}

/// Why [`run_async`] failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum AsyncError {
    /// The planner refused the pipeline.
    Plan(PlanError),
    /// The run failed; the error carries the report.
    Run(RunError),
}

impl AsyncError {
    /// The failed run's report, if the run started.
    pub fn report(&self) -> Option<&RunReport> {
        match self {
            AsyncError::Plan(_) => None,
            AsyncError::Run(error) => error.report(),
        }
    }
}

impl fmt::Display for AsyncError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AsyncError::Plan(error) => write!(f, "the pipeline could not be planned: {error}"),
            AsyncError::Run(error) => fmt::Display::fmt(error, f),
        }
    }
}

impl StdError for AsyncError {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        match self {
            AsyncError::Plan(error) => Some(error),
            AsyncError::Run(error) => error.source(),
        }
    }
}
