//! A new key's first fragment completes every other open group
//! (`OnNewKey::CompleteOthers`, Camel's `completionOnNewCorrelationGroup`).

mod support;

use std::time::Duration;

use flux_accumulate::{CloseAfter, ClosedKeys, OnNewKey, Policy, PolicyBuilder, TimerStart, Watermark};
use flux_core::{EmitReason, Envelope, SideReason};
use support::{Harness, Parts, frag, key, records, secs};

fn completing() -> PolicyBuilder {
    Policy::builder().on_new_key(OnNewKey::CompleteOthers)
}

#[test]
fn each_run_of_a_key_is_one_group_emitted_when_the_next_key_arrives() {
    let mut h = Harness::new(Parts::default(), completing().build().unwrap());
    h.push(frag("a", 0, 1).with_sequence(1));
    h.push(frag("a", 0, 2).with_sequence(2));
    assert_eq!(h.records(), 0, "the same key goes on");
    h.push(frag("b", 0, 3).with_sequence(3));
    assert_eq!(records(&mut h), [(key("a"), vec![1, 2], 1, EmitReason::NewKey)], "before b's fragment merged");
    assert_eq!(h.stats.pressure().pending_keys, 1, "only b is open");
    h.push(frag("a", 0, 4).with_sequence(4));
    h.finish();
    let out = records(&mut h);
    assert_eq!(out, [(key("b"), vec![3], 3, EmitReason::NewKey), (key("a"), vec![4], 4, EmitReason::EndOfStream)]);
    assert_eq!(h.stats.snapshot().emitted(EmitReason::NewKey), 2);
    assert_eq!(h.stats.snapshot().evictions, 0, "not a key-limit eviction");
    h.assert_balanced(true);
}

#[test]
fn other_keys_are_completed_even_when_the_new_fragment_completes_its_own_group_at_once() {
    let acc = Parts { required: 0b11, ends_on_part: Some(3), ..Parts::default() };
    let mut h = Harness::new(acc.clone(), completing().build().unwrap());
    h.push(frag("a", 0, 1).with_sequence(1));
    h.push(frag("b", 3, 2).with_sequence(2)); // ends its group as it opens it
    let out = records(&mut h);
    assert_eq!(out, [(key("a"), vec![1], 1, EmitReason::NewKey), (key("b"), vec![2], 2, EmitReason::EndCondition)]);
    assert_eq!(h.stats.pressure().pending_keys, 0);
    h.assert_balanced(false);

    // A limit of one live key is not the same: a group that never stays
    // open makes no room, so `a` waits for the end.
    let mut h = Harness::new(acc, Policy::builder().max_live_keys(1).build().unwrap());
    h.push(frag("a", 0, 1).with_sequence(1));
    h.push(frag("b", 3, 2).with_sequence(2));
    assert_eq!(records(&mut h), [(key("b"), vec![2], 2, EmitReason::EndCondition)]);
    assert_eq!(h.stats.pressure().pending_keys, 1);
}

#[test]
fn a_first_fragment_with_nothing_else_open_completes_nothing() {
    let acc = Parts { required: 0b11, ..Parts::default() };
    let mut h = Harness::new(acc, completing().build().unwrap());
    h.push(frag("a", 0, 1));
    h.push(frag("a", 1, 2)); // complete: nothing is open now
    h.push(frag("b", 0, 3));
    assert_eq!(records(&mut h), [(key("a"), vec![1, 2], 0, EmitReason::Complete)]);
    assert_eq!(h.stats.snapshot().emitted(EmitReason::NewKey), 0);
    h.assert_balanced(false);
}

#[test]
fn by_default_groups_of_many_keys_stay_open_side_by_side() {
    let mut h = Harness::new(Parts::default(), Policy::default());
    h.push(frag("a", 0, 1).with_sequence(1));
    h.push(frag("b", 0, 2).with_sequence(2));
    h.push(frag("a", 0, 3).with_sequence(3));
    assert_eq!(h.records(), 0);
    h.finish();
    let out = records(&mut h);
    assert_eq!(
        out,
        [(key("a"), vec![1, 3], 1, EmitReason::EndOfStream), (key("b"), vec![2], 2, EmitReason::EndOfStream)]
    );
}

