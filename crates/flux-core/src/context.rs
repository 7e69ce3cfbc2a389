//! What a stage may ask of the engine while it runs.

use crate::{ErrorEnvelope, Instant, Meta, Panicked, Position, SideEnvelope, StageError, StageId};

/// The engine's services, passed to every call into a stage.
///
/// A context is cheap to pass (a clock reading and one pointer). It is how a
/// stage reads time (never the wall clock), routes an input to the
/// dead-letter or side output, and reports an error that must stop the run.
pub struct Context<'a> {
    now: Instant,
    outputs: &'a mut dyn Diversions,
}

/// Where the engine collects what leaves the main output.
///
/// Engines implement it; a stage reaches it through [`Context`]. Every call
/// is counted per stage in the run's ledger.
pub trait Diversions {
    /// An input that failed; the pipeline goes on.
    fn dead_letter(&mut self, letter: ErrorEnvelope);
    /// An input routed aside (late data, a closed key).
    fn side_output(&mut self, side: SideEnvelope);
    /// An error after which the run must stop; the engine stops at its next
    /// decision point and returns it.
    fn fail(&mut self, error: StageError);
}

impl<'a> Context<'a> {
    /// A context at time `now` that diverts into `outputs`.
    pub fn new(now: Instant, outputs: &'a mut dyn Diversions) -> Self {
        Context { now, outputs }
    }

    /// The engine's current time.
    #[inline]
    pub fn now(&self) -> Instant {
        self.now
    }

    /// Sends a failed input to the dead-letter output.
    pub fn dead_letter(&mut self, letter: ErrorEnvelope) {
        self.outputs.dead_letter(letter);
    }

    /// Sends an input to the side output.
    pub fn side_output(&mut self, side: SideEnvelope) {
        self.outputs.side_output(side);
    }

    /// Reports an error that stops the run.
    pub fn fail(&mut self, error: StageError) {
        self.outputs.fail(error);
    }

    /// An input whose processing panicked in `stage`: it goes to the
    /// dead-letter output, and the run stops; both name the stage and the
    /// input's sequence.
    #[cold]
    #[inline(never)]
    pub fn divert_panic(&mut self, stage: &StageId, meta: Meta, panic: Panicked) {
        let position = Position::Sequence(meta.sequence);
        self.outputs.fail(StageError::new(stage.clone(), position, panic.clone()));
        self.outputs.dead_letter(ErrorEnvelope { meta, error: StageError::new(stage.clone(), position, panic) });
    }
}

impl core::fmt::Debug for Context<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Context").field("now", &self.now).finish_non_exhaustive()
    }
}
