//! The trait for writing a stage of your own.

use crate::{Context, Envelope, Instant, Meta, Position, Purity, SideReason, StageDescriptor};
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
/// A stage that splits text into words and emits each one, driven here
/// through the node `Steps::stage` would build for it (an engine drives
/// the same node inside a segment):
///
/// ```
/// use std::sync::{Arc, Mutex};
///
/// use flux_core::{
///     Context, Emit, Envelope, Instant, Layer, LedgerVisitor, Push, Stage, StageId, StageLedger,
/// };
/// use flux_steps::StageLayer;
/// use flux_test::Diverted;
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
/// /// The end of the segment: keeps what reaches it where the test can read it.
/// struct Keep(Arc<Mutex<Vec<String>>>);
///
/// impl Push<String> for Keep {
///     fn push(&mut self, item: Envelope<String>, _cx: &mut Context<'_>) {
///         self.0.lock().unwrap().push(item.into_payload());
///     }
///     fn on_time(&mut self, _cx: &mut Context<'_>) {}
///     fn next_deadline(&self, _at_end: bool) -> Option<Instant> {
///         None
///     }
///     fn finish(&mut self, _cx: &mut Context<'_>) {}
///     fn visit(&self, _visitor: &mut dyn LedgerVisitor) {}
///    fn poll_lifecycle(&mut self, _: flux_core::Lifecycle, _: &mut Context<'_>) -> std::task::Poll<Result<(), flux_core::StageError>> {
///        std::task::Poll::Ready(Ok(()))
///    }
/// }
///
/// let words = Arc::new(Mutex::new(Vec::new()));
/// let mut node = StageLayer::new(Words, StageId::from_static("words")).into_node(Keep(words.clone()));
/// let mut diverted = Diverted::default();
/// let mut cx = Context::new(Instant::ZERO, &mut diverted);
/// node.push(Envelope::new("to be".to_owned()).with_sequence(0), &mut cx);
/// node.push(Envelope::new(String::new()).with_sequence(1), &mut cx);
/// node.finish(&mut cx);
/// assert_eq!(*words.lock().unwrap(), ["to", "be"]);
///
/// let mut ledger = StageLedger::default();
/// node.visit(&mut |_: &StageId, counted: &StageLedger| ledger = *counted);
/// // The second word of the first input was made here; the empty input was dropped.
/// assert_eq!((ledger.created, ledger.dropped), (1, 1));
/// ```
pub trait Stage<In>: Send {
    /// The payload type emitted: what the next stage accepts.
    type Out;

    /// Handles one input.
    ///
    /// Called once per input, in the order inputs arrive. Send each output
    /// to `out` as it is made; give it the metadata it should carry (the
    /// input's, through [`Envelope::map`] or [`Envelope::from_parts`],
    /// keeps the sequence, key and trace that later errors name). The
    /// input is accounted for once, by its first output or diversion or by
    /// being kept (see [`Stage::held`]); every further output counts as
    /// `created`. An input the stage neither emits for, diverts nor keeps
    /// counts as dropped by policy.
    fn process(&mut self, input: Envelope<In>, out: &mut impl Emit<Self::Out>);

    /// Gets ready before the first input (connect to a lookup service):
    /// the engine polls until `Ready`, and on `Pending` waits for
    /// `cx.waker()`. The default is ready at once.
    ///
    /// # Errors
    ///
    /// The stage cannot start; the run stops, naming it.
    fn poll_open(&mut self, cx: &mut Context<'_>) -> core::task::Poll<Result<(), Box<dyn Error + Send + Sync>>> {
        let _ = cx;
        core::task::Poll::Ready(Ok(()))
    }

    /// Lets go after the last input, polled like [`Stage::poll_open`] once
    /// the stage has flushed. The default is done at once.
    ///
    /// # Errors
    ///
    /// The stage could not close; the run fails, naming it.
    fn poll_close(&mut self, cx: &mut Context<'_>) -> core::task::Poll<Result<(), Box<dyn Error + Send + Sync>>> {
        let _ = cx;
        core::task::Poll::Ready(Ok(()))
    }

