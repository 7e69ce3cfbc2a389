//! How a builder step becomes a node.

use crate::{Push, StageDescriptor, StageId};

/// One step of a pipeline before assembly: a stage waiting for its downstream.
///
/// The builder keeps layers; when an engine assembles the pipeline against
/// its plan, each layer is wrapped around the node after it, from the sink
/// back to the source. Implement `Layer` to add a builder step from your own
/// crate (as `flux-accumulate` does) and pass it to
/// [`Pipeline::layer`](crate::Pipeline::layer).
///
/// A layer is plain configuration (a closure, a policy, an id) until
/// assembly; its node is the [`Push`] that does the work. The layer's
/// [`Node`](Layer::Node) type is generic in what comes after it, so that
/// in a fused segment the compiler sees one nest of nodes and inlines the
/// whole path. A layer picks its own default id; the steps of
/// `flux-steps` use their method's name and position (`map-2`), the
/// position being the chain's [`LEN`](crate::Chain::LEN) plus one.
///
/// # Examples
///
/// A step of one's own, added with `Pipeline::layer`, then assembled and
/// run by hand as an engine would:
///
/// ```
/// use flux_core::*;
/// use flux_test::{Diverted, IterSource, VecSink};
///
/// /// Drops an envelope equal to the one before it.
/// struct SkipRepeats {
///     id: StageId,
/// }
///
/// impl Layer<u32> for SkipRepeats {
///     type Out = u32;
///     type Node<D: Push<u32> + 'static> = SkipRepeatsNode<D>;
///
///     fn descriptor(&self) -> StageDescriptor {
///         // It remembers the last payload: stateful.
///         StageDescriptor::new(self.id.as_str().to_owned(), StageKind::Transform, Purity::Stateful)
///             .with_types("u32", "u32")
///     }
///     fn set_id(&mut self, id: StageId) {
///         self.id = id;
///     }
///     fn into_node<D: Push<u32> + 'static>(self, next: D) -> SkipRepeatsNode<D> {
///         SkipRepeatsNode { id: self.id, last: None, ledger: StageLedger::default(), next }
///     }
/// }
///
/// struct SkipRepeatsNode<D> {
///     id: StageId,
///     last: Option<u32>,
///     ledger: StageLedger,
///     next: D,
/// }
///
/// impl<D: Push<u32>> Push<u32> for SkipRepeatsNode<D> {
///     fn push(&mut self, item: Envelope<u32>, cx: &mut Context<'_>) {
///         if self.last.replace(*item.payload()) == Some(*item.payload()) {
///             self.ledger.dropped += 1;
///         } else {
///             self.next.push(item, cx);
///         }
///     }
///     fn on_time(&mut self, cx: &mut Context<'_>) {
///         self.next.on_time(cx);
///     }
///     fn next_deadline(&self, at_end: bool) -> Option<Instant> {
///         self.next.next_deadline(at_end)
///     }
///     fn finish(&mut self, cx: &mut Context<'_>) {
///         self.next.finish(cx);
///     }
///     fn visit(&self, visitor: &mut dyn LedgerVisitor) {
///         visitor.stage(&self.id, &self.ledger);
///         self.next.visit(visitor);
///     }
///    fn poll_lifecycle(&mut self, phase: flux_core::Lifecycle, cx: &mut Context<'_>) -> std::task::Poll<Result<(), flux_core::StageError>> {
///        self.next.poll_lifecycle(phase, cx)
///    }
/// }
///
/// let out = VecSink::new();
/// let pipeline = Pipeline::from_source(IterSource::new([1u32, 1, 2, 2, 1]))
///     .layer(SkipRepeats { id: StageId::from_static("skip-repeats") })
///     .named("dedup")
///     .sink(out.clone());
/// let stages = pipeline.describe();
/// assert_eq!((stages[1].id.as_str(), stages[1].purity), ("dedup", Purity::Stateful));
///
/// // An engine's work, cut short: every junction fused, no channels needed.
/// struct NoChannels;
/// impl Channels for NoChannels {
///     fn open<T: Send + 'static>(&mut self, _: usize, _: &EdgeSpec)
///         -> (Box<dyn BatchSender<T>>, Box<dyn BatchReceiver<T>>) { unreachable!("all fused") }
/// }
/// let plan = ExecutionPlan::draft(stages);
/// let mut segments = pipeline.assemble(&plan, &mut NoChannels).unwrap();
/// let mut diverted = Diverted::default();
/// let mut cx = Context::new(Instant::ZERO, &mut diverted);
/// while !matches!(segments[0].step(&mut cx), Step::Exhausted) {}
/// segments[0].finish(&mut cx);
/// assert_eq!(out.payloads(), vec![1, 2, 1]);
/// ```
pub trait Layer<In>: Send + 'static {
    /// The payload type this stage emits.
    type Out;
    /// The node this layer becomes in front of a downstream `D`.
    ///
    /// Generic in `D` so that the node can own the node after it by value
    /// (no box): a fused segment is then one type the compiler inlines.
    type Node<D: Push<Self::Out> + 'static>: Push<In> + 'static;

    /// What the planner needs to know about the stage.
    ///
    /// Called when the pipeline is described, before anything runs, and
    /// again at assembly, whose check compares the ids in order with the
    /// plan's. It must name the stage by its current id (the one
    /// [`Layer::set_id`] last set), and should record the type names (see
    /// [`StageDescriptor::with_types`]) so the planner can check them.
    fn descriptor(&self) -> StageDescriptor;

    /// Renames the stage; the builder calls this for
    /// [`Pipeline::named`](crate::Pipeline::named).
    ///
    /// The node must use the new id in its ledger row and in every error
    /// it makes, so that reports and dead letters name the stage as the
    /// user did.
    fn set_id(&mut self, id: StageId);

    /// Wraps this stage around `next`.
    ///
    /// Called once, at assembly, from the sink back: `next` is the node
    /// after this stage, already built (the sink's node, a later stage's,
    /// or the sender into a boundary's channel). The layer is consumed: its
    /// configuration moves into the node.
    fn into_node<D: Push<Self::Out> + 'static>(self, next: D) -> Self::Node<D>;
}
