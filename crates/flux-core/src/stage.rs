//! The trait for writing a stage of your own.

use crate::{
    Context, Envelope, ErrorEnvelope, Instant, Layer, LedgerVisitor, Meta, Position, Purity, Push, SideEnvelope,
    SideReason, StageDescriptor, StageError, StageId, StageKind, StageLedger, catch_panic,
};
use std::error::Error;
use std::marker::PhantomData;

/// A stage written by a user: one input to zero, one or many outputs.
///
/// Add it to a pipeline with [`Pipeline::stage`](crate::Pipeline::stage).
/// Outputs go to [`Emit::emit`] as they are made (no `Vec` per input). An
/// input that produces no output is counted as dropped by policy, unless
/// the stage sent it to the dead-letter or side output, or called
/// [`Emit::merged`] to say it was absorbed into state.
///
/// # Examples
///
/// A stage that splits text into words and emits each one:
///
/// ```
/// use flux_core::{Emit, Envelope, Stage};
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
/// let pipeline = flux_core::Pipeline::from_source(flux_core::IterSource::new(["a b".to_owned()])).stage(Words);
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
    /// use flux_core::{IterSource, Pipeline, Runnable, VecSink};
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

    /// The earliest timer the stage has set (see [`Push::next_deadline`]).
    fn next_deadline(&self, at_end: bool) -> Option<Instant> {
        let _ = at_end;
        None
    }

    /// Flushes held state at end of input.
    fn finish(&mut self, out: &mut impl Emit<Self::Out>) {
        let _ = out;
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
    /// Says the current input was absorbed into state, to be released later
    /// with [`Emit::released`].
    fn merged(&mut self);
    /// Says `count` absorbed inputs left the stage's state: inside the
    /// output just emitted, or diverted (dead letter, side output).
    fn released(&mut self, count: u64);
    /// Says `count` absorbed inputs were dropped from state by an explicit
    /// policy (for example "drop open groups at end of input"); counted.
    fn discarded(&mut self, count: u64);
}

/// The [`Layer`] for a user [`Stage`].
#[derive(Debug)]
pub struct StageLayer<S, In> {
    stage: S,
    id: StageId,
    _in: PhantomData<fn(In)>,
}

impl<S, In> StageLayer<S, In> {
    /// Wraps `stage` under the id `id`.
    pub fn new(stage: S, id: StageId) -> Self {
        StageLayer { stage, id, _in: PhantomData }
    }
}

impl<S, In> Layer<In> for StageLayer<S, In>
where
    S: Stage<In> + 'static,
    In: 'static,
{
    type Out = S::Out;
    type Node<D: Push<S::Out> + 'static> = StageNode<S, D>;

    fn descriptor(&self) -> StageDescriptor {
        let descriptor = StageDescriptor::new(self.id.as_str().to_owned(), StageKind::Transform, self.stage.purity())
            .with_types(core::any::type_name::<In>(), core::any::type_name::<S::Out>());
        self.stage.describe(descriptor)
    }

    fn set_id(&mut self, id: StageId) {
        self.id = id;
    }

    fn into_node<D: Push<S::Out> + 'static>(self, next: D) -> StageNode<S, D> {
        StageNode { stage: self.stage, id: self.id, next, ledger: StageLedger::default() }
    }
}

/// The node of a user [`Stage`]: counts what the stage did with each input.
#[derive(Debug)]
pub struct StageNode<S, D> {
    stage: S,
    id: StageId,
    next: D,
    ledger: StageLedger,
}

/// The [`Emit`] a [`StageNode`] hands its stage.
struct Emitter<'n, 'c, 'a, D> {
    next: &'n mut D,
    cx: &'c mut Context<'a>,
    id: &'n StageId,
    ledger: &'n mut StageLedger,
    emitted: u64,
    merged: bool,
    /// This stage's own diversions (the nodes after it divert through the
    /// same context, and must not count here).
    diverted: u64,
    /// Merged inputs this call said left the stage's state.
    released: u64,
    /// Merged inputs this call said it released beyond those it held.
    overdrawn: u64,
}

impl<T, D: Push<T>> Emit<T> for Emitter<'_, '_, '_, D> {
    #[inline]
    fn emit(&mut self, item: Envelope<T>) {
        self.emitted += 1;
        // A panic downstream is settled there; it must not unwind into
        // this stage, whose own counts are taken when it returns.
        crate::push_isolated(self.next, item, self.cx);
    }

    fn now(&self) -> Instant {
        self.cx.now()
    }

    fn dead_letter(&mut self, meta: Meta, position: Position, cause: Box<dyn Error + Send + Sync>) {
        let error = StageError::new(self.id.clone(), position, cause);
        self.diverted += 1;
        self.cx.dead_letter(ErrorEnvelope { meta, error });
    }

    fn side_output(&mut self, meta: Meta, reason: SideReason) {
        self.diverted += 1;
        self.cx.side_output(SideEnvelope { stage: self.id.clone(), meta, reason });
    }

    fn merged(&mut self) {
        self.merged = true;
        self.ledger.merged += 1;
        self.ledger.pending += 1;
    }

    fn released(&mut self, count: u64) {
        self.released += count;
        self.take_pending(count);
        self.ledger.released += count;
    }

    fn discarded(&mut self, count: u64) {
        self.take_pending(count);
        self.ledger.discarded += count;
    }
}

