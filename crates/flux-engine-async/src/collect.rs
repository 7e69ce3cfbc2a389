//! Where one task's diverted envelopes and failures land during a run.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use flux_core::{Diversions, ErrorEnvelope, Observer, SideEnvelope, StageError, StageId};

/// One task's dead letters, side outputs and failures; the engine merges
/// every task's at stop. Each task has its own, so a dead letter takes no
/// lock shared with other segments.
#[derive(Default)]
pub(crate) struct Collected {
    pub(crate) dead_letters: Vec<ErrorEnvelope>,
    pub(crate) side_outputs: Vec<SideEnvelope>,
    /// Dead letters and side outputs by stage, every one (kept or not).
    pub(crate) per_stage: HashMap<StageId, (u64, u64)>,
    /// Dead letters and side outputs counted but not kept whole.
    pub(crate) not_kept: u64,
    /// Failures, each stamped from the run's one counter, so that the
    /// first failure of the run (its cause) is known across tasks.
    pub(crate) failures: Vec<(u64, StageError)>,
    keep: usize,
    order: Arc<AtomicU64>,
    /// Told of each dead letter and side output as it is made.
    observer: Option<Arc<dyn Observer>>,
    /// Dead letters made so far by every task of the run.
    made: Arc<AtomicU64>,
}

impl Collected {
    pub(crate) fn new(keep: usize, order: Arc<AtomicU64>, observer: Option<Arc<dyn Observer>>) -> Self {
        Collected { keep, order, observer, ..Collected::default() }
    }

    /// The same, adding each dead letter to the run's count `made`.
    pub(crate) fn counting(mut self, made: Arc<AtomicU64>) -> Self {
        self.made = made;
        self
    }

    /// Dead letters made so far by every task of the run.
    pub(crate) fn made(&self) -> u64 {
        self.made.load(Ordering::Relaxed)
    }

    /// A dead letter the ledger counts under a boundary, not a stage (a
    /// policy's reject): kept and observed, not counted per stage.
    pub(crate) fn turned_away(&mut self, letter: ErrorEnvelope) {
        self.made.fetch_add(1, Ordering::Relaxed);
        if let Some(observer) = &self.observer {
            observer.on_dead_letter(&letter);
        }
        self.keep_dead_letter(letter);
    }

    /// The next stamp of the run's one counter: failures and other reasons
    /// to stop are ordered by it across tasks.
    pub(crate) fn stamp(&self) -> u64 {
        self.order.fetch_add(1, Ordering::Relaxed)
    }

    /// Adds another task's to this one, keeping at most `keep` of each.
    pub(crate) fn absorb(&mut self, other: Collected) {
        for (stage, (dead, side)) in other.per_stage {
            let counts = self.per_stage.entry(stage).or_default();
            counts.0 += dead;
            counts.1 += side;
        }
        self.not_kept += other.not_kept;
        for letter in other.dead_letters {
            self.keep_dead_letter(letter);
        }
        for side in other.side_outputs {
            self.keep_side_output(side);
        }
        self.failures.extend(other.failures);
    }

    /// Keeps a dead letter (or counts it as not kept), without counting it
    /// under its stage: the whole of `dead_letter` but the ledger's count.
    pub(crate) fn keep_dead_letter(&mut self, letter: ErrorEnvelope) {
        match self.dead_letters.len() < self.keep {
            true => self.dead_letters.push(letter),
            false => self.not_kept += 1,
        }
    }

    fn keep_side_output(&mut self, side: SideEnvelope) {
        match self.side_outputs.len() < self.keep {
            true => self.side_outputs.push(side),
            false => self.not_kept += 1,
        }
    }
}

impl Diversions for Collected {
    fn dead_letter(&mut self, letter: ErrorEnvelope) {
        self.per_stage.entry(letter.error.stage().clone()).or_default().0 += 1;
        self.turned_away(letter);
    }

    fn side_output(&mut self, side: SideEnvelope) {
        self.per_stage.entry(side.stage.clone()).or_default().1 += 1;
        if let Some(observer) = &self.observer {
            observer.on_side_output(&side);
        }
        self.keep_side_output(side);
    }

    fn fail(&mut self, error: StageError) {
        self.failures.push((self.order.fetch_add(1, Ordering::Relaxed), error));
    }
}
