//! What a run reports, and why a run fails.

use core::fmt;
use std::error::Error;

use flux_core::{AssemblyError, ErrorEnvelope, Instant, LeakError, SideEnvelope, StageError};

use crate::{Decision, EdgeStats, Imbalance, LedgerRow};

/// Everything a successful run produced besides its sink's output.
#[derive(Debug)]
pub struct RunReport {
    /// One row per stage, source first: where every envelope went.
    pub ledger: Vec<LedgerRow>,
    /// Inputs that failed, with their metadata and the stage that failed them.
    pub dead_letters: Vec<ErrorEnvelope>,
    /// Inputs routed aside (late data, closed keys).
    pub side_outputs: Vec<SideEnvelope>,
    /// Every boundary channel's counters.
    pub edges: Vec<EdgeStats>,
    /// Every decision, in order, when tracing was on (it is by default).
    pub trace: Vec<Decision>,
    /// The virtual time when the run ended.
    pub end_time: Instant,
}

impl RunReport {
    /// The ledger row of the stage with id `stage`.
    pub fn row(&self, stage: &str) -> Option<&LedgerRow> {
        self.ledger.iter().find(|r| r.stage.as_str() == stage)
    }
}

/// Why a run failed.
#[derive(Debug)]
#[non_exhaustive]
pub enum RunError {
    /// The plan was made for another pipeline.
    Assembly(AssemblyError),
    /// A stage failed in a way that stops the run.
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
}

impl fmt::Display for RunError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RunError::Assembly(_) => f.write_str("the plan does not fit the pipeline"),
            RunError::Stage(_) => f.write_str("a stage stopped the run"),
            RunError::Unbalanced(problems) => {
                write!(f, "the run's ledger does not balance: ")?;
                for (i, problem) in problems.iter().enumerate() {
                    if i > 0 {
                        f.write_str("; ")?;
                    }
                    write!(f, "{problem}")?;
                }
                Ok(())
            }
            RunError::Leak(_) => f.write_str("a buffer pool leaked"),
            RunError::InvalidChoice { chosen, runnable } => {
                write!(f, "the schedule hook chose segment {chosen}, which cannot run (runnable: {runnable:?})")
            }
            RunError::StuckTimer { at } => {
                write!(f, "a stage's timer at {at} still reports itself due after firing")
            }
        }
    }
}

impl fmt::Display for Imbalance {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Imbalance::Overdrawn { stage, received, accounted } => {
                write!(f, "stage `{stage}` accounted for {accounted} envelopes but only {received} reached it")
            }
            Imbalance::Unreleased { stage, merged, released, discarded } => {
                write!(f, "stage `{stage}` merged {merged} inputs but released {released} and discarded {discarded}")
            }
            Imbalance::Vanished { stage, count } => {
                write!(f, "{count} envelopes reached `{stage}` and were not consumed")
            }
            Imbalance::Boundary { junction, derived, sent } => write!(
                f,
                "the stages before boundary {junction} accounted for {derived} envelopes but it carried {sent}"
            ),
            Imbalance::ChannelLoss { junction, sent, received } => {
                write!(f, "boundary after stage {junction} delivered {received} of {sent} envelopes")
            }
        }
    }
}

impl Error for RunError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match self {
            RunError::Assembly(e) => Some(e),
            RunError::Stage(e) => Some(e),
            RunError::Leak(e) => Some(e),
            RunError::Unbalanced(_) | RunError::InvalidChoice { .. } | RunError::StuckTimer { .. } => None,
        }
    }
}
