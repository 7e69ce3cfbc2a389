//! The fluent builder: the pipeline DSL.

use crate::chain::{Identity, Stack};
use crate::{Chain, Layer, Sink, Source, StageId};

/// A pipeline under construction: a source and a typed chain of stages.
///
/// Each method appends a stage and returns a new `Pipeline` whose type
/// records the whole chain, so the compiler checks that every stage accepts
/// what the one before it emits, and an engine can run adjacent stages as
/// one inlined call path. [`Pipeline::sink`] closes it into a
/// [`CompletePipeline`] that an engine runs.
///
/// Stage ids default to the method name and position (`map-1`,
/// `filter-2`); [`Pipeline::named`] renames the stage just added.
///
/// # Examples
///
/// ```
/// use flux_core::{Pipeline, Runnable};
/// use flux_steps::Steps;
/// use flux_test::{IterSource, VecSink};
///
/// let out = VecSink::new();
/// let pipeline = Pipeline::from_source(IterSource::new(1..=10u32))
///     .map(|n| n * 3)
///     .named("triple")
///     .filter(|n| n % 2 == 0)
///     .sink(out.clone());
/// let ids: Vec<_> = pipeline.describe().into_iter().map(|d| d.id.to_string()).collect();
/// assert_eq!(ids, ["source", "triple", "filter-2", "sink"]);
/// ```
///
/// A stage that does not accept what the previous stage emits does not compile:
///
/// ```compile_fail,E0631
/// use flux_core::Pipeline;
/// use flux_steps::Steps;
/// use flux_test::IterSource;
///
/// Pipeline::from_source(IterSource::new(1..=10u32))
///     .map(|n| n.to_string())
///     .map(|n: u32| n + 1); // error: expected `String`, found `u32`
/// ```
#[must_use = "a pipeline does nothing until an engine runs it"]
pub struct Pipeline<S, C> {
    pub(crate) source: S,
    pub(crate) source_id: StageId,
    pub(crate) chain: C,
}

impl<S, C, L> Pipeline<S, Stack<C, L>> {
    /// Wraps the stage added last in a layer made from it, which keeps its
    /// place and its id: how a crate outside the kernel puts something
    /// around any step (a `tracing` span around its calls, say), whichever
    /// crate made the step.
    pub fn wrap_last<M>(self, wrap: impl FnOnce(L) -> M) -> Pipeline<S, Stack<C, M>> {
        let (inner, last) = self.chain.into_parts();
        Pipeline { source: self.source, source_id: self.source_id, chain: Stack::new(inner, wrap(last)) }
    }
}

impl<S: Source> Pipeline<S, Identity<S::Item>>
where
    S::Item: 'static,
{
    /// Starts a pipeline at `source`.
    pub fn from_source(source: S) -> Self {
        Pipeline { source, source_id: StageId::from_static("source"), chain: Identity::new() }
    }
}

impl<S, C> Pipeline<S, C>
where
    S: Source + 'static,
    S::Item: Send + 'static,
    C: Chain<S::Item>,
    C::Out: Send + 'static,
{
    /// Appends any [`Layer`]; how crates outside the kernel add stages.
    pub fn layer<L: Layer<C::Out>>(self, layer: L) -> Pipeline<S, Stack<C, L>> {
        Pipeline { source: self.source, source_id: self.source_id, chain: Stack::new(self.chain, layer) }
    }

    /// Renames the stage added last (the source, if none was added yet).
    pub fn named(mut self, id: impl Into<std::borrow::Cow<'static, str>>) -> Self {
        let id = StageId::new(id);
        if !self.chain.rename_last(id.clone()) {
            self.source_id = id;
        }
        self
    }

    /// Ends the pipeline at `sink`.
    pub fn sink<K: Sink<C::Out> + 'static>(self, sink: K) -> CompletePipeline<S, C, K> {
        CompletePipeline { pipeline: self, sink, sink_id: StageId::from_static("sink") }
    }
}

/// A pipeline from source to sink, ready for a planner and an engine.
#[must_use = "a pipeline does nothing until an engine runs it"]
pub struct CompletePipeline<S, C, K> {
    pub(crate) pipeline: Pipeline<S, C>,
    pub(crate) sink: K,
    pub(crate) sink_id: StageId,
}

impl<S, C, K> CompletePipeline<S, C, K>
where
    S: Source + 'static,
    S::Item: Send + 'static,
    C: Chain<S::Item>,
    C::Out: Send + 'static,
    K: Sink<C::Out> + 'static,
{
    /// Renames the sink.
    pub fn named(mut self, id: impl Into<std::borrow::Cow<'static, str>>) -> Self {
        self.sink_id = StageId::new(id);
        self
    }
}

impl<S, C> core::fmt::Debug for Pipeline<S, C> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Pipeline").field("source", &self.source_id).finish_non_exhaustive()
    }
}

impl<S, C, K> core::fmt::Debug for CompletePipeline<S, C, K> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("CompletePipeline")
            .field("source", &self.pipeline.source_id)
            .field("sink", &self.sink_id)
            .finish_non_exhaustive()
    }
}
