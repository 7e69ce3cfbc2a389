//! The typed list of layers between a source and a sink, and how it is
//! assembled into segments.

use core::fmt;
use core::marker::PhantomData;

use crate::segment::ChannelSegment;
use crate::{
    BatchingSender, Channels, EdgeSpec, ExecutionPlan, Junction, Layer, Push, Segment, StageDescriptor, StageId,
};

/// A typed run of layers from `In` to [`Chain::Out`], built by nesting.
///
/// `Identity` is the empty chain; `Stack<Inner, L>` is `Inner` followed by
/// `L`. The compiler checks at each builder call that a layer accepts what
/// the chain before it emits, which is how type continuity is proved
/// without any run-time type information. Sealed: users cannot implement it.
///
/// Users meet it as the `C` of [`Pipeline<S, C>`](crate::Pipeline): a
/// function or extension trait that adds steps to any pipeline is generic
/// over `C: Chain<S::Item>`, and reads what the chain emits as `C::Out`
/// and how many stages it has as [`C::LEN`](Chain::LEN) (which is how
/// `flux-steps` numbers its default ids).
///
/// # Examples
///
/// ```
/// use flux_core::{Chain, Identity, Pipeline, Source};
/// use flux_steps::Steps;
/// use flux_test::IterSource;
///
/// /// How many stages a pipeline has between its source and its sink so far.
/// fn stages_so_far<S: Source, C: Chain<S::Item>>(_: &Pipeline<S, C>) -> usize {
///     C::LEN
/// }
///
/// let start = Pipeline::from_source(IterSource::new(0..3u32));
/// assert_eq!(stages_so_far(&start), 0);
/// let longer = start.map(|n| n + 1).filter(|n| n % 2 == 0);
/// assert_eq!(stages_so_far(&longer), 2);
/// assert_eq!(<Identity<u32> as Chain<u32>>::LEN, 0, "a new pipeline's chain is empty");
/// ```
///
/// ```compile_fail,E0277
/// struct Mine;
/// impl flux_core::Chain<u32> for Mine {} // chains are built by `Pipeline`
/// ```
pub trait Chain<In>: Send + 'static + crate::sealed::Sealed {
    /// What the chain emits: what the next step, or the sink, must accept.
    type Out;
    /// Number of layers: the stages between the source and the sink.
    const LEN: usize;

    /// Appends each layer's descriptor, in order.
    ///
    /// [`Runnable::describe`](crate::Runnable::describe) calls it between
    /// the source's descriptor and the sink's.
    fn describe(&self, out: &mut Vec<StageDescriptor>);

    /// Renames the last layer; false when the chain is empty.
    ///
    /// [`Pipeline::named`](crate::Pipeline::named) calls it, and renames
    /// the source instead when it gets false.
    fn rename_last(&mut self, id: StageId) -> bool;

    /// Wraps the chain around `next`, from the last layer back, cutting it
    /// wherever the plan has a boundary, and hands the head node of the
    /// first segment to `then`.
    ///
    /// Each junction is resolved here, once, into a type: a fused junction
    /// is a direct call, a boundary ends one segment with a
    /// [`BatchingSender`] and starts another. No node ever branches on the
    /// plan per envelope, so the compiler sees each segment as one straight
    /// call path. The price is compile time: a chain of `n` layers is
    /// instantiated for each place the segment it belongs to might end,
    /// about `n * n / 2` node types in all.
    fn assemble<D, C, K>(self, next: D, assembler: &mut Assembler<'_, C>, then: K) -> K::Output
    where
        D: Push<Self::Out> + 'static,
        C: Channels,
        K: Continuation<In>;
}

