//! Diversions that keep everything, for driving a node without an engine.

use flux_core::{Diversions, ErrorEnvelope, SideEnvelope, StageError};

/// [`Diversions`] that keep everything, for driving a source, stage or sink
/// without an engine (tests, examples).
///
/// # Examples
///
/// ```
/// use flux_core::{Context, Envelope, Instant, Sink};
/// use flux_test::{Diverted, VecSink};
///
/// let mut diverted = Diverted::default();
/// let mut cx = Context::new(Instant::ZERO, &mut diverted);
/// VecSink::new().write(Envelope::new(1), &mut cx).unwrap();
/// assert!(diverted.dead_letters.is_empty() && diverted.failures.is_empty());
/// ```
#[derive(Debug, Default)]
pub struct Diverted {
    /// Every dead letter, in order.
    pub dead_letters: Vec<ErrorEnvelope>,
    /// Every side output, in order.
    pub side_outputs: Vec<SideEnvelope>,
    /// Every error reported with [`Context::fail`](flux_core::Context::fail), in order.
    pub failures: Vec<StageError>,
}

impl Diversions for Diverted {
    fn dead_letter(&mut self, letter: ErrorEnvelope) {
        self.dead_letters.push(letter);
    }

    fn side_output(&mut self, side: SideEnvelope) {
        self.side_outputs.push(side);
    }

    fn fail(&mut self, error: StageError) {
        self.failures.push(error);
    }
}
