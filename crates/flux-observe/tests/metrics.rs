//! `Metrics` on both engines: the final snapshot is the run report, figure
//! for figure; a snapshot mid-run shows the steps so far; the exports parse
//! back.

use std::sync::{Arc, Mutex};

use flux_core::Observer;
use flux_core::{EdgeSpec, ExecutionPlan, Junction, Pipeline, Runnable};
use flux_engine_async::AsyncEngine;
use flux_engine_sync::SyncEngine;
use flux_observe::{EdgeFigures, Metrics, SegmentFigures, Snapshot, StageFigures};
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
        .stage(SideElevenths)
        .sink(VecSink::new())
}

/// Sends every multiple of eleven to the side output, passes the rest.
struct SideElevenths;

impl flux_core::Stage<u64> for SideElevenths {
    type Out = u64;
    fn process(&mut self, input: flux_core::Envelope<u64>, out: &mut impl flux_core::Emit<u64>) {
        if input.payload().is_multiple_of(11) {
            let (_, meta, _) = input.into_parts();
            return out.side_output(meta, flux_core::SideReason::Other("eleventh"));
        }
        out.emit(input);
    }
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
    let flows =
        report.edges.iter().map(|e| (e.junction, e.envelopes_sent, e.envelopes_received, e.dropped + e.rejected));
    let snapshot = check_against_report(
        &metrics,
        &report.ledger,
        flows.collect(),
        report.edges.iter().map(|e| e.batches_sent).sum(),
    );
    let sided = snapshot.stage("stage-5").unwrap();
    assert!(sided.side_outputs > 0 && sided.sent > 0, "{sided:?}");
    assert_eq!(sided.received, sided.sent + sided.side_outputs);
    assert_eq!(snapshot.edges[0].holds, 256);
    assert_eq!(snapshot.at_nanos, report.end_time.as_nanos());
}

#[test]
fn the_final_snapshot_is_the_tokio_run_report_figure_for_figure() {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let metrics = Arc::new(Metrics::new());
    let pipeline = job();
    let plan = plan_of(&pipeline);
    let report = runtime.block_on(AsyncEngine::new().with_observer(metrics.clone()).run(&plan, pipeline)).unwrap();
    let flows =
        report.edges.iter().map(|e| (e.junction, e.envelopes_sent, e.envelopes_received, e.dropped + e.rejected));
    check_against_report(&metrics, &report.ledger, flows.collect(), report.edges.iter().map(|e| e.batches_sent).sum());
}

/// The ended run's snapshot against its report: every stage's line, every
/// boundary's flow (nothing queued), every batch, and the dead letters.
fn check_against_report(
    metrics: &Metrics,
    ledger: &[flux_core::LedgerRow],
    flows: Vec<(usize, u64, u64, u64)>,
    batches: u64,
) -> Snapshot {
    let snapshot = metrics.snapshot();
    assert!(snapshot.finished);
    assert_eq!(snapshot_rows(&snapshot.stages), report_rows(ledger));
    let queued_none: Vec<_> =
        flows.into_iter().map(|(j, sent, received, dropped)| (j, sent, received, dropped, 0)).collect();
    assert_eq!(edge_flows(&snapshot.edges), queued_none);
    assert_eq!(snapshot.edges.iter().map(|e| e.batches).sum::<u64>(), batches, "every batch taken is counted");
    check_dead_letters(&snapshot);
    snapshot
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
        assert_eq!(value("flux_stage_late_total", &labels), stage.late as f64);
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
    assert_eq!(counters, 17, "every counter has its help text");
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
        segments: vec![SegmentFigures {
            first_stage: "say \"hi\"".into(),
            steps: 2,
            busy_nanos: 3_000,
            wall_nanos: 6_000,
            step_p50_nanos: 1_000,
            step_p90_nanos: 2_000,
            step_p99_nanos: 2_000,
            step_p999_nanos: 2_000,
            step_max_nanos: 2_000,
        }],
        wall_nanos: 6_000,
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

/// Step-time quantiles against exact ones on generated times: within the
/// stated 0.1% at each rank.
#[test]
fn step_time_quantiles_are_within_their_stated_error_of_the_exact_ones() {
    let metrics = Metrics::new();
    let pipeline = job();
    metrics.on_start(&plan_of(&pipeline));
    // Skewed times from 1 µs to about 16 ms, as steps are.
    let mut state = 0x2545_F491_4F6C_DD1Du64;
    let mut times: Vec<u64> = (0..200_000)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            1_000 + (state % 256).pow(2) * (state >> 56)
        })
        .collect();
    for &nanos in &times {
        metrics.on_step(0, std::time::Duration::from_nanos(nanos));
    }
    times.sort_unstable();
    let snapshot = metrics.snapshot();
    let segment = &snapshot.segments[0];
    assert_eq!((segment.first_stage.as_str(), segment.steps), ("source", 200_000));
    assert_eq!(segment.busy_nanos, times.iter().sum::<u64>());
    for (quantile, measured) in [
        (0.5, segment.step_p50_nanos),
        (0.9, segment.step_p90_nanos),
        (0.99, segment.step_p99_nanos),
        (0.999, segment.step_p999_nanos),
        (1.0, segment.step_max_nanos),
    ] {
        let rank = ((quantile * times.len() as f64).ceil() as usize).clamp(1, times.len());
        let exact = times[rank - 1];
        let error = measured.abs_diff(exact) as f64 / exact as f64;
        assert!(error <= 0.001, "p{quantile}: {measured} against {exact} ({error:.5})");
    }
}

