//! The last node of a pipeline: hands envelopes to the sink.

use crate::{
    Context, Envelope, ErrorEnvelope, Instant, LedgerVisitor, Position, Push, Sink, StageError, StageId, StageLedger,
};
use core::marker::PhantomData;

/// Writes each envelope to a [`Sink`]; a failed write becomes a dead letter.
pub(crate) struct SinkNode<K, T> {
    pub(crate) sink: K,
    pub(crate) id: StageId,
    pub(crate) ledger: StageLedger,
    pub(crate) _t: PhantomData<fn(T)>,
}

impl<K: Sink<T>, T> Push<T> for SinkNode<K, T> {
    // Always inlined: a fused segment must compile to one loop body.
    #[inline(always)]
    fn push(&mut self, item: Envelope<T>, cx: &mut Context<'_>) {
        match self.sink.write(item, cx) {
            Ok(()) => self.ledger.consumed += 1,
            Err(failed) => {
                let position = Position::Sequence(failed.meta.sequence);
                let error = StageError::new(self.id.clone(), position, failed.cause);
                cx.dead_letter(ErrorEnvelope { meta: failed.meta, error });
            }
        }
    }

    fn on_time(&mut self, _cx: &mut Context<'_>) {}

    fn next_deadline(&self, _at_end: bool) -> Option<Instant> {
        None
    }

    fn finish(&mut self, cx: &mut Context<'_>) {
        if let Err(cause) = self.sink.close(cx) {
            cx.fail(StageError::new(self.id.clone(), Position::None, cause));
        }
    }

    fn visit(&self, visitor: &mut dyn LedgerVisitor) {
        visitor.stage(&self.id, &self.ledger);
    }
}
