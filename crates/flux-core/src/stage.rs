//! The trait for writing a stage of your own.

use crate::{Envelope, Instant, Meta, Position, Purity, SideReason, StageDescriptor};
use std::error::Error;

/// A stage written by a user: one input to zero, one or many outputs.
///
/// Add it to a pipeline with `Steps::stage` (in `flux-steps`), whose node
/// counts what the stage did.
/// Outputs go to [`Emit::emit`] as they are made (no `Vec` per input). An
/// input that produces no output is counted as dropped by policy, unless
/// the stage sent it to the dead-letter or side output, or kept it in its
/// state.
///
/// A stage that keeps inputs (a window, a batch, a join) says how many it
/// holds with [`Stage::held`]; the node derives its ledger from that
/// count, so the stage keeps no books: an input the count grew by was
/// absorbed, and inputs the count fell by left inside the outputs of the
/// same call. The checks stay strict: the count cannot grow by more than
/// the one input a call is given, nor fall in a call that emits nothing
/// (unless the stage says it dropped them by policy, [`Emit::discarded`]),
/// a dead letter or side output carries only the one input it names, and
/// what is still held after `finish` shows as a ledger imbalance. The
/// count is taken at its word: a stage that swaps a held input for the new
/// one in a call that emits nothing reports no change, and the node counts
/// the new input as dropped.
///
/// A panic in `process` makes the input a dead letter, unless the stage
/// emitted for it or already holds it. A panic in `on_time` or `finish`
/// counts what the stage held as discarded, and the stage is not called
/// again: later inputs are dead letters.
///
/// # Examples
///
/// A stage that splits text into words and emits each one:
///
/// ```
/// use flux_core::{Emit, Envelope, Stage};
/// use flux_steps::Steps;
///
/// struct Words;
///
/// impl Stage<String> for Words {
///     type Out = String;
///     fn process(&mut self, input: Envelope<String>, out: &mut impl Emit<String>) {
///         let (text, meta, cost) = input.into_parts();
///         for word in text.split_whitespace() {
///             out.emit(Envelope::from_parts(word.to_owned(), meta.clone(), cost));
///         }
///     }
/// }
///
/// let pipeline = flux_core::Pipeline::from_source(flux_test::IterSource::new(["a b".to_owned()])).stage(Words);
/// # let _ = pipeline;
/// ```
pub trait Stage<In>: Send {
    /// The payload type emitted.
    type Out;

    /// Handles one input.
    fn process(&mut self, input: Envelope<In>, out: &mut impl Emit<Self::Out>);

    /// Whether the stage keeps state between inputs; stateful stages are not
    /// fused with their neighbours by the default planner.
    fn purity(&self) -> Purity {
        Purity::Pure
    }

    /// Adds what the planner should know beyond id, kind and purity: cost
    /// and latency hints, an engine hint, a kind. The default changes nothing.
    ///
    /// ```
    /// use flux_core::{EngineHint, Emit, Envelope, Stage, StageDescriptor};
    /// use flux_steps::Steps;
    ///
    /// struct Enrich;
    /// impl Stage<u64> for Enrich {
    ///     type Out = u64;
    ///     fn process(&mut self, input: Envelope<u64>, out: &mut impl Emit<u64>) {
    ///         out.emit(input);
    ///     }
    ///     fn describe(&self, descriptor: StageDescriptor) -> StageDescriptor {
    ///         descriptor.with_cpu_hint_ns(2_000).with_engine_hint(EngineHint::Isolate)
    ///     }
    /// }
    ///
    /// use flux_core::{Pipeline, Runnable};
    /// use flux_test::{IterSource, VecSink};
    /// let pipeline = Pipeline::from_source(IterSource::new(0..3u64)).stage(Enrich).sink(VecSink::new());
    /// let enrich = &pipeline.describe()[1];
    /// assert_eq!((enrich.cpu_hint_ns, enrich.engine_hint), (2_000, EngineHint::Isolate));
    /// ```
    fn describe(&self, descriptor: StageDescriptor) -> StageDescriptor {
        descriptor
    }

    /// Fires timers due at `out.now()`.
    fn on_time(&mut self, out: &mut impl Emit<Self::Out>) {
        let _ = out;
    }

    /// The earliest timer the stage has set (see [`Push::next_deadline`](crate::Push::next_deadline)).
    fn next_deadline(&self, at_end: bool) -> Option<Instant> {
        let _ = at_end;
        None
    }

    /// Flushes held state at end of input.
    fn finish(&mut self, out: &mut impl Emit<Self::Out>) {
        let _ = out;
    }

    /// How many inputs the stage holds in its state now: absorbed, not yet
    /// out. The default, 0, is a stage that holds none.
    ///
    /// ```
    /// use flux_core::{Emit, Envelope, Purity, Stage};
    ///
    /// /// Sums inputs in pairs: the first of a pair is held.
    /// struct Pairs(Option<u64>);
    ///
    /// impl Stage<u64> for Pairs {
    ///     type Out = u64;
    ///     fn purity(&self) -> Purity {
    ///         Purity::Stateful
    ///     }
    ///     fn process(&mut self, input: Envelope<u64>, out: &mut impl Emit<u64>) {
    ///         match self.0.take() {
    ///             None => self.0 = Some(*input.payload()),
    ///             Some(first) => out.emit(input.map(|second| first + second)),
    ///         }
    ///     }
    ///     fn finish(&mut self, out: &mut impl Emit<u64>) {
    ///         if let Some(alone) = self.0.take() {
    ///             out.emit(Envelope::new(alone));
    ///         }
    ///     }
    ///     fn held(&self) -> u64 {
    ///         u64::from(self.0.is_some())
    ///     }
    /// }
    /// # let _ = Pairs(None);
    /// ```
    fn held(&self) -> u64 {
        0
    }
}

/// Where a [`Stage`] sends its outputs and reports what it did with an input.
pub trait Emit<T> {
    /// Sends an output downstream.
    fn emit(&mut self, item: Envelope<T>);
    /// The engine's current time.
    fn now(&self) -> Instant;
    /// Sends the input described by `meta` to the dead-letter output.
    fn dead_letter(&mut self, meta: Meta, position: Position, cause: Box<dyn Error + Send + Sync>);
    /// Sends the input described by `meta` to the side output.
    fn side_output(&mut self, meta: Meta, reason: SideReason);
    /// Says `count` held inputs were dropped from state by an explicit
    /// policy (for example "drop open groups at end of input"): counted as
    /// discarded, where a fall of [`Stage::held`] with no output would
    /// fail the run.
    fn discarded(&mut self, count: u64);
}
