//! `flat_map`: zero, one or many outputs per input, emitted as they come.

use core::marker::PhantomData;

use core::task::Poll;

use flux_core::{
    Context, Envelope, Layer, LedgerVisitor, Lifecycle, PanicGuard, Purity, Push, StageDescriptor, StageError, StageId,
    StageKind, StageLedger,
};

/// The layer built by [`Pipeline::flat_map`](crate::Steps::flat_map).
pub struct FlatMap<F, In> {
    f: F,
    pub(crate) id: StageId,
    _in: PhantomData<fn(In)>,
}

impl<F, In> FlatMap<F, In> {
    pub(crate) fn new(f: F, id: StageId) -> Self {
        FlatMap { f, id, _in: PhantomData }
    }
}

impl<F, In, I> Layer<In> for FlatMap<F, In>
where
    F: FnMut(In) -> I + Send + 'static,
    In: 'static,
    I: IntoIterator,
{
    type Out = I::Item;
    type Node<D: Push<I::Item> + 'static> = FlatMapNode<F, D>;

    fn descriptor(&self) -> StageDescriptor {
        StageDescriptor::new(self.id.as_str().to_owned(), StageKind::Transform, Purity::Pure)
            .with_types(core::any::type_name::<In>(), core::any::type_name::<I::Item>())
    }

    fn set_id(&mut self, id: StageId) {
        self.id = id;
    }

    fn into_node<D: Push<I::Item> + 'static>(self, next: D) -> FlatMapNode<F, D> {
        FlatMapNode { f: self.f, id: self.id, next, ledger: StageLedger::default() }
    }
}

/// The node of a `flat_map` stage. Every output keeps the input's metadata;
/// an input with no output is a counted drop, each output past the first a
/// counted creation.
///
/// A panic in the closure or its iterator stops the run. Before the first
/// output, the input becomes a dead letter; after it, the input is
/// accounted for by the outputs already made.
pub struct FlatMapNode<F, D> {
    f: F,
    pub(crate) id: StageId,
    next: D,
    ledger: StageLedger,
}

impl<F, In, I, D> Push<In> for FlatMapNode<F, D>
where
    F: FnMut(In) -> I + Send,
    I: IntoIterator,
    D: Push<I::Item>,
{
    // Always inlined: a fused segment must compile to one loop body.
    #[inline(always)]
    fn push(&mut self, item: Envelope<In>, cx: &mut Context<'_>) {
        let (payload, meta, cost) = item.into_parts();
        let guard = PanicGuard::new(&self.id, meta.sequence);
        let mut outputs = (self.f)(payload).into_iter();
        let first = outputs.next();
        guard.disarm();
        let Some(mut current) = first else {
            self.ledger.dropped += 1;
            return;
        };
        // Clone the metadata for every output but the last, which takes it.
        // The first output pushed accounts for the input; each one after it
        // is counted as made here.
        let mut pushed = 0u64;
        loop {
            let guard = PanicGuard::accounted(&self.id, meta.sequence, pushed > 0);
            let following = outputs.next();
            guard.disarm();
            let Some(following) = following else { break };
            let out = core::mem::replace(&mut current, following);
            // Counted before the push: an output a later node panics on
            // was made here all the same.
            self.ledger.created += u64::from(pushed > 0);
            pushed += 1;
            self.next.push(Envelope::from_parts(out, meta.clone(), cost), cx);
        }
        self.ledger.created += u64::from(pushed > 0);
        self.next.push(Envelope::from_parts(current, meta, cost), cx);
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