impl<D> Emitter<'_, '_, '_, D> {
    /// Takes `count` inputs out of the held ones; what is not held is
    /// noted, and the call fails the run when it returns.
    fn take_pending(&mut self, count: u64) {
        let held = count.min(self.ledger.pending);
        self.ledger.pending -= held;
        self.overdrawn += count - held;
    }
}

/// A stage broke the ledger's rules: the run stops, naming it.
#[derive(Debug)]
struct LedgerBroken {
    what: &'static str,
    count: u64,
}

impl core::fmt::Display for LedgerBroken {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "the stage {} {} merged inputs", self.what, self.count)
    }
}

impl Error for LedgerBroken {}

impl<S, D> StageNode<S, D> {
    fn emitter<'n, 'c, 'a>(&'n mut self, cx: &'c mut Context<'a>) -> (&'n mut S, Emitter<'n, 'c, 'a, D>) {
        let emitter = Emitter {
            next: &mut self.next,
            cx,
            id: &self.id,
            ledger: &mut self.ledger,
            emitted: 0,
            merged: false,
            diverted: 0,
            released: 0,
            overdrawn: 0,
        };
        (&mut self.stage, emitter)
    }

    /// Checks one call into the stage: merged inputs it released must
    /// leave inside an output made by the same call (`made` beyond the one
    /// that accounts for the input), and it cannot release or discard more
    /// than it holds. A panic in the call has already stopped the run.
    fn settle(&mut self, cx: &mut Context<'_>, position: Position, released: u64, overdrawn: u64, made: u64) {
        let broken = if overdrawn > 0 {
            Some(LedgerBroken { what: "released or discarded more than it held, by", count: overdrawn })
        } else if released > 0 && made == 0 {
            Some(LedgerBroken { what: "emitted nothing that could carry", count: released })
        } else {
            None
        };
        if let Some(broken) = broken {
            cx.fail(StageError::new(self.id.clone(), position, broken));
        }
    }

    /// A panic in `on_time` or `finish`: the run stops, and what the stage
    /// held is counted as discarded, since it cannot be trusted to release
    /// it.
    #[cold]
    fn panicked_holding(&mut self, panic: crate::Panicked, cx: &mut Context<'_>) {
        self.ledger.discarded += self.ledger.pending;
        self.ledger.pending = 0;
        cx.fail(StageError::new(self.id.clone(), Position::None, panic));
    }
}

/// A call into a stage that works on its state, not on an input.
#[derive(Clone, Copy)]
enum StateCall {
    Timers,
    Finish,
}

impl<S, D> StageNode<S, D> {
    /// Calls the stage's `on_time` or `finish` and counts what it did:
    /// everything leaving from state is made here.
    fn call_on_state<In>(&mut self, call: StateCall, cx: &mut Context<'_>)
    where
        S: Stage<In>,
        D: Push<S::Out>,
    {
        let (stage, mut out) = self.emitter(cx);
        let run = catch_panic(|| match call {
            StateCall::Timers => stage.on_time(&mut out),
            StateCall::Finish => stage.finish(&mut out),
        });
        let made = out.emitted + out.diverted;
        let (released, overdrawn) = (out.released, out.overdrawn);
        self.ledger.created += made;
        match run {
            Ok(()) => self.settle(cx, Position::None, released, overdrawn, made),
            Err(panic) => self.panicked_holding(panic, cx),
        }
    }
}

impl<In, S, D> Push<In> for StageNode<S, D>
where
    S: Stage<In>,
    D: Push<S::Out>,
{
    fn push(&mut self, item: Envelope<In>, cx: &mut Context<'_>) {
        let correlation = item.meta().correlation();
        let position = Position::Sequence(correlation.sequence);
        let (stage, mut out) = self.emitter(cx);
        let run = catch_panic(|| stage.process(item, &mut out));
        let (emitted, merged, diverted) = (out.emitted, out.merged, out.diverted);
        let (released, overdrawn) = (out.released, out.overdrawn);
        // One input ends exactly once: the first output, a merge or a
        // diversion accounts for it; anything beyond that was created here.
        let accounted = emitted + u64::from(merged) + diverted;
        if let Err(panic) = run {
            if accounted == 0 {
                // Nothing accounts for the input: it is a dead letter.
                return cx.divert_panic(&self.id, correlation, panic);
            }
            cx.fail(StageError::new(self.id.clone(), position, panic));
        }
        if accounted == 0 {
            self.ledger.dropped += 1;
        } else {
            self.ledger.created += accounted - 1;
        }
        self.settle(cx, position, released, overdrawn, accounted.saturating_sub(1));
    }

    fn on_time(&mut self, cx: &mut Context<'_>) {
        self.call_on_state(StateCall::Timers, cx);
        self.next.on_time(cx);
    }

    fn next_deadline(&self, at_end: bool) -> Option<Instant> {
        crate::earliest(self.stage.next_deadline(at_end), self.next.next_deadline(at_end))
    }

    fn finish(&mut self, cx: &mut Context<'_>) {
        self.call_on_state(StateCall::Finish, cx);
        self.next.finish(cx);
    }

    fn visit(&self, visitor: &mut dyn LedgerVisitor) {
        visitor.stage(&self.id, &self.ledger);
        self.next.visit(visitor);
    }
}
