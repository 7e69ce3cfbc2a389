//! What an async run reports, and why one fails.

use core::fmt;
use core::time::Duration;
use std::error::Error;

use flux_core::{
    ErrorEnvelope, Imbalance, Instant, LeakError, LedgerReport, LedgerRow, PlanError, PoolStats, SideEnvelope,
    StageError, StageId,
};

use crate::EdgeStats;

/// Everything an async run produced besides its sink's output: where every
/// envelope went (the same ledger, checked by the same law, as the sync
/// engine's), what was diverted, and what the channels and pools did.
#[derive(Debug)]
#[must_use = "a report says where every envelope went: read it, or at least its dead letters"]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct RunReport {
    /// One row per stage, source first: where every envelope went.
    pub ledger: Vec<LedgerRow>,
    /// Inputs that failed, with the stage that failed them: the first ones
    /// whole (see [`AsyncEngine::keep_dead_letters`](crate::AsyncEngine::keep_dead_letters)).
    pub dead_letters: Vec<ErrorEnvelope>,
    /// Inputs routed aside (late data, closed keys): the first ones whole.
    pub side_outputs: Vec<SideEnvelope>,
    /// Dead letters and side outputs beyond those kept. The ledger counts
    /// every one of them, by stage.
    pub not_kept: u64,
    /// Every boundary channel's counters, by junction.
    pub edges: Vec<EdgeStats>,
    /// Every watched pool's name and figures at stop.
    pub pools: Vec<(String, PoolStats)>,
    /// How long the run took, on tokio's clock.
    pub elapsed: Duration,
    /// How a [`StopHandle`](crate::StopHandle) stopped the run, when one
    /// did before the input ended (a stopped run is not a failed one).
    pub stopped: Option<crate::Stop>,
    /// Failures after the one that stopped the run. Empty after a
    /// successful run.
    pub later_failures: Vec<StageError>,
    /// What did not balance. A successful run has none.
    pub problems: Vec<Imbalance>,
}

impl RunReport {
    /// The ledger row of the stage with id `stage`.
    pub fn row(&self, stage: &str) -> Option<&LedgerRow> {
        self.ledger.iter().find(|r| r.stage.as_str() == stage)
    }
}

impl fmt::Display for RunReport {
    /// What a person reads after a run: the inputs read and written, the
    /// ledger table, the first dead letters, each boundary, each pool,
    /// and anything that did not balance.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "run took {:.3} s: ", self.elapsed.as_secs_f64())?;
        let (ledger, dead_letters, problems) = (&self.ledger, &self.dead_letters, &self.problems);
        write!(f, "{}", LedgerReport { ledger, dead_letters, problems })?;
        for edge in &self.edges {
            let (junction, sent, received, depth) =
                (edge.junction, edge.envelopes_sent, edge.envelopes_received, edge.max_depth);
            let dropped = edge.dropped + edge.rejected;
            writeln!(
                f,
                "  boundary {junction}: {sent} sent, {received} received, at most {depth} of {} batches queued, {dropped} dropped",
                edge.capacity
            )?;
        }
        for (name, stats) in &self.pools {
            writeln!(
                f,
                "  pool {name}: {} rented, {} returned, high water {}",
                stats.rented, stats.returned, stats.high_water
            )?;
        }
        Ok(())
    }
}

/// Why an async run failed, with the report as it stood once every
/// segment had stopped and every sink had closed.
#[derive(Debug)]
pub struct RunError {
    kind: RunErrorKind,
    report: Option<Box<RunReport>>,
}

