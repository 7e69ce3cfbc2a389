//! Where diverted envelopes and failures land during a run, within bounds.

use std::collections::HashMap;
use std::fmt::Write as _;

use flux_core::{Diversions, ErrorEnvelope, Observer, SideEnvelope, StageError, StageId};

use crate::report::Tally;

/// Causes told apart per stage in the tally; the rest share one line.
const CAUSES_PER_STAGE: usize = 32;
/// Characters of a cause's text that tell it apart from another.
const CAUSE_TEXT: usize = 160;
/// Failures after the first kept in the report.
const LATER_FAILURES: usize = 16;

/// A callback that takes every dead letter as it happens.
pub(crate) type DeadLetterSink = Box<dyn FnMut(ErrorEnvelope) + Send>;

/// Collects dead letters, side outputs and failures, counting every
/// diversion per stage for the ledger.
///
/// Memory stays bounded however many inputs fail: the first `keep` dead
/// letters and side outputs are kept whole, the rest are counted by stage
/// and cause (or, with a dead-letter sink, every dead letter is handed to
/// it and none is kept).
pub(crate) struct Collector {
    pub(crate) dead_letters: Vec<ErrorEnvelope>,
    pub(crate) side_outputs: Vec<SideEnvelope>,
    pub(crate) per_stage: HashMap<StageId, (u64, u64)>,
    /// Dead letters and side outputs not kept, by stage and cause.
    pub(crate) not_kept: Vec<Tally>,
    pub(crate) failure: Option<StageError>,
    /// Failures after the first (the first is the run's error), up to a bound.
    pub(crate) later_failures: Vec<StageError>,
    pub(crate) keep: usize,
    pub(crate) sink: Option<DeadLetterSink>,
    /// Told of each dead letter and side output as it is made.
    pub(crate) observer: Option<std::sync::Arc<dyn Observer>>,
    /// Dead letters made so far, by stages and by boundaries' policies.
    pub(crate) made: u64,
    scratch: String,
}

impl Collector {
    pub(crate) fn new(keep: usize, sink: Option<DeadLetterSink>) -> Self {
        Collector {
            dead_letters: Vec::new(),
            side_outputs: Vec::new(),
            per_stage: HashMap::new(),
            not_kept: Vec::new(),
            failure: None,
            later_failures: Vec::new(),
            keep,
            sink,
            observer: None,
            made: 0,
            scratch: String::new(),
        }
    }

    /// Counts a diversion that is not kept under its stage and cause.
    fn tally(&mut self, stage: &StageId, kind: &'static str, cause: &str) {
        let same_stage = self.not_kept.iter().filter(|t| t.stage == *stage && t.kind == kind).count();
        let known = self.not_kept.iter_mut().find(|t| t.stage == *stage && t.kind == kind && t.cause == cause);
        let other = "(other causes)";
        match known {
            Some(tally) => tally.count += 1,
            None if same_stage < CAUSES_PER_STAGE => {
                self.not_kept.push(Tally { stage: stage.clone(), kind, cause: cause.to_owned(), count: 1 })
            }
            None => match self.not_kept.iter_mut().find(|t| t.stage == *stage && t.kind == kind && t.cause == other) {
                Some(tally) => tally.count += 1,
                None => self.not_kept.push(Tally { stage: stage.clone(), kind, cause: other.to_owned(), count: 1 }),
            },
        }
    }
}

impl Diversions for Collector {
    fn dead_letter(&mut self, letter: ErrorEnvelope) {
        self.per_stage.entry(letter.error.stage().clone()).or_default().0 += 1;
        self.turned_away(letter);
    }

    fn side_output(&mut self, side: SideEnvelope) {
        self.per_stage.entry(side.stage.clone()).or_default().1 += 1;
        if let Some(observer) = &self.observer {
            observer.on_side_output(&side);
        }
        if self.side_outputs.len() < self.keep {
            return self.side_outputs.push(side);
        }
        self.tally(&side.stage, "side output", side.reason.as_str());
    }

    fn fail(&mut self, error: StageError) {
        // The first failure is the cause; later ones are consequences.
        match &self.failure {
            None => self.failure = Some(error),
            Some(_) => self.later(error),
        }
    }
}

impl Collector {
    /// Keeps, hands on or tallies a dead letter, without counting it under
    /// its stage: how a boundary's rejected envelopes arrive (the ledger
    /// counts them under the boundary instead).
    pub(crate) fn turned_away(&mut self, letter: ErrorEnvelope) {
        self.made += 1;
        if let Some(observer) = &self.observer {
            observer.on_dead_letter(&letter);
        }
        if let Some(sink) = &mut self.sink {
            return sink(letter);
        }
        if self.dead_letters.len() < self.keep {
            return self.dead_letters.push(letter);
        }
        let mut cause = std::mem::take(&mut self.scratch);
        cause.clear();
        let _ = write!(cause, "{}", letter.error.cause());
        if cause.len() > CAUSE_TEXT {
            let mut end = CAUSE_TEXT;
            while !cause.is_char_boundary(end) {
                end -= 1;
            }
            cause.truncate(end);
        }
        self.tally(letter.error.stage(), "dead letter", &cause);
        self.scratch = cause;
    }

    /// Keeps a failure that came after the run's error, up to a bound.
    pub(crate) fn later(&mut self, error: StageError) {
        if self.later_failures.len() < LATER_FAILURES {
            self.later_failures.push(error);
        }
    }
}
