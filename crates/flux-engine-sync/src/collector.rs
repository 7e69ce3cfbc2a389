//! Where diverted envelopes and failures land during a run.

use std::collections::HashMap;

use flux_core::{Diversions, ErrorEnvelope, SideEnvelope, StageError, StageId};

/// Collects dead letters, side outputs and the first fatal error, counting
/// diversions per stage for the ledger.
#[derive(Debug, Default)]
pub(crate) struct Collector {
    pub(crate) dead_letters: Vec<ErrorEnvelope>,
    pub(crate) side_outputs: Vec<SideEnvelope>,
    pub(crate) per_stage: HashMap<StageId, (u64, u64)>,
    pub(crate) failure: Option<StageError>,
}

impl Diversions for Collector {
    fn dead_letter(&mut self, letter: ErrorEnvelope) {
        self.per_stage.entry(letter.error.stage().clone()).or_default().0 += 1;
        self.dead_letters.push(letter);
    }

    fn side_output(&mut self, side: SideEnvelope) {
        self.per_stage.entry(side.stage.clone()).or_default().1 += 1;
        self.side_outputs.push(side);
    }

    fn fail(&mut self, error: StageError) {
        // The first failure is the cause; later ones are consequences.
        self.failure.get_or_insert(error);
    }
}
