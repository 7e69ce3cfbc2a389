//! The one trait every node of an assembled pipeline implements.

use std::collections::VecDeque;

use core::task::Poll;

use crate::{Context, Envelope, Instant, LedgerVisitor, StageError};

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
/// - A node that calls user code guards the call with a
///   [`PanicGuard`](crate::PanicGuard) (or catches it with
///   [`catch_panic`](crate::catch_panic)), so that a panic is settled at
///   the stage it came from: the input a dead letter, the run stopped.
///
/// A layer makes its node in [`Layer::into_node`](crate::Layer::into_node);
/// the node owns everything after it, and is moved to the thread that runs
/// its segment (hence `Send`).
///
/// # Examples
///
/// A node that drops an envelope equal to the one before it, driven by
/// hand as an engine drives a segment:
///
/// ```
/// use flux_core::{Context, Envelope, Instant, LedgerVisitor, Push, StageId, StageLedger};
/// use flux_test::Diverted;
///
/// struct SkipRepeats<D> {
///     id: StageId,
///     last: Option<u32>,
///     ledger: StageLedger,
///     next: D,
/// }
///
/// impl<D: Push<u32>> Push<u32> for SkipRepeats<D> {
///     fn push(&mut self, item: Envelope<u32>, cx: &mut Context<'_>) {
///         if self.last == Some(*item.payload()) {
///             self.ledger.dropped += 1; // accounted for: counted, not passed on
///             return;
///         }
///         self.last = Some(*item.payload());
///         self.next.push(item, cx);
///     }
///     // No timers of its own: each call only passes through.
///     fn on_time(&mut self, cx: &mut Context<'_>) {
///         self.next.on_time(cx);
///     }
///     fn next_deadline(&self, at_end: bool) -> Option<Instant> {
///         self.next.next_deadline(at_end)
///     }
///     fn finish(&mut self, cx: &mut Context<'_>) {
///         self.next.finish(cx);
///     }
///     fn visit(&self, visitor: &mut dyn LedgerVisitor) {
///         visitor.stage(&self.id, &self.ledger);
///         self.next.visit(visitor);
///     }
///    fn poll_lifecycle(&mut self, phase: flux_core::Lifecycle, cx: &mut Context<'_>) -> std::task::Poll<Result<(), flux_core::StageError>> {
///        self.next.poll_lifecycle(phase, cx)
///    }
/// }
///
/// /// The end of the segment: keeps the payloads that reach it.
/// struct Keep(Vec<u32>);
///
/// impl Push<u32> for Keep {
///     fn push(&mut self, item: Envelope<u32>, _cx: &mut Context<'_>) {
///         self.0.push(item.into_payload());
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
/// let id = StageId::from_static("skip-repeats");
/// let mut node = SkipRepeats { id, last: None, ledger: StageLedger::default(), next: Keep(Vec::new()) };
/// let mut diverted = Diverted::default();
/// let mut cx = Context::new(Instant::ZERO, &mut diverted);
/// for n in [1, 1, 2, 2, 2, 1] {
///     node.push(Envelope::new(n), &mut cx);
/// }
/// node.finish(&mut cx);
///
/// assert_eq!(node.next.0, [1, 2, 1]);
/// let mut dropped = 0;
/// node.visit(&mut |_: &StageId, ledger: &StageLedger| dropped += ledger.dropped);
/// assert_eq!(dropped, 3, "six in: three out, three dropped");
/// ```
pub trait Push<T>: Send {
    /// Handles one envelope, pushing any outputs downstream before returning.
    ///
    /// The node owns `item` from here: it passes it (or what it becomes)
    /// to the next node, diverts it through `cx`, or counts it in its
    /// ledger. Calls come one at a time, in the order the envelopes
    /// arrived.
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

    /// Whether this node would rather take what a source fused before it
    /// pulls in one step as a batch ([`Push::push_batch`]) than envelope by
    /// envelope.
    ///
    /// Asked once per step by a source segment. Answer `true` only for a
    /// node that works on a batch as a whole (the accumulating stage reads
    /// every key of a batch before it looks any up): every other node is
    /// faster fed one envelope at a time, which stays in registers instead
    /// of being written to a batch and read back.
    #[inline]
    fn takes_source_batches(&self) -> bool {
        false
    }

