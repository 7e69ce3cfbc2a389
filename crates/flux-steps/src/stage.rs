//! `stage`: a user's [`Stage`] as a node, which derives the stage's ledger
//! from what it holds.

use core::task::Poll;
use std::error::Error;
use std::marker::PhantomData;

use flux_core::{
    Context, Emit, Envelope, ErrorEnvelope, Instant, Layer, LedgerVisitor, Lifecycle, Meta, Position, Push,
    SideEnvelope, SideReason, Stage, StageDescriptor, StageError, StageId, StageKind, StageLedger, catch_panic,
    poll_once,
};

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
        let ledger = StageLedger::default();
        let (held, poisoned, opened, closed) = (0, false, false, false);
        StageNode { stage: self.stage, id: self.id, next, ledger, held, poisoned, opened, closed }
    }
}

/// The node of a user [`Stage`]: counts what the stage did with each input.
#[derive(Debug)]
pub struct StageNode<S, D> {
    stage: S,
    id: StageId,
    next: D,
    ledger: StageLedger,
    /// What [`Stage::held`] said after the last call.
    held: u64,
    /// Set by a panic in `on_time` or `finish`: the stage is not called again.
    poisoned: bool,
    /// Whether the stage's `poll_open` and `poll_close` have been ready.
    opened: bool,
    closed: bool,
}

/// The [`Emit`] a [`StageNode`] hands its stage.
struct Emitter<'n, 'c, 'a, D> {
    next: &'n mut D,
    cx: &'c mut Context<'a>,
    id: &'n StageId,
    emitted: u64,
    /// This stage's own diversions (the nodes after it divert through the
    /// same context, and must not count here).
    diverted: u64,
    /// Held inputs this call said it dropped by policy.
    discarded: u64,
}

impl<T, D: Push<T>> Emit<T> for Emitter<'_, '_, '_, D> {
    #[inline]
    fn emit(&mut self, item: Envelope<T>) {
        self.emitted += 1;
        // A panic downstream is settled there; it must not unwind into
        // this stage, whose own counts are taken when it returns.
        flux_core::push_isolated(self.next, item, self.cx);
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

    fn discarded(&mut self, count: u64) {
        self.discarded += count;
    }
}

/// A stage broke the ledger's rules: the run stops, naming it.
#[derive(Debug)]
struct LedgerBroken(String);

impl core::fmt::Display for LedgerBroken {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(&self.0)
    }
}

impl Error for LedgerBroken {}

impl<S, D> StageNode<S, D> {
    fn emitter<'n, 'c, 'a>(&'n mut self, cx: &'c mut Context<'a>) -> (&'n mut S, Emitter<'n, 'c, 'a, D>) {
        let emitter = Emitter { next: &mut self.next, cx, id: &self.id, emitted: 0, diverted: 0, discarded: 0 };
        (&mut self.stage, emitter)
    }

    /// Derives what one call did from the stage's held count, before and
    /// after, and fails the run where it cannot add up. `given` is 1 for
    /// `process` (its input), 0 for `on_time` and `finish`; `made` counts
    /// the outputs and diversions of the call. Returns whether the input
    /// was absorbed into state.
    fn derive(&mut self, cx: &mut Context<'_>, position: Position, call: Call) -> bool {
        let Call { given, emitted, diverted, discarded, after } = call;
        let made = emitted + diverted;
        let before = self.held;
        self.held = after;
        let broken = |text: String| Some(LedgerBroken(text));
        // Inputs the count gained (positive) or lost (negative), beyond
        // what the stage said it dropped by policy.
        let change = i128::from(after) + i128::from(discarded) - i128::from(before);
        // The given input can be discarded only if nothing else took it.
        let discardable = before + if made == 0 { given } else { 0 };
        let (merged, released, problem) = match change {
            _ if discarded > discardable => (
                0,
                0,
                broken(format!("the stage discarded {discarded} held inputs, but held {before} and was given {given}")),
            ),
            c if c > i128::from(given) => {
                (0, 0, broken(format!("the stage's held inputs grew by {c} in a call given {given}")))
            }
            1 => (1, 0, None),
            0 => (0, 0, None),
            // Inputs that leave state leave inside an output; a dead letter
            // or a side output names one input only (the given one first).
            c if emitted == 0 && u128::from(diverted) < c.unsigned_abs() + u128::from(given) => (
                0,
                0,
                broken(format!("the stage's held inputs fell by {} in a call that emitted nothing to carry them", -c)),
            ),
            c => (0, c.unsigned_abs() as u64, None),
        };
        self.ledger.merged += merged;
        self.ledger.released += released;
        self.ledger.discarded += discarded;
        self.ledger.pending = after;
        if let Some(problem) = problem {
            cx.fail(StageError::new(self.id.clone(), position, problem));
        }
        merged == 1
    }

    /// A panic in `on_time` or `finish`: the run stops, and what the stage
    /// held is counted as discarded, since it cannot be trusted to release
    /// it.
    ///
    /// The stage is not called again: a later `finish` would otherwise
    /// emit what was just counted as discarded, and an input that reaches
    /// it after the panic is a dead letter.
    #[cold]
    fn panicked_holding(&mut self, panic: flux_core::Panicked, cx: &mut Context<'_>) {
        self.ledger.discarded += self.ledger.pending;
        self.ledger.pending = 0;
        self.held = 0;
        self.poisoned = true;
        cx.fail(StageError::new(self.id.clone(), Position::None, panic));
    }
}

