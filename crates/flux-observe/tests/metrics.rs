//! `Metrics` on both engines: the final snapshot is the run report, figure
//! for figure; a snapshot mid-run shows the steps so far; the exports parse
//! back.

use std::sync::{Arc, Mutex};

use flux_core::{EdgeSpec, ExecutionPlan, Junction, Pipeline, Runnable};
use flux_engine_async::AsyncEngine;
use flux_engine_sync::SyncEngine;
use flux_observe::{EdgeFigures, Metrics, Snapshot, StageFigures};
use flux_plan::Planner;
use flux_steps::Steps;
use flux_test::{IterSource, VecSink};

const COUNT: u64 = 20_000;

/// Parses, fails every seventh, drops every third, doubles every fifth:
/// every kind of figure a stage has.
fn job() -> impl Runnable {
    Pipeline::from_source(IterSource::new(0..COUNT))
        .try_map(|n| if n % 7 == 3 { Err(format!("{} is unlucky", n % 2)) } else { Ok(n) })
        .filter(|n| n % 3 != 0)
        .flat_map(|n| if n % 5 == 0 { vec![n, n] } else { vec![n] })
        .map(|n| n + 1)
        .sink(VecSink::new())
}

/// The job's plan with boundaries after the filter and after the flat map.
fn plan_of(pipeline: &impl Runnable) -> ExecutionPlan {
    let mut plan = Planner::new().plan(pipeline.describe()).unwrap();
    for junction in [2, 3] {
        plan.junctions[junction] = Junction::Boundary(EdgeSpec { capacity: 4, batch_size: 64 });
    }
    plan
}

/// Each stage's line as the run report has it.
fn report_rows(ledger: &[flux_core::LedgerRow]) -> Vec<(String, u64, u64, u64, u64, u64)> {
    ledger
        .iter()
        .map(|r| (r.stage.to_string(), r.received, r.emitted, r.dead_letters, r.side_outputs, r.counts.dropped))
        .collect()
}

fn snapshot_rows(stages: &[StageFigures]) -> Vec<(String, u64, u64, u64, u64, u64)> {
    stages
        .iter()
        .map(|s| (s.stage.clone(), s.received, s.sent, s.dead_letters, s.side_outputs, s.dropped_by_policy))
        .collect()
}

fn edge_flows(edges: &[EdgeFigures]) -> Vec<(usize, u64, u64, u64, u64)> {
    edges.iter().map(|e| (e.junction, e.sent, e.received, e.dropped_by_policy, e.queued)).collect()
}

/// What the snapshot must say of the dead letters: 2 causes, by count.
fn check_dead_letters(snapshot: &Snapshot) {
    let failed = (0..COUNT).filter(|n| n % 7 == 3).count() as u64;
    let causes: Vec<(&str, &str, u64)> =
        snapshot.dead_letters.iter().map(|d| (d.stage.as_str(), d.cause.as_str(), d.count)).collect();
    let odd = (0..COUNT).filter(|n| n % 7 == 3 && n % 2 == 1).count() as u64;
    assert_eq!(causes, [("try_map-1", "0 is unlucky", failed - odd), ("try_map-1", "1 is unlucky", odd)]);
}

#[test]
fn the_final_snapshot_is_the_sync_run_report_figure_for_figure() {
    let metrics = Arc::new(Metrics::new());
    let pipeline = job();
    let plan = plan_of(&pipeline);
    let report = SyncEngine::new().with_observer(metrics.clone()).run(&plan, pipeline).unwrap();
    let snapshot = metrics.snapshot();
    assert!(snapshot.finished);
    assert_eq!(snapshot_rows(&snapshot.stages), report_rows(&report.ledger));
    let flows: Vec<_> = report
        .edges
        .iter()
        .map(|e| (e.junction, e.envelopes_sent, e.envelopes_received, e.dropped + e.rejected, 0))
        .collect();
    assert_eq!(edge_flows(&snapshot.edges), flows);
    let batches: u64 = report.edges.iter().map(|e| e.batches_sent).sum();
    assert_eq!(snapshot.edges.iter().map(|e| e.batches).sum::<u64>(), batches, "every batch taken is counted");
    assert_eq!(snapshot.edges[0].holds, 256);
    assert_eq!(snapshot.at_nanos, report.end_time.as_nanos());
    check_dead_letters(&snapshot);
}

