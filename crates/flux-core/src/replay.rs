//! A source segment's step when the engine's clock follows event time
//! ([`Context::following_event_time`]): each envelope goes on only once the
//! clock has reached its event time, so a replayed file meets its timers
//! where a live feed would have.

use std::collections::VecDeque;
use std::task::Poll;

use crate::segment::SourceSegment;
use crate::{
    Context, Envelope, Instant, LedgerVisitor, Lifecycle, Pulled, Push, Source, SourceOutput, StageError, Step,
};

/// What a source segment read ahead of the clock.
#[derive(Debug)]
pub(crate) struct Held<T> {
    /// The envelopes a pull made whose event time had not come, and every
    /// one made after them (the source's order is kept), oldest first.
    envelopes: VecDeque<Envelope<T>>,
    /// The source ended while envelopes were held: the segment reports the
    /// end once they have gone on.
    ended: bool,
}

impl<T> Default for Held<T> {
    fn default() -> Self {
        Held { envelopes: VecDeque::new(), ended: false }
    }
}

/// Whether `item` may go on at `now`: it has no event time (which moves no
/// clock), or its event time has come. An earlier one goes on at `now`:
/// the clock never goes back.
fn due<T>(item: &Envelope<T>, now: Instant) -> bool {
    item.meta().event_time.is_none_or(|at| at <= now)
}

/// The instant the oldest held envelope waits for, if it is still to come.
fn waiting_for<T>(held: &VecDeque<Envelope<T>>, now: Instant) -> Option<Instant> {
    held.front().and_then(|item| item.meta().event_time).filter(|at| *at > now)
}

impl<S, D> SourceSegment<S, D>
where
    S: Source,
    S::Item: Send,
    D: Push<S::Item>,
{
    /// One step on event time: what was held and has come goes on first
    /// (no more than the step's budget); the source is pulled only once
    /// nothing is held, through a gate that holds what has not come. A step
    /// that leaves envelopes held waits for the oldest one's event time.
    pub(crate) fn step_on_event_time(&mut self, cx: &mut Context<'_>) -> Step {
        let now = cx.now();
        let (source, head) = self.parked.as_mut().expect("a segment is not stepped re-entrantly");
        let held = &mut self.held;
        if !held.envelopes.is_empty() {
            let mut released = 0;
            while released < cx.budget() && held.envelopes.front().is_some_and(|item| due(item, now)) {
                let item = held.envelopes.pop_front().expect("just looked");
                head.push(item, cx);
                released += 1;
            }
            return match (waiting_for(&held.envelopes, now), held.envelopes.is_empty()) {
                (Some(at), _) => Step::Wait(at),
                (None, false) => Step::Progress,
                (None, true) if held.ended => Step::Exhausted,
                // Pulled again at the next step, which may run at once.
                (None, true) => Step::Progress,
            };
        }
        let budget = cx.budget();
        let mut gate = Gate { next: head, held: &mut held.envelopes };
        let mut out = SourceOutput::tallied(&mut gate, cx, &self.id, &mut self.ledger.created);
        let pulled = source.pull_into(budget, &mut out);
        drop(out);
        let waiting = waiting_for(&held.envelopes, now);
        match (pulled, waiting) {
            (Err(e), _) => Step::Failed(StageError::new(self.id.clone(), e.position, e.cause)),
            (Ok(pulled), Some(at)) => {
                // A wait or a pending wake the source asked for is asked
                // again by the pull after the held envelopes: only the end
                // must be remembered.
                held.ended = pulled == Pulled::End;
                Step::Wait(at)
            }
            (Ok(pulled), None) => super::segment::step_of(pulled),
        }
    }

    /// Hands on whatever is still held, at the clock as it stands: a run
    /// that stops does not wait for event time, and every envelope the
    /// source made reaches the nodes, so the ledger balances.
    pub(crate) fn release_held(&mut self, cx: &mut Context<'_>) {
        let Some((_, head)) = self.parked.as_mut() else { return };
        for item in self.held.envelopes.drain(..) {
            head.push(item, cx);
        }
    }
}

/// The head of a source segment as a pull on event time sees it: an
/// envelope whose time has come goes on, unless an earlier one is held;
/// anything else is held.
struct Gate<'a, D, T> {
    next: &'a mut D,
    held: &'a mut VecDeque<Envelope<T>>,
}

impl<D: Push<T>, T: Send> Push<T> for Gate<'_, D, T> {
    #[inline]
    fn push(&mut self, item: Envelope<T>, cx: &mut Context<'_>) {
        if self.held.is_empty() && due(&item, cx.now()) {
            self.next.push(item, cx);
        } else {
            self.held.push_back(item);
        }
    }

    // A pull calls only `push`; the rest forwards, to be a whole node.
    fn on_time(&mut self, cx: &mut Context<'_>) {
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