/// What one call into a stage did, as the node saw it.
#[derive(Clone, Copy)]
struct Call {
    /// Inputs given to the call: 1 for `process`, 0 otherwise.
    given: u64,
    /// Outputs it emitted.
    emitted: u64,
    /// Inputs it sent to the dead-letter or side output.
    diverted: u64,
    /// Held inputs it said it dropped by policy.
    discarded: u64,
    /// Inputs it holds after the call.
    after: u64,
}

/// The stage's held count, read after a call (user code: a panic in it is
/// the call's own).
fn held_after<In, S: Stage<In>>(stage: &S) -> Result<u64, flux_core::Panicked> {
    catch_panic(|| stage.held())
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
        if self.poisoned {
            return;
        }
        let (stage, mut out) = self.emitter(cx);
        let run = catch_panic(|| match call {
            StateCall::Timers => stage.on_time(&mut out),
            StateCall::Finish => stage.finish(&mut out),
        })
        .and_then(|()| held_after(stage));
        let (emitted, diverted, discarded) = (out.emitted, out.diverted, out.discarded);
        self.ledger.created += emitted + diverted;
        match run {
            Ok(after) => {
                self.derive(cx, Position::None, Call { given: 0, emitted, diverted, discarded, after });
            }
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
        if self.poisoned {
            let cause = "the stage panicked earlier and is not called again";
            return cx.dead_letter(ErrorEnvelope {
                meta: item.into_parts().1,
                error: StageError::new(self.id.clone(), position, cause),
            });
        }
        let (stage, mut out) = self.emitter(cx);
        let run = catch_panic(|| stage.process(item, &mut out));
        let (emitted, diverted, discarded) = (out.emitted, out.diverted, out.discarded);
        let made = emitted + diverted;
        // The held count is read after a panic too: an input the stage
        // took in before panicking is in its state, not a dead letter.
        let after = held_after(stage);
        let after = match (run, after) {
            (Ok(()), Ok(after)) => after,
            (Err(panic), Ok(after)) if made > 0 || after > self.held => {
                cx.fail(StageError::new(self.id.clone(), position, panic));
                after
            }
            (Ok(()), Err(panic)) | (Err(panic), _) => {
                if made == 0 {
                    // Nothing accounts for the input: it is a dead letter.
                    return cx.divert_panic(&self.id, correlation, panic);
                }
                // What the stage holds cannot be read: its count stays.
                cx.fail(StageError::new(self.id.clone(), position, panic));
                self.held
            }
        };
        // One input ends exactly once: absorbed into state, or accounted
        // for by the first output or diversion; anything beyond that was
        // created here.
        let absorbed = self.derive(cx, position, Call { given: 1, emitted, diverted, discarded, after });
        let accounted = made + u64::from(absorbed);
        if accounted == 0 {
            self.ledger.dropped += 1;
        } else {
            self.ledger.created += accounted - 1;
        }
    }

    fn on_time(&mut self, cx: &mut Context<'_>) {
        self.call_on_state(StateCall::Timers, cx);
        self.next.on_time(cx);
    }

    fn next_deadline(&self, at_end: bool) -> Option<Instant> {
        flux_core::earliest(self.stage.next_deadline(at_end), self.next.next_deadline(at_end))
    }

    fn finish(&mut self, cx: &mut Context<'_>) {
        self.call_on_state(StateCall::Finish, cx);
        self.next.finish(cx);
    }

    fn visit(&self, visitor: &mut dyn LedgerVisitor) {
        visitor.stage(&self.id, &self.ledger);
        self.next.visit(visitor);
    }

    /// The stage first, then the nodes after it; a panic in the stage's
    /// own `poll_open` or `poll_close` unwinds to the engine, which stops
    /// the run naming the segment.
    fn poll_lifecycle(&mut self, phase: Lifecycle, cx: &mut Context<'_>) -> Poll<Result<(), StageError>> {
        let (stage, id) = (&mut self.stage, &self.id);
        let done = match phase {
            Lifecycle::Open => &mut self.opened,
            Lifecycle::Close => &mut self.closed,
            // A stage's work ends within its calls: nothing in flight.
            Lifecycle::Accept | Lifecycle::Settle => return self.next.poll_lifecycle(phase, cx),
        };
        let own = poll_once(done, || {
            let polled = match phase {
                Lifecycle::Open => stage.poll_open(cx),
                _ => stage.poll_close(cx),
            };
            polled.map_err(|cause| StageError::new(id.clone(), Position::None, cause))
        });
        if own?.is_pending() {
            return Poll::Pending;
        }
        self.next.poll_lifecycle(phase, cx)
    }
}
