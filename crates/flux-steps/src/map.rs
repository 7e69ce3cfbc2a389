//! `map`: one output per input, metadata kept.

use core::marker::PhantomData;

use crate::Transform;
use core::task::Poll;

use flux_core::{
    Context, Envelope, Layer, LedgerVisitor, Lifecycle, PanicGuard, Purity, Push, StageDescriptor, StageError, StageId,
    StageKind,
};

/// The layer built by [`Pipeline::map`](crate::Steps::map) and
/// [`Pipeline::map_with_meta`](crate::Steps::map_with_meta).
pub struct Map<F, In> {
    f: F,
    pub(crate) id: StageId,
    _in: PhantomData<fn(In)>,
}

impl<F, In> Map<F, In> {
    pub(crate) fn new(f: F, id: StageId) -> Self {
        Map { f, id, _in: PhantomData }
    }
}

impl<F, In> Layer<In> for Map<F, In>
where
    F: Transform<In> + 'static,
    In: 'static,
{
    type Out = F::Out;
    type Node<D: Push<F::Out> + 'static> = MapNode<F, D>;

    fn descriptor(&self) -> StageDescriptor {
        StageDescriptor::new(self.id.as_str().to_owned(), StageKind::Transform, Purity::Pure)
            .with_types(core::any::type_name::<In>(), core::any::type_name::<F::Out>())
    }

    fn set_id(&mut self, id: StageId) {
        self.id = id;
    }

    fn into_node<D: Push<F::Out> + 'static>(self, next: D) -> MapNode<F, D> {
        MapNode { f: self.f, id: self.id, next }
    }
}

/// The node of a `map` stage. It counts nothing: one in, one out. A panic
/// in the closure is settled where the segment catches it: the input is a
/// dead letter and the run stops.
pub struct MapNode<F, D> {
    f: F,
    pub(crate) id: StageId,
    next: D,
}

impl<F, In, D> Push<In> for MapNode<F, D>
where
    F: Transform<In>,
    D: Push<F::Out>,
{
    // Always inlined: a fused segment must compile to one loop body.
    #[inline(always)]
    fn push(&mut self, item: Envelope<In>, cx: &mut Context<'_>) {
        let (payload, meta, cost) = item.into_parts();
        let guard = PanicGuard::new(&self.id, meta.sequence);
        let out = self.f.apply(payload, &meta);
        guard.disarm();
        self.next.push(Envelope::from_parts(out, meta, cost), cx);
    }

    forward_to_next!();

    fn visit(&self, visitor: &mut dyn LedgerVisitor) {
        self.next.visit(visitor);
    }
    fn poll_lifecycle(&mut self, phase: Lifecycle, cx: &mut Context<'_>) -> Poll<Result<(), StageError>> {
        self.next.poll_lifecycle(phase, cx)
    }
}
