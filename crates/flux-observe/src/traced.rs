//! A run as `tracing` events, and spans that carry an envelope's identity.

use flux_core::{ErrorEnvelope, ExecutionPlan, Instant, Junction, Meta, Observer, SideEnvelope};
use tracing::field::display;

/// An [`Observer`] that turns a run into `tracing` events, for whatever
/// subscriber the application installed (`tracing-subscriber`'s `fmt`,
/// OpenTelemetry, a JSON log):
///
/// | event | target | level | fields |
/// | --- | --- | --- | --- |
/// | the run starts | `flux::run` | INFO | `stages`, `boundaries`, and the plan as the message |
/// | each run of stages fused into one call path | `flux::fusion` | DEBUG | `first`, `last`, `stages` |
/// | a dead letter | `flux::dead_letter` | WARN | `stage`, `sequence`, `key`, `trace_id`, `cause` |
/// | a side output | `flux::side_output` | DEBUG | `stage`, `sequence`, `reason` |
/// | a batch crosses a boundary | `flux::batch` | TRACE | `junction`, `envelopes` |
/// | the clock moves to a timer | `flux::timer` | TRACE | `at_nanos` |
/// | the run ends | `flux::run` | INFO | `at_nanos` |
///
/// Give it to an engine with `with_observer`; to keep metrics too, give
/// both as one with [`Observers`](crate::Observers).
///
/// # Examples
///
/// ```
/// use std::sync::Arc;
///
/// use flux_core::{Pipeline, Runnable};
/// use flux_engine_sync::SyncEngine;
/// use flux_observe::Traced;
/// use flux_plan::Planner;
/// use flux_steps::Steps;
/// use flux_test::{IterSource, VecSink};
///
/// tracing_subscriber::fmt().with_target(true).try_init().ok(); // an application's subscriber
/// let pipeline = Pipeline::from_source(IterSource::new(["1", "x"]))
///     .try_map(|s: &str| s.parse::<u32>())
///     .sink(VecSink::new());
/// let plan = Planner::new().plan(pipeline.describe())?;
/// // Logs: the plan, a WARN for sequence 1 naming `try_map-1` and its cause, the end.
/// let _report = SyncEngine::new().with_observer(Arc::new(Traced)).run(&plan, pipeline)?;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct Traced;

impl Observer for Traced {
    fn on_start(&self, plan: &ExecutionPlan) {
        let boundaries = plan.junctions.iter().filter(|j| matches!(j, Junction::Boundary(_))).count();
        tracing::info!(target: "flux::run", stages = plan.stages.len(), boundaries, "run starts\n{plan}");
        for &(first, last) in &plan.diagnostics.fused_runs {
            let (first_id, last_id) = (&plan.stages[first].id, &plan.stages[last].id);
            let stages = last - first + 1;
            tracing::debug!(target: "flux::fusion", first = %first_id, last = %last_id, stages, "stages fused into one call path");
        }
    }

    fn on_batch(&self, junction: usize, envelopes: usize, _now: Instant) {
        tracing::trace!(target: "flux::batch", junction, envelopes, "batch");
    }

    fn on_timer(&self, now: Instant) {
        tracing::trace!(target: "flux::timer", at_nanos = now.as_nanos(), "timers fire");
    }

    fn on_dead_letter(&self, letter: &ErrorEnvelope) {
        let meta = &letter.meta;
        tracing::warn!(
            target: "flux::dead_letter",
            stage = %letter.error.stage(),
            sequence = meta.sequence,
            key = %KeyText(meta),
            trace_id = %TraceText(meta),
            cause = %letter.error.cause(),
            "dead letter"
        );
    }

    fn on_side_output(&self, side: &SideEnvelope) {
        let (stage, reason) = (display(&side.stage), side.reason.as_str());
        tracing::debug!(target: "flux::side_output", %stage, sequence = side.meta.sequence, reason, "side output");
    }

    fn on_stop(&self, now: Instant) {
        tracing::info!(target: "flux::run", at_nanos = now.as_nanos(), "run ends");
    }
}

/// A span for work on one envelope, in `stage`: every event inside it
/// carries the envelope's `sequence`, `key` and `trace_id`, so a stage's
/// own log lines say which record they are about without repeating it.
///
/// ```
/// use flux_core::Meta;
///
/// let meta = Meta { sequence: 7, ..Meta::default() };
/// let span = flux_observe::envelope_span("parse", &meta);
/// let _inside = span.enter();
/// tracing::info!("odd field"); // carries sequence=7 in any subscriber that shows spans
/// ```
pub fn envelope_span(stage: &str, meta: &Meta) -> tracing::Span {
    tracing::info_span!("envelope", stage, sequence = meta.sequence, key = %KeyText(meta), trace_id = %TraceText(meta))
}

/// An envelope's key as text (lossy UTF-8), or `-`.
struct KeyText<'a>(&'a Meta);

impl core::fmt::Display for KeyText<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match &self.0.key {
            Some(key) => f.write_str(&String::from_utf8_lossy(key)),
            None => f.write_str("-"),
        }
    }
}

/// An envelope's trace id in hex, as W3C trace context writes it.
struct TraceText<'a>(&'a Meta);

impl core::fmt::Display for TraceText<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "{:032x}", self.0.trace.trace_id())
    }
}
