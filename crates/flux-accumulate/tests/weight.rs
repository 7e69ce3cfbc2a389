//! An "at most" byte limit (`BytesBound::AtMost`): a fragment that would
//! take its group past the limit opens the next group; and byte limits a
//! group sets from its own state (`max_bytes_for`), on both paths.

mod support;

use std::time::Duration;

use flux_accumulate::{BytesBound, CloseAfter, ClosedKeys, OnNewKey, Policy, TimerStart, Watermark};
use flux_core::{Cost, EmitReason, Envelope, Instant, SideReason};
use support::{Harness, Parts, Record, frag, secs};

/// A fragment of `key` weighing `bytes`, its value the same figure.
fn weighing(key: &'static str, bytes: u32) -> Envelope<(u8, u32)> {
    frag(key, 0, bytes).with_cost(Cost::bytes(bytes))
}

fn at_most(bytes: u64) -> Policy {
    Policy::builder().max_bytes_at_most(bytes).build().unwrap()
}

/// (time, key, values, reason) of each record taken.
fn groups(h: &mut Harness<Parts>) -> Vec<(Instant, String, Vec<u32>, EmitReason)> {
    h.take()
        .into_iter()
        .map(|(at, r)| {
            let Record { key, values, reason } = r.into_payload();
            (at, String::from_utf8(key.to_vec()).unwrap(), values, reason)
        })
        .collect()
}

#[test]
fn the_default_bound_is_at_least_and_at_most_is_its_own_setting() {
    assert_eq!(Policy::default().bytes_bound(), BytesBound::AtLeast);
    let policy = Policy::builder().max_bytes(10).bytes_bound(BytesBound::AtMost).build().unwrap();
    assert_eq!(policy, at_most(10));
    assert!(Policy::builder().max_bytes_at_most(0).build().is_err());
}

#[test]
fn a_group_that_reaches_the_limit_exactly_is_emitted_at_once() {
    let mut h = Harness::new(Parts::default(), at_most(100));
    h.push(weighing("k", 40));
    h.now = secs(1);
    h.push(weighing("k", 60));
    let out = h.take();
    assert_eq!(out.len(), 1);
    assert_eq!((out[0].0, out[0].1.payload().values.clone()), (secs(1), vec![40, 60]));
    assert_eq!(out[0].1.payload().reason, EmitReason::Weight);
    assert_eq!(out[0].1.cost().bytes, 100, "never more than the limit");
    h.assert_balanced(false);
    assert_eq!(h.ledger().pending, 0);
}

#[test]
fn a_fragment_one_byte_over_opens_the_next_group_and_the_group_goes_out_as_it_arrives() {
    let mut h = Harness::new(Parts::default(), at_most(100));
    h.push(weighing("k", 40));
    h.now = secs(2);
    h.push(weighing("k", 61));
    assert_eq!(groups(&mut h), [(secs(2), "k".into(), vec![40], EmitReason::Weight)]);
    assert_eq!(h.ledger().pending, 1, "the 61 waits in the next group");
    h.push(weighing("k", 39));
    assert_eq!(groups(&mut h), [(secs(2), "k".into(), vec![61, 39], EmitReason::Weight)], "61 + 39 is the limit");
    h.finish();
    assert!(h.take().is_empty());
    h.assert_balanced(true);
    let stats = h.stats.snapshot();
    assert_eq!(stats.emitted(EmitReason::Weight), 2);
    assert_eq!(stats.emitted(EmitReason::EndOfStream), 0);
    let ledger = h.ledger();
    assert_eq!((ledger.merged, ledger.released, ledger.created, ledger.partial), (3, 3, 2, 2));
}

#[test]
fn a_fragment_heavier_than_the_limit_forms_a_group_alone() {
    let mut h = Harness::new(Parts::default(), at_most(100));
    for bytes in [30, 150, 20] {
        h.push(weighing("k", bytes));
    }
    h.finish();
    let got: Vec<_> = groups(&mut h).into_iter().map(|(_, _, values, reason)| (values, reason)).collect();
    assert_eq!(
        got,
        [(vec![30], EmitReason::Weight), (vec![150], EmitReason::Weight), (vec![20], EmitReason::EndOfStream)]
    );
    h.assert_balanced(true);

    // "At least", the default, lets the heavy fragment into the open group.
    let mut h = Harness::new(Parts::default(), Policy::builder().max_bytes(100).build().unwrap());
    for bytes in [30, 150, 20] {
        h.push(weighing("k", bytes));
    }
    h.finish();
    let got: Vec<_> = groups(&mut h).into_iter().map(|(_, _, values, reason)| (values, reason)).collect();
    assert_eq!(got, [(vec![30, 150], EmitReason::Weight), (vec![20], EmitReason::EndOfStream)]);
}