#[test]
fn the_final_snapshot_is_the_tokio_run_report_figure_for_figure() {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let metrics = Arc::new(Metrics::new());
    let pipeline = job();
    let plan = plan_of(&pipeline);
    let report = runtime.block_on(AsyncEngine::new().with_observer(metrics.clone()).run(&plan, pipeline)).unwrap();
    let snapshot = metrics.snapshot();
    assert!(snapshot.finished);
    assert_eq!(snapshot_rows(&snapshot.stages), report_rows(&report.ledger));
    let flows: Vec<_> = report
        .edges
        .iter()
        .map(|e| (e.junction, e.envelopes_sent, e.envelopes_received, e.dropped + e.rejected, 0))
        .collect();
    assert_eq!(edge_flows(&snapshot.edges), flows);
    let batches: u64 = report.edges.iter().map(|e| e.batches_sent).sum();
    assert_eq!(snapshot.edges.iter().map(|e| e.batches).sum::<u64>(), batches, "every batch taken is counted");
    check_dead_letters(&snapshot);
}

/// On the sync engine a step of the source reads 1,024 envelopes, and the
/// engine reports after each: a snapshot taken while the fifth step runs
/// shows exactly four.
#[test]
fn a_snapshot_mid_run_shows_every_step_before_it() {
    let metrics = Arc::new(Metrics::new());
    let seen: Arc<Mutex<Option<Snapshot>>> = Arc::default();
    let (reader, keep) = (metrics.clone(), seen.clone());
    let pipeline = Pipeline::from_source(IterSource::new(0..10_000u64))
        .map(move |n| {
            if n == 5_000 {
                *keep.lock().unwrap() = Some(reader.snapshot());
            }
            n
        })
        .sink(VecSink::new());
    let plan = Planner::new().plan(pipeline.describe()).unwrap();
    let _report = SyncEngine::new().with_observer(metrics.clone()).run(&plan, pipeline).unwrap();
    let during = seen.lock().unwrap().take().unwrap();
    assert!(!during.finished);
    assert_eq!(during.stage("source").unwrap().created, 4_096);
    assert_eq!(during.stage("map-1").unwrap().received, 4_096);
    assert_eq!(during.stage("sink").unwrap().consumed, 4_096);
    let after = metrics.snapshot();
    assert_eq!(after.stage("sink").unwrap().consumed, 10_000);
}

#[test]
fn the_prometheus_text_parses_back_to_the_snapshots_figures() {
    let metrics = Arc::new(Metrics::new());
    let pipeline = job();
    let plan = plan_of(&pipeline);
    let _report = SyncEngine::new().with_observer(metrics.clone()).run(&plan, pipeline).unwrap();
    let snapshot = metrics.snapshot();
    let text = snapshot.to_prometheus();
    let scrape = prometheus_parse::Scrape::parse(text.lines().map(|line| Ok(line.to_owned()))).unwrap();
    let value = |name: &str, labels: &[(&str, &str)]| -> f64 {
        let sample = scrape
            .samples
            .iter()
            .find(|s| s.metric == name && labels.iter().all(|(k, v)| s.labels.get(k) == Some(*v)))
            .unwrap_or_else(|| panic!("{name} {labels:?} in\n{text}"));
        match sample.value {
            prometheus_parse::Value::Counter(v) | prometheus_parse::Value::Gauge(v) => v,
            ref other => panic!("{name} is {other:?}"),
        }
    };
    for stage in &snapshot.stages {
        let labels = [("stage", stage.stage.as_str())];
        assert_eq!(value("flux_stage_received_total", &labels), stage.received as f64);
        assert_eq!(value("flux_stage_sent_total", &labels), stage.sent as f64);
        assert_eq!(value("flux_stage_dead_letters_total", &labels), stage.dead_letters as f64);
        assert_eq!(value("flux_stage_dropped_by_policy_total", &labels), stage.dropped_by_policy as f64);
        assert_eq!(value("flux_stage_consumed_total", &labels), stage.consumed as f64);
    }
    for edge in &snapshot.edges {
        let junction = edge.junction.to_string();
        let labels = [("junction", junction.as_str()), ("after", edge.after.as_str())];
        assert_eq!(value("flux_edge_sent_total", &labels), edge.sent as f64);
        assert_eq!(value("flux_edge_queued", &labels), 0.0);
        assert_eq!(value("flux_edge_capacity", &labels), 256.0);
    }
    for letter in &snapshot.dead_letters {
        let labels = [("stage", letter.stage.as_str()), ("cause", letter.cause.as_str())];
        assert_eq!(value("flux_dead_letters_total", &labels), letter.count as f64);
    }
    let counters = scrape.docs.keys().filter(|name| name.ends_with("_total")).count();
    assert_eq!(counters, 15, "every counter has its help text");
}