/// What to do with the head node of the first segment once the chain is
/// assembled (it is generic in the head's type, which a closure cannot be).
/// Sealed: only the kernel's assembly implements it.
///
/// [`Runnable::assemble`](crate::Runnable::assemble) passes one to
/// [`Chain::assemble`]; when the recursion reaches the empty chain, the
/// continuation puts the source in front of the head node it is given,
/// which makes the segment that starts at the source. Nothing outside the
/// kernel calls or implements it; it shows only in `Chain::assemble`'s
/// signature.
///
/// # Examples
///
/// What the continuation makes is segment 0 of every assembled pipeline:
///
/// ```
/// use flux_core::*;
/// use flux_steps::Steps;
/// use flux_test::{IterSource, VecSink};
///
/// struct NoChannels;
/// impl Channels for NoChannels {
///     fn open<T: Send + 'static>(&mut self, _: usize, _: &EdgeSpec)
///         -> (Box<dyn BatchSender<T>>, Box<dyn BatchReceiver<T>>) { unreachable!("all fused") }
/// }
///
/// let pipeline = Pipeline::from_source(IterSource::new(0..3u32)).map(|n| n + 1).sink(VecSink::new());
/// let plan = ExecutionPlan::draft(pipeline.describe());
/// let segments = pipeline.assemble(&plan, &mut NoChannels).unwrap();
/// assert_eq!((segments.len(), segments[0].first_stage()), (1, 0), "one segment, from the source");
/// ```
pub trait Continuation<In>: crate::sealed::Sealed {
    /// The result of assembly: for the kernel's own, the boxed segment
    /// that starts at the source.
    type Output;

    /// Takes the head node: the first node after the source, which owns
    /// every node fused after it.
    fn resume<H: Push<In> + 'static>(self, head: H) -> Self::Output;
}

/// The empty chain.
///
/// The chain of a pipeline just started with
/// [`Pipeline::from_source`](crate::Pipeline::from_source): it emits what
/// the source emits and has no layers. It is where assembly's recursion
/// through the chain ends. See [`Stack`] for how it shows in a pipeline's
/// type.
pub struct Identity<T>(PhantomData<fn(T)>);

impl<T> Identity<T> {
    pub(crate) fn new() -> Self {
        Identity(PhantomData)
    }
}

impl<T> fmt::Debug for Identity<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Identity")
    }
}

impl<Inner: fmt::Debug, L: fmt::Debug> fmt::Debug for Stack<Inner, L> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Stack").field("inner", &self.inner).field("layer", &self.layer).finish()
    }
}

impl<C> fmt::Debug for Assembler<'_, C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Assembler").field("segments", &self.segments.len()).finish_non_exhaustive()
    }
}

impl<T: 'static> Chain<T> for Identity<T> {
    type Out = T;
    const LEN: usize = 0;

    fn describe(&self, _out: &mut Vec<StageDescriptor>) {}

    fn rename_last(&mut self, _id: StageId) -> bool {
        false
    }

    /// The end of the recursion: `next` is the head of the first segment,
    /// which the continuation puts behind the source.
    fn assemble<D, C, K>(self, next: D, _assembler: &mut Assembler<'_, C>, then: K) -> K::Output
    where
        D: Push<T> + 'static,
        C: Channels,
        K: Continuation<T>,
    {
        then.resume(next)
    }
}

/// A chain followed by one more layer.
///
/// Each builder step wraps the chain so far: after `map` and `filter`, a
/// pipeline's chain is `Stack<Stack<Identity<A>, Map<..>>, Filter<..>>`.
/// The nesting is the whole pipeline's shape, known to the compiler;
/// assembly unwraps it from the last layer back.
///
/// # Examples
///
/// ```
/// use std::ops::Range;
///
/// use flux_core::{Chain, Identity, Pipeline, Stack};
/// use flux_steps::{Map, OnPayload, Steps};
/// use flux_test::IterSource;
///
/// fn double(n: u32) -> u32 {
///     n * 2
/// }
///
/// type Doubled = Stack<Identity<u32>, Map<OnPayload<fn(u32) -> u32>, u32>>;
/// // The annotation is checked by the compiler: this is the pipeline's type.
/// let _doubled: Pipeline<IterSource<Range<u32>>, Doubled> =
///     Pipeline::from_source(IterSource::new(0..3u32)).map(double as fn(u32) -> u32);
/// assert_eq!(<Doubled as Chain<u32>>::LEN, 1);
/// ```
pub struct Stack<Inner, L> {
    inner: Inner,
    layer: L,
}