    /// Fires the timers due at `cx.now()`, then forwards the call.
    ///
    /// The engine calls it when its clock reaches the earliest deadline
    /// the segment reported, and may call it when nothing is due (the
    /// sync engine calls it on every segment before it moves its clock, and
    /// a source calls it through [`SourceOutput::flush`](crate::SourceOutput::flush),
    /// so that a boundary sends its half-full batch): fire only what is due.
    fn on_time(&mut self, cx: &mut Context<'_>);

    /// The earliest deadline of this node and the nodes after it.
    ///
    /// With `at_end` set, only deadlines the engine must wait for after the
    /// source ends (an accumulator told to let its groups time out).
    ///
    /// The engine asks between steps to decide how far it may move its
    /// clock, so keep it cheap. Combine this node's deadline with the next
    /// node's using [`earliest`]. Once [`Push::on_time`] has run at a
    /// deadline, it must not be reported again at the same instant (the
    /// sync engine stops the run on a timer that stays due).
    fn next_deadline(&self, at_end: bool) -> Option<Instant>;

    /// End of input: flushes what the node holds, then forwards the call.
    ///
    /// Called once, when the segment's input has ended and the deadlines
    /// reported with `at_end` have fired; also when a run stops early (then
    /// without waiting for timers), so a stopped run still flushes or
    /// counts what each node held. Flush before forwarding, so that what
    /// this node emits still reaches the nodes after it before they finish.
    fn finish(&mut self, cx: &mut Context<'_>);

    /// Reports each stage's ledger, this node first.
    ///
    /// A node that stands for a stage reports one row under its id, then
    /// forwards the call; a node that is not a stage (a boundary's sender)
    /// reports nothing. Engines call it when they take the ledger, at stop.
    fn visit(&self, visitor: &mut dyn LedgerVisitor);

    /// Gets this node, then the nodes after it, through `phase`: opened
    /// before the first envelope, closed after [`Push::finish`].
    ///
    /// The engine polls until `Ready`; on `Pending` it waits until
    /// `cx.waker()` is woken (a connection that is still being made), and
    /// no envelope reaches the segment meanwhile. A node with nothing of
    /// its own to open or close forwards the call; one that stands for a
    /// user's stage or sink polls it first, once it is ready not again.
    /// An error stops the run, naming the stage.
    fn poll_lifecycle(&mut self, phase: Lifecycle, cx: &mut Context<'_>) -> Poll<Result<(), StageError>>;
}

/// Where a node is in its life, as [`Push::poll_lifecycle`] asks: what
/// may take waiting on the outside world before the first envelope and
/// after the last (connecting to a database, flushing to it), and work a
/// node keeps in flight in between (an async map's futures).
///
/// `Accept` and `Settle` are asked again and again, not once: each call
/// moves the node's work in flight on (pushing what completed to the next
/// node) and says whether the node can take input, or holds none. A node
/// with no work of its own forwards them as it forwards the others; one
/// that has such work polls it, then forwards the call even when its own
/// answer is `Pending`, so that the nodes after it progress too, and
/// answers `Pending` if either is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Lifecycle {
    /// Before the first envelope: connect, prepare.
    Open,
    /// Before the engine pushes more input into a segment whose last
    /// `Settle` was pending: ready once the node can take input. Until
    /// then the engine pushes nothing and polls again when `cx.waker()` is
    /// woken, so what a node holds stays bounded.
    Accept,
    /// After the engine called into the segment, and whenever the waker is
    /// woken: ready once the node holds no work in flight. Engines poll it
    /// while the segment waits (for input, or for room downstream), so
    /// work in flight keeps moving; and until it is ready before
    /// [`Push::finish`], unless the run stops at once.
    Settle,
    /// After the last ([`Push::finish`] has run): wait for what closing
    /// started, a flush or a commit.
    Close,
}

/// Polls one step of a lifecycle once: `poll` runs until it is ready,
/// then `done` remembers it, so a later call (the nodes after it were
/// still pending) does not run it again.
///
/// # Errors
///
/// What `poll` failed with.
pub fn poll_once(done: &mut bool, poll: impl FnOnce() -> Poll<Result<(), StageError>>) -> Poll<Result<(), StageError>> {
    if !*done {
        match poll() {
            Poll::Ready(Ok(())) => *done = true,
            other => return other,
        }
    }
    Poll::Ready(Ok(()))
}

/// The envelopes of a batch being pushed ([`Push::push_batch`]), taken out
/// of the segment's queue so that they are walked as fast as a `Vec`.
/// Dropped (at the end of the batch, or while a panic unwinds through the
/// node), it gives the envelopes not yet taken back to the queue, so the
/// segment can go on with them: nothing it received is lost. When every
/// envelope was taken, it gives back the emptied buffer instead, so that
/// the engine can fill it with another batch.
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
///
/// let walked: Vec<u32> = BatchRest::take(&mut queue).map(Envelope::into_payload).collect();
/// assert_eq!(walked, [1, 2, 3]);
/// assert!(queue.is_empty() && queue.capacity() >= 3, "the emptied buffer came back");
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
        if self.home.is_empty() {
            // Every envelope was taken: the queue gets the walked buffer
            // back, empty, so the engine can reuse it for another batch. An
            // exhausted `vec::IntoIter` collected in place into a `Vec` of
            // its own type keeps its allocation (std's in-place collection;
            // `flux-engine-sync`'s allocation test would show it if not).
            let walked = core::mem::replace(&mut self.items, Vec::new().into_iter());
            *self.home = walked.filter(|_| false).collect::<Vec<_>>().into();
        }
    }
}

/// Earliest of two optional deadlines: `None` is "no deadline", not the
/// earliest time.
///
/// What a node's [`Push::next_deadline`] returns for its own deadline and
/// the next node's.
///
/// ```
/// use flux_core::{Instant, earliest};
///
/// let (soon, later) = (Instant::from_secs(1), Instant::from_secs(9));
/// assert_eq!(earliest(Some(later), Some(soon)), Some(soon));
/// assert_eq!(earliest(None, Some(later)), Some(later));
/// assert_eq!(earliest(None, None), None);
/// ```
#[inline]
pub fn earliest(a: Option<Instant>, b: Option<Instant>) -> Option<Instant> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, None) => a,
        (None, b) => b,
    }
}
