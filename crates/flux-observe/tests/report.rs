//! The report an application prints after a run, and what serializes:
//! the readable report (a golden table), its JSON read back whole, and
//! the engines' reports, plans and ledgers as JSON.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use flux_accumulate::{Accumulate, AccumulateExt, Keyed, Policy, TimerStart, count};
use flux_core::{Envelope, ErrorEnvelope, Instant, LedgerRow, Pipeline, PoolStats, Position, Runnable, StageError};
use flux_engine_sync::SyncEngine;
use flux_observe::{Metrics, Report};
use flux_plan::Planner;
use flux_steps::Steps;
use flux_test::{TimedSource, VecSink};

/// Orders: parse a line `key:part` (a line a second), count parts per
/// key; a group goes out at three parts, or 4.5 seconds after its first,
/// or at the end. Two lines do not parse.
fn orders() -> (impl Runnable, flux_accumulate::AccumulatorStats) {
    let lines = ["a:1", "b:1", "a:2", "oops", "a:3", "c:1", "b:2", "??", "d:1"];
    let timed = lines
        .iter()
        .enumerate()
        .map(|(i, line)| (Instant::from_secs(i as u64), Envelope::new(*line).with_sequence(i as u64)));
    let policy =
        Policy::builder().max_items(3).ttl(Duration::from_millis(4_500), TimerStart::FirstFragment).build().unwrap();
    let layer = Accumulate::new(count(), policy);
    let stats = layer.stats();
    let pipeline = Pipeline::from_source(TimedSource::new(timed.collect()))
        .try_map(|line: &str| line.split_once(':').map(|(key, _)| key.to_owned()).ok_or("no part number"))
        .named("parse")
        .key_by(|key: &String| key.clone())
        .accumulate_with(layer)
        .named("orders")
        .sink(VecSink::<Keyed<u64>>::new());
    (pipeline, stats)
}

fn report_of_orders() -> (Report, flux_engine_sync::RunReport, flux_core::ExecutionPlan) {
    let metrics = Arc::new(Metrics::new());
    let (pipeline, stats) = orders();
    let plan = Planner::new().plan(pipeline.describe()).unwrap();
    let run = SyncEngine::new().with_observer(metrics.clone()).run(&plan, pipeline).unwrap();
    let pool = PoolStats {
        rented: 12,
        returned: 12,
        high_water: 3,
        allocations_avoided: 9,
        capacity: 8,
        ..PoolStats::default()
    };
    let report = Report::new(metrics.snapshot())
        .with_figures("accumulator orders", stats.snapshot().figures())
        .with_pool("pool slabs", &pool);
    (report, run, plan)
}

/// The lines that do not depend on real time (the headline's duration
/// and rate, the segments' step times).
fn steady_lines(text: &str) -> Vec<String> {
    let mut lines: Vec<String> =
        text.lines().filter(|line| !line.contains("segment from")).map(str::to_owned).collect();
    let head = &mut lines[0];
    let cut = head.find(", in ").expect("a headline with its time");
    head.truncate(cut);
    lines
}

#[test]
fn the_report_prints_counts_dead_letters_completeness_and_figures() {
    let (report, _, _) = report_of_orders();
    let text = report.to_string();
    let expected = [
        "9 records in, 5 out, 2 dead letters",
        "run ended at 8.000 s of engine time",
        "  stage        received         sent         dead       side    dropped",
        "  source              0            9            0          0          0",
        "  parse               9            7            2          0          0",
        "  key_by-2            7            7            0          0          0",
        "  orders              7            5            0          0          0",
        "  sink                5            0            0          0          0",
        "  boundary after key_by-2: 7 sent, 7 received, 0 of 4096 queued",
        "  boundary after orders: 5 sent, 5 received, 0 of 4096 queued",
        "  dead letters:",
        "           2  parse: no part number",
        "  completeness of orders: 7 fragments merged, 7 released in 5 records (5 partial), 0 discarded, 0 pending",
        // a's three parts by count; b's first after its 4.5 s lifetime; b's second, c and d at the end.
        "  accumulator orders: open groups 0, held bytes 0, peak groups 3, peak bytes 1023, spilled groups 0, spills 0, \
         spill failures 0, restores 0, evictions 0, dropped no key 0, signals 0, emitted count 1, emitted lifetime 1, \
         emitted end-of-stream 3",
        "  pool slabs: rented 12, returned 12, in use 0, high water 3, allocations avoided 9, capacity 8",
    ];
    assert_eq!(steady_lines(&text), expected, "\n{text}");
    assert!(text.lines().any(|line| line.starts_with("  segment from source: ") && line.contains("p99")), "{text}");
}

