//! Latency per stage, on request: each call into a chosen stage timed
//! into a histogram with a stated error.

use core::task::Poll;
use std::collections::VecDeque;
use std::sync::{Arc, Mutex, PoisonError};

use flux_core::{
    Chain, Context, Envelope, Instant, Layer, LedgerVisitor, Lifecycle, Pipeline, Push, Source, Stack, StageDescriptor,
    StageError, StageId,
};
use hdrhistogram::Histogram;

/// Calls timed between publications to the shared histogram: the node
/// records into its own, lock-free, and adds it to the shared one this
/// often and at the end.
const PUBLISH_EVERY: u64 = 1_024;

/// How long calls into one stage take, in real time: each push of an
/// envelope, or of a batch where the engine hands over batches, to 3
/// significant figures (each quantile within 0.1% of the exact one at its
/// rank).
///
/// Per-segment step times come with [`Metrics`](crate::Metrics) at no
/// cost to the fused path; this is the finer look, per stage, that a user
/// asks for where it matters ([`TimeSteps::timed`]), because reading the
/// clock twice a call costs what fusing saves. A fused stage's push calls
/// the stages after it, so its time holds theirs; put a boundary after it
/// to time it alone.
///
/// # Examples
///
/// ```
/// use flux_core::{Pipeline, Runnable};
/// use flux_engine_sync::SyncEngine;
/// use flux_observe::{StageTimes, TimeSteps};
/// use flux_plan::Planner;
/// use flux_steps::Steps;
/// use flux_test::{IterSource, VecSink};
///
/// let times = StageTimes::new();
/// let pipeline = Pipeline::from_source(IterSource::new(0..5_000u64))
///     .map(|n| (0..n % 64).sum::<u64>())
///     .named("sum")
///     .timed(&times)
///     .sink(VecSink::new());
/// let plan = Planner::new().plan(pipeline.describe())?;
/// let _report = SyncEngine::new().run(&plan, pipeline)?;
///
/// let figures = times.figures();
/// assert_eq!(figures.calls, 5_000);
/// assert!(figures.p50_nanos <= figures.p99_nanos && figures.p99_nanos <= figures.max_nanos);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug)]
pub struct StageTimes {
    shared: Arc<Mutex<Histogram<u64>>>,
}

/// The quantiles of a stage's call times, in nanoseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct TimeFigures {
    /// Calls timed.
    pub calls: u64,
    /// Median.
    pub p50_nanos: u64,
    /// 90th percentile.
    pub p90_nanos: u64,
    /// 99th percentile.
    pub p99_nanos: u64,
    /// 99.9th percentile.
    pub p999_nanos: u64,
    /// The longest.
    pub max_nanos: u64,
}

impl TimeFigures {
    /// The figures by name, for [`Report::with_figures`](crate::Report::with_figures).
    pub fn named(&self) -> [(&'static str, u64); 6] {
        [
            ("calls", self.calls),
            ("p50 ns", self.p50_nanos),
            ("p90 ns", self.p90_nanos),
            ("p99 ns", self.p99_nanos),
            ("p999 ns", self.p999_nanos),
            ("max ns", self.max_nanos),
        ]
    }
}

impl Default for StageTimes {
    fn default() -> Self {
        Self::new()
    }
}

impl StageTimes {
    /// A handle with nothing timed yet.
    pub fn new() -> Self {
        StageTimes { shared: Arc::new(Mutex::new(new_histogram())) }
    }

    /// The quantiles of the calls published so far (all of them, once the
    /// stage has finished).
    pub fn figures(&self) -> TimeFigures {
        let histogram = self.shared.lock().unwrap_or_else(PoisonError::into_inner);
        let at = |q| histogram.value_at_quantile(q);
        TimeFigures {
            calls: histogram.len(),
            p50_nanos: at(0.5),
            p90_nanos: at(0.9),
            p99_nanos: at(0.99),
            p999_nanos: at(0.999),
            max_nanos: histogram.max(),
        }
    }