#[test]
fn a_keys_next_window_is_not_a_new_key_and_a_new_key_completes_every_window_in_order() {
    let windows = Watermark {
        window: Duration::from_secs(10),
        out_of_orderness: Duration::from_secs(100),
        allowed_lateness: Duration::ZERO,
    };
    let mut h = Harness::new(Parts::default(), completing().watermark(windows).build().unwrap());
    let at = |k: &'static str, value: u32, event: u64| frag(k, 0, value).with_event_time(secs(event));
    h.push(at("a", 1, 15).with_sequence(1)); // window 1
    h.push(at("a", 2, 3).with_sequence(2)); // window 0: the same key
    assert_eq!(h.records(), 0);
    h.push(at("b", 3, 4).with_sequence(3));
    let out = records(&mut h);
    // By deadline: window 0's end comes first, though window 1 opened first.
    assert_eq!(out, [(key("a"), vec![2], 2, EmitReason::NewKey), (key("a"), vec![1], 1, EmitReason::NewKey)]);
    h.finish();
    assert_eq!(records(&mut h), [(key("b"), vec![3], 3, EmitReason::EndOfStream)]);
    h.assert_balanced(true);
}

#[test]
fn fragments_turned_away_on_their_way_in_complete_nothing() {
    let acc = Parts { required: 0b11, ..Parts::default() };
    let closed = ClosedKeys::new(10).remember_for(Duration::from_secs(60)).after(CloseAfter::Whole);
    let mut h = Harness::new(acc, completing().closed_keys(closed).build().unwrap());
    h.push(frag("a", 0, 1));
    h.push(frag("a", 1, 2)); // complete: `a` is closed
    h.push(frag("b", 0, 3).with_sequence(3));
    h.push(frag("a", 0, 4).with_sequence(4)); // a closed key: the side output
    h.push(Envelope::new((0, 5)).with_sequence(5)); // no key: a dead letter
    assert_eq!(h.diverted.side_outputs.len(), 1);
    assert_eq!(h.diverted.side_outputs[0].reason, SideReason::ClosedKey);
    assert_eq!(h.diverted.dead_letters.len(), 1);
    assert_eq!(records(&mut h).len(), 1, "only a's complete group");
    assert_eq!(h.stats.pressure().pending_keys, 1, "b is still open");
    h.finish();
    assert_eq!(records(&mut h), [(key("b"), vec![3], 3, EmitReason::EndOfStream)]);
    h.assert_balanced(true);
}

#[test]
fn a_new_fragment_whose_merge_fails_has_completed_the_others_already() {
    let mut h = Harness::new(Parts::default(), completing().build().unwrap());
    h.push(frag("a", 0, 1).with_sequence(1));
    h.push(frag("b", 0, u32::MAX).with_sequence(2));
    assert_eq!(records(&mut h), [(key("a"), vec![1], 1, EmitReason::NewKey)]);
    assert_eq!(h.diverted.dead_letters.len(), 1);
    assert_eq!(h.stats.pressure().pending_keys, 0, "no empty group for b");
    h.assert_balanced(false);
}

#[test]
fn a_completed_group_takes_its_timer_with_it() {
    let policy = completing().ttl(Duration::from_secs(10), TimerStart::FirstFragment).build().unwrap();
    let mut h = Harness::new(Parts::default(), policy);
    h.push(frag("a", 0, 1).with_sequence(1));
    h.advance_to(secs(5));
    h.push(frag("b", 0, 2).with_sequence(2));
    assert_eq!(h.node_deadline(), Some(secs(15)), "a's deadline at 10 s is gone");
    h.advance_to(secs(20));
    let out: Vec<_> =
        h.take().into_iter().map(|(at, r)| (at, r.payload().values.clone(), r.payload().reason)).collect();
    assert_eq!(out, [(secs(5), vec![1], EmitReason::NewKey), (secs(15), vec![2], EmitReason::Lifetime)]);
    h.assert_balanced(false);
}
