//! A typed run of stages behind one object-safe face.

use std::collections::VecDeque;
use std::panic::resume_unwind;

use crate::panic::{catch_unwound, settle};
use core::task::Poll;

use crate::{
    BatchReceiver, Context, Instant, LedgerVisitor, Lifecycle, Pulled, Push, Received, Source, SourceOutput,
    StageError, StageId, StageLedger, poll_once,
};

/// What a segment did in one step.
#[derive(Debug)]
pub enum Step {
    /// It handled input; step it again.
    Progress,
    /// Its source has nothing before this engine time.
    Wait(Instant),
    /// Its source has nothing until the waker of the step's [`Context`]
    /// is woken ([`Pull::Pending`](crate::Pull::Pending)).
    Pending,
    /// Its input channel is empty; step it after upstream has made progress.
    Starved,
    /// Its input ended. The engine fires any timers it must wait for at the
    /// end (see [`Push::next_deadline`]), then calls [`Segment::finish`].
    Exhausted,
    /// It failed and the run must stop.
    Failed(StageError),
}

/// Envelopes a source segment pulls in one step: enough to amortise the
/// step's dynamic call and the engine's bookkeeping, few enough that
/// timers and other segments are not kept waiting long.
pub const STEP_BUDGET: usize = 1024;

/// A segment of an assembled pipeline: stages fused into one call path,
/// fed by a source or by a channel from the segment before it.
///
/// This is the only place the kernel erases types (`Box<dyn Segment>`), so
/// dynamic dispatch happens once per step, never per envelope inside a
/// segment. Engines drive segments; the trait is sealed (only the kernel's
/// two segments implement it):
///
/// ```compile_fail,E0277
/// struct Mine;
/// impl flux_core::Segment for Mine {} // the kernel's assembly only
/// ```
pub trait Segment: Send + crate::sealed::Sealed {
    /// Index in the plan's stage list of the segment's first stage.
    fn first_stage(&self) -> usize;
    /// Does one unit of work: pulls up to the context's
    /// [`budget`](Context::budget) ([`STEP_BUDGET`] unless the engine set
    /// less) envelopes from the source, or receives one batch from the
    /// channel, and pushes them through.
    fn step(&mut self, cx: &mut Context<'_>) -> Step;
    /// Flushes every stage and closes the channel after the segment; called
    /// once, after [`Step::Exhausted`].
    fn finish(&mut self, cx: &mut Context<'_>);
    /// Fires timers due at `cx.now()` in every stage of the segment.
    fn on_time(&mut self, cx: &mut Context<'_>);
    /// The earliest timer in the segment (see [`Push::next_deadline`]).
    fn next_deadline(&self, at_end: bool) -> Option<Instant>;
    /// Reports each stage's ledger, in pipeline order.
    fn visit(&self, visitor: &mut dyn LedgerVisitor);
    /// Gets every stage of the segment through `phase`: engines poll
    /// `Open` until ready before the first step, and `Close` after
    /// [`Segment::finish`], waiting for the context's waker on `Pending`
    /// (see [`Push::poll_lifecycle`]). The nodes go first, then the
    /// source: a sink is connected before anything is read, and a source
    /// acknowledges what it read only once the nodes have closed.
    fn poll_lifecycle(&mut self, phase: Lifecycle, cx: &mut Context<'_>) -> Poll<Result<(), StageError>>;
}

/// The segment that starts at the pipeline's source.
pub(crate) struct SourceSegment<S: Source, D> {
    /// The source and the nodes, parked here between steps. A step moves
    /// them onto its own stack: as locals, their counters and sink state
    /// stay in registers for the whole step instead of being stored to the
    /// heap once per envelope (measured: 0.77 -> 0.85 of the hand loop).
    pub(crate) parked: Option<(S, D)>,
    pub(crate) id: StageId,
    pub(crate) ledger: StageLedger,
    /// Whether the source's `poll_open` and `poll_close` have been ready.
    pub(crate) opened: bool,
    pub(crate) closed: bool,
    /// What a step on event time read ahead of the clock, oldest first,
    /// and whether the source ended behind it (see `replay.rs`); or the
    /// rest of a batch for a node that takes batches, when a panic left
    /// one there (see `batched.rs`).
    pub(crate) held: VecDeque<crate::Envelope<S::Item>>,
    pub(crate) ended: bool,
}

impl<S, D> Segment for SourceSegment<S, D>
where
    S: Source,
    S::Item: Send,
    D: Push<S::Item>,
{
    fn first_stage(&self) -> usize {
        0
    }

    /// Pulls up to [`STEP_BUDGET`] envelopes from the source straight into
    /// the fused nodes (`Source::pull_into`), counting what the source made
    /// in a register and adding it to its ledger once at the end of the step.
    fn step(&mut self, cx: &mut Context<'_>) -> Step {
        if cx.follows_event_time() {
            return self.step_on_event_time(cx);
        }
        if self.parked.as_ref().is_some_and(|(_, head)| head.takes_source_batches()) {
            return self.step_in_batches(cx);
        }
        let held = self.parked.take().expect("a segment is not stepped re-entrantly");
        // Parks the source and nodes back however the step ends: a panic
        // unwinds to the engine's catch (see `catch_step`), which must find
        // the segment whole. No `catch_unwind` here: it would keep the
        // source and nodes in memory for the whole step.
        let mut parked = ParkOnExit { home: &mut self.parked, held: Some(held) };
        let (source, head) = parked.held.as_mut().expect("just parked");
        let budget = cx.budget();
        let mut out = SourceOutput::tallied(head, cx, &self.id, &mut self.ledger.created);
        let pulled = source.pull_into(budget, &mut out);
        drop(out);
        drop(parked);
        match pulled {
            Ok(pulled) => step_of(pulled),
            Err(e) => Step::Failed(StageError::new(self.id.clone(), e.position, e.cause)),
        }
    }

    fn finish(&mut self, cx: &mut Context<'_>) {
        self.release_held(cx);
        self.head_mut().finish(cx);
    }

    fn on_time(&mut self, cx: &mut Context<'_>) {
        self.head_mut().on_time(cx);
    }

    fn next_deadline(&self, at_end: bool) -> Option<Instant> {
        self.parked.as_ref().and_then(|(_, head)| head.next_deadline(at_end))
    }

    fn visit(&self, visitor: &mut dyn LedgerVisitor) {
        visitor.stage(&self.id, &self.ledger);
        if let Some((_, head)) = &self.parked {
            head.visit(visitor);
        }
    }

    fn poll_lifecycle(&mut self, phase: Lifecycle, cx: &mut Context<'_>) -> Poll<Result<(), StageError>> {
        let (source, head) = self.parked.as_mut().expect("a segment is not stepped re-entrantly");
        let nodes = head.poll_lifecycle(phase, cx);
        let done = match phase {
            Lifecycle::Open => &mut self.opened,
            Lifecycle::Close => &mut self.closed,
            // The source's work is its pull: only the nodes hold any.
            Lifecycle::Accept | Lifecycle::Settle => return nodes,
        };
        if nodes?.is_pending() {
            return Poll::Pending;
        }
        let id = &self.id;
        poll_once(done, || {
            let polled = match phase {
                Lifecycle::Open => source.poll_open(cx),
                _ => source.poll_close(cx),
            };
            polled.map_err(|e| StageError::new(id.clone(), e.position, e.cause))
        })
    }
}

/// The step a source segment reports for what its pull stopped at.
pub(crate) fn step_of(pulled: Pulled) -> Step {
    match pulled {
        Pulled::More => Step::Progress,
        Pulled::Wait(until) => Step::Wait(until),
        Pulled::Pending => Step::Pending,
        Pulled::End => Step::Exhausted,
    }
}

/// Puts a step's source and nodes back into their segment when dropped:
/// at the end of the step, or while a panic unwinds through it.
struct ParkOnExit<'a, S, D> {
    home: &'a mut Option<(S, D)>,
    held: Option<(S, D)>,
}

impl<S, D> Drop for ParkOnExit<'_, S, D> {
    #[inline(always)]
    fn drop(&mut self) {
        *self.home = self.held.take();
    }
}

impl<S: Source, D> SourceSegment<S, D> {
    /// The first node, for the calls that come between steps (timers,
    /// finish), when the source and nodes are parked.
    fn head_mut(&mut self) -> &mut D {
        &mut self.parked.as_mut().expect("a segment is not stepped re-entrantly").1
    }
}

/// A segment fed by a channel from the segment before it.
///
/// It owns no stage of its own: its first node is the stage after the
/// boundary, so its ledger rows are its nodes'. A batch is pushed whole
/// (`push_batch`), so that a stateful node can work on many envelopes per
/// call, as the accumulating stage does.
pub(crate) struct ChannelSegment<T, D> {
    /// The receiving end of the boundary's channel.
    pub(crate) rx: Box<dyn BatchReceiver<T>>,
    /// The first node after the boundary, and all those fused after it.
    pub(crate) head: D,
    /// Index in the plan's stage list of the first stage after the boundary.
    pub(crate) first_stage: usize,
}

impl<T, D> Segment for ChannelSegment<T, D>
where
    T: Send,
    D: Push<T>,
{
    fn first_stage(&self) -> usize {
        self.first_stage
    }

    /// Takes one batch from the channel and pushes it through. A panic a
    /// node settles (its input a dead letter, the run stopped) does not end
    /// the batch: the rest goes on, as a stopping run drains what is queued.
    fn step(&mut self, cx: &mut Context<'_>) -> Step {
        match self.rx.recv() {
            Received::Batch(batch) => {
                let mut batch = VecDeque::from(batch);
                loop {
                    match catch_unwound(|| self.head.push_batch(&mut batch, cx)) {
                        Ok(()) => break,
                        // Settled at the node whose user code panicked;
                        // the rest of the batch goes on, as a stopping run
                        // drains what is inside it.
                        Err((payload, Some(site))) => settle(site, &*payload, cx),
                        Err((payload, None)) => resume_unwind(payload),
                    }
                    if batch.is_empty() {
                        break;
                    }
                }
                // The buffer goes back to the sender, unless a node left
                // envelopes in it (the ledger reports those).
                if batch.is_empty() && batch.capacity() > 0 {
                    self.rx.recycle(Vec::from(batch));
                }
                Step::Progress
            }
            Received::Empty => Step::Starved,
            Received::Closed => Step::Exhausted,
        }
    }

    fn finish(&mut self, cx: &mut Context<'_>) {
        self.head.finish(cx);
    }

    fn on_time(&mut self, cx: &mut Context<'_>) {
        self.head.on_time(cx);
    }

    fn next_deadline(&self, at_end: bool) -> Option<Instant> {
        self.head.next_deadline(at_end)
    }

    fn visit(&self, visitor: &mut dyn LedgerVisitor) {
        self.head.visit(visitor);
    }

    fn poll_lifecycle(&mut self, phase: Lifecycle, cx: &mut Context<'_>) -> Poll<Result<(), StageError>> {
        self.head.poll_lifecycle(phase, cx)
    }
}