impl<Inner, L> Stack<Inner, L> {
    /// `inner` followed by `layer`: what `Pipeline::layer` builds.
    pub(crate) fn new(inner: Inner, layer: L) -> Self {
        Stack { inner, layer }
    }

    /// The chain before the last layer, and the last layer.
    pub(crate) fn into_parts(self) -> (Inner, L) {
        (self.inner, self.layer)
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
    const LEN: usize = Inner::LEN + 1;

    fn describe(&self, out: &mut Vec<StageDescriptor>) {
        self.inner.describe(out);
        out.push(self.layer.descriptor());
    }

    fn rename_last(&mut self, id: StageId) -> bool {
        self.layer.set_id(id);
        true
    }

    /// Turns this layer into a node in front of `next`, then hands that
    /// node to the chain before it: directly when the junction in front of
    /// this layer is fused (so the compiler sees one call path), or behind
    /// a channel when the plan cuts there (the node heads a new segment,
    /// and the chain before it ends in the channel's sender).
    fn assemble<D, C, K>(self, next: D, assembler: &mut Assembler<'_, C>, then: K) -> K::Output
    where
        D: Push<L::Out> + 'static,
        C: Channels,
        K: Continuation<In>,
    {
        let node = self.layer.into_node(next);
        // This layer is stage `Inner::LEN + 1`; the junction in front of it
        // has the index of the stage before it.
        match assembler.boundary(Inner::LEN) {
            None => self.inner.assemble(node, assembler, then),
            Some(edge) => {
                let sender = assembler.cut(Inner::LEN, edge, node);
                self.inner.assemble(sender, assembler, then)
            }
        }
    }
}

/// Builds the segments of a pipeline from its plan, sink first.
///
/// It holds what the recursion through the chain needs besides the nodes
/// themselves: the plan, to ask about each junction; the engine's
/// channels, to open one at each boundary; and the segments cut so far.
///
/// [`Runnable::assemble`](crate::Runnable::assemble) makes one and passes
/// it down [`Chain::assemble`]; it has no public methods, and shows only
/// in that signature. The segments come out in pipeline order, the
/// source's first.
pub struct Assembler<'a, C> {
    plan: &'a ExecutionPlan,
    channels: &'a mut C,
    /// Cut from the sink back: the last segment first.
    segments: Vec<Box<dyn Segment>>,
}

impl<'a, C: Channels> Assembler<'a, C> {
    /// An assembler for `plan`, opening its boundaries in `channels`.
    pub(crate) fn new(plan: &'a ExecutionPlan, channels: &'a mut C) -> Self {
        Assembler { plan, channels, segments: Vec::new() }
    }

    /// The edge of the boundary at `junction`, if the plan cuts there.
    pub(crate) fn boundary(&self, junction: usize) -> Option<EdgeSpec> {
        match self.plan.junctions[junction] {
            Junction::Fused => None,
            Junction::Boundary(edge) => Some(edge),
        }
    }

    /// Starts a new segment at `head`, fed by a channel opened for
    /// `junction`, and returns the node that ends the segment before it.
    pub(crate) fn cut<T, H>(&mut self, junction: usize, edge: EdgeSpec, head: H) -> BatchingSender<T>
    where
        T: Send + 'static,
        H: Push<T> + 'static,
    {
        let (tx, rx) = self.channels.open::<T>(junction, &edge);
        self.segments.push(Box::new(ChannelSegment { rx, head, first_stage: junction + 1 }));
        BatchingSender::new(tx, edge.batch_size)
    }

    /// Adds the source's segment, cut last, and returns every segment in
    /// pipeline order: the source's first.
    pub(crate) fn finish(mut self, source_segment: Box<dyn Segment>) -> Vec<Box<dyn Segment>> {
        self.segments.push(source_segment);
        self.segments.reverse();
        self.segments
    }
}
