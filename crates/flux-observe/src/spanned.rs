//! Spans per stage: a stage's calls inside a `tracing` span named for it.

use core::task::Poll;
use std::collections::VecDeque;

use flux_core::{
    Chain, Context, Envelope, Instant, Layer, LedgerVisitor, Lifecycle, Pipeline, Push, Source, Stack, StageDescriptor,
    StageError, StageId,
};

/// A layer around another that runs every call of its node (each push,
/// batch, timer, finish, open and close) inside a `tracing` span
/// `flux.stage` with a `stage` field: its id. Events a stage logs then
/// carry the stage, and a subscriber that times spans (OpenTelemetry, a
/// flame graph) sees where a segment spends its time.
///
/// The span is made once, when the node is built; entering it costs a
/// branch when no subscriber wants it. A fused stage's push calls the
/// stages after it, so its span holds theirs, as the calls do.
/// Add it with [`SpanSteps::spanned`], after the step to wrap.
#[derive(Debug)]
pub struct Spanned<L> {
    inner: L,
}

impl<In, L: Layer<In>> Layer<In> for Spanned<L> {
    type Out = L::Out;
    type Node<D: Push<Self::Out> + 'static> = SpannedNode<L::Node<D>>;

    fn descriptor(&self) -> StageDescriptor {
        self.inner.descriptor()
    }

    fn set_id(&mut self, id: StageId) {
        self.inner.set_id(id);
    }

    fn into_node<D: Push<Self::Out> + 'static>(self, next: D) -> SpannedNode<L::Node<D>> {
        let stage = self.inner.descriptor().id;
        let span = tracing::info_span!("flux.stage", stage = %stage);
        SpannedNode { span, node: self.inner.into_node(next) }
    }
}

/// The node of a [`Spanned`] layer: the wrapped node, and its span.
#[derive(Debug)]
pub struct SpannedNode<N> {
    span: tracing::Span,
    node: N,
}

impl<In, N: Push<In>> Push<In> for SpannedNode<N> {
    #[inline]
    fn push(&mut self, item: Envelope<In>, cx: &mut Context<'_>) {
        let _inside = self.span.enter();
        self.node.push(item, cx);
    }

    #[inline]
    fn push_batch(&mut self, batch: &mut VecDeque<Envelope<In>>, cx: &mut Context<'_>) {
        let _inside = self.span.enter();
        self.node.push_batch(batch, cx);
    }

    fn takes_source_batches(&self) -> bool {
        self.node.takes_source_batches()
    }

    fn on_time(&mut self, cx: &mut Context<'_>) {
        let _inside = self.span.enter();
        self.node.on_time(cx);
    }

    fn next_deadline(&self, at_end: bool) -> Option<Instant> {
        self.node.next_deadline(at_end)
    }

    fn finish(&mut self, cx: &mut Context<'_>) {
        let _inside = self.span.enter();
        self.node.finish(cx);
    }

    fn visit(&self, visitor: &mut dyn LedgerVisitor) {
        self.node.visit(visitor);
    }

    fn poll_lifecycle(&mut self, phase: Lifecycle, cx: &mut Context<'_>) -> Poll<Result<(), StageError>> {
        let _inside = self.span.enter();
        self.node.poll_lifecycle(phase, cx)
    }
}

/// Spans per stage, as a method of a [`Pipeline`].
pub trait SpanSteps<S, C, L>: Sized {
    /// Runs the step added last inside a `tracing` span named for it (see
    /// [`Spanned`]).
    ///
    /// # Examples
    ///
    /// ```
    /// use flux_core::{Pipeline, Runnable};
    /// use flux_observe::SpanSteps;
    /// use flux_steps::Steps;
    /// use flux_test::{IterSource, VecSink};
    ///
    /// let pipeline = Pipeline::from_source(IterSource::new(["1", "2"]))
    ///     .map(|s: &str| {
    ///         tracing::debug!("parsing {s}"); // logged inside `flux.stage{stage=parse}`
    ///         s.len()
    ///     })
    ///     .named("parse")
    ///     .spanned()
    ///     .sink(VecSink::new());
    /// assert_eq!(pipeline.describe()[1].id.as_str(), "parse", "the stage keeps its place and id");
    /// ```
    fn spanned(self) -> Pipeline<S, Stack<C, Spanned<L>>>;
}

impl<S, C, L> SpanSteps<S, C, L> for Pipeline<S, Stack<C, L>>
where
    S: Source,
    C: Chain<S::Item>,
    L: Layer<C::Out>,
{
    fn spanned(self) -> Pipeline<S, Stack<C, Spanned<L>>> {
        self.wrap_last(|inner| Spanned { inner })
    }
}
