//! The last node of a pipeline: hands envelopes to the sink, and accounts
//! for every one it gave it.

use crate::{
    Context, Envelope, ErrorEnvelope, Instant, LedgerVisitor, Lifecycle, PanicGuard, Position, Push, Sink, StageError,
    StageId, StageLedger, Undelivered, WriteError, catch_panic, poll_once,
};
use core::marker::PhantomData;
use core::task::Poll;

/// Writes each envelope to a [`Sink`]. A refused write, an accepted
/// envelope the sink later failed to write, and a write that panicked (where
/// the segment catches it) each become a dead letter naming the sink; a
/// sink that cannot go on stops the run.
///
/// Laid out in this order (`repr(C)`) so that the count of accepted
/// envelopes is not next to the sink's own state: a sink that sums
/// (`acc += x`) beside `accepted += 1` in adjacent words had the compiler
/// pack both into one vector register, at an instruction more per envelope
/// written than two scalar adds (callgrind, `docs/BENCHMARKS.md`).
#[repr(C)]
pub(crate) struct SinkNode<K, T> {
    /// Envelopes the sink accepted.
    pub(crate) accepted: u64,
    /// Accepted envelopes the sink handed back as not written.
    pub(crate) undelivered: u64,
    /// Where handed-back envelopes are collected (reused).
    pub(crate) returned: Vec<Undelivered>,
    pub(crate) id: StageId,
    /// Whether the sink's `poll_open` and `poll_close` have been ready.
    pub(crate) opened: bool,
    pub(crate) closed: bool,
    pub(crate) sink: K,
    pub(crate) _t: PhantomData<fn(T)>,
}

impl<K, T> SinkNode<K, T> {
    /// The last node of a pipeline, for `sink` under the stage id `id`.
    pub(crate) fn new(sink: K, id: StageId) -> Self {
        let returned = Vec::new();
        SinkNode { sink, id, accepted: 0, undelivered: 0, returned, opened: false, closed: false, _t: PhantomData }
    }
}

impl<K: Sink<T>, T> SinkNode<K, T> {
    /// Turns what the sink handed back into dead letters, and its stop
    /// into the run's.
    ///
    /// Cold and out of line: a sink that never loses what it accepted
    /// says so through `has_news`, and the write path stays one call and
    /// one branch.
    #[cold]
    #[inline(never)]
    fn collect_undelivered(&mut self, cx: &mut Context<'_>) {
        self.sink.take_undelivered(&mut self.returned);
        for Undelivered { meta, position, cause } in self.returned.drain(..) {
            self.undelivered += 1;
            cx.dead_letter(ErrorEnvelope { meta, error: StageError::new(self.id.clone(), position, cause) });
        }
        if let Some(reason) = self.sink.take_stop() {
            cx.fail(StageError::new(self.id.clone(), Position::None, reason));
        }
    }

    #[cold]
    #[inline(never)]
    /// A write the sink refused: the envelope is a dead letter at the
    /// position the sink gave (its output offset, or the sequence), and a
    /// refusal that says the sink cannot go on stops the run.
    fn refused(&mut self, failed: WriteError, cx: &mut Context<'_>) {
        let (meta, cause, position, stop) = failed.into_parts();
        if let Some(reason) = stop {
            cx.fail(StageError::new(self.id.clone(), position, reason));
        }
        cx.dead_letter(ErrorEnvelope { meta, error: StageError::new(self.id.clone(), position, cause) });
    }
}

impl<K: Sink<T>, T> Push<T> for SinkNode<K, T> {
    // Always inlined: a fused segment must compile to one loop body.
    #[inline(always)]
    fn push(&mut self, item: Envelope<T>, cx: &mut Context<'_>) {
        let guard = PanicGuard::new(&self.id, item.meta().sequence);
        let written = self.sink.write(item, cx);
        guard.disarm();
        // Envelopes handed back came before this one: their dead letters first.
        if self.sink.has_news() {
            self.collect_undelivered(cx);
        }
        match written {
            Ok(()) => self.accepted += 1,
            Err(failed) => self.refused(failed, cx),
        }
    }

    /// The sink's own timer (a buffered sink's linger): what it writes
    /// then, or hands back, is collected as after a write.
    fn on_time(&mut self, cx: &mut Context<'_>) {
        if self.sink.next_deadline().is_none_or(|due| due > cx.now()) {
            return;
        }
        // A panic here concerns no one input: the run stops, naming the sink.
        if let Err(panic) = catch_panic(|| self.sink.on_time(cx)) {
            cx.fail(StageError::new(self.id.clone(), Position::None, panic));
        }
        self.collect_undelivered(cx);
    }

    /// The sink's timer while input flows; none at the end of input, when
    /// closing the sink writes what it holds.
    fn next_deadline(&self, at_end: bool) -> Option<Instant> {
        if at_end { None } else { self.sink.next_deadline() }
    }

    /// Closes the sink, also on a failed run (the engine finishes every
    /// segment before it reports): what the sink still held is written or
    /// handed back, and each envelope handed back is a dead letter. A
    /// close that fails or panics stops the run, naming the sink.
    fn finish(&mut self, cx: &mut Context<'_>) {
        let closed = match catch_panic(|| self.sink.close(cx)) {
            Ok(closed) => closed.map_err(|cause| StageError::new(self.id.clone(), Position::None, cause)),
            Err(panic) => Err(StageError::new(self.id.clone(), Position::None, panic)),
        };
        if let Err(error) = closed {
            cx.fail(error);
        }
        self.collect_undelivered(cx);
    }

    /// `consumed` is what the sink accepted, less what it handed back and
    /// what it still holds: an envelope counts as written only once the
    /// sink no longer holds it.
    fn visit(&self, visitor: &mut dyn LedgerVisitor) {
        let consumed = self.accepted.saturating_sub(self.undelivered).saturating_sub(self.sink.held());
        visitor.stage(&self.id, &StageLedger { consumed, ..StageLedger::default() });
    }

    fn poll_lifecycle(&mut self, phase: Lifecycle, cx: &mut Context<'_>) -> Poll<Result<(), StageError>> {
        let (sink, id) = (&mut self.sink, &self.id);
        let done = match phase {
            Lifecycle::Open => &mut self.opened,
            Lifecycle::Close => &mut self.closed,
            // A sink writes within `consume`: nothing in flight between calls.
            Lifecycle::Accept | Lifecycle::Settle => return Poll::Ready(Ok(())),
        };
        poll_once(done, || {
            let polled = match phase {
                Lifecycle::Open => sink.poll_open(cx),
                _ => sink.poll_close(cx),
            };
            polled.map_err(|cause| StageError::new(id.clone(), Position::None, cause))
        })
    }
}
