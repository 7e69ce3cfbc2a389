//! The typed list of layers between a source and a sink.

use core::marker::PhantomData;

use crate::segment::ChannelSegment;
use crate::{BatchingSender, Channels, ExecutionPlan, Junction, Layer, Link, Push, Segment, StageDescriptor, StageId};

/// A typed run of layers from `In` to [`Chain::Out`], built by nesting.
///
/// `Identity` is the empty chain; `Stack<Inner, L>` is `Inner` followed by
/// `L`. The compiler checks at each builder call that a layer accepts what
/// the chain before it emits, which is how type continuity is proved
/// without any run-time type information. Users do not implement this trait.
pub trait Chain<In>: Send + 'static {
    /// What the chain emits.
    type Out;
    /// The assembled head node in front of a downstream `D`.
    type Head<D: Push<Self::Out> + 'static>: Push<In> + 'static;
    /// Number of layers.
    const LEN: usize;

    /// Appends each layer's descriptor, in order.
    fn describe(&self, out: &mut Vec<StageDescriptor>);

    /// Renames the last layer; false when the chain is empty.
    fn rename_last(&mut self, id: StageId) -> bool;

    /// Wraps the chain around `next`, cutting it wherever the plan says.
    fn assemble<D, C>(self, next: D, assembler: &mut Assembler<'_, C>) -> Self::Head<D>
    where
        D: Push<Self::Out> + 'static,
        C: Channels;
}

/// The empty chain.
pub struct Identity<T>(PhantomData<fn(T)>);

impl<T> Identity<T> {
    pub(crate) fn new() -> Self {
        Identity(PhantomData)
    }
}

impl<T: 'static> Chain<T> for Identity<T> {
    type Out = T;
    type Head<D: Push<T> + 'static> = D;
    const LEN: usize = 0;

    fn describe(&self, _out: &mut Vec<StageDescriptor>) {}

    fn rename_last(&mut self, _id: StageId) -> bool {
        false
    }

    fn assemble<D: Push<T> + 'static, C: Channels>(self, next: D, _assembler: &mut Assembler<'_, C>) -> D {
        next
    }
}

/// A chain followed by one more layer.
pub struct Stack<Inner, L> {
    inner: Inner,
    layer: L,
}

impl<Inner, L> Stack<Inner, L> {
    pub(crate) fn new(inner: Inner, layer: L) -> Self {
        Stack { inner, layer }
    }
}

impl<In, Inner, L> Chain<In> for Stack<Inner, L>
where
    In: 'static,
    Inner: Chain<In>,
    Inner::Out: Send + 'static,
    L: Layer<Inner::Out>,
{
    type Out = L::Out;
    type Head<D: Push<L::Out> + 'static> = Inner::Head<Link<L::Node<D>, Inner::Out>>;
    const LEN: usize = Inner::LEN + 1;

    fn describe(&self, out: &mut Vec<StageDescriptor>) {
        self.inner.describe(out);
        out.push(self.layer.descriptor());
    }

    fn rename_last(&mut self, id: StageId) -> bool {
        self.layer.set_id(id);
        true
    }

    fn assemble<D, C>(self, next: D, assembler: &mut Assembler<'_, C>) -> Self::Head<D>
    where
        D: Push<L::Out> + 'static,
        C: Channels,
    {
        let node = self.layer.into_node(next);
        // This layer is stage `Inner::LEN + 1`; the junction in front of it
        // has the index of the stage before it.
        let link = assembler.link(Inner::LEN, node);
        self.inner.assemble(link, assembler)
    }
}

/// Builds the segments of a pipeline from its plan, sink first.
pub struct Assembler<'a, C> {
    plan: &'a ExecutionPlan,
    channels: &'a mut C,
    segments: Vec<Box<dyn Segment>>,
}

impl<'a, C: Channels> Assembler<'a, C> {
    pub(crate) fn new(plan: &'a ExecutionPlan, channels: &'a mut C) -> Self {
        Assembler { plan, channels, segments: Vec::new() }
    }

    /// Joins `node` to the stage before it as the plan says: fused, or the
    /// start of a new segment fed by a channel.
    pub(crate) fn link<D, T>(&mut self, junction: usize, node: D) -> Link<D, T>
    where
        D: Push<T> + 'static,
        T: Send + 'static,
    {
        match self.plan.junctions[junction] {
            Junction::Fused => Link::Fused(node),
            Junction::Boundary(edge) => {
                let (tx, rx) = self.channels.open::<T>(junction, &edge);
                self.segments.push(Box::new(ChannelSegment { rx, head: node, first_stage: junction + 1 }));
                Link::Cut(BatchingSender::new(tx, edge.batch_size))
            }
        }
    }

    pub(crate) fn finish(mut self, source_segment: Box<dyn Segment>) -> Vec<Box<dyn Segment>> {
        self.segments.push(source_segment);
        self.segments.reverse();
        self.segments
    }
}
