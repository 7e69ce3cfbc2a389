//! The stage's figures say why each record was emitted: complete, or a
//! partial flush by count, timer or end of input.

mod support;

use std::time::Duration;

use bytes::Bytes;
use flux_accumulate::{Accumulate, AccumulateExt, Policy, REASONS, TimerStart};
use flux_core::{EmitReason, Envelope, Instant, Pipeline, Runnable};
use flux_engine_sync::SyncEngine;
use flux_plan::Planner;
use flux_test::{TimedSource, VecSink};
use support::Parts;

fn at(secs: u64, key: &'static str, part: u8, sequence: u64) -> (Instant, Envelope<(u8, u32)>) {
    let fragment = Envelope::new((part, 1)).with_key(Bytes::from_static(key.as_bytes())).with_sequence(sequence);
    (Instant::from_secs(secs), fragment)
}

#[test]
fn records_are_counted_by_the_reason_they_were_emitted_for() {
    let acc = Parts { required: 0b11, ..Parts::default() };
    let policy =
        Policy::builder().max_items(3).ttl(Duration::from_secs(10), TimerStart::FirstFragment).build().unwrap();
    let layer = Accumulate::new(acc, policy);
    let stats = layer.stats();
    let input = vec![
        at(0, "done", 0, 0),
        at(0, "late", 0, 1),
        at(1, "done", 1, 2),
        at(2, "big", 2, 3),
        at(2, "big", 2, 4),
        at(2, "big", 2, 5),
        at(20, "open", 0, 6),
    ];
    let out = VecSink::new();
    let pipeline = Pipeline::from_source(TimedSource::new(input)).accumulate_with(layer).named("acc").sink(out.clone());
    let plan = Planner::new().plan(pipeline.describe()).unwrap();
    let report = SyncEngine::new().run(&plan, pipeline).unwrap();

    let figures = stats.snapshot();
    let by_reason: Vec<u64> = REASONS.iter().map(|r| figures.emitted(*r)).collect();
    let counted: Vec<(EmitReason, u64)> = REASONS.iter().copied().zip(by_reason).filter(|(_, n)| *n > 0).collect();
    let expected = [EmitReason::Complete, EmitReason::Count, EmitReason::Lifetime, EmitReason::EndOfStream];
    assert_eq!(counted, expected.map(|reason| (reason, 1)), "one record for each rule that fired");
    let ledger = report.row("acc").unwrap().counts;
    assert_eq!((ledger.created, ledger.partial), (4, 3), "every record but the complete one is partial");
    assert_eq!(figures.emitted(EmitReason::Lifetime), 1);
    // At most two groups open at once (`done` and `late`, then `late` and
    // `big`); their bytes peaked above nothing and are all given back.
    assert_eq!((figures.peak_keys, figures.pending_keys), (2, 0));
    assert!(figures.peak_bytes > 0 && figures.pending_bytes == 0, "{figures:?}");
    assert_eq!(out.payloads().len(), 4, "one record per reason counted");
    let named = figures.figures();
    assert!(named.contains(&("emitted complete".to_owned(), 1)), "{named:?}");
    assert!(named.contains(&("emitted lifetime".to_owned(), 1)), "{named:?}");
    assert!(named.contains(&("emitted count".to_owned(), 1)), "{named:?}");
    assert!(
        !named.iter().any(|(name, _)| name == "emitted latency"),
        "a reason that counted nothing is left out: {named:?}"
    );
    assert!(named.contains(&("open groups".to_owned(), 0)), "{named:?}");
}
