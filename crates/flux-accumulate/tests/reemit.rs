//! Re-emitting a partial group's original fragments instead of a record,
//! run through the planner and the sync engine (which checks the ledger).

mod support;

use std::time::Duration;

use bytes::Bytes;
use flux_accumulate::{Accumulate, AccumulateExt, AtEnd, Emitted, NoKey, OnExpiry, OnMergeError, Policy, TimerStart};
use flux_core::{EmitReason, Envelope, Instant, Pipeline, Runnable};
use flux_engine_sync::{RunReport, SyncEngine};
use flux_plan::Planner;
use flux_test::{TimedSource, VecSink};
use support::{Parts, Record};

type Out = Emitted<Record, (u8, u32)>;

fn at(secs: u64, key: &'static str, part: u8, value: u32, sequence: u64) -> (Instant, Envelope<(u8, u32)>) {
    let fragment = Envelope::new((part, value))
        .with_key(Bytes::from_static(key.as_bytes()))
        .with_sequence(sequence)
        .with_header("origin", Bytes::from_static(b"test"));
    (Instant::from_secs(secs), fragment)
}

fn run(acc: Parts, policy: Policy, input: Vec<(Instant, Envelope<(u8, u32)>)>) -> (Vec<Envelope<Out>>, RunReport) {
    let out = VecSink::new();
    let layer = Accumulate::new(acc, policy).reemit_fragments();
    let pipeline = Pipeline::from_source(TimedSource::new(input)).accumulate_with(layer).named("acc").sink(out.clone());
    let plan = Planner::new().plan(pipeline.describe()).unwrap();
    let report = SyncEngine::new().run(&plan, pipeline).expect("the ledger balances");
    (out.take(), report)
}

fn fragment_of(env: &Envelope<Out>) -> ((u8, u32), EmitReason) {
    match env.payload() {
        Emitted::Fragment { fragment, reason } => (*fragment, *reason),
        Emitted::Record(record) => panic!("expected a fragment, got {record:?}"),
    }
}

#[test]
fn a_group_cut_by_its_size_limit_comes_back_as_its_fragments_in_order() {
    let acc = Parts { required: 0b11, ..Parts::default() };
    let policy = Policy::builder().max_items(3).build().unwrap();
    let input = vec![
        at(0, "a", 2, 10, 0),
        at(0, "b", 0, 1, 1),
        at(0, "a", 2, 11, 2),
        at(0, "b", 1, 2, 3),
        at(0, "a", 3, 12, 4),
    ];
    let (out, report) = run(acc, policy, input);

    assert_eq!(out.len(), 4);
    // "b" completed: one record with the usual headers.
    let Emitted::Record(record) = out[0].payload() else { panic!("b is complete") };
    assert_eq!(record.values, [1, 2]);
    assert_eq!(&out[0].meta().headers.get("acc.reason").unwrap()[..], b"complete");
    // "a" hit its size limit: its three fragments, as they arrived.
    let again: Vec<_> = out[1..].iter().map(fragment_of).collect();
    assert_eq!(again, [((2, 10), EmitReason::Count), ((2, 11), EmitReason::Count), ((3, 12), EmitReason::Count)]);
    let metas: Vec<_> = out[1..].iter().map(|e| (e.meta().sequence, e.meta().key.clone())).collect();
    assert_eq!(metas, [(0, Some("a".into())), (2, Some("a".into())), (4, Some("a".into()))]);
    assert!(out[1..].iter().all(|e| e.meta().headers.get("origin").is_some() && e.meta().headers.len() == 1));

    let row = report.row("acc").unwrap();
    assert_eq!((row.received, row.emitted), (5, 4));
    assert_eq!(row.counts.merged, 5);
    assert_eq!(row.counts.released, 5, "re-emitted fragments count as released");
    assert_eq!(row.counts.created, 4, "every output, record or fragment, is created by the stage");
    assert_eq!(row.counts.pending, 0);
}

