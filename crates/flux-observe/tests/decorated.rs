//! `Decorated`: a decorator's observers hear what concerns their own
//! stage, and only that, on both engines.

use std::sync::{Arc, Mutex};

use flux_core::{
    EdgeFlow, EdgeSpec, ErrorEnvelope, ExecutionPlan, Instant, Junction, Observer, Pipeline, Runnable, StageDecorator,
    StageId, StageLedger,
};
use flux_engine_async::AsyncEngine;
use flux_engine_sync::SyncEngine;
use flux_observe::Decorated;
use flux_plan::Planner;
use flux_steps::Steps;
use flux_test::{IterSource, VecSink};

/// What one stage's observer heard.
#[derive(Debug, Default)]
struct Heard {
    starts: u32,
    stops: u32,
    stages_counted: Vec<String>,
    last_counts: StageLedger,
    dead_letters: Vec<u64>,
    edges: Vec<usize>,
    steps: u32,
}

struct Recorder(Arc<Mutex<Heard>>);

impl Observer for Recorder {
    fn on_start(&self, _plan: &ExecutionPlan) {
        self.0.lock().unwrap().starts += 1;
    }
    fn on_counts(&self, stage: &StageId, counted: &StageLedger, _now: Instant) {
        let mut heard = self.0.lock().unwrap();
        if !heard.stages_counted.iter().any(|s| s == stage.as_str()) {
            heard.stages_counted.push(stage.to_string());
        }
        heard.last_counts = *counted;
    }
    fn on_edge(&self, flow: &EdgeFlow, _now: Instant) {
        let mut heard = self.0.lock().unwrap();
        if !heard.edges.contains(&flow.junction) {
            heard.edges.push(flow.junction);
        }
    }
    fn on_step(&self, _first_stage: usize, _took: std::time::Duration) {
        self.0.lock().unwrap().steps += 1;
    }
    fn on_dead_letter(&self, letter: &ErrorEnvelope) {
        self.0.lock().unwrap().dead_letters.push(letter.meta.sequence);
    }
    fn on_stop(&self, _now: Instant) {
        self.0.lock().unwrap().stops += 1;
    }
}

/// Watches the stage named `check` and the filter, each with its own
/// recorder.
struct Watch {
    check: Arc<Mutex<Heard>>,
    filter: Arc<Mutex<Heard>>,
}

impl StageDecorator for Watch {
    fn decorate(&self, plan: &ExecutionPlan, stage: usize) -> Option<Box<dyn Observer>> {
        let heard = match plan.stages[stage].id.as_str() {
            "check" => &self.check,
            "filter-2" => &self.filter,
            _ => return None,
        };
        Some(Box::new(Recorder(heard.clone())))
    }
}

/// Parse (every fifth fails), drop odd numbers, write; a boundary after
/// the filter, which starts no segment of its own.
fn job() -> (impl Runnable, ExecutionPlan) {
    let pipeline = Pipeline::from_source(IterSource::new(0..1_000u64))
        .try_map(|n| if n % 5 == 4 { Err("bad") } else { Ok(n) })
        .named("check")
        .filter(|n| n % 2 == 0)
        .sink(VecSink::new());
    let mut plan = Planner::new().plan(pipeline.describe()).unwrap();
    plan.junctions[1] = Junction::Boundary(EdgeSpec { capacity: 4, batch_size: 32 });
    (pipeline, plan)
}

fn check_both(engine: &str, watch: &Watch) {
    let (check, filter) = (watch.check.lock().unwrap(), watch.filter.lock().unwrap());
    for heard in [&check, &filter] {
        assert_eq!((heard.starts, heard.stops), (1, 1), "{engine}: the run's start and end, once each");
    }
    assert_eq!(check.dead_letters, (0..1_000).filter(|n| n % 5 == 4).collect::<Vec<u64>>(), "{engine}");
    assert!(filter.dead_letters.is_empty(), "{engine}: another stage's dead letters are not the filter's");
    assert_eq!(check.edges, [1], "{engine}: the boundary after the stage, alone");
    assert!(filter.edges.is_empty(), "{engine}: no boundary after the filter");
    // `check` starts no segment: no step times; the filter starts one.
    assert_eq!(check.steps, 0, "{engine}");
    assert!(filter.steps >= 800 / 32, "{engine}: a step per batch of 32 at least: {}", filter.steps);
    // A map keeps no counts of its own; the filter counts its drops.
    assert!(check.stages_counted.is_empty(), "{engine}: {:?}", check.stages_counted);
    assert_eq!(filter.stages_counted, ["filter-2"], "{engine}");
    assert_eq!(filter.last_counts.dropped, 400, "{engine}: the odd ones of the 800 parsed");
}

fn watch() -> Watch {
    Watch { check: Arc::default(), filter: Arc::default() }
}

#[test]
fn a_decorated_stage_hears_what_concerns_it_on_the_sync_engine() {
    let watch = watch();
    let (pipeline, plan) = job();
    let observer = Arc::new(Decorated::new(Watch { check: watch.check.clone(), filter: watch.filter.clone() }));
    let _report = SyncEngine::new().with_observer(observer).run(&plan, pipeline).unwrap();
    check_both("sync", &watch);
}

#[test]
fn a_decorated_stage_hears_what_concerns_it_on_tokio() {
    let watch = watch();
    let (pipeline, plan) = job();
    let observer = Arc::new(Decorated::new(Watch { check: watch.check.clone(), filter: watch.filter.clone() }));
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let _report = runtime.block_on(AsyncEngine::new().with_observer(observer).run(&plan, pipeline)).unwrap();
    check_both("tokio", &watch);
}
