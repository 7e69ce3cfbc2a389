//! Watching a run through the facade alone: metrics, a tap, a span per
//! stage, and the report printed after it.
#![cfg(feature = "observe")]

use std::sync::Arc;

use flux::prelude::*;

#[test]
fn a_run_watched_through_the_facade_prints_its_report() {
    let metrics = Arc::new(Metrics::new());
    let (tap, samples) = Tap::every(2).keep(10);
    let out = VecSink::new();
    let pipeline = Pipeline::from_source(IterSource::new(["4", "x", "6", "8"]))
        .try_map(|s: &str| s.parse::<u32>())
        .named("parse")
        .spanned()
        .stage(tap)
        .named("look")
        .sink(out.clone());
    let plan = flux::plan::Planner::new().plan(pipeline.describe()).unwrap();
    let _ = flux::engine::SyncEngine::new().with_observer(metrics.clone()).run(&plan, pipeline).unwrap();

    assert_eq!(out.payloads(), [4, 6, 8]);
    let kept: Vec<u32> = samples.latest().into_iter().map(|sample| sample.payload).collect();
    assert_eq!(kept, [4, 8], "the first and third of what reached the tap");
    let report = Report::new(metrics.snapshot());
    assert_eq!((report.records_in(), report.records_out(), report.dead_letters()), (4, 3, 1));
    assert!(report.to_string().contains("1  parse: invalid digit found in string"), "{report}");
}