    /// Whether the stage keeps state between inputs; stateful stages are not
    /// fused with their neighbours by the default planner.
    ///
    /// The default, [`Purity::Pure`], lets the planner run the stage in one
    /// call path with its neighbours. Say [`Purity::Stateful`] when the
    /// stage keeps inputs or sets timers: the default planner then gives it
    /// a segment of its own, with a boundary on each side.
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
    ///
    /// The engine calls it when its clock reaches a deadline the stage
    /// reported through [`Stage::next_deadline`], and may call it at other
    /// times too (the sync engine calls every segment's `on_time` before it
    /// moves the clock, and a source that flushes calls its segment's), so
    /// emit only what is due at `out.now()`. Outputs
    /// made here come from state: each counts as `created`.
    fn on_time(&mut self, out: &mut impl Emit<Self::Out>) {
        let _ = out;
    }

    /// The earliest timer the stage has set (see [`Push::next_deadline`](crate::Push::next_deadline)).
    ///
    /// The engine moves its clock to the earliest deadline of all stages
    /// and calls [`Stage::on_time`] there; afterwards the stage must report
    /// a later deadline or none (the sync engine stops a run whose timer is
    /// due again at the instant it just fired). With `at_end` set, report
    /// only the deadlines the engine should still wait for once the input
    /// has ended; the default, `None`, sets no timer.
    fn next_deadline(&self, at_end: bool) -> Option<Instant> {
        let _ = at_end;
        None
    }

    /// Flushes held state at end of input.
    ///
    /// Called once, after the end-of-input deadlines have fired, and also
    /// when a run stops early, so that nothing held is lost silently. Emit
    /// what the stage still holds, or count it with [`Emit::discarded`]:
    /// inputs still [held](Stage::held) after `finish` show as an
    /// imbalance in the run's ledger.
    fn finish(&mut self, out: &mut impl Emit<Self::Out>) {
        let _ = out;
    }

    /// How many inputs the stage holds in its state now: absorbed, not yet
    /// out. The default, 0, is a stage that holds none.
    ///
    /// The node reads it after every call, and derives the stage's
    /// `merged`, `released` and `pending` counts from how it changed (by
    /// the rules in the [`Stage`] docs). Keep it cheap: it is read after
    /// every input.
    ///
    /// ```
    /// use flux_core::{Context, Emit, Envelope, Instant, Layer, LedgerVisitor, Purity, Push, Stage};
    /// use flux_core::{StageId, StageLedger};
    /// use flux_steps::StageLayer;
    /// use flux_test::Diverted;
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
    ///
    /// /// The end of the segment, for the example: takes everything.
    /// struct Discard;
    ///
    /// impl Push<u64> for Discard {
    ///     fn push(&mut self, _item: Envelope<u64>, _cx: &mut Context<'_>) {}
    ///     fn on_time(&mut self, _cx: &mut Context<'_>) {}
    ///     fn next_deadline(&self, _at_end: bool) -> Option<Instant> {
    ///         None
    ///     }
    ///     fn finish(&mut self, _cx: &mut Context<'_>) {}
    ///     fn visit(&self, _visitor: &mut dyn LedgerVisitor) {}
    ///    fn poll_lifecycle(&mut self, _: flux_core::Lifecycle, _: &mut Context<'_>) -> std::task::Poll<Result<(), flux_core::StageError>> {
    ///        std::task::Poll::Ready(Ok(()))
    ///    }
    /// }
    ///
    /// let mut node = StageLayer::new(Pairs(None), StageId::from_static("pairs")).into_node(Discard);
    /// let mut diverted = Diverted::default();
    /// let mut cx = Context::new(Instant::ZERO, &mut diverted);
    /// for n in 1..=3 {
    ///     node.push(Envelope::new(n), &mut cx);
    /// }
    /// node.finish(&mut cx);
    ///
    /// let mut ledger = StageLedger::default();
    /// node.visit(&mut |_: &StageId, counted: &StageLedger| ledger = *counted);
    /// // Inputs 1 and 3 were held, then released in a record; `finish` made the last record.
    /// assert_eq!((ledger.merged, ledger.released, ledger.pending, ledger.created), (2, 2, 0, 1));
    /// assert!(diverted.failures.is_empty(), "the books balance");
    /// ```
    fn held(&self) -> u64 {
        0
    }
}

