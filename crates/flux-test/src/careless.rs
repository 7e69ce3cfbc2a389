//! A user node that panics without saying where: what a hand-written
//! `Push` node does when it does not guard its calls.

use core::marker::PhantomData;

use flux_core::{Context, Envelope, Instant, Layer, LedgerVisitor, Purity, Push, StageDescriptor, StageId, StageKind};

use crate::Tripwire;

/// A step (added with `Pipeline::layer`) whose node passes every envelope
/// on and panics on a chosen push, without a
/// [`PanicGuard`](flux_core::PanicGuard): no node claims the panic, so the
/// engine must stop the run naming the segment, leave the segment alone,
/// and still finish the others. It is stateful, so it starts a segment of
/// its own under the default planner. It keeps no ledger row: what it
/// passed on before the panic is in its segment's half-full batch, and the
/// ledger reports that loss.
///
/// # Examples
///
/// ```
/// use flux_core::{Layer, StageKind};
/// use flux_test::PanicInNode;
///
/// let layer = PanicInNode::<u32>::at(3);
/// assert_eq!(layer.descriptor().id.as_str(), "careless");
/// assert_eq!(layer.descriptor().kind, StageKind::Transform);
/// ```
#[derive(Debug)]
pub struct PanicInNode<T> {
    id: StageId,
    at: u64,
    _item: PhantomData<fn(T)>,
}

impl<T> PanicInNode<T> {
    /// Panics on push number `at`, counting from zero. The stage's id is
    /// `careless` until it is named.
    pub fn at(at: u64) -> Self {
        PanicInNode { id: StageId::from_static("careless"), at, _item: PhantomData }
    }
}

impl<T: Send + 'static> Layer<T> for PanicInNode<T> {
    type Out = T;
    type Node<D: Push<T> + 'static> = CarelessNode<D>;

    fn descriptor(&self) -> StageDescriptor {
        let types = (core::any::type_name::<T>(), core::any::type_name::<T>());
        StageDescriptor::new(self.id.as_str().to_owned(), StageKind::Transform, Purity::Stateful)
            .with_types(types.0, types.1)
    }

    fn set_id(&mut self, id: StageId) {
        self.id = id;
    }

    fn into_node<D: Push<T> + 'static>(self, next: D) -> CarelessNode<D> {
        CarelessNode { next, trip: Tripwire::at(self.at) }
    }
}

/// The node of [`PanicInNode`].
#[derive(Debug)]
pub struct CarelessNode<D> {
    next: D,
    trip: Tripwire,
}

impl<T, D: Push<T>> Push<T> for CarelessNode<D> {
    fn push(&mut self, item: Envelope<T>, cx: &mut Context<'_>) {
        self.trip.check();
        self.next.push(item, cx);
    }

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
    fn poll_lifecycle(
        &mut self,
        phase: flux_core::Lifecycle,
        cx: &mut Context<'_>,
    ) -> core::task::Poll<Result<(), flux_core::StageError>> {
        self.next.poll_lifecycle(phase, cx)
    }
}
