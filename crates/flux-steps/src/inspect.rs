//! `inspect`: look at each envelope as it passes.

use core::marker::PhantomData;

use core::task::Poll;

use flux_core::{
    Context, Envelope, Layer, LedgerVisitor, Lifecycle, PanicGuard, Purity, Push, StageDescriptor, StageError, StageId,
    StageKind,
};

/// The layer built by [`Pipeline::inspect`](crate::Steps::inspect).
pub struct Inspect<F, T> {
    f: F,
    pub(crate) id: StageId,
    _t: PhantomData<fn(T)>,
}

impl<F, T> Inspect<F, T> {
    pub(crate) fn new(f: F, id: StageId) -> Self {
        Inspect { f, id, _t: PhantomData }
    }
}

impl<F, T> Layer<T> for Inspect<F, T>
where
    F: FnMut(&Envelope<T>) + Send + 'static,
    T: 'static,
{
    type Out = T;
    type Node<D: Push<T> + 'static> = InspectNode<F, D>;

    fn descriptor(&self) -> StageDescriptor {
        let t = core::any::type_name::<T>();
        StageDescriptor::new(self.id.as_str().to_owned(), StageKind::Transform, Purity::Pure).with_types(t, t)
    }

    fn set_id(&mut self, id: StageId) {
        self.id = id;
    }

    fn into_node<D: Push<T> + 'static>(self, next: D) -> InspectNode<F, D> {
        InspectNode { f: self.f, id: self.id, next }
    }
}

/// The node of an `inspect` stage. A panic in the closure is caught: the
/// input is a dead letter and the run stops.
pub struct InspectNode<F, D> {
    f: F,
    pub(crate) id: StageId,
    next: D,
}

impl<F, T, D> Push<T> for InspectNode<F, D>
where
    F: FnMut(&Envelope<T>) + Send,
    D: Push<T>,
{
    // Always inlined: a fused segment must compile to one loop body.
    #[inline(always)]
    fn push(&mut self, item: Envelope<T>, cx: &mut Context<'_>) {
        let guard = PanicGuard::new(&self.id, item.meta().sequence);
        (self.f)(&item);
        guard.disarm();
        self.next.push(item, cx);
    }

    forward_to_next!();

    fn visit(&self, visitor: &mut dyn LedgerVisitor) {
        self.next.visit(visitor);
    }
    fn poll_lifecycle(&mut self, phase: Lifecycle, cx: &mut Context<'_>) -> Poll<Result<(), StageError>> {
        self.next.poll_lifecycle(phase, cx)
    }
}
