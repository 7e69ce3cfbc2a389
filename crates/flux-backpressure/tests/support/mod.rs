//! A pipeline with one boundary governed by a policy, and a sink that
//! notes when each envelope arrived.

#![allow(dead_code, reason = "each test file uses part of the support")]

use std::sync::{Arc, Mutex};

use flux_backpressure::EdgePolicies;
use flux_core::{BackpressurePolicy, Context, Envelope, ExecutionPlan, Instant, Pipeline, Runnable, Sink, WriteError};
use flux_plan::Planner;
use flux_steps::Steps;
use flux_test::IterSource;

/// Every envelope that reached the sink: its sequence, and the engine time.
#[derive(Clone, Default)]
pub(crate) struct Arrivals(pub(crate) Arc<Mutex<Vec<(u64, Instant)>>>);

impl Arrivals {
    pub(crate) fn sequences(&self) -> Vec<u64> {
        self.0.lock().unwrap().iter().map(|(sequence, _)| *sequence).collect()
    }

    pub(crate) fn times(&self) -> Vec<Instant> {
        self.0.lock().unwrap().iter().map(|(_, at)| *at).collect()
    }
}

impl Sink<u64> for Arrivals {
    fn write(&mut self, item: Envelope<u64>, cx: &mut Context<'_>) -> Result<(), WriteError> {
        self.0.lock().unwrap().push((item.meta().sequence, cx.now()));
        Ok(())
    }
}

/// `0..count` (sequence = payload) through a stage named `gate`, whose
/// output boundary `policy` governs, into `arrivals`; and the plan.
pub(crate) fn gated<P: BackpressurePolicy + 'static>(
    count: u64,
    arrivals: &Arrivals,
    policy: impl Fn() -> P + Send + Sync + 'static,
) -> (impl Runnable, ExecutionPlan, EdgePolicies) {
    let policies = EdgePolicies::new().after("gate", policy);
    let pipeline = Pipeline::from_source(IterSource::new(0..count)).map(|n| n).named("gate").sink(arrivals.clone());
    let plan = Planner::new().with_pass(policies.clone()).plan(pipeline.describe()).unwrap();
    (pipeline, plan, policies)
}

/// The sequences of `0..count` missing from `seen`, in order.
pub(crate) fn missing(count: u64, seen: &[u64]) -> Vec<u64> {
    let seen: std::collections::BTreeSet<_> = seen.iter().copied().collect();
    (0..count).filter(|n| !seen.contains(n)).collect()
}

/// Reads the boundary's cause out of a dead letter.
pub(crate) trait TurnedAwayExt {
    fn turned_away(&self) -> Option<flux_core::TurnedAway>;
}

impl TurnedAwayExt for flux_core::ErrorEnvelope {
    fn turned_away(&self) -> Option<flux_core::TurnedAway> {
        let cause: &(dyn std::error::Error + 'static) = self.error.cause();
        cause.downcast_ref::<flux_core::TurnedAway>().copied()
    }
}
