//! `try_map`: a fallible transform whose failures become dead letters.

use core::marker::PhantomData;
use std::error::Error;

use core::task::Poll;

use flux_core::{
    Context, Envelope, ErrorEnvelope, Layer, LedgerVisitor, Lifecycle, PanicGuard, Position, Purity, Push,
    StageDescriptor, StageError, StageId, StageKind,
};

/// The layer built by [`Pipeline::try_map`](crate::Steps::try_map).
pub struct TryMap<F, In> {
    f: F,
    pub(crate) id: StageId,
    _in: PhantomData<fn(In)>,
}

impl<F, In> TryMap<F, In> {
    pub(crate) fn new(f: F, id: StageId) -> Self {
        TryMap { f, id, _in: PhantomData }
    }
}

impl<F, In, Out, E> Layer<In> for TryMap<F, In>
where
    F: FnMut(In) -> Result<Out, E> + Send + 'static,
    In: 'static,
    E: Into<Box<dyn Error + Send + Sync>>,
{
    type Out = Out;
    type Node<D: Push<Out> + 'static> = TryMapNode<F, D>;

    fn descriptor(&self) -> StageDescriptor {
        StageDescriptor::new(self.id.as_str().to_owned(), StageKind::Transform, Purity::Pure)
            .with_types(core::any::type_name::<In>(), core::any::type_name::<Out>())
    }

    fn set_id(&mut self, id: StageId) {
        self.id = id;
    }

    fn into_node<D: Push<Out> + 'static>(self, next: D) -> TryMapNode<F, D> {
        TryMapNode { f: self.f, id: self.id, next }
    }
}

/// The node of a `try_map` stage: an `Err` goes to the dead-letter output
/// with the input's metadata (sequence, key, trace) and the stage's id. A
/// panic goes there too, and stops the run.
pub struct TryMapNode<F, D> {
    f: F,
    pub(crate) id: StageId,
    next: D,
}

impl<F, In, Out, E, D> Push<In> for TryMapNode<F, D>
where
    F: FnMut(In) -> Result<Out, E> + Send,
    E: Into<Box<dyn Error + Send + Sync>>,
    D: Push<Out>,
{
    // Always inlined: a fused segment must compile to one loop body.
    #[inline(always)]
    fn push(&mut self, item: Envelope<In>, cx: &mut Context<'_>) {
        let guard = PanicGuard::new(&self.id, item.meta().sequence);
        // Called through `Envelope::map`, the closure leaves the metadata
        // in the envelope: taken apart before the call, the envelope was
        // copied to the stack around it, 10 instructions a record in the
        // LZ4 job of `cargo xtask bench async` (callgrind).
        let made = item.map(&mut self.f);
        guard.disarm();
        let (made, meta, cost) = made.into_parts();
        match made {
            Ok(out) => self.next.push(Envelope::from_parts(out, meta, cost), cx),
            Err(cause) => {
                let error = StageError::new(self.id.clone(), Position::Sequence(meta.sequence), cause);
                cx.dead_letter(ErrorEnvelope { meta, error });
            }
        }
    }

    forward_to_next!();

    fn visit(&self, visitor: &mut dyn LedgerVisitor) {
        self.next.visit(visitor);
    }
    fn poll_lifecycle(&mut self, phase: Lifecycle, cx: &mut Context<'_>) -> Poll<Result<(), StageError>> {
        self.next.poll_lifecycle(phase, cx)
    }
}