#[test]
fn every_segment_reports_its_steps_and_how_busy_it_was() {
    let metrics = Arc::new(Metrics::new());
    let pipeline = job();
    let plan = plan_of(&pipeline);
    let _report = SyncEngine::new().with_observer(metrics.clone()).run(&plan, pipeline).unwrap();
    let snapshot = metrics.snapshot();
    let firsts: Vec<&str> = snapshot.segments.iter().map(|s| s.first_stage.as_str()).collect();
    assert_eq!(firsts, ["source", "flat_map-3", "map-4"], "one line per segment of the plan");
    // The source reads at most 1,024 a step; batches of 64 cross the boundaries.
    assert!(snapshot.segments[0].steps > COUNT / 1_024);
    assert!(snapshot.segments[2].steps >= snapshot.edges[1].batches);
    for segment in &snapshot.segments {
        assert!(segment.busy_nanos > 0 && segment.busy_nanos <= segment.wall_nanos, "{segment:?}");
        assert!(segment.step_p50_nanos <= segment.step_p99_nanos && segment.step_p99_nanos <= segment.step_max_nanos);
    }
    assert!(snapshot.busiest_segment().is_some());
    assert!(snapshot.to_string().contains("segment from source:"), "{snapshot}");
}

/// Keyed counts: the accumulator's merged, released and pending figures
/// are the report's, mid-run (groups open) and at the end.
#[test]
fn an_accumulators_figures_are_the_reports() {
    use flux_accumulate::{AccumulateExt, Keyed, Policy, count};
    let metrics = Arc::new(Metrics::new());
    let out: VecSink<Keyed<u64>> = VecSink::new();
    let pipeline = Pipeline::from_source(IterSource::new(0..5_000u64))
        .key_by(|n: &u64| n % 7)
        .accumulate(count(), Policy::builder().max_items(100).build().unwrap())
        .named("count")
        .sink(out.clone());
    let plan = Planner::new().plan(pipeline.describe()).unwrap();
    let report = SyncEngine::new().with_observer(metrics.clone()).run(&plan, pipeline).unwrap();
    let snapshot = metrics.snapshot();
    assert_eq!(snapshot_rows(&snapshot.stages), report_rows(&report.ledger));
    let counted = snapshot.stage("count").unwrap();
    let row = report.row("count").unwrap();
    assert_eq!((counted.merged, counted.released, counted.pending), (row.counts.merged, row.counts.released, 0));
    assert_eq!(counted.merged, 5_000);
    assert_eq!(counted.sent, out.payloads().len() as u64, "one record a group");
}