#[test]
fn the_reports_json_reads_back_whole() {
    let (report, _, _) = report_of_orders();
    let json = report.to_json();
    let back = Report::from_json(&json).unwrap();
    assert_eq!(back, report);
    assert_eq!(back.to_json(), json);
    assert!(Report::from_json("{\"metrics\": 3}").is_err(), "not a report");
}

#[test]
fn the_engines_report_plan_and_ledger_serialize() {
    let (_, run, plan) = report_of_orders();
    let json = serde_json::to_value(&run).unwrap();
    let ledger: Vec<LedgerRow> = serde_json::from_value(json["ledger"].clone()).unwrap();
    assert_eq!(ledger, run.ledger, "the ledger reads back whole");
    let letter = &json["dead_letters"][0];
    assert_eq!(letter["meta"]["sequence"], 3);
    assert_eq!(letter["error"]["stage"], "parse");
    assert_eq!(letter["error"]["position"]["Sequence"], 3);
    assert_eq!(letter["error"]["causes"][0], "no part number");
    assert_eq!(json["end_time"], 8_000_000_000u64, "engine time, in nanoseconds");

    let plan_json = serde_json::to_value(&plan).unwrap();
    let ids: Vec<&str> = plan_json["stages"].as_array().unwrap().iter().map(|s| s["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["source", "parse", "key_by-2", "orders", "sink"]);
    assert_eq!(plan_json["junctions"][0], "Fused");
}

/// An error with a source, for a chain of two.
#[derive(Debug)]
struct WriteFailed(std::io::Error);

impl std::fmt::Display for WriteFailed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("write failed")
    }
}

impl std::error::Error for WriteFailed {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.0)
    }
}

#[test]
fn a_dead_letter_reads_back_with_its_chain_of_causes() {
    let outer = WriteFailed(std::io::Error::other("disk full"));
    let letter = ErrorEnvelope {
        meta: Envelope::new(()).with_sequence(41).with_key(Bytes::from_static(b"k7")).into_parts().1,
        error: StageError::new(flux_core::StageId::from_static("sink"), Position::ByteOffset(4096), outer),
    };
    let json = serde_json::to_string(&letter).unwrap();
    let back: ErrorEnvelope = serde_json::from_str(&json).unwrap();
    assert_eq!(back.meta, letter.meta);
    assert_eq!(back.error.to_string(), "stage `sink` failed at byte 4096");
    let chain = |error: &StageError| {
        let mut chain = Vec::new();
        let mut next: Option<&(dyn std::error::Error + 'static)> = Some(error.cause());
        while let Some(cause) = next {
            chain.push(cause.to_string());
            next = cause.source();
        }
        chain
    };
    assert_eq!(chain(&back.error), ["write failed", "disk full"]);
    assert_eq!(chain(&back.error), chain(&letter.error));
    assert_eq!(serde_json::to_string(&back).unwrap(), json, "and writes the same JSON again");
}

/// The headline's time and rate: ten records in over two seconds of real
/// time are five a second.
#[test]
fn the_headline_says_how_long_the_run_took_and_how_fast_it_read() {
    let metrics = flux_observe::Snapshot {
        stages: vec![flux_observe::StageFigures { stage: "source".into(), sent: 10, ..Default::default() }],
        wall_nanos: 2_000_000_000,
        ..Default::default()
    };
    let report = Report::new(metrics);
    assert_eq!(report.records_in_per_second(), 5.0);
    let headline = report.to_string().lines().next().unwrap().to_owned();
    assert_eq!(headline, "10 records in, 0 out, 0 dead letters, in 2.000 s (5 records/s in)");
}
