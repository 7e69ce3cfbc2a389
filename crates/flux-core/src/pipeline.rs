//! The fluent builder: the pipeline DSL.

use std::error::Error;

use crate::chain::{Identity, Stack};
use crate::ops::{EventTimeFrom, Filter, FlatMap, Inspect, KeyFrom, Map, OnPayload, SetMeta, TryMap, WithMeta};
use crate::{Chain, Envelope, Instant, Layer, Meta, Sink, Source, Stage, StageId, StageLayer};

/// The pipeline `Pipeline<S, C>` becomes once layer `L` is added.
type Then<S, C, L> = Pipeline<S, Stack<C, L>>;

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
/// ```compile_fail
/// use flux_core::Pipeline;
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
    fn next_id(kind: &str) -> StageId {
        StageId::new(format!("{kind}-{}", C::LEN + 1))
    }

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

    /// Transforms each payload; metadata is kept.
    pub fn map<F, U>(self, f: F) -> Then<S, C, Map<OnPayload<F>, C::Out>>
    where
        F: FnMut(C::Out) -> U + Send + 'static,
        U: Send + 'static,
    {
        let id = Self::next_id("map");
        self.layer(Map::new(OnPayload(f), id))
    }

    /// Transforms each payload, reading its metadata (key, event time,
    /// headers) as well; metadata is kept.
    ///
    /// ```
    /// use flux_core::Pipeline;
    /// use flux_test::{IterSource, VecSink};
    ///
    /// let out = VecSink::new();
    /// let p = Pipeline::from_source(IterSource::new(["a", "b"]))
    ///     .map_with_meta(|s: &str, meta| format!("{s}@{}", meta.sequence))
    ///     .sink(out.clone());
    /// # let _ = p;
    /// ```
    pub fn map_with_meta<F, U>(self, f: F) -> Then<S, C, Map<WithMeta<F>, C::Out>>
    where
        F: FnMut(C::Out, &Meta) -> U + Send + 'static,
        U: Send + 'static,
    {
        let id = Self::next_id("map");
        self.layer(Map::new(WithMeta(f), id))
    }

    /// Keeps the envelopes whose payload satisfies `f`; the rest are counted drops.
    pub fn filter<F>(self, f: F) -> Then<S, C, Filter<OnPayload<F>, C::Out>>
    where
        F: FnMut(&C::Out) -> bool + Send + 'static,
    {
        let id = Self::next_id("filter");
        self.layer(Filter::new(OnPayload(f), id))
    }

    /// Keeps the envelopes that `f` accepts, reading their metadata as
    /// well (route on a header such as an accumulated record's reason);
    /// the rest are counted drops.
    pub fn filter_with_meta<F>(self, f: F) -> Then<S, C, Filter<WithMeta<F>, C::Out>>
    where
        F: FnMut(&C::Out, &Meta) -> bool + Send + 'static,
    {
        let id = Self::next_id("filter");
        self.layer(Filter::new(WithMeta(f), id))
    }

    /// Sets each envelope's key from its payload, which is kept: what a
    /// keyed stage (`accumulate`) groups by. A key is anything that is
    /// [`IntoKey`](crate::IntoKey): bytes, text or an integer; a slice of
    /// a `Bytes` payload costs a reference count, not a copy.
    ///
    /// ```
    /// use bytes::Bytes;
    /// use flux_core::Pipeline;
    /// use flux_test::{IterSource, VecSink};
    ///
    /// let out = VecSink::new();
    /// let p = Pipeline::from_source(IterSource::new([Bytes::from_static(b"alice,3")]))
    ///     .key_by(|line: &Bytes| line.slice(..5))
    ///     .sink(out.clone());
    /// # let _ = p;
    /// ```
    pub fn key_by<F, K>(self, f: F) -> Then<S, C, SetMeta<KeyFrom<F>, C::Out>>
    where
        F: FnMut(&C::Out) -> K + Send + 'static,
        K: crate::IntoKey,
    {
        let id = Self::next_id("key_by");
        self.layer(SetMeta::new(KeyFrom(f), id))
    }

    /// Sets each envelope's event time from its payload, which is kept:
    /// what watermarks and event-time windows read.
    pub fn event_time<F>(self, f: F) -> Then<S, C, SetMeta<EventTimeFrom<F>, C::Out>>
    where
        F: FnMut(&C::Out) -> Instant + Send + 'static,
    {
        let id = Self::next_id("event_time");
        self.layer(SetMeta::new(EventTimeFrom(f), id))
    }

    /// Turns each payload into zero or more, each emitted as it is produced.
    ///
    /// ```
    /// use flux_core::Pipeline;
    /// use flux_test::{IterSource, VecSink};
    ///
    /// let out = VecSink::new();
    /// let p = Pipeline::from_source(IterSource::new(["a b", "", "c"]))
    ///     .flat_map(|line: &str| line.split_whitespace().map(str::to_owned).collect::<Vec<_>>())
    ///     .sink(out.clone());
    /// # let _ = p;
    /// ```
    pub fn flat_map<F, I>(self, f: F) -> Pipeline<S, Stack<C, FlatMap<F, C::Out>>>
    where
        F: FnMut(C::Out) -> I + Send + 'static,
        I: IntoIterator,
        I::Item: Send + 'static,
    {
        let id = Self::next_id("flat_map");
        self.layer(FlatMap::new(f, id))
    }

    /// Transforms each payload fallibly; an `Err` sends the input to the
    /// dead-letter output with its metadata and this stage's id.
    pub fn try_map<F, U, E>(self, f: F) -> Pipeline<S, Stack<C, TryMap<F, C::Out>>>
    where
        F: FnMut(C::Out) -> Result<U, E> + Send + 'static,
        U: Send + 'static,
        E: Into<Box<dyn Error + Send + Sync>>,
    {
        let id = Self::next_id("try_map");
        self.layer(TryMap::new(f, id))
    }

    /// Calls `f` on each envelope as it passes, unchanged.
    pub fn inspect<F>(self, f: F) -> Pipeline<S, Stack<C, Inspect<F, C::Out>>>
    where
        F: FnMut(&Envelope<C::Out>) + Send + 'static,
    {
        let id = Self::next_id("inspect");
        self.layer(Inspect::new(f, id))
    }

    /// Appends a user [`Stage`].
    pub fn stage<T>(self, stage: T) -> Pipeline<S, Stack<C, StageLayer<T, C::Out>>>
    where
        T: Stage<C::Out> + 'static,
        T::Out: Send + 'static,
    {
        let id = Self::next_id("stage");
        self.layer(StageLayer::new(stage, id))
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
