//! What the sync engine tells an observer, call by call: the plan, each
//! batch taken off a boundary with its size, the counts and flows after
//! each step, the timers, every dead letter, and the end once.

use std::sync::{Arc, Mutex};

use flux_core::{
    EdgeFlow, EdgeSpec, ErrorEnvelope, ExecutionPlan, Instant, Junction, Observer, Pipeline, Runnable, StageId,
    StageLedger,
};
use flux_engine_sync::SyncEngine;
use flux_plan::Planner;
use flux_steps::Steps;
use flux_test::{IterSource, VecSink};

#[derive(Debug, Default)]
struct Calls {
    starts: u32,
    batches: Vec<(usize, usize)>,
    last_counts: Vec<(String, StageLedger)>,
    last_flow: Option<EdgeFlow>,
    steps: Vec<usize>,
    dead_letters: Vec<u64>,
    stops: Vec<Instant>,
}

#[derive(Clone, Default)]
struct Record(Arc<Mutex<Calls>>);

impl Observer for Record {
    fn on_start(&self, _plan: &ExecutionPlan) {
        self.0.lock().unwrap().starts += 1;
    }
    fn on_batch(&self, junction: usize, envelopes: usize, _now: Instant) {
        self.0.lock().unwrap().batches.push((junction, envelopes));
    }
    fn on_counts(&self, stage: &StageId, counted: &StageLedger, _now: Instant) {
        let mut calls = self.0.lock().unwrap();
        match calls.last_counts.iter_mut().find(|(id, _)| id == stage.as_str()) {
            Some(entry) => entry.1 = *counted,
            None => calls.last_counts.push((stage.to_string(), *counted)),
        }
    }
    fn on_edge(&self, flow: &EdgeFlow, _now: Instant) {
        self.0.lock().unwrap().last_flow = Some(*flow);
    }
    fn on_step(&self, first_stage: usize, _took: std::time::Duration) {
        self.0.lock().unwrap().steps.push(first_stage);
    }
    fn on_dead_letter(&self, letter: &ErrorEnvelope) {
        self.0.lock().unwrap().dead_letters.push(letter.meta.sequence);
    }
    fn on_stop(&self, now: Instant) {
        self.0.lock().unwrap().stops.push(now);
    }
}

#[test]
fn the_observer_hears_each_batch_each_step_and_the_end_exactly() {
    let record = Record::default();
    let pipeline = Pipeline::from_source(IterSource::new(0..10u64))
        .try_map(|n| if n == 6 { Err("six") } else { Ok(n) })
        .filter(|n| n % 2 == 0)
        .sink(VecSink::new());
    let mut plan = Planner::new().plan(pipeline.describe()).unwrap();
    plan.junctions[2] = Junction::Boundary(EdgeSpec { capacity: 4, batch_size: 2 });
    let report = SyncEngine::new().with_observer(Arc::new(record.clone())).run(&plan, pipeline).unwrap();
    let calls = record.0.lock().unwrap();
    assert_eq!(calls.starts, 1);
    // Kept after the filter: 0, 2, 4, 8 — two batches of two into the sink's segment.
    assert_eq!(calls.batches, [(2, 2), (2, 2)]);
    assert_eq!(calls.last_flow, Some(EdgeFlow { junction: 2, sent: 4, received: 4, dropped: 0 }));
    assert_eq!(calls.dead_letters, [6]);
    let counted: Vec<(&str, u64, u64, u64)> =
        calls.last_counts.iter().map(|(id, c)| (id.as_str(), c.created, c.dropped, c.consumed)).collect();
    assert_eq!(counted, [("source", 10, 0, 0), ("filter-2", 0, 5, 0), ("sink", 0, 0, 4)]);
    let source_steps = calls.steps.iter().filter(|first| **first == 0).count();
    let sink_steps = calls.steps.iter().filter(|first| **first == 3).count();
    assert!(source_steps >= 2 && sink_steps >= 2, "{:?}", calls.steps);
    assert_eq!(calls.stops, [report.end_time], "the end, once, at the run's end time");
}
