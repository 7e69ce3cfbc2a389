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
    ///
    /// Take the envelopes with [`BatchRest`]: it walks them as fast as a
    /// `Vec`, and gives back what was not taken if a panic unwinds.
    #[inline]
    fn push_batch(&mut self, batch: &mut VecDeque<Envelope<T>>, cx: &mut Context<'_>) {
        for item in BatchRest::take(batch) {
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

/// The envelopes of a batch being pushed ([`Push::push_batch`]), taken out
/// of the segment's queue so that they are walked as fast as a `Vec`.
/// Dropped (at the end of the batch, or while a panic unwinds through the
/// node), it gives the envelopes not yet taken back to the queue, so the
/// segment can go on with them: nothing it received is lost.
///
/// # Examples
///
/// ```
/// use std::collections::VecDeque;
/// use flux_core::{BatchRest, Envelope};
///
/// let mut queue: VecDeque<_> = (0..4).map(Envelope::new).collect();
/// let mut rest = BatchRest::take(&mut queue);
/// assert_eq!(rest.as_slice().len(), 4);
/// assert_eq!(rest.next().map(Envelope::into_payload), Some(0));
/// drop(rest);
/// assert_eq!(queue.len(), 3, "what was not taken went back");
/// ```
#[derive(Debug)]
pub struct BatchRest<'a, T> {
    items: std::vec::IntoIter<Envelope<T>>,
    home: &'a mut VecDeque<Envelope<T>>,
}

impl<'a, T> BatchRest<'a, T> {
    /// Takes every envelope out of `batch` (no copy: the queue's buffer
    /// becomes the walked one).
    #[inline]
    pub fn take(batch: &'a mut VecDeque<Envelope<T>>) -> Self {
        let items: Vec<_> = core::mem::take(batch).into();
        BatchRest { items: items.into_iter(), home: batch }
    }

    /// The envelopes not yet taken.
    #[inline]
    pub fn as_slice(&self) -> &[Envelope<T>] {
        self.items.as_slice()
    }
}

impl<T> Iterator for BatchRest<'_, T> {
    type Item = Envelope<T>;

    #[inline(always)]
    fn next(&mut self) -> Option<Envelope<T>> {
        self.items.next()
    }
}

impl<T> Drop for BatchRest<'_, T> {
    #[inline]
    fn drop(&mut self) {
        self.home.extend(self.items.by_ref());
    }
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
