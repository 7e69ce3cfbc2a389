//! Hooks for watching a run; implementations live in `flux-observe`.

use crate::{EdgeFlow, ErrorEnvelope, ExecutionPlan, Instant, SideEnvelope, StageId, StageLedger};

/// Watches a run. Every hook does nothing by default, so an observer
/// implements only what it needs, and new hooks never break it.
///
/// Hooks are called on the engine's cold paths (per batch, per timer, per
/// diversion), never per envelope inside a fused segment.
///
/// Hooks take `&self` and an observer is `Sync`, so an engine that runs
/// segments on several threads can share one observer between them: keep
/// counters in atomics or behind a lock.
///
/// Both engines call it when one is given (`with_observer`); `flux-observe`
/// implements it with metrics. The figures are those of the run report as
/// they stand: after each step, the counts of the stages that ran and the
/// flow of the boundaries they send into; at stop, every one, then
/// [`Observer::on_stop`].
///
/// # Examples
///
/// An observer that counts dead letters and batches, called as an engine
/// would call it:
///
/// ```
/// use std::sync::atomic::{AtomicU64, Ordering};
///
/// use flux_core::{ErrorEnvelope, Instant, Meta, Observer, Position, StageError, StageId};
///
/// #[derive(Default)]
/// struct Counts {
///     dead_letters: AtomicU64,
///     envelopes_across: AtomicU64,
/// }
///
/// impl Observer for Counts {
///     fn on_batch(&self, _junction: usize, envelopes: usize, _now: Instant) {
///         self.envelopes_across.fetch_add(envelopes as u64, Ordering::Relaxed);
///     }
///     fn on_dead_letter(&self, _letter: &ErrorEnvelope) {
///         self.dead_letters.fetch_add(1, Ordering::Relaxed);
///     }
/// }
///
/// let counts = Counts::default();
/// counts.on_batch(1, 512, Instant::ZERO);
/// counts.on_batch(1, 88, Instant::from_millis(3));
/// let error = StageError::new(StageId::from_static("parse"), Position::Sequence(9), "not a number");
/// counts.on_dead_letter(&ErrorEnvelope { meta: Meta::default(), error });
/// counts.on_stop(Instant::from_millis(5)); // not overridden: does nothing
///
/// assert_eq!(counts.envelopes_across.load(Ordering::Relaxed), 600);
/// assert_eq!(counts.dead_letters.load(Ordering::Relaxed), 1);
/// ```
pub trait Observer: Send + Sync {
    /// The run starts with this plan: the stages, where the boundaries
    /// are, and the planner's diagnostics.
    fn on_start(&self, plan: &ExecutionPlan) {
        let _ = plan;
    }

    /// A batch crossed the boundary after stage `junction` (an index into
    /// the plan's junctions), carrying `envelopes` envelopes, at `now`.
    fn on_batch(&self, junction: usize, envelopes: usize, now: Instant) {
        let _ = (junction, envelopes, now);
    }

    /// What `stage` counted itself so far (cumulative: each call replaces
    /// the last), after a step of its segment, at `now`. The ledger law
    /// derives the rest ([`balance`](crate::balance)).
    fn on_counts(&self, stage: &StageId, counted: &StageLedger, now: Instant) {
        let _ = (stage, counted, now);
    }

    /// What a boundary carried so far (cumulative), after a step of the
    /// segment that sends into it, at `now`; what it holds is
    /// `sent - received - dropped`.
    fn on_edge(&self, flow: &EdgeFlow, now: Instant) {
        let _ = (flow, now);
    }

    /// A step of the segment whose first stage is `first_stage` (an
    /// index into the plan's stages) took `took` of real time: what the
    /// stages fused in it cost, for step-time quantiles and how busy the
    /// segment is. Engines measure it only when an observer is given.
    fn on_step(&self, first_stage: usize, took: core::time::Duration) {
        let _ = (first_stage, took);
    }

    /// Timers fired at `now`: the engine moved its clock to a deadline.
    fn on_timer(&self, now: Instant) {
        let _ = now;
    }

    /// An input went to the dead-letter output; its error names the stage.
    fn on_dead_letter(&self, letter: &ErrorEnvelope) {
        let _ = letter;
    }

    /// An input went to the side output.
    fn on_side_output(&self, side: &SideEnvelope) {
        let _ = side;
    }

    /// The run ended at `now`.
    fn on_stop(&self, now: Instant) {
        let _ = now;
    }
}

/// Cross-cutting behaviour an engine wraps around a segment's stages
/// (timing, tracing spans), configured once rather than added stage by stage.
///
/// Decorators see the plan, not envelopes: they return what to attach to
/// each stage, and the engine calls it per batch.
///
/// `flux-observe`'s `Decorated` is the observer that calls it: give that
/// to an engine, and each stage's observer hears what concerns its stage.
///
/// # Examples
///
/// A decorator that watches only the accumulating stages of a plan:
///
/// ```
/// use flux_core::{ExecutionPlan, Observer, Purity, StageDecorator, StageDescriptor, StageKind};
///
/// struct Watch;
/// impl Observer for Watch {}
///
/// struct AccumulatorsOnly;
///
/// impl StageDecorator for AccumulatorsOnly {
///     fn decorate(&self, plan: &ExecutionPlan, stage: usize) -> Option<Box<dyn Observer>> {
///         (plan.stages[stage].kind == StageKind::Accumulate).then(|| Box::new(Watch) as Box<dyn Observer>)
///     }
/// }
///
/// let plan = ExecutionPlan::draft(vec![
///     StageDescriptor::new("source", StageKind::Source, Purity::Stateful),
///     StageDescriptor::new("sessions", StageKind::Accumulate, Purity::Stateful),
///     StageDescriptor::new("sink", StageKind::Sink, Purity::Stateful),
/// ]);
/// let decorated: Vec<bool> = (0..plan.stages.len()).map(|i| AccumulatorsOnly.decorate(&plan, i).is_some()).collect();
/// assert_eq!(decorated, [false, true, false]);
/// ```
pub trait StageDecorator: Send + Sync {
    /// Called for every stage when the run starts; returning `None` leaves
    /// the stage undecorated.
    ///
    /// `stage` is an index into [`ExecutionPlan::stages`].
    fn decorate(&self, plan: &ExecutionPlan, stage: usize) -> Option<Box<dyn Observer>>;
}
