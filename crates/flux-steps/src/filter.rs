//! `filter`: keep the envelopes a predicate accepts, count the rest.

use core::marker::PhantomData;

use crate::Predicate;
use core::task::Poll;

use flux_core::{
    Context, Envelope, Layer, LedgerVisitor, Lifecycle, PanicGuard, Purity, Push, StageDescriptor, StageError, StageId,
    StageKind, StageLedger,
};

/// The layer built by [`Pipeline::filter`](crate::Steps::filter) and
/// [`Pipeline::filter_with_meta`](crate::Steps::filter_with_meta).
pub struct Filter<F, T> {
    f: F,
    pub(crate) id: StageId,
    _t: PhantomData<fn(T)>,
}

impl<F, T> Filter<F, T> {
    pub(crate) fn new(f: F, id: StageId) -> Self {
        Filter { f, id, _t: PhantomData }
    }
}

impl<F, T> Layer<T> for Filter<F, T>
where
    F: Predicate<T> + 'static,
    T: 'static,
{
    type Out = T;
    type Node<D: Push<T> + 'static> = FilterNode<F, D>;

    fn descriptor(&self) -> StageDescriptor {
        let t = core::any::type_name::<T>();
        StageDescriptor::new(self.id.as_str().to_owned(), StageKind::Transform, Purity::Pure).with_types(t, t)
    }

    fn set_id(&mut self, id: StageId) {
        self.id = id;
    }

    fn into_node<D: Push<T> + 'static>(self, next: D) -> FilterNode<F, D> {
        FilterNode { f: self.f, id: self.id, next, ledger: StageLedger::default() }
    }
}

/// The node of a `filter` stage: a rejected envelope is a counted policy
/// drop. A panic in the predicate is caught: the input is a dead letter
/// and the run stops.
pub struct FilterNode<F, D> {
    f: F,
    pub(crate) id: StageId,
    next: D,
    ledger: StageLedger,
}

impl<F, T, D> Push<T> for FilterNode<F, D>
where
    F: Predicate<T>,
    D: Push<T>,
{
    // Always inlined: a fused segment must compile to one loop body.
    #[inline(always)]
    fn push(&mut self, item: Envelope<T>, cx: &mut Context<'_>) {
        let guard = PanicGuard::new(&self.id, item.meta().sequence);
        let keep = self.f.test(item.payload(), item.meta());
        guard.disarm();
        if keep {
            self.next.push(item, cx);
        } else {
            self.ledger.dropped += 1;
        }
    }

    forward_to_next!();

    fn visit(&self, visitor: &mut dyn LedgerVisitor) {
        visitor.stage(&self.id, &self.ledger);
        self.next.visit(visitor);
    }
    fn poll_lifecycle(&mut self, phase: Lifecycle, cx: &mut Context<'_>) -> Poll<Result<(), StageError>> {
        self.next.poll_lifecycle(phase, cx)
    }
}
