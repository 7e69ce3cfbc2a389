//! `flux::run`: plan for one thread, run on the sync engine.

use core::fmt;
use std::error::Error as StdError;

use flux_core::{Chain, Envelope, Pipeline, PlanError, Runnable, Source};
use flux_engine_sync::{RunError, RunReport, SyncEngine};
use flux_plan::Planner;
use flux_test::VecSink;

/// Plans `pipeline` for one thread ([`Planner::for_one_thread`], which
/// fuses adjacent pure stages and cuts nothing for hints that only pay on
/// several cores) and runs it on the deterministic [`SyncEngine`],
/// returning the report: the ledger, dead letters, side outputs and
/// channel figures.
///
/// # Errors
///
/// The pipeline could not be planned ([`Error::Plan`]), or the run failed
/// ([`Error::Run`], whose [`RunError::report`] says where every envelope
/// went up to the stop).
///
/// # Examples
///
/// ```
/// use flux::prelude::*;
///
/// let out = VecSink::new();
/// let report = flux::run(Pipeline::from_source(IterSource::new(1..=3u32)).map(|n| n * 2).sink(out.clone()))?;
/// assert_eq!(out.payloads(), [2, 4, 6]);
/// assert!(report.dead_letters.is_empty());
///
/// // A stage hinted heavy is not cut apart on one thread: no boundary.
/// let heavy = Pipeline::from_source(IterSource::new(1..=3u32)).map(|n| n + 1).cpu_hint_ns(2_000);
/// let report = flux::run(heavy.sink(VecSink::new()))?;
/// assert!(report.edges.is_empty(), "one segment: {:?}", report.edges);
/// # Ok::<(), flux::Error>(())
/// ```
pub fn run<P: Runnable>(pipeline: P) -> Result<RunReport, Error> {
    let plan = Planner::for_one_thread().plan(pipeline.describe()).map_err(Error::Plan)?;
    SyncEngine::new().run(&plan, pipeline).map_err(Error::Run)
}

/// Runs `pipeline` as [`run`] does, into a sink that keeps every output
/// in memory, and returns the outputs' payloads in order with the report.
/// For jobs whose result fits in memory, and for trying a pipeline out.
///
/// # Errors
///
/// As for [`run`]. The outputs of a failed run are not returned; its
/// report counts them (`consumed` in the sink's ledger row).
///
/// # Examples
///
/// ```
/// use flux::prelude::*;
///
/// let (doubled, report) = flux::run_to_vec(Pipeline::from_source(IterSource::new(1..=3u32)).map(|n| n * 2))?;
/// assert_eq!(doubled, [2, 4, 6]);
/// assert_eq!(report.row("sink").unwrap().received, 3);
/// # Ok::<(), flux::Error>(())
/// ```
pub fn run_to_vec<S, C>(pipeline: Pipeline<S, C>) -> Result<(Vec<C::Out>, RunReport), Error>
where
    S: Source + 'static,
    S::Item: Send + 'static,
    C: Chain<S::Item> + 'static,
    C::Out: Send + 'static,
{
    let out = VecSink::new();
    let report = run(pipeline.sink(out.clone()))?;
    Ok((out.take().into_iter().map(Envelope::into_payload).collect(), report))
}

/// Why [`run`] failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The planner refused the pipeline.
    Plan(PlanError),
    /// The run failed; the error carries the report.
    Run(RunError),
}

impl Error {
    /// The failed run's report, if the run started.
    pub fn report(&self) -> Option<&RunReport> {
        match self {
            Error::Plan(_) => None,
            Error::Run(error) => error.report(),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Plan(error) => write!(f, "the pipeline could not be planned: {error}"),
            Error::Run(error) => fmt::Display::fmt(error, f),
        }
    }
}

impl StdError for Error {
    fn source(&self) -> Option<&(dyn StdError + 'static)> {
        match self {
            Error::Plan(error) => Some(error),
            Error::Run(error) => error.source(),
        }
    }
}

impl From<PlanError> for Error {
    fn from(error: PlanError) -> Self {
        Error::Plan(error)
    }
}

impl From<RunError> for Error {
    fn from(error: RunError) -> Self {
        Error::Run(error)
    }
}