#[test]
fn a_group_of_weightless_fragments_takes_a_heavy_one_as_pekko_does() {
    let mut h = Harness::new(Parts::default(), at_most(100));
    for bytes in [0, 0, 150, 0] {
        h.push(weighing("k", bytes));
    }
    h.finish();
    let got: Vec<_> = groups(&mut h).into_iter().map(|(_, _, values, reason)| (values, reason)).collect();
    assert_eq!(got, [(vec![0, 0, 150], EmitReason::Weight), (vec![0], EmitReason::EndOfStream)]);
    h.assert_balanced(true);
}

#[test]
fn the_overflowing_fragment_is_judged_in_the_group_it_opens() {
    // Part 1 ends its group: it still goes out as complete, in its own group,
    // after the group it would have overflowed went out for its size.
    let acc = Parts { ends_on_part: Some(1), ..Parts::default() };
    let mut h = Harness::new(acc, at_most(100));
    h.push(weighing("k", 60));
    h.push(frag("k", 1, 50).with_cost(Cost::bytes(50)));
    let got: Vec<_> = groups(&mut h).into_iter().map(|(_, _, values, reason)| (values, reason)).collect();
    assert_eq!(got, [(vec![60], EmitReason::Weight), (vec![50], EmitReason::EndCondition)]);
    // A fragment that fits ends the group it joins.
    h.push(weighing("k", 60));
    h.push(frag("k", 1, 40).with_cost(Cost::bytes(40)));
    let got: Vec<_> = groups(&mut h).into_iter().map(|(_, _, values, reason)| (values, reason)).collect();
    assert_eq!(got, [(vec![60, 40], EmitReason::EndCondition)], "an end condition is judged before the weight");
    h.assert_balanced(true);
}

#[test]
fn with_include_expired_the_overflow_closes_the_key_and_the_fragment_goes_to_the_side() {
    let closed = |include_expired: bool| {
        let after = if include_expired { CloseAfter::WholeOrFull } else { CloseAfter::Whole };
        ClosedKeys::new(10).remember_for(Duration::from_secs(60)).after(after)
    };
    let policy = Policy::builder().max_bytes_at_most(100).closed_keys(closed(true)).build().unwrap();
    let mut h = Harness::new(Parts::default(), policy);
    h.push(weighing("k", 60));
    h.push(weighing("k", 50).with_sequence(1));
    let got: Vec<_> = groups(&mut h).into_iter().map(|(_, _, values, reason)| (values, reason)).collect();
    assert_eq!(got, [(vec![60], EmitReason::Weight)]);
    let side: Vec<_> = h.diverted.side_outputs.iter().map(|s| (s.meta.sequence, s.reason)).collect();
    assert_eq!(side, [(1, SideReason::ClosedKey)], "an at-most emission is a size emission");
    h.assert_balanced(true);

    // Without it, a size emission leaves the key open.
    let policy = Policy::builder().max_bytes_at_most(100).closed_keys(closed(false)).build().unwrap();
    let mut h = Harness::new(Parts::default(), policy);
    h.push(weighing("k", 60));
    h.push(weighing("k", 50));
    h.finish();
    let got: Vec<_> = groups(&mut h).into_iter().map(|(_, _, values, reason)| (values, reason)).collect();
    assert_eq!(got, [(vec![60], EmitReason::Weight), (vec![50], EmitReason::EndOfStream)]);
    assert!(h.diverted.side_outputs.is_empty());
}

#[test]
fn under_complete_others_an_overflow_emits_its_own_group_for_its_size_and_completes_nothing_else() {
    // A new key completes every other group, so the group an overflowing
    // fragment finds is the only one open: it goes out for its size, and
    // the fragment's new group is not a new key's (no other group is open).
    let policy = Policy::builder().max_bytes_at_most(100).on_new_key(OnNewKey::CompleteOthers).build().unwrap();
    let mut h = Harness::new(Parts::default(), policy);
    h.push(weighing("a", 60));
    h.push(weighing("b", 10)); // a new key: "a" is completed (evicted)
    h.push(weighing("b", 20));
    h.push(weighing("b", 80)); // overflows "b"
    h.push(weighing("a", 5)); // a new key again
    h.finish();
    let got: Vec<_> = groups(&mut h).into_iter().map(|(_, key, values, reason)| (key, values, reason)).collect();
    assert_eq!(
        got,
        [
            ("a".into(), vec![60], EmitReason::NewKey),
            ("b".into(), vec![10, 20], EmitReason::Weight),
            ("b".into(), vec![80], EmitReason::NewKey),
            ("a".into(), vec![5], EmitReason::EndOfStream),
        ]
    );
    h.assert_balanced(true);
}