#[test]
fn timeouts_and_end_of_input_re_emit_while_a_complete_group_stays_a_record() {
    let acc = Parts { required: 0b11, ..Parts::default() };
    let policy = Policy::builder().ttl(Duration::from_secs(10), TimerStart::FirstFragment).build().unwrap();
    let input = vec![at(0, "late", 0, 1, 0), at(1, "done", 0, 2, 1), at(2, "done", 1, 3, 2), at(20, "open", 0, 4, 3)];
    let (out, _) = run(acc, policy, input);
    let Emitted::Record(done) = out[0].payload() else { panic!("done is complete") };
    assert_eq!(done.values, [2, 3]);
    assert_eq!(fragment_of(&out[1]), ((0, 1), EmitReason::Lifetime));
    assert_eq!(fragment_of(&out[2]), ((0, 4), EmitReason::EndOfStream));
    assert_eq!(out.len(), 3);
}

#[test]
fn dropped_groups_and_failed_merges_are_not_re_emitted() {
    let policy = Policy::builder().at_end(AtEnd::Drop).on_merge_error(OnMergeError::SkipFragment).build().unwrap();
    let input = vec![at(0, "a", 0, 1, 0), at(0, "a", 0, u32::MAX, 1), at(0, "a", 0, 2, 2)];
    let (out, report) = run(Parts::default(), policy, input);
    assert!(out.is_empty());
    assert_eq!(report.dead_letters.len(), 1);
    assert_eq!(report.dead_letters[0].meta.sequence, 1);
    let row = report.row("acc").unwrap();
    assert_eq!((row.counts.merged, row.counts.discarded, row.counts.released), (2, 2, 0));
}

#[test]
fn groups_discarded_on_expiry_or_with_a_failing_fragment_and_dropped_key_less_fragments_are_not_re_emitted() {
    let policy = Policy::builder()
        .ttl(Duration::from_secs(10), TimerStart::FirstFragment)
        .on_expiry(OnExpiry::Discard)
        .on_merge_error(OnMergeError::DiscardGroupAndFragment)
        .no_key(NoKey::Drop)
        .build()
        .unwrap();
    let keyless = (Instant::ZERO, Envelope::new((0, 9)).with_sequence(3));
    let input = vec![
        at(0, "a", 0, 1, 0),
        at(0, "a", 0, u32::MAX, 1), // `a` goes, with this fragment
        at(0, "b", 0, 2, 2),        // expires at 10 s: discarded
        keyless,
        at(20, "c", 0, 3, 4), // open at the end: re-emitted
    ];
    let (out, report) = run(Parts::default(), policy, input);
    let fragments: Vec<_> = out.iter().map(|e| (e.meta().sequence, fragment_of(e))).collect();
    assert_eq!(fragments, [(4, ((0, 3), EmitReason::EndOfStream))]);
    assert!(report.dead_letters.is_empty());
    let c = report.row("acc").unwrap().counts;
    assert_eq!((c.merged, c.discarded, c.released, c.dropped), (4, 3, 1, 1), "the engine checked the law: {c:?}");
}

#[test]
fn spilled_groups_re_emit_their_fragments_without_restoring_state() {
    let acc = Parts { spillable: true, ..Parts::default() };
    let layer = Accumulate::new(acc, Policy::builder().spill_above(1).build().unwrap()).reemit_fragments();
    let stats = layer.stats();
    let out = VecSink::new();
    let input: Vec<_> = (0..6).map(|i| at(0, ["a", "b", "c"][i % 3], 0, i as u32, i as u64)).collect();
    let pipeline = Pipeline::from_source(TimedSource::new(input)).accumulate_with(layer).sink(out.clone());
    let plan = Planner::new().plan(pipeline.describe()).unwrap();
    let report = SyncEngine::new().run(&plan, pipeline).expect("the ledger balances");
    assert_eq!(report.row("accumulate-1").unwrap().counts.released, 6);
    let values: Vec<u32> = out.take().iter().map(|e| fragment_of(e).0.1).collect();
    assert_eq!(values, [0, 3, 1, 4, 2, 5], "by group in first-arrival order, each in arrival order");
    assert!(stats.snapshot().spills > 0);
}
