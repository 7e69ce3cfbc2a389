//! An accumulating stage in a run that fails: open groups are flushed by
//! the `AtEnd` policy when the run stops, a merge that stops the run emits
//! what was merged, and a panic in the accumulator is caught at the stage.

mod support;

use std::error::Error;

use bytes::Bytes;
use flux_accumulate::{AccumulateExt, AtEnd, OnMergeError, Policy};
use flux_core::{
    Context, EmitReason, Envelope, Panicked, Pipeline, Position, Pull, Runnable, Source, SourceError, VecSink,
};
use flux_engine_sync::SyncEngine;
use flux_plan::Planner;
use flux_test::{Conservation, PanicOnMerge};
use support::{Parts, Record};

/// Fragments `(key, part, value)` in order, then a read error.
struct ThenFails(std::vec::IntoIter<(&'static str, u8, u32)>, u64);

impl Source for ThenFails {
    type Item = (u8, u32);
    fn pull(&mut self, _cx: &mut Context<'_>) -> Result<Pull<(u8, u32)>, SourceError> {
        let Some((key, part, value)) = self.0.next() else {
            return Err(SourceError { position: Position::ByteOffset(999), cause: "disk gone".into() });
        };
        self.1 += 1;
        let envelope =
            Envelope::new((part, value)).with_key(Bytes::from_static(key.as_bytes())).with_sequence(self.1 - 1);
        Ok(Pull::Item(envelope))
    }
}

fn fragments() -> Vec<(&'static str, u8, u32)> {
    vec![("a", 0, 1), ("b", 0, 2), ("a", 1, 3), ("c", 0, 4), ("b", 0, 5)]
}

fn records(out: &VecSink<Record>) -> Vec<(String, Vec<u32>, EmitReason)> {
    out.payloads().into_iter().map(|r| (String::from_utf8(r.key.to_vec()).unwrap(), r.values, r.reason)).collect()
}

#[test]
fn open_groups_are_flushed_when_the_run_stops() {
    let out = VecSink::new();
    let parts = Parts { required: 0b11, ..Parts::default() };
    let pipeline = Pipeline::from_source(ThenFails(fragments().into_iter(), 0))
        .accumulate(parts, Policy::default())
        .sink(out.clone());
    let plan = Planner::new().plan(pipeline.describe()).unwrap();
    let error = SyncEngine::new().run(&plan, pipeline).unwrap_err();
    assert_eq!(error.to_string(), "stage `source` stopped the run at byte 999");
    assert_eq!(
        records(&out),
        [
            ("a".into(), vec![1, 3], EmitReason::Complete),
            ("b".into(), vec![2, 5], EmitReason::EndOfStream),
            ("c".into(), vec![4], EmitReason::EndOfStream),
        ]
    );
    let report = error.report().unwrap();
    assert_eq!(report.row("accumulate-1").unwrap().counts.released, 5);
    assert!(report.problems.is_empty(), "{:?}", report.problems);
}

#[test]
fn drop_at_end_counts_the_open_groups_when_the_run_stops() {
    let out = VecSink::new();
    let policy = Policy::builder().at_end(AtEnd::Drop).build().unwrap();
    let parts = Parts { required: 0b11, ..Parts::default() };
    let pipeline =
        Pipeline::from_source(ThenFails(fragments().into_iter(), 0)).accumulate(parts, policy).sink(out.clone());
    let plan = Planner::new().plan(pipeline.describe()).unwrap();
    let error = SyncEngine::new().run(&plan, pipeline).unwrap_err();
    let counts = error.report().unwrap().row("accumulate-1").unwrap().counts;
    assert_eq!((counts.released, counts.discarded), (2, 3));
    assert!(error.report().unwrap().problems.is_empty());
}

#[test]
fn a_merge_error_that_stops_the_run_still_emits_every_group_merged_so_far() {
    let out = VecSink::new();
    let policy = Policy::builder().on_merge_error(OnMergeError::StopRun).build().unwrap();
    let mut input = fragments();
    input.insert(3, ("a", 0, u32::MAX)); // fails to merge
    let pipeline = Pipeline::from_source(flux_core::TimedSource::new(
        input
            .iter()
            .enumerate()
            .map(|(i, &(key, part, value))| {
                let envelope =
                    Envelope::new((part, value)).with_key(Bytes::from_static(key.as_bytes())).with_sequence(i as u64);
                (flux_core::Instant::ZERO, envelope)
            })
            .collect(),
    ))
    .accumulate(Parts { required: 0b111, ..Parts::default() }, policy)
    .sink(out.clone());
    let plan = Planner::new().plan(pipeline.describe()).unwrap();
    let error = SyncEngine::new().run(&plan, pipeline).unwrap_err();
    assert_eq!(error.to_string(), "stage `accumulate-1` stopped the run at sequence 3");
    let report = error.report().unwrap();
    let merged: Vec<u32> = records(&out).into_iter().flat_map(|(_, values, _)| values).collect();
    assert_eq!(merged.len(), 5, "every fragment merged before or with the failure was emitted");
    let dead: Vec<u64> = report.dead_letters.iter().map(|l| l.meta.sequence).collect();
    assert_eq!(dead, [3]);
    assert!(report.problems.is_empty(), "{:?}", report.problems);
}

#[test]
fn a_panicking_merge_is_caught_at_the_stage_and_its_group_is_dropped_counted() {
    let out = VecSink::new();
    let acc = PanicOnMerge::new(Parts { required: 0b11, ..Parts::default() }, 3);
    let input: Vec<_> = fragments()
        .into_iter()
        .enumerate()
        .map(|(i, (key, part, value))| {
            let envelope =
                Envelope::new((part, value)).with_key(Bytes::from_static(key.as_bytes())).with_sequence(i as u64);
            (flux_core::Instant::ZERO, envelope)
        })
        .collect();
    let pipeline = Pipeline::from_source(flux_core::TimedSource::new(input))
        .accumulate(acc, Policy::default())
        .named("orders")
        .sink(out.clone());
    let plan = Planner::new().plan(pipeline.describe()).unwrap();
    let error = SyncEngine::new().run(&plan, pipeline).unwrap_err();
    assert_eq!(error.to_string(), "stage `orders` stopped the run at sequence 3");
    assert!(Error::source(&error).unwrap().is::<Panicked>());
    let report = error.report().unwrap();
    // Merge 3 is "c"'s first fragment: it is a dead letter, and "c" (which
    // held nothing yet) is dropped; "a" is complete, "b" flushed at the stop.
    assert_eq!(
        records(&out),
        [("a".into(), vec![1, 3], EmitReason::Complete), ("b".into(), vec![2, 5], EmitReason::EndOfStream)]
    );
    let dead: Vec<u64> = report.dead_letters.iter().map(|l| l.meta.sequence).collect();
    Conservation::of(0..5).output([0, 1, 2, 4]).dead_letters(dead).assert();
    assert!(report.problems.is_empty(), "{:?}", report.problems);
}