#[test]
fn the_group_the_overflowing_fragment_opens_starts_its_own_timer() {
    let policy = Policy::builder()
        .max_bytes_at_most(100)
        .ttl(Duration::from_secs(10), TimerStart::FirstFragment)
        .build()
        .unwrap();
    let mut h = Harness::new(Parts::default(), policy);
    h.push(weighing("k", 60));
    h.advance_to(secs(5));
    h.push(weighing("k", 50));
    assert_eq!(h.node_deadline(), Some(secs(15)), "the first group's timer left with it");
    h.advance_to(secs(30));
    assert_eq!(
        groups(&mut h),
        [(secs(5), "k".into(), vec![60], EmitReason::Weight), (secs(15), "k".into(), vec![50], EmitReason::Lifetime),]
    );
    h.assert_balanced(true);
}

#[test]
fn each_event_time_window_has_its_own_weight() {
    let window = Watermark {
        window: Duration::from_secs(10),
        out_of_orderness: Duration::from_secs(5),
        allowed_lateness: Duration::ZERO,
    };
    let policy = Policy::builder().max_bytes_at_most(100).watermark(window).build().unwrap();
    let mut h = Harness::new(Parts::default(), policy);
    let at = |bytes, s| weighing("k", bytes).with_event_time(secs(s));
    h.push(at(60, 1));
    h.push(at(60, 12)); // the next window: no overflow; the watermark (7 s) keeps window 0 open
    h.push(at(30, 2)); // window 0: 90
    h.push(at(50, 13)); // window 1: 110 would pass the limit
    h.push(at(1, 20)); // the watermark reaches 15: window 0 goes out
    h.finish();
    let got: Vec<_> = groups(&mut h).into_iter().map(|(_, _, values, reason)| (values, reason)).collect();
    assert_eq!(
        got,
        [
            (vec![60], EmitReason::Weight),
            (vec![60, 30], EmitReason::Watermark),
            (vec![50], EmitReason::EndOfStream),
            (vec![1], EmitReason::EndOfStream),
        ]
    );
    h.assert_balanced(true);
}

#[test]
fn a_group_can_set_its_own_at_most_limit_from_its_state() {
    let acc = Parts { bytes_limit_from_part61: true, ..Parts::default() };
    let mut h = Harness::new(acc, at_most(1_000));
    h.push(frag("small", 61, 50).with_cost(Cost::bytes(10))); // this group allows 50 bytes
    h.push(weighing("big", 300));
    h.push(weighing("small", 30)); // 40
    h.push(weighing("big", 300));
    h.push(weighing("small", 20)); // 60 would pass 50
    h.finish();
    let got: Vec<_> = groups(&mut h).into_iter().map(|(_, key, values, reason)| (key, values, reason)).collect();
    assert_eq!(
        got,
        [
            ("small".into(), vec![50, 30], EmitReason::Weight),
            ("big".into(), vec![300, 300], EmitReason::EndOfStream),
            ("small".into(), vec![20], EmitReason::EndOfStream),
        ]
    );
    h.assert_balanced(true);
}

#[test]
fn a_group_can_set_its_own_at_least_limit_on_the_plain_path() {
    // No stage byte limit: a plain policy, whose per-fragment path reads
    // the group's own limit after each merge.
    let acc = Parts { bytes_limit_from_part61: true, ..Parts::default() };
    let mut h = Harness::new(acc, Policy::default());
    h.push(frag("small", 61, 50).with_cost(Cost::bytes(10)));
    h.push(weighing("big", 300));
    h.push(weighing("small", 30));
    assert_eq!(h.records(), 0);
    h.push(weighing("small", 20)); // 60: reached
    h.finish();
    let got: Vec<_> = groups(&mut h).into_iter().map(|(_, key, values, reason)| (key, values, reason)).collect();
    assert_eq!(
        got,
        [("small".into(), vec![50, 30, 20], EmitReason::Weight), ("big".into(), vec![300], EmitReason::EndOfStream)]
    );
    h.assert_balanced(true);
}