    fn publish(&self, local: &mut Histogram<u64>) {
        let mut shared = self.shared.lock().unwrap_or_else(PoisonError::into_inner);
        shared.add(&*local).expect("histograms of one shape add");
        local.reset();
    }
}

fn new_histogram() -> Histogram<u64> {
    Histogram::new(3).expect("3 significant figures is in range")
}

/// Real time, for a stage's call times: never a stage's own clock.
#[allow(clippy::disallowed_methods, reason = "timing a stage's calls in real time, not a stage's time")]
fn wall_clock() -> std::time::Instant {
    std::time::Instant::now()
}

/// A layer around another that times each call of its node into a
/// [`StageTimes`]. Add it with [`TimeSteps::timed`].
#[derive(Debug)]
pub struct Timed<L> {
    inner: L,
    times: StageTimes,
}

impl<In, L: Layer<In>> Layer<In> for Timed<L> {
    type Out = L::Out;
    type Node<D: Push<Self::Out> + 'static> = TimedNode<L::Node<D>>;

    fn descriptor(&self) -> StageDescriptor {
        self.inner.descriptor()
    }

    fn set_id(&mut self, id: StageId) {
        self.inner.set_id(id);
    }

    fn into_node<D: Push<Self::Out> + 'static>(self, next: D) -> TimedNode<L::Node<D>> {
        TimedNode { node: self.inner.into_node(next), times: self.times, local: new_histogram() }
    }
}

/// The node of a [`Timed`] layer: the wrapped node, and its calls' times.
#[derive(Debug)]
pub struct TimedNode<N> {
    node: N,
    times: StageTimes,
    /// Times since last published.
    local: Histogram<u64>,
}

impl<N> TimedNode<N> {
    /// Runs `call`, recording how long it took.
    #[inline]
    fn time<R>(&mut self, call: impl FnOnce(&mut N) -> R) -> R {
        let started = wall_clock();
        let result = call(&mut self.node);
        let nanos = u64::try_from(started.elapsed().as_nanos()).unwrap_or(u64::MAX);
        // `record` grows the auto-resizing histogram to fit (saturating
        // would clamp to its first, tiny range); only a value past what it
        // can ever hold saturates.
        if self.local.record(nanos).is_err() {
            self.local.saturating_record(nanos);
        }
        if self.local.len() >= PUBLISH_EVERY {
            self.times.publish(&mut self.local);
        }
        result
    }
}

impl<In, N: Push<In>> Push<In> for TimedNode<N> {
    #[inline]
    fn push(&mut self, item: Envelope<In>, cx: &mut Context<'_>) {
        self.time(|node| node.push(item, cx));
    }

    #[inline]
    fn push_batch(&mut self, batch: &mut VecDeque<Envelope<In>>, cx: &mut Context<'_>) {
        self.time(|node| node.push_batch(batch, cx));
    }

    fn takes_source_batches(&self) -> bool {
        self.node.takes_source_batches()
    }

    fn on_time(&mut self, cx: &mut Context<'_>) {
        self.node.on_time(cx);
    }

    fn next_deadline(&self, at_end: bool) -> Option<Instant> {
        self.node.next_deadline(at_end)
    }

    /// Publishes what is left to the shared histogram.
    fn finish(&mut self, cx: &mut Context<'_>) {
        self.node.finish(cx);
        self.times.publish(&mut self.local);
    }

    fn visit(&self, visitor: &mut dyn LedgerVisitor) {
        self.node.visit(visitor);
    }

    fn poll_lifecycle(&mut self, phase: Lifecycle, cx: &mut Context<'_>) -> Poll<Result<(), StageError>> {
        self.node.poll_lifecycle(phase, cx)
    }
}

/// Latency per stage, as a method of a [`Pipeline`].
pub trait TimeSteps<S, C, L>: Sized {
    /// Times each call into the step added last, into `times` (see
    /// [`StageTimes`]).
    fn timed(self, times: &StageTimes) -> Pipeline<S, Stack<C, Timed<L>>>;
}

impl<S, C, L> TimeSteps<S, C, L> for Pipeline<S, Stack<C, L>>
where
    S: Source,
    C: Chain<S::Item>,
    L: Layer<C::Out>,
{
    fn timed(self, times: &StageTimes) -> Pipeline<S, Stack<C, Timed<L>>> {
        let times = times.clone();
        self.wrap_last(|inner| Timed { inner, times })
    }
}
