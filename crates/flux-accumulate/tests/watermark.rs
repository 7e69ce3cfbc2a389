//! Event-time windows closed by the watermark: the exact window end, late
//! data to the side output, allowed lateness, out-of-orderness.

mod support;

use std::time::Duration;

use flux_accumulate::{Expiry, Policy, Watermark};
use flux_core::{EmitReason, Envelope, Instant, SideReason};
use support::{Harness, Parts, frag, secs};

fn windows(lateness: u64, out_of_order: u64, expiry: Expiry) -> Policy {
    let watermark = Watermark {
        window: Duration::from_secs(10),
        out_of_orderness: Duration::from_secs(out_of_order),
        allowed_lateness: Duration::from_secs(lateness),
    };
    Policy::builder().watermark(watermark).expiry(expiry).build().unwrap()
}

fn at(key: &'static str, event_secs: u64) -> Envelope<(u8, u32)> {
    frag(key, 0, event_secs as u32).with_event_time(secs(event_secs))
}

#[test]
fn a_watermark_exactly_at_the_window_end_emits_the_window() {
    let mut h = Harness::new(Parts::default(), windows(0, 0, Expiry::AtDeadline));
    h.push(at("k", 1));
    h.push(at("k", 9));
    assert_eq!(h.records(), 0);
    h.push(at("k", 10)); // watermark = 10 = end of [0, 10)
    let out = h.take();
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].1.payload().values, [1, 9]);
    assert_eq!(out[0].1.payload().reason, EmitReason::Watermark);
    h.finish();
    assert_eq!(h.take()[0].1.payload().values, [10], "the next window is its own group");
    h.assert_balanced(true);
}

#[test]
fn with_after_deadline_the_window_waits_for_a_watermark_past_its_end() {
    let mut h = Harness::new(Parts::default(), windows(0, 0, Expiry::AfterDeadline));
    h.push(at("k", 9));
    h.push(at("k", 10));
    assert_eq!(h.records(), 0);
    h.push(frag("k", 0, 11).with_event_time(secs(10) + Duration::from_nanos(1)));
    assert_eq!(h.take()[0].1.payload().values, [9]);
}

#[test]
fn late_data_goes_to_the_side_output() {
    let mut h = Harness::new(Parts::default(), windows(0, 0, Expiry::AtDeadline));
    h.push(at("k", 5));
    h.push(at("k", 12));
    h.push(at("k", 3)); // its window was emitted
    assert_eq!(h.take().len(), 1);
    assert_eq!(h.diverted.side_outputs.len(), 1);
    assert_eq!(h.diverted.side_outputs[0].reason, SideReason::Late);
    assert_eq!(h.diverted.side_outputs[0].meta.event_time, Some(secs(3)));
    h.finish();
    h.assert_balanced(true);
}

#[test]
fn allowed_lateness_keeps_a_window_open_past_its_end() {
    let mut h = Harness::new(Parts::default(), windows(5, 0, Expiry::AtDeadline));
    h.push(at("k", 2));
    h.push(at("k", 12));
    h.push(at("k", 3)); // late by the clock of events, but within five seconds
    assert_eq!(h.records(), 0);
    h.push(at("k", 15));
    let out = h.take();
    assert_eq!(out[0].1.payload().values, [2, 3]);
    assert!(h.diverted.side_outputs.is_empty());
}

#[test]
fn out_of_orderness_holds_the_watermark_back() {
    let mut h = Harness::new(Parts::default(), windows(0, 3, Expiry::AtDeadline));
    h.push(at("k", 4));
    h.push(at("k", 12)); // watermark 9
    h.push(at("k", 8));
    assert_eq!(h.records(), 0);
    h.push(at("k", 13)); // watermark 10
    assert_eq!(h.take()[0].1.payload().values, [4, 8]);
}

#[test]
fn windows_of_one_watermark_step_are_emitted_by_end_then_arrival() {
    let mut h = Harness::new(Parts::default(), windows(20, 0, Expiry::AtDeadline));
    h.push(at("b", 15));
    h.push(at("a", 5));
    h.push(at("b", 1));
    h.push(at("z", 40));
    let order: Vec<_> = h.take().iter().map(|(_, r)| (r.payload().key.clone(), r.payload().values.clone())).collect();
    assert_eq!(order, [("a".into(), vec![5]), ("b".into(), vec![1]), ("b".into(), vec![15])]);
}

#[test]
fn a_fragment_without_event_time_is_a_dead_letter() {
    let mut h = Harness::new(Parts::default(), windows(0, 0, Expiry::AtDeadline));
    h.push(frag("k", 0, 1).with_sequence(4));
    assert_eq!(h.diverted.dead_letters.len(), 1);
    assert_eq!(h.diverted.dead_letters[0].meta.sequence, 4);
    assert_eq!(h.diverted.dead_letters[0].error.to_string(), "stage `accumulate` failed at sequence 4");
    h.assert_balanced(true);
}

#[test]
fn the_watermark_is_event_time_not_engine_time() {
    let mut h = Harness::new(Parts::default(), windows(0, 0, Expiry::AtDeadline));
    h.push(at("k", 1));
    h.advance_to(Instant::from_secs(3600));
    assert_eq!(h.records(), 0);
    assert_eq!(h.node_deadline(), None);
}
