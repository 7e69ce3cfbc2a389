//! `split_key`: each payload split into its key and the payload that goes
//! on, the key moved into the metadata rather than copied out of the payload.
//!
//! A node of its own rather than a `map` whose closure is handed the
//! metadata mutably: written that way (the `Transform` trait taking
//! `&mut Meta`), the LZ4 job of `cargo xtask bench async` counted 15
//! instructions a record more under callgrind, the metadata kept in
//! memory around the closure.

use core::marker::PhantomData;

use core::task::Poll;

use flux_core::{
    Context, Envelope, Layer, LedgerVisitor, Lifecycle, PanicGuard, Purity, Push, StageDescriptor, StageError, StageId,
    StageKind,
};

use crate::{IntoKey, KeyText};

/// The layer built by [`Pipeline::split_key`](crate::Steps::split_key).
pub struct SplitKey<F, In> {
    f: F,
    pub(crate) id: StageId,
    _in: PhantomData<fn(In)>,
}

impl<F, In> SplitKey<F, In> {
    pub(crate) fn new(f: F, id: StageId) -> Self {
        SplitKey { f, id, _in: PhantomData }
    }
}

impl<F, In, K, Out> Layer<In> for SplitKey<F, In>
where
    F: FnMut(In) -> (K, Out) + Send + 'static,
    K: IntoKey,
    In: 'static,
{
    type Out = Out;
    type Node<D: Push<Out> + 'static> = SplitKeyNode<F, D>;

    fn descriptor(&self) -> StageDescriptor {
        StageDescriptor::new(self.id.as_str().to_owned(), StageKind::Transform, Purity::Pure)
            .with_types(core::any::type_name::<In>(), core::any::type_name::<Out>())
    }

    fn set_id(&mut self, id: StageId) {
        self.id = id;
    }

    fn into_node<D: Push<Out> + 'static>(self, next: D) -> SplitKeyNode<F, D> {
        SplitKeyNode { f: self.f, id: self.id, text: KeyText::default(), next }
    }
}

/// The node of a `split_key` stage: one in, one out, the key set from what
/// the closure split off. A panic in the closure is settled where the
/// segment catches it: the input is a dead letter and the run stops.
pub struct SplitKeyNode<F, D> {
    f: F,
    pub(crate) id: StageId,
    /// Where integer keys are copied (see [`KeyText`]).
    text: KeyText,
    next: D,
}

impl<F, In, K, Out, D> Push<In> for SplitKeyNode<F, D>
where
    F: FnMut(In) -> (K, Out) + Send,
    K: IntoKey,
    D: Push<Out>,
{
    // Always inlined: a fused segment must compile to one loop body.
    #[inline(always)]
    fn push(&mut self, item: Envelope<In>, cx: &mut Context<'_>) {
        let (payload, mut meta, cost) = item.into_parts();
        let guard = PanicGuard::new(&self.id, meta.sequence);
        let (key, out) = (self.f)(payload);
        let key = key.into_key_in(&mut self.text);
        guard.disarm();
        meta.key = Some(key);
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
