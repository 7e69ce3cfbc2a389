//! The one trait every node of an assembled pipeline implements.

use std::collections::VecDeque;

use crate::{Context, Envelope, Instant, LedgerVisitor};

/// A node that receives envelopes pushed from upstream.
///
/// An assembled segment is a nest of `Push` nodes, each owning the node
/// after it (`Map<F, Filter<G, SinkNode<S>>>`), so a segment runs as one
/// monomorphized call path: no box, no channel, no dynamic dispatch per
/// envelope. Builder methods create the nodes; implement `Push` directly
/// only for a stage that needs timers and state (see `flux-accumulate`),
/// and [`Stage`](crate::Stage) otherwise.
///
/// # Contract
///
/// - `push` never blocks and never reads the wall clock; time is `cx.now()`.
/// - A node forwards every call to the node after it: `on_time`, `finish`,
///   `next_deadline` and `visit` reach the whole segment.
/// - At end of input the engine first fires, in order, every deadline
///   `next_deadline(true)` reports (advancing its clock to each), then calls
///   `finish` once; after `finish` it makes no further call.
/// - Every input ends in an output, a diversion through `cx`, or a count in
///   the node's [`StageLedger`](crate::StageLedger).
pub trait Push<T>: Send {
    /// Handles one envelope, pushing any outputs downstream before returning.
    fn push(&mut self, item: Envelope<T>, cx: &mut Context<'_>);

    /// Handles a batch of envelopes received together, taking them from
    /// the front, in order.
    ///
    /// Segments fed by a channel hand each received batch to their first
    /// node here. The effect must be that of pushing the envelopes one by
    /// one, in order (the default does exactly that); a node may override
    /// it to work on the batch as a whole, for instance reading every
    /// envelope's key before looking any up. Envelopes not yet taken when
    /// a panic unwinds out of it stay in `batch`, so the segment can go on
    /// with them: nothing received is dropped unaccounted.
    #[inline]
    fn push_batch(&mut self, batch: &mut VecDeque<Envelope<T>>, cx: &mut Context<'_>) {
        while let Some(item) = batch.pop_front() {
            self.push(item, cx);
        }
    }

    /// Fires the timers due at `cx.now()`, then forwards the call.
    fn on_time(&mut self, cx: &mut Context<'_>);

    /// The earliest deadline of this node and the nodes after it.
    ///
    /// With `at_end` set, only deadlines the engine must wait for after the
    /// source ends (an accumulator told to let its groups time out).
    fn next_deadline(&self, at_end: bool) -> Option<Instant>;

    /// End of input: flushes what the node holds, then forwards the call.
    fn finish(&mut self, cx: &mut Context<'_>);

    /// Reports each stage's ledger, this node first.
    fn visit(&self, visitor: &mut dyn LedgerVisitor);
}

/// Earliest of two optional deadlines.
#[inline]
pub fn earliest(a: Option<Instant>, b: Option<Instant>) -> Option<Instant> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, None) => a,
        (None, b) => b,
    }
}
