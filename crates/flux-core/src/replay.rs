//! A source segment's step when the engine's clock follows event time
//! ([`Context::following_event_time`]): each envelope goes on only once the
//! clock has reached its event time, so a replayed file meets its timers
//! where a live feed would have.

use std::collections::VecDeque;
use std::task::Poll;

use crate::segment::{SourceSegment, step_of};
use crate::{
    Context, Envelope, Instant, LedgerVisitor, Lifecycle, Pulled, Push, Source, SourceOutput, StageError, Step,
};

/// Whether `item` may go on at `now`: it has no event time (which moves no
/// clock), or its event time has come. An earlier one goes on at `now`:
/// the clock never goes back.
fn due<T>(item: &Envelope<T>, now: Instant) -> bool {
    item.meta().event_time.is_none_or(|at| at <= now)
}

/// Holds an envelope when the queue is full to its capacity: the gathering
/// gate only while its first step grows the queue to a step's size (it
/// keeps its capacity when the batch is taken); the event-time gate
/// whenever more envelopes wait than ever before.
#[cold]
#[inline(never)]
fn hold_growing<T>(held: &mut VecDeque<Envelope<T>>, item: Envelope<T>) {
    held.push_back(item);
}

impl<S, D> SourceSegment<S, D>
where
    S: Source,
    S::Item: Send,
    D: Push<S::Item>,
{
    /// One step on event time. What was held and has come goes on first
    /// (no more than the step's budget); the source is pulled only once
    /// nothing is held, through a gate that holds what has not come (and
    /// everything after it, to keep the source's order). A step that
    /// leaves envelopes held waits for the oldest one's event time; the
    /// source's own wait or pending wake is asked again by the pull after
    /// them, so only its end is remembered.
    pub(crate) fn step_on_event_time(&mut self, cx: &mut Context<'_>) -> Step {
        let (now, budget) = (cx.now(), cx.budget());
        let (source, head) = self.parked.as_mut().expect("a segment is not stepped re-entrantly");
        let pulled = if self.held.is_empty() {
            let mut gate = Gate::<_, _, false> { next: head, held: &mut self.held };
            let mut out = SourceOutput::tallied(&mut gate, cx, &self.id, &mut self.ledger.created);
            match source.pull_into(budget, &mut out) {
                Ok(pulled) => pulled,
                Err(e) => return Step::Failed(StageError::new(self.id.clone(), e.position, e.cause)),
            }
        } else {
            let ready = self.held.iter().take(budget).take_while(|item| due(item, now)).count();
            for item in self.held.drain(..ready) {
                head.push(item, cx);
            }
            // The next step pulls again, at once.
            if self.ended { Pulled::End } else { Pulled::More }
        };
        match self.held.front() {
            None => step_of(pulled),
            Some(item) if due(item, now) => Step::Progress,
            Some(item) => {
                self.ended = pulled == Pulled::End;
                Step::Wait(item.meta().event_time.expect("an envelope held for its time has one"))
            }
        }
    }

    /// Hands on whatever is still held, at the clock as it stands: a run
    /// that stops does not wait for event time, and every envelope the
    /// source made reaches the nodes, so the ledger balances.
    pub(crate) fn release_held(&mut self, cx: &mut Context<'_>) {
        let Some((_, head)) = self.parked.as_mut() else { return };
        for item in self.held.drain(..) {
            head.push(item, cx);
        }
    }
}

/// The head of a source segment as a pull on event time sees it: an
/// envelope whose time has come goes on, unless an earlier one is held;
/// anything else is held. With `HOLDS_ALL`, every envelope is held: a step
/// that pushes what it pulled as one batch gathers it so (`batched.rs`). A
/// constant, not a field, and `push` always inlined: the gathering loop
/// then builds each envelope in its place in the batch, with no call into
/// the nodes inlined beside it (measured on the accumulate bench: 29
/// instructions a fragment more with a field, 10 more with `push` left to
/// the compiler).
pub(crate) struct Gate<'a, D, T, const HOLDS_ALL: bool> {
    pub(crate) next: &'a mut D,
    pub(crate) held: &'a mut VecDeque<Envelope<T>>,
}

impl<D: Push<T>, T: Send, const HOLDS_ALL: bool> Push<T> for Gate<'_, D, T, HOLDS_ALL> {
    #[inline(always)]
    fn push(&mut self, item: Envelope<T>, cx: &mut Context<'_>) {
        if !HOLDS_ALL && self.held.is_empty() && due(&item, cx.now()) {
            self.next.push(item, cx);
        } else if self.held.len() < self.held.capacity() {
            // A store into a slot the queue has, as the batching sender's.
            self.held.push_back(item);
        } else {
            hold_growing(self.held, item);
        }
    }

    // A pull calls only `push` and, to flush (`SourceOutput::flush`),
    // `on_time`; the rest forwards, to be a whole node. Gathering, what it
    // holds was made before the flush, and goes on first.
    fn on_time(&mut self, cx: &mut Context<'_>) {
        if HOLDS_ALL {
            self.next.push_batch(self.held, cx);
        }
        self.next.on_time(cx);
    }

    fn next_deadline(&self, at_end: bool) -> Option<Instant> {
        self.next.next_deadline(at_end)
    }

    fn finish(&mut self, cx: &mut Context<'_>) {
        self.next.finish(cx);
    }

    fn visit(&self, visitor: &mut dyn LedgerVisitor) {
        self.next.visit(visitor);
    }

    fn poll_lifecycle(&mut self, phase: Lifecycle, cx: &mut Context<'_>) -> Poll<Result<(), StageError>> {
        self.next.poll_lifecycle(phase, cx)
    }
}