#[test]
fn the_prometheus_text_is_exactly_this() {
    let snapshot = Snapshot {
        at_nanos: 5,
        finished: true,
        timers: 0,
        stages: vec![StageFigures {
            stage: "say \"hi\"".into(),
            received: 2,
            sent: 1,
            dead_letters: 1,
            ..Default::default()
        }],
        edges: vec![EdgeFigures {
            junction: 0,
            after: "say \"hi\"".into(),
            sent: 1,
            queued: 1,
            holds: 8,
            ..Default::default()
        }],
        dead_letters: vec![flux_observe::DeadLetterCause {
            stage: "say \"hi\"".into(),
            cause: "bad\\input".into(),
            count: 1,
        }],
    };
    let golden = include_str!("prometheus.golden");
    assert_eq!(snapshot.to_prometheus(), golden);
}

#[test]
fn a_snapshot_goes_through_json_and_back_unchanged() {
    let metrics = Arc::new(Metrics::new());
    let pipeline = job();
    let plan = plan_of(&pipeline);
    let _report = SyncEngine::new().with_observer(metrics.clone()).run(&plan, pipeline).unwrap();
    let snapshot = metrics.snapshot();
    let back: Snapshot = serde_json::from_str(&snapshot.to_json()).unwrap();
    assert_eq!(back, snapshot);
}

#[test]
fn past_sixteen_causes_a_stages_others_are_counted_together() {
    let metrics = Arc::new(Metrics::new());
    let pipeline = Pipeline::from_source(IterSource::new(0..100u64))
        .try_map(|n| if n < 40 { Err(format!("bad {}\nsecond line", n % 20)) } else { Ok(n) })
        .sink(VecSink::new());
    let plan = Planner::new().plan(pipeline.describe()).unwrap();
    let _report = SyncEngine::new().with_observer(metrics.clone()).run(&plan, pipeline).unwrap();
    let causes = metrics.snapshot().dead_letters;
    assert_eq!(causes.len(), 17);
    let other = causes.iter().find(|c| c.cause == "(other causes)").unwrap();
    assert_eq!(other.count, 8, "causes 16 to 19, twice each");
    let bad_3 = causes.iter().find(|c| c.cause == "bad 3").expect("the first line only");
    assert_eq!(bad_3.count, 2);
    assert_eq!(causes.iter().map(|c| c.count).sum::<u64>(), 40);
}

#[test]
fn the_table_names_the_fullest_boundary_of_a_running_pipeline() {
    let edge = |junction: usize, after: &str, queued, holds| EdgeFigures {
        junction,
        after: after.into(),
        queued,
        holds,
        ..Default::default()
    };
    let stage = |name: &str| StageFigures { stage: name.into(), ..Default::default() };
    let snapshot = Snapshot {
        stages: vec![stage("source"), stage("parse"), stage("write")],
        edges: vec![edge(0, "source", 100, 1_000), edge(1, "parse", 60, 100)],
        ..Default::default()
    };
    assert_eq!(snapshot.fullest_edge().unwrap().junction, 1, "60 of 100 is fuller than 100 of 1,000");
    let table = snapshot.to_string();
    assert!(
        table.contains("waiting: the boundary after parse is fullest (60 of 100); write is the slow side"),
        "{table}"
    );
    let ended = Snapshot { finished: true, ..snapshot };
    assert!(!ended.to_string().contains("waiting"), "an ended run waits for nothing");
}
