//! The fluent builder: the pipeline DSL.

use core::fmt;
use core::marker::PhantomData;
use std::error::Error;

use crate::chain::{Assembler, Continuation, Identity, Stack};
use crate::ops::{Filter, FlatMap, Inspect, Map, TryMap};
use crate::segment::SourceSegment;
use crate::sink_node::SinkNode;
use crate::{
    Chain, Channels, Envelope, ExecutionPlan, Layer, Purity, Push, Segment, Sink, Source, Stage, StageDescriptor,
    StageId, StageKind, StageLayer, StageLedger,
};

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
/// use flux_core::{IterSource, Pipeline, Runnable, VecSink};
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
/// use flux_core::{IterSource, Pipeline};
///
/// Pipeline::from_source(IterSource::new(1..=10u32))
///     .map(|n| n.to_string())
///     .map(|n: u32| n + 1); // error: expected `String`, found `u32`
/// ```
#[must_use = "a pipeline does nothing until an engine runs it"]
pub struct Pipeline<S, C> {
    source: S,
    source_id: StageId,
    chain: C,
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
    pub fn map<F, U>(self, f: F) -> Pipeline<S, Stack<C, Map<F, C::Out>>>
    where
        F: FnMut(C::Out) -> U + Send + 'static,
        U: Send + 'static,
    {
        let id = Self::next_id("map");
        self.layer(Map::new(f, id))
    }

    /// Keeps the envelopes whose payload satisfies `f`; the rest are counted drops.
    pub fn filter<F>(self, f: F) -> Pipeline<S, Stack<C, Filter<F, C::Out>>>
    where
        F: FnMut(&C::Out) -> bool + Send + 'static,
    {
        let id = Self::next_id("filter");
        self.layer(Filter::new(f, id))
    }

    /// Turns each payload into zero or more, each emitted as it is produced.
    ///
    /// ```
    /// use flux_core::{IterSource, Pipeline, VecSink};
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
    pipeline: Pipeline<S, C>,
    sink: K,
    sink_id: StageId,
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

/// A complete pipeline an engine can run, whatever its types.
///
/// Engines are generic over it; `describe` feeds the planner and
/// `assemble` builds the segments the plan asks for.
pub trait Runnable: Send + 'static {
    /// Every stage, source first, sink last.
    fn describe(&self) -> Vec<StageDescriptor>;

    /// Builds the segments, cutting the typed chain where `plan` has
    /// boundaries; segment 0 starts at the source.
    ///
    /// # Errors
    ///
    /// The plan was made for another pipeline.
    fn assemble<C: Channels>(
        self,
        plan: &ExecutionPlan,
        channels: &mut C,
    ) -> Result<Vec<Box<dyn Segment>>, AssemblyError>;
}

impl<S, C, K> Runnable for CompletePipeline<S, C, K>
where
    S: Source + 'static,
    S::Item: Send + 'static,
    C: Chain<S::Item>,
    C::Out: Send + 'static,
    K: Sink<C::Out> + 'static,
{
    fn describe(&self) -> Vec<StageDescriptor> {
        let item = core::any::type_name::<S::Item>();
        let out = core::any::type_name::<C::Out>();
        let mut stages = Vec::with_capacity(C::LEN + 2);
        stages.push(
            StageDescriptor::new(self.pipeline.source_id.as_str().to_owned(), StageKind::Source, Purity::Stateful)
                .with_types("()", item),
        );
        self.pipeline.chain.describe(&mut stages);
        stages.push(
            StageDescriptor::new(self.sink_id.as_str().to_owned(), StageKind::Sink, Purity::Stateful)
                .with_types(out, "()"),
        );
        stages
    }

    fn assemble<Ch: Channels>(
        self,
        plan: &ExecutionPlan,
        channels: &mut Ch,
    ) -> Result<Vec<Box<dyn Segment>>, AssemblyError> {
        check_plan_matches(plan, &self.describe())?;
        let mut assembler = Assembler::new(plan, channels);
        let sink = SinkNode { sink: self.sink, id: self.sink_id, ledger: StageLedger::default(), _t: PhantomData };
        let start = StartAtSource { source: self.pipeline.source, id: self.pipeline.source_id };
        let chain = self.pipeline.chain;
        let source_segment = match assembler.boundary(C::LEN) {
            None => chain.assemble(sink, &mut assembler, start),
            Some(edge) => {
                let sender = assembler.cut(C::LEN, edge, sink);
                chain.assemble(sender, &mut assembler, start)
            }
        };
        Ok(assembler.finish(source_segment))
    }
}

/// Puts the source in front of the assembled head of the first segment.
struct StartAtSource<S> {
    source: S,
    id: StageId,
}

impl<S> Continuation<S::Item> for StartAtSource<S>
where
    S: Source + 'static,
{
    type Output = Box<dyn Segment>;

    fn resume<H: Push<S::Item> + 'static>(self, head: H) -> Box<dyn Segment> {
        Box::new(SourceSegment { parked: Some((self.source, head)), id: self.id, ledger: StageLedger::default() })
    }
}

fn check_plan_matches(plan: &ExecutionPlan, stages: &[StageDescriptor]) -> Result<(), AssemblyError> {
    if plan.stages.len() != stages.len() || plan.junctions.len() + 1 != stages.len() {
        return Err(AssemblyError::ShapeMismatch { plan_stages: plan.stages.len(), pipeline_stages: stages.len() });
    }
    for (index, (planned, actual)) in plan.stages.iter().zip(stages).enumerate() {
        if planned.id != actual.id {
            return Err(AssemblyError::StageMismatch { index, planned: planned.id.clone(), actual: actual.id.clone() });
        }
        // Ledgers are kept by id: two stages with one id would share a row.
        if let Some(first) = stages[..index].iter().position(|s| s.id == actual.id) {
            return Err(AssemblyError::DuplicateId { id: actual.id.clone(), first, second: index });
        }
    }
    Ok(())
}

/// A plan that does not fit the pipeline it was given with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AssemblyError {
    /// Different numbers of stages (or junctions).
    ShapeMismatch {
        /// Stages in the plan.
        plan_stages: usize,
        /// Stages in the pipeline.
        pipeline_stages: usize,
    },
    /// Two stages share an id (a plan made without the planner's checks).
    DuplicateId {
        /// The shared id.
        id: StageId,
        /// Index of the first stage with it.
        first: usize,
        /// Index of the second.
        second: usize,
    },
    /// A stage at the same position has another id.
    StageMismatch {
        /// The position.
        index: usize,
        /// The id in the plan.
        planned: StageId,
        /// The id in the pipeline.
        actual: StageId,
    },
}

impl fmt::Display for AssemblyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            AssemblyError::ShapeMismatch { plan_stages, pipeline_stages } => {
                write!(f, "the plan has {plan_stages} stages but the pipeline has {pipeline_stages}")
            }
            AssemblyError::DuplicateId { id, first, second } => {
                write!(f, "stage id `{id}` is used by stage {first} and stage {second}")
            }
            AssemblyError::StageMismatch { index, planned, actual } => {
                write!(f, "stage {index} is `{planned}` in the plan but `{actual}` in the pipeline")
            }
        }
    }
}

impl Error for AssemblyError {}