/// Where a [`Stage`] sends its outputs and reports what it did with an input.
///
/// The node that runs the stage (`StageNode`, which `Steps::stage` adds in
/// `flux-steps`) hands one to every call, and counts through it: each
/// output, each diversion, each discard. It names the stage in every dead
/// letter and side output, so the stage never handles its own id.
///
/// Implement it yourself to test a stage without a node or an engine.
///
/// # Examples
///
/// ```
/// use std::error::Error;
///
/// use flux_core::{Emit, Envelope, Instant, Meta, Position, SideReason, Stage};
///
/// /// Parses numbers; text that is not a number is a dead letter.
/// struct Parse;
///
/// impl Stage<&'static str> for Parse {
///     type Out = u32;
///     fn process(&mut self, input: Envelope<&'static str>, out: &mut impl Emit<u32>) {
///         match input.payload().parse::<u32>() {
///             Ok(n) => out.emit(input.replace(n)),
///             Err(e) => {
///                 let (_, meta, _) = input.into_parts();
///                 let at = Position::Sequence(meta.sequence);
///                 out.dead_letter(meta, at, e.into());
///             }
///         }
///     }
/// }
///
/// /// Records what the stage did.
/// #[derive(Default)]
/// struct Recorded {
///     outputs: Vec<u32>,
///     dead: Vec<(u64, String)>,
/// }
///
/// impl Emit<u32> for Recorded {
///     fn emit(&mut self, item: Envelope<u32>) {
///         self.outputs.push(item.into_payload());
///     }
///     fn now(&self) -> Instant {
///         Instant::ZERO
///     }
///     fn dead_letter(&mut self, meta: Meta, _at: Position, cause: Box<dyn Error + Send + Sync>) {
///         self.dead.push((meta.sequence, cause.to_string()));
///     }
///     fn side_output(&mut self, _meta: Meta, _reason: SideReason) {}
///     fn discarded(&mut self, _count: u64) {}
/// }
///
/// let mut out = Recorded::default();
/// for (sequence, text) in (0..).zip(["7", "x", "12"]) {
///     Parse.process(Envelope::new(text).with_sequence(sequence), &mut out);
/// }
/// assert_eq!(out.outputs, [7, 12]);
/// assert_eq!(out.dead, [(1, "invalid digit found in string".to_owned())]);
/// ```
pub trait Emit<T> {
    /// Sends an output downstream.
    ///
    /// The nodes after the stage handle it before `emit` returns. The
    /// output carries whatever metadata the stage gave it.
    fn emit(&mut self, item: Envelope<T>);
    /// The engine's current time, at this call. Stages read time here,
    /// never from the wall clock.
    fn now(&self) -> Instant;
    /// Sends the input described by `meta` to the dead-letter output.
    ///
    /// The dead letter's error names this stage, at `position`, caused by
    /// `cause`; the run goes on. A dead letter accounts for one input: the
    /// one being processed, or one the stage held.
    fn dead_letter(&mut self, meta: Meta, position: Position, cause: Box<dyn Error + Send + Sync>);
    /// Sends the input described by `meta` to the side output.
    ///
    /// For inputs that are not errors but do not belong on the main output
    /// (late data, a closed key); the side output names this stage and
    /// `reason`. Like a dead letter, it accounts for one input.
    fn side_output(&mut self, meta: Meta, reason: SideReason);
    /// Says `count` held inputs were dropped from state by an explicit
    /// policy (for example "drop open groups at end of input"): counted as
    /// discarded, where a fall of [`Stage::held`] with no output would
    /// fail the run.
    fn discarded(&mut self, count: u64);
}
