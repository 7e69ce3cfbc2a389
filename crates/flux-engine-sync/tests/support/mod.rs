//! Stages and helpers shared by the engine's tests.

#![allow(dead_code, reason = "each test file uses a different subset")]

use flux_core::{EdgeSpec, Emit, Envelope, ExecutionPlan, Instant, Junction, PlanError, PlannerPass, Purity, Stage};
use std::time::Duration;

/// A stateful stage that sums payloads per window of `window` engine time
/// and emits each window's sum when its timer fires (or at end of input).
pub(crate) struct WindowSum {
    pub(crate) window: Duration,
    pub(crate) open: Option<(Instant, u64, u64)>, // (deadline, sum, fragments)
    /// At end of input, wait for the open window's timer instead of flushing it.
    pub(crate) wait_at_end: bool,
}

impl WindowSum {
    pub(crate) fn new(window: Duration) -> Self {
        WindowSum { window, open: None, wait_at_end: false }
    }

    fn close(&mut self, out: &mut impl Emit<u64>) {
        if let Some((_, sum, _)) = self.open.take() {
            out.emit(Envelope::new(sum));
        }
    }
}

impl Stage<u64> for WindowSum {
    type Out = u64;

    fn purity(&self) -> Purity {
        Purity::Stateful
    }

    fn process(&mut self, input: Envelope<u64>, out: &mut impl Emit<u64>) {
        let now = out.now();
        let window = self.window;
        let (_, sum, fragments) = self.open.get_or_insert((now + window, 0, 0));
        *sum += input.payload();
        *fragments += 1;
    }

    fn held(&self) -> u64 {
        self.open.map_or(0, |(_, _, fragments)| fragments)
    }

    fn on_time(&mut self, out: &mut impl Emit<u64>) {
        if self.open.is_some_and(|(deadline, _, _)| deadline <= out.now()) {
            self.close(out);
        }
    }

    fn next_deadline(&self, at_end: bool) -> Option<Instant> {
        if at_end && !self.wait_at_end {
            return None;
        }
        self.open.map(|(deadline, _, _)| deadline)
    }

    fn finish(&mut self, out: &mut impl Emit<u64>) {
        self.close(out);
    }
}

pub(crate) fn secs(s: u64) -> Instant {
    Instant::from_secs(s)
}

/// A planner pass that cuts every junction with the given edge.
pub(crate) struct CutAll(pub(crate) EdgeSpec);

impl PlannerPass for CutAll {
    fn name(&self) -> &'static str {
        "cut-all"
    }
    fn run(&self, plan: &mut ExecutionPlan) -> Result<(), PlanError> {
        for junction in &mut plan.junctions {
            *junction = Junction::Boundary(self.0);
        }
        Ok(())
    }
}

/// Every junction cut, with channels of two batches of sixteen.
pub(crate) fn small_edges() -> CutAll {
    CutAll(EdgeSpec { capacity: 2, batch_size: 16 })
}
