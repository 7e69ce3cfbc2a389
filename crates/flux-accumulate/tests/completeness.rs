//! Emission on completeness: the variable-set bitmask, the threshold, the
//! fragment conditions (closes / starts a group), headers and correlation.

mod support;

use bytes::Bytes;
use flux_accumulate::{COMPLETENESS_HEADER, FRAGMENTS_HEADER, Policy, REASON_HEADER};
use flux_core::{EmitReason, TraceContext};
use support::{Harness, Parts, frag, header};

fn three_parts() -> Parts {
    Parts { required: 0b111, ..Parts::default() }
}

#[test]
fn a_group_is_emitted_once_every_required_part_has_arrived() {
    let mut h = Harness::new(three_parts(), Policy::default());
    h.push(frag("c1", 0, 10));
    h.push(frag("c2", 0, 20));
    h.push(frag("c1", 1, 11));
    assert_eq!(h.records(), 0);
    h.push(frag("c1", 2, 12));
    let out = h.take();
    assert_eq!(out.len(), 1);
    let record = &out[0].1;
    assert_eq!(record.payload().values, [10, 11, 12]);
    assert_eq!(record.payload().reason, EmitReason::Complete);
    assert_eq!(header(record, COMPLETENESS_HEADER), "1.000");
    assert_eq!(header(record, REASON_HEADER), "complete");
    assert_eq!(header(record, FRAGMENTS_HEADER), "3");
    assert_eq!(h.stats.pressure().pending_keys, 1, "c2 is still open");
    h.assert_balanced(false);
}

#[test]
fn a_record_keeps_the_correlation_of_its_first_fragment() {
    let mut h = Harness::new(three_parts(), Policy::default());
    let trace = TraceContext::new(42, 7);
    h.push(frag("c1", 0, 1).with_sequence(5).with_trace(trace));
    h.push(frag("c1", 1, 2).with_sequence(9));
    h.push(frag("c1", 2, 3).with_sequence(11));
    let record = h.take().remove(0).1;
    assert_eq!(record.meta().sequence, 5);
    assert_eq!(record.meta().trace, trace);
    assert_eq!(record.meta().key, Some(Bytes::from_static(b"c1")));
}

#[test]
fn a_partial_record_carries_its_score() {
    let mut h = Harness::new(three_parts(), Policy::default());
    h.push(frag("c1", 0, 1));
    h.push(frag("c1", 1, 2));
    h.finish();
    let record = h.take().remove(0).1;
    assert_eq!(header(&record, COMPLETENESS_HEADER), "0.667");
    assert_eq!(header(&record, REASON_HEADER), "end-of-stream");
    h.assert_balanced(true);
}

#[test]
fn complete_at_lowers_the_score_that_counts_as_complete() {
    let policy = Policy::builder().complete_at(0.5).build().unwrap();
    let mut h = Harness::new(three_parts(), policy);
    h.push(frag("c1", 0, 1));
    assert_eq!(h.records(), 0, "one of three is below one half");
    h.push(frag("c1", 1, 2));
    assert_eq!(h.take()[0].1.payload().reason, EmitReason::Complete);
}

#[test]
fn a_closing_fragment_is_merged_into_the_group_it_completes() {
    let acc = Parts { required: 0, ends_on_part: Some(9), ..Parts::default() };
    let mut h = Harness::new(acc, Policy::default());
    h.push(frag("k", 0, 1));
    h.push(frag("k", 9, 2));
    h.push(frag("k", 0, 3));
    let out = h.take();
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].1.payload().values, [1, 2]);
    assert_eq!(out[0].1.payload().reason, EmitReason::EndCondition);
}

#[test]
fn a_starting_fragment_emits_the_open_group_without_it() {
    let acc = Parts { required: 0, starts_on_part: Some(0), ..Parts::default() };
    let mut h = Harness::new(acc, Policy::default());
    h.push(frag("k", 0, 1));
    h.push(frag("k", 1, 2));
    h.push(frag("k", 0, 3));
    let out = h.take();
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].1.payload().values, [1, 2]);
    h.finish();
    assert_eq!(h.take()[0].1.payload().values, [3]);
    h.assert_balanced(true);
}

#[test]
fn duplicates_are_merged_not_removed() {
    let mut h = Harness::new(Parts { required: 0b11, ..Parts::default() }, Policy::default());
    h.push(frag("k", 0, 1));
    h.push(frag("k", 0, 1));
    h.push(frag("k", 1, 2));
    let record = h.take().remove(0).1;
    assert_eq!(record.payload().values, [1, 1, 2]);
    assert_eq!(header(&record, FRAGMENTS_HEADER), "3");
}
