//! Hooks for watching a run; implementations live in `flux-observe`.

use crate::{ErrorEnvelope, ExecutionPlan, Instant, SideEnvelope};

/// Watches a run. Every hook does nothing by default, so an observer
/// implements only what it needs, and new hooks never break it.
///
/// Hooks are called on the engine's cold paths (per batch, per timer, per
/// diversion), never per envelope inside a fused segment.
pub trait Observer: Send + Sync {
    /// The run starts with this plan.
    fn on_start(&self, plan: &ExecutionPlan) {
        let _ = plan;
    }

    /// A batch crossed the boundary after stage `junction`.
    fn on_batch(&self, junction: usize, envelopes: usize, now: Instant) {
        let _ = (junction, envelopes, now);
    }

    /// Timers fired at `now`.
    fn on_timer(&self, now: Instant) {
        let _ = now;
    }

    /// An input went to the dead-letter output.
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
pub trait StageDecorator: Send + Sync {
    /// Called for every stage when the run starts; returning `None` leaves
    /// the stage undecorated.
    fn decorate(&self, plan: &ExecutionPlan, stage: usize) -> Option<Box<dyn Observer>>;
}
