//! What a run reports, and why a run fails.

use core::fmt;
use std::error::Error;

use flux_core::{ErrorEnvelope, Instant, LeakError, PlanError, PoolStats, SideEnvelope, StageError, StageId};

use flux_core::{Imbalance, LedgerReport, LedgerRow};

use crate::{Decision, EdgeStats};

/// Everything a run produced besides its sink's output: where every
/// envelope went, what was diverted, and what the channels and pools did.
///
/// A successful run returns it; a failed run carries it in its
/// [`RunError`] ([`RunError::report`]), as it stood once the engine had
/// stopped the run and closed every sink.
#[derive(Debug)]
#[must_use = "a report says where every envelope went: read it, or at least its dead letters"]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct RunReport {
    /// One row per stage, source first: where every envelope went.
    pub ledger: Vec<LedgerRow>,
    /// Inputs that failed, with their metadata and the stage that failed
    /// them: the first ones, whole (see [`SyncEngine::keep_dead_letters`](crate::SyncEngine::keep_dead_letters)).
    pub dead_letters: Vec<ErrorEnvelope>,
    /// Inputs routed aside (late data, closed keys): the first ones, whole.
    pub side_outputs: Vec<SideEnvelope>,
    /// Dead letters and side outputs beyond those kept, counted by stage
    /// and cause. The ledger counts every one of them too.
    pub not_kept: Vec<Tally>,
    /// Every boundary channel's counters.
    pub edges: Vec<EdgeStats>,
    /// Every watched pool's figures at stop.
    pub pools: Vec<PoolFigures>,
    /// Every decision, in order, when tracing was on (it is by default).
    pub trace: Vec<Decision>,
    /// The virtual time when the run ended: the last instant the clock
    /// moved to (the last event time of a replay on event time, or the
    /// last timer a stage waited for after it).
    pub end_time: Instant,
    /// Failures after the one that stopped the run (a sink that also failed
    /// to close, say), up to sixteen. Empty after a successful run.
    pub later_failures: Vec<StageError>,
    /// What did not balance. A successful run has none (an imbalance fails
    /// it); a failed run lists them here.
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
        write!(f, "run ended at {}: ", self.end_time)?;
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
        for pool in &self.pools {
            let stats = &pool.stats;
            writeln!(
                f,
                "  pool {}: {} rented, {} returned, high water {}",
                pool.name, stats.rented, stats.returned, stats.high_water
            )?;
        }
        Ok(())
    }
}

/// Diversions not kept whole: how many, from which stage, and why.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Tally {
    /// The stage that diverted them.
    pub stage: StageId,
    /// `"dead letter"` or `"side output"`.
    pub kind: &'static str,
    /// The cause's text (cut at 160 bytes), or the side output's reason;
    /// `"(other causes)"` past 32 causes for one stage.
    pub cause: String,
    /// How many.
    pub count: u64,
}

/// A watched pool's name and figures when the run stopped.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct PoolFigures {
    /// The pool's name.
    pub name: String,
    /// Its counts (`in_use` is what was still out at stop).
    pub stats: PoolStats,
}

/// Why a run failed, and what it had done by then.
///
/// Its message names the stage that stopped the run (and the position,
/// when there is one); [`Error::source`] is the underlying cause.
///
/// # Examples
///
/// ```
/// use flux_core::{Pipeline, Runnable};
/// use flux_steps::Steps;
/// use flux_test::{IterSource, VecSink};
/// use flux_engine_sync::{RunErrorKind, SyncEngine};
///
/// let out = VecSink::new();
/// let pipeline = Pipeline::from_source(IterSource::new(0..5u32))
///     .map(|n| if n == 3 { panic!("three is not allowed") } else { n })
///     .named("check")
///     .sink(out.clone());
/// let plan = flux_plan::Planner::new().plan(pipeline.describe()).unwrap();
/// let error = SyncEngine::new().run(&plan, pipeline).unwrap_err();
///
/// assert_eq!(error.to_string(), "stage `check` stopped the run at sequence 3");
/// assert!(matches!(error.kind(), RunErrorKind::Stage(_)));
/// let report = error.report().unwrap();
/// assert_eq!(out.payloads(), [0, 1, 2], "what came before the panic was written");
/// assert_eq!(report.dead_letters[0].meta.sequence, 3);
/// assert!(report.problems.is_empty(), "every envelope is accounted for");
/// ```
#[derive(Debug)]
pub struct RunError {
    kind: RunErrorKind,
    report: Option<Box<RunReport>>,
}