/// A rejecting boundary under an upstream-first schedule: 32 of 40
/// turned away. The snapshot counts them under the boundary (dropped by
/// its policy, turned away), not as the stage's dead letters, and the
/// summary names them by stage and cause.
#[test]
fn a_rejecting_boundarys_dead_letters_are_counted_under_the_boundary() {
    use flux_backpressure::{EdgePolicies, Limit, Shedding};
    let metrics = Arc::new(Metrics::new());
    let policies = EdgePolicies::new().after("gate", || Shedding::reject(Limit::batches(2).batch_size(4)));
    let pipeline = Pipeline::from_source(IterSource::new(0..40u64)).map(|n| n).named("gate").sink(VecSink::new());
    let plan = Planner::new().with_pass(policies.clone()).plan(pipeline.describe()).unwrap();
    let mut engine = SyncEngine::new()
        .with_backpressure(policies)
        .with_hook(flux_engine_sync::UpstreamFirst)
        .with_observer(metrics.clone());
    let report = engine.run(&plan, pipeline).unwrap();
    let snapshot = metrics.snapshot();
    assert_eq!(snapshot_rows(&snapshot.stages), report_rows(&report.ledger));
    let edge = &snapshot.edges[0];
    assert_eq!((edge.sent, edge.received, edge.dropped_by_policy, edge.turned_away, edge.queued), (40, 8, 32, 32, 0));
    assert_eq!(snapshot.stage("gate").unwrap().dead_letters, 0, "the boundary's, not the stage's");
    assert_eq!(snapshot.dead_letters.iter().map(|d| (d.stage.as_str(), d.count)).collect::<Vec<_>>(), [("gate", 32)]);
}

/// Timers and engine time: a keyed count whose groups live three seconds
/// over ten timed inputs. The snapshot's timer count is every move of the
/// clock to a timer in the run's trace, and its time is the run's end.
#[test]
fn timers_and_engine_time_are_the_runs() {
    use flux_accumulate::{AccumulateExt, AtEnd, Keyed, Policy, TimerStart, count};
    let metrics = Arc::new(Metrics::new());
    let events =
        (0..10u64).map(|i| (flux_core::Instant::from_secs(i), flux_core::Envelope::new(i % 2).with_sequence(i)));
    let policy = Policy::builder()
        .ttl(std::time::Duration::from_secs(3), TimerStart::FirstFragment)
        .at_end(AtEnd::WaitForTimers)
        .build()
        .unwrap();
    let out: VecSink<Keyed<u64>> = VecSink::new();
    let pipeline = Pipeline::from_source(flux_test::TimedSource::new(events.collect()))
        .key_by(|n: &u64| *n)
        .accumulate(count(), policy)
        .sink(out.clone());
    let plan = Planner::new().plan(pipeline.describe()).unwrap();
    let report = SyncEngine::new().with_observer(metrics.clone()).run(&plan, pipeline).unwrap();
    let snapshot = metrics.snapshot();
    let fired = report.trace.iter().filter(|d| matches!(d, flux_engine_sync::Decision::Timer { .. })).count();
    assert!(fired > 0);
    assert_eq!(snapshot.timers, fired as u64);
    assert_eq!(snapshot.at_nanos, report.end_time.as_nanos());
    assert!(report.end_time >= flux_core::Instant::from_secs(9));
}

/// Event-time windows of ten seconds: two inputs arrive after their
/// window closed. The accumulating stage counts them as late, among its
/// side outputs; no other stage has any.
#[test]
fn late_inputs_are_counted_apart_among_the_side_outputs() {
    use flux_accumulate::{AccumulateExt, Keyed, Policy, Watermark, count};
    let metrics = Arc::new(Metrics::new());
    let events = [5u64, 12, 3, 4, 25].into_iter().enumerate().map(|(i, secs)| {
        let at = flux_core::Instant::from_secs(secs);
        (flux_core::Instant::ZERO, flux_core::Envelope::new(0u64).with_sequence(i as u64).with_event_time(at))
    });
    let watermark = Watermark {
        window: std::time::Duration::from_secs(10),
        out_of_orderness: std::time::Duration::ZERO,
        allowed_lateness: std::time::Duration::ZERO,
    };
    let out: VecSink<Keyed<u64>> = VecSink::new();
    let pipeline = Pipeline::from_source(flux_test::TimedSource::new(events.collect()))
        .key_by(|n: &u64| *n)
        .accumulate(count(), Policy::builder().watermark(watermark).build().unwrap())
        .named("windows")
        .sink(out.clone());
    let plan = Planner::new().plan(pipeline.describe()).unwrap();
    let report = SyncEngine::new().with_observer(metrics.clone()).run(&plan, pipeline).unwrap();
    let snapshot = metrics.snapshot();
    let windows = snapshot.stage("windows").unwrap();
    assert_eq!((windows.side_outputs, windows.late), (2, 2));
    assert_eq!(report.row("windows").unwrap().side_outputs, 2);
    assert!(snapshot.stages.iter().filter(|stage| stage.stage != "windows").all(|stage| stage.late == 0));
    assert!(snapshot.to_prometheus().contains("flux_stage_late_total{stage=\"windows\"} 2\n"));
}
