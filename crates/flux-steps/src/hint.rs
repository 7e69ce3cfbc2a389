//! Telling the planner what a step costs.

use flux_core::{Chain, Layer, Pipeline, Source, Stack, StageDescriptor, StageId};

/// A layer that is the layer it wraps, with a CPU hint in its descriptor;
/// its node is the wrapped layer's node, so it costs nothing at run time.
/// Add it with [`HintSteps::cpu_hint_ns`], after the step to hint.
#[derive(Debug)]
pub struct Hinted<L> {
    inner: L,
    cpu_ns: u32,
}

impl<In, L: Layer<In>> Layer<In> for Hinted<L> {
    type Out = L::Out;
    type Node<D: flux_core::Push<L::Out> + 'static> = L::Node<D>;

    fn descriptor(&self) -> StageDescriptor {
        self.inner.descriptor().with_cpu_hint_ns(self.cpu_ns)
    }

    fn set_id(&mut self, id: StageId) {
        self.inner.set_id(id);
    }

    fn into_node<D: flux_core::Push<L::Out> + 'static>(self, next: D) -> Self::Node<D> {
        self.inner.into_node(next)
    }
}

/// The step that hints the step before it.
pub trait HintSteps<S, C, L> {
    /// Says that the step added last takes about `ns` nanoseconds of CPU
    /// for each envelope: what a planner weighs to decide where a
    /// boundary pays. The default planner cuts a run of hinted steps into
    /// two segments of about equal work when each would carry 40 ns or
    /// more (`flux_plan::passes::SplitByCost`), and gives a step of 500 ns
    /// or more a segment of its own (`IsolateHeavy`). A step without a hint
    /// weighs nothing. The step keeps its place and id, and runs as it did;
    /// the hint replaces any the step gave itself (`0` leaves none). A cut
    /// pays where segments run beside each other (the tokio engine); the
    /// sync engine runs them in turn and pays the hand-off.
    ///
    /// ```
    /// use flux_core::Runnable;
    /// use flux_plan::Planner;
    /// use flux_steps::{HintSteps, Steps};
    /// use flux_test::{IterSource, VecSink};
    ///
    /// let out = VecSink::new();
    /// let pipeline = flux_core::Pipeline::from_source(IterSource::new(0..4u64))
    ///     .map(|n| n.wrapping_mul(3))
    ///     .named("score")
    ///     .cpu_hint_ns(50)
    ///     .map(|n| n ^ (n >> 7))
    ///     .cpu_hint_ns(50)
    ///     .sink(out.clone());
    /// let stages = pipeline.describe();
    /// assert_eq!((stages[1].id.as_str(), stages[1].cpu_hint_ns), ("score", 50));
    ///
    /// // Two steps of 50 ns each: one part each, beside each other.
    /// let plan = Planner::new().plan(stages).unwrap();
    /// assert_eq!(plan.segments(), vec![(0, 1), (2, 3)]);
    ///
    /// // The steps run as they would without the hints, cut or not.
    /// let report = flux_engine_sync::SyncEngine::new().run(&plan, pipeline).unwrap();
    /// assert!(report.problems.is_empty());
    /// let expected: Vec<u64> = (0..4u64).map(|n| n.wrapping_mul(3)).map(|n| n ^ (n >> 7)).collect();
    /// assert_eq!(out.payloads(), expected);
    /// ```
    fn cpu_hint_ns(self, ns: u32) -> Pipeline<S, Stack<C, Hinted<L>>>;
}

impl<S, C, L> HintSteps<S, C, L> for Pipeline<S, Stack<C, L>>
where
    S: Source,
    C: Chain<S::Item>,
    L: Layer<C::Out>,
{
    fn cpu_hint_ns(self, ns: u32) -> Pipeline<S, Stack<C, Hinted<L>>> {
        self.wrap_last(|inner| Hinted { inner, cpu_ns: ns })
    }
}