/// How many dead letters a run allows before it fails.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct DeadLetterLimits {
    pub(crate) count: Option<u64>,
    pub(crate) share: Option<f64>,
}

impl DeadLetterLimits {
    /// Whether `made` dead letters of `inputs` is past the share allowed.
    pub(crate) fn past_share(share: Option<f64>, made: u64, inputs: u64) -> bool {
        share.is_some_and(|share| made as f64 > share * inputs as f64)
    }
}

/// What made a run fail.
#[derive(Debug)]
#[non_exhaustive]
pub enum RunErrorKind {
    /// The plan was made for another pipeline.
    PlanMismatch(PlanError),
    /// A stage failed in a way that stops the run (a source error, a sink
    /// that cannot go on, a panic in user code, a bad frame under a stop
    /// policy).
    Stage(StageError),
    /// The run ended but its ledger does not balance: something was lost.
    Unbalanced(Vec<Imbalance>),
    /// A watched buffer pool did not get all its buffers back.
    Leak(LeakError),
    /// The schedule hook chose a segment that could not run.
    InvalidChoice {
        /// What it chose.
        chosen: usize,
        /// What it could have chosen.
        runnable: Vec<usize>,
    },
    /// A stage kept reporting a deadline that had already fired: its
    /// `on_time` does not clear what `next_deadline` reports.
    StuckTimer {
        /// The deadline that would not clear.
        at: Instant,
    },
    /// The source kept asking to wait until an instant that had already
    /// come, making no progress.
    StuckSource {
        /// The source.
        stage: StageId,
        /// The engine time it was stuck at.
        at: Instant,
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
}

impl RunError {
    pub(crate) fn new(kind: RunErrorKind, report: Option<RunReport>) -> Self {
        RunError { kind, report: report.map(Box::new) }
    }

    /// What made the run fail.
    pub fn kind(&self) -> &RunErrorKind {
        &self.kind
    }

    /// The report as it stood when the run stopped: ledger, dead letters,
    /// channel and pool figures. `None` only when the run never started
    /// (the plan did not fit the pipeline).
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
            RunErrorKind::StuckSource { stage, .. } => Some(stage),
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
            RunErrorKind::InvalidChoice { chosen, runnable } => {
                write!(f, "the schedule hook chose segment {chosen}, which cannot run (runnable: {runnable:?})")
            }
            RunErrorKind::StuckTimer { at } => {
                write!(f, "a stage's timer at {at} still reports itself due after firing")
            }
            RunErrorKind::StuckSource { stage, at } => {
                write!(f, "source `{stage}` keeps asking to wait until {at}, which has already come")
            }
            RunErrorKind::TooManyDeadLetters { made, inputs: None } => {
                write!(f, "the run made {made} dead letters, more than it allows, and stopped")
            }
            RunErrorKind::TooManyDeadLetters { made, inputs: Some(inputs) } => {
                write!(f, "the run made {made} dead letters of {inputs} inputs, a larger share than it allows")
            }
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
            RunErrorKind::Unbalanced(_)
            | RunErrorKind::InvalidChoice { .. }
            | RunErrorKind::StuckTimer { .. }
            | RunErrorKind::StuckSource { .. }
            | RunErrorKind::TooManyDeadLetters { .. } => None,
        }
    }
}