/// What made an async run fail.
#[derive(Debug)]
#[non_exhaustive]
pub enum RunErrorKind {
    /// The plan was made for another pipeline.
    PlanMismatch(PlanError),
    /// A stage failed in a way that stops the run (a source error, a sink
    /// that cannot go on, a panic in user code).
    Stage(StageError),
    /// The run ended but its ledger does not balance: something was lost.
    Unbalanced(Vec<Imbalance>),
    /// A watched buffer pool did not get all its buffers back.
    Leak(LeakError),
    /// A stage kept reporting a deadline that had already fired.
    StuckTimer {
        /// The first stage of the segment whose timer would not clear.
        stage: StageId,
        /// The deadline.
        at: Instant,
    },
    /// The source kept asking to wait until an instant that had come.
    StuckSource {
        /// The source.
        stage: StageId,
        /// The engine time it was stuck at.
        at: Instant,
    },
    /// A segment's task ended without reporting (the runtime shut down
    /// under it).
    Lost {
        /// The first stage of the segment.
        stage: StageId,
    },
    /// The run made more dead letters than it allows
    /// (`fail_past_dead_letters`: it stopped once past the count; or
    /// `fail_past_dead_letter_share`: at the end, a larger share of its
    /// inputs than allowed). Easy to miss in a run that returns `Ok`, so a
    /// run can be told to fail instead.
    TooManyDeadLetters {
        /// Dead letters made (by stages and by boundaries' policies).
        made: u64,
        /// The inputs they are a share of, for a share limit.
        inputs: Option<u64>,
    },
    /// The blocking run ([`Engine::run`](flux_core::Engine::run)) was
    /// called on a thread inside a tokio runtime, where it does not block:
    /// nothing ran. There, await [`AsyncEngine::run`](crate::AsyncEngine::run).
    InsideRuntime,
    /// The runtime for a blocking run could not be built: nothing ran.
    Runtime(std::io::Error),
}

impl RunError {
    pub(crate) fn new(kind: RunErrorKind, report: Option<RunReport>) -> Self {
        RunError { kind, report: report.map(Box::new) }
    }

    /// What made the run fail.
    pub fn kind(&self) -> &RunErrorKind {
        &self.kind
    }

    /// The report as it stood when the run stopped. `None` only when the
    /// run never started (the plan did not fit the pipeline).
    pub fn report(&self) -> Option<&RunReport> {
        self.report.as_deref()
    }

    /// Takes the report out of the error.
    pub fn into_report(self) -> Option<RunReport> {
        self.report.map(|report| *report)
    }

    /// The stage that stopped the run, when one did.
    pub fn stage(&self) -> Option<&StageId> {
        match &self.kind {
            RunErrorKind::Stage(error) => Some(error.stage()),
            RunErrorKind::StuckTimer { stage, .. }
            | RunErrorKind::StuckSource { stage, .. }
            | RunErrorKind::Lost { stage } => Some(stage),
            _ => None,
        }
    }
}

impl fmt::Display for RunError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            RunErrorKind::PlanMismatch(_) => f.write_str("the plan does not fit the pipeline"),
            RunErrorKind::Stage(error) => {
                write!(f, "stage `{}` stopped the run", error.stage())?;
                match error.position() {
                    flux_core::Position::None => Ok(()),
                    position => write!(f, " {position}"),
                }
            }
            RunErrorKind::Unbalanced(problems) => {
                write!(f, "the run's ledger does not balance: ")?;
                for (i, problem) in problems.iter().enumerate() {
                    if i > 0 {
                        f.write_str("; ")?;
                    }
                    write!(f, "{problem}")?;
                }
                Ok(())
            }
            RunErrorKind::Leak(_) => f.write_str("a buffer pool leaked"),
            RunErrorKind::StuckTimer { stage, at } => {
                write!(f, "a timer of the segment starting at `{stage}` would not clear at {at}")
            }
            RunErrorKind::StuckSource { stage, at } => write!(f, "source `{stage}` made no progress at {at}"),
            RunErrorKind::Lost { stage } => write!(f, "the task of the segment starting at `{stage}` was lost"),
            RunErrorKind::TooManyDeadLetters { made, inputs: None } => {
                write!(f, "the run made {made} dead letters, more than it allows, and stopped")
            }
            RunErrorKind::TooManyDeadLetters { made, inputs: Some(inputs) } => {
                write!(f, "the run made {made} dead letters of {inputs} inputs, a larger share than it allows")
            }
            RunErrorKind::InsideRuntime => f.write_str(
                "the blocking `Engine::run` was called inside a tokio runtime: await `AsyncEngine::run` there",
            ),
            RunErrorKind::Runtime(_) => f.write_str("the tokio runtime for the run could not be built"),
        }
    }
}

impl Error for RunError {
    /// The underlying cause: a stage's own cause (not the stage error,
    /// whose stage and position this error's message already names).
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match &self.kind {
            RunErrorKind::PlanMismatch(e) => Some(e),
            RunErrorKind::Stage(e) => Some(e.cause()),
            RunErrorKind::Leak(e) => Some(e),
            RunErrorKind::Runtime(e) => Some(e),
            _ => None,
        }
    }
}
