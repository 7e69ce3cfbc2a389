//! `Observers`: several observers given to an engine as one.

use std::sync::Arc;

use flux_core::{EdgeFlow, ErrorEnvelope, ExecutionPlan, Instant, Observer, SideEnvelope, StageId, StageLedger};

/// Several observers as one, each called in turn: an engine takes one
/// observer, an application often wants metrics, progress and logs.
///
/// ```
/// use std::sync::Arc;
/// use flux_observe::{Metrics, Observers, Progress, Traced};
///
/// let (metrics, progress) = (Arc::new(Metrics::new()), Arc::new(Progress::new()));
/// let all = Observers::new().with(metrics.clone()).with(progress.clone()).with(Arc::new(Traced));
/// # let _ = all;
/// ```
#[derive(Clone, Default)]
pub struct Observers(Vec<Arc<dyn Observer>>);

impl core::fmt::Debug for Observers {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Observers").field("count", &self.0.len()).finish()
    }
}

impl Observers {
    /// None yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// The same, calling `observer` too, after the others.
    #[must_use]
    pub fn with(mut self, observer: Arc<dyn Observer>) -> Self {
        self.0.push(observer);
        self
    }
}

impl Observer for Observers {
    fn on_start(&self, plan: &ExecutionPlan) {
        self.0.iter().for_each(|o| o.on_start(plan));
    }
    fn on_counts(&self, stage: &StageId, counted: &StageLedger, now: Instant) {
        self.0.iter().for_each(|o| o.on_counts(stage, counted, now));
    }
    fn on_edge(&self, flow: &EdgeFlow, now: Instant) {
        self.0.iter().for_each(|o| o.on_edge(flow, now));
    }
    fn on_batch(&self, junction: usize, envelopes: usize, now: Instant) {
        self.0.iter().for_each(|o| o.on_batch(junction, envelopes, now));
    }
    fn on_step(&self, first_stage: usize, took: core::time::Duration) {
        self.0.iter().for_each(|o| o.on_step(first_stage, took));
    }
    fn on_timer(&self, now: Instant) {
        self.0.iter().for_each(|o| o.on_timer(now));
    }
    fn on_dead_letter(&self, letter: &ErrorEnvelope) {
        self.0.iter().for_each(|o| o.on_dead_letter(letter));
    }
    fn on_side_output(&self, side: &SideEnvelope) {
        self.0.iter().for_each(|o| o.on_side_output(side));
    }
    fn on_stop(&self, now: Instant) {
        self.0.iter().for_each(|o| o.on_stop(now));
    }
}
