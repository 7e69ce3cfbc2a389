//! Keys: fragments with no key, closed keys and their bounded memory, and
//! what a merge error does.

mod support;

use std::time::Duration;

use bytes::Bytes;
use flux_accumulate::{CloseAfter, ClosedKeys, NoKey, OnMergeError, Policy, TimerStart};
use flux_core::{Envelope, SideReason};
use support::{Harness, Parts, frag, secs};

fn closing(capacity: usize, remember_secs: u64, include_expired: bool) -> ClosedKeys {
    ClosedKeys::new(capacity).remember_for(Duration::from_secs(remember_secs)).after(if include_expired {
        CloseAfter::AnyEnd
    } else {
        CloseAfter::Whole
    })
}

#[test]
fn a_fragment_with_no_key_is_a_dead_letter_by_default() {
    let mut h = Harness::new(Parts::default(), Policy::default());
    h.push(Envelope::new((0, 1)).with_sequence(3));
    assert_eq!(h.diverted.dead_letters.len(), 1);
    assert_eq!(h.diverted.dead_letters[0].meta.sequence, 3);
    h.finish();
    assert_eq!(h.records(), 0);
    h.assert_balanced(true);
}

#[test]
fn fragments_with_no_key_can_form_an_explicit_group() {
    let policy = Policy::builder().no_key(NoKey::Group(Bytes::from_static(b"<none>"))).build().unwrap();
    let mut h = Harness::new(Parts::default(), policy);
    h.push(Envelope::new((0, 1)));
    h.push(frag("k", 0, 2));
    h.push(Envelope::new((0, 3)));
    h.finish();
    let out = h.take();
    assert_eq!(out.len(), 2);
    assert_eq!(out[0].1.payload().key, "<none>");
    assert_eq!(out[0].1.payload().values, [1, 3], "never merged into another key");
    h.assert_balanced(true);
}

#[test]
fn fragments_with_no_key_can_be_dropped_on_purpose_and_counted() {
    // The plain path and the general path (a TTL) both hand key-less
    // fragments to the same choice.
    for timed in [false, true] {
        let mut b = Policy::builder().no_key(NoKey::Drop);
        if timed {
            b = b.ttl(Duration::from_secs(10), TimerStart::FirstFragment);
        }
        let mut h = Harness::new(Parts::default(), b.build().unwrap());
        h.push(Envelope::new((0, 1)).with_sequence(1));
        h.push(frag("k", 0, 2).with_sequence(2));
        h.push(Envelope::new((0, 3)).with_sequence(3));
        h.push(frag("k", 0, 4).with_sequence(4));
        assert!(h.diverted.dead_letters.is_empty() && h.diverted.side_outputs.is_empty(), "never a dead letter");
        assert_eq!(h.ledger().dropped, 2);
        assert_eq!(h.stats.snapshot().dropped_no_key, 2);
        assert!(h.stats.snapshot().figures().contains(&("dropped no key".to_owned(), 2)), "the report names it");
        h.finish();
        let out = h.take();
        assert_eq!(out.len(), 1, "no group for the key-less fragments");
        assert_eq!(out[0].1.payload().key, "k");
        assert_eq!(out[0].1.payload().values, [2, 4], "the keyed group is untouched");
        assert_eq!(out[0].1.meta().sequence, 2);
        assert_eq!(h.ledger().merged, 2);
        h.assert_balanced(true);
    }
}

#[test]
fn no_other_no_key_choice_counts_a_drop() {
    let group = NoKey::Group(Bytes::from_static(b"<none>"));
    for (no_key, dead) in [(NoKey::DeadLetter, 1), (group, 0)] {
        let mut h = Harness::new(Parts::default(), Policy::builder().no_key(no_key).build().unwrap());
        h.push(Envelope::new((0, 1)));
        h.finish();
        assert_eq!(h.diverted.dead_letters.len(), dead);
        assert_eq!((h.ledger().dropped, h.stats.snapshot().dropped_no_key), (0, 0));
        h.assert_balanced(true);
    }
}

#[test]
fn a_fragment_for_a_closed_key_goes_to_the_side_output() {
    let acc = Parts { required: 0b11, ..Parts::default() };
    let mut h = Harness::new(acc, Policy::builder().closed_keys(closing(10, 60, false)).build().unwrap());
    h.push(frag("k", 0, 1));
    h.push(frag("k", 1, 2));
    h.push(frag("k", 0, 3).with_sequence(7));
    assert_eq!(h.take().len(), 1);
    assert_eq!(h.diverted.side_outputs.len(), 1);
    assert_eq!(h.diverted.side_outputs[0].reason, SideReason::ClosedKey);
    assert_eq!(h.diverted.side_outputs[0].meta.sequence, 7);
    assert_eq!(h.diverted.side_outputs[0].meta.key.as_deref(), Some(&b"k"[..]));
    h.assert_balanced(true);
}

#[test]
fn a_completed_key_starts_a_new_group_by_default() {
    let acc = Parts { required: 0b1, ..Parts::default() };
    let mut h = Harness::new(acc, Policy::default());
    h.push(frag("k", 0, 1));
    h.push(frag("k", 0, 2));
    assert_eq!(h.take().len(), 2);
    assert!(h.diverted.side_outputs.is_empty());
}

#[test]
fn a_closed_key_is_forgotten_after_its_time() {
    let acc = Parts { required: 0b1, ..Parts::default() };
    let mut h = Harness::new(acc, Policy::builder().closed_keys(closing(10, 60, false)).build().unwrap());
    h.push(frag("k", 0, 1));
    h.advance_to(secs(59));
    h.push(frag("k", 0, 2));
    assert_eq!(h.diverted.side_outputs.len(), 1);
    h.advance_to(secs(60));
    h.push(frag("k", 0, 3));
    assert_eq!(h.take().len(), 2, "forgotten: the fragment opened a new group");
}

#[test]
fn closed_keys_beyond_capacity_are_forgotten_oldest_first() {
    let acc = Parts { required: 0b1, ..Parts::default() };
    let mut h = Harness::new(acc, Policy::builder().closed_keys(closing(2, 600, false)).build().unwrap());
    for key in ["a", "b", "c"] {
        h.push(frag(key, 0, 1));
    }
    h.push(frag("b", 0, 2)); // remembered: side output
    h.push(frag("a", 0, 2)); // forgotten when c closed: a new group
    assert_eq!(h.take().len(), 4);
    assert_eq!(h.diverted.side_outputs.len(), 1);
    assert_eq!(h.stats.snapshot().forgotten_closed_keys, 2, "a, then b when a closed again");
}

#[test]
fn expired_groups_close_their_key_only_when_asked() {
    for include_expired in [false, true] {
        let policy = Policy::builder()
            .ttl(Duration::from_secs(5), TimerStart::FirstFragment)
            .closed_keys(closing(10, 60, include_expired))
            .build()
            .unwrap();
        let mut h = Harness::new(Parts::default(), policy);
        h.push(frag("k", 0, 1));
        h.advance_to(secs(5));
        h.push(frag("k", 0, 2));
        assert_eq!(h.diverted.side_outputs.len(), usize::from(include_expired));
    }
}

#[test]
fn a_merge_error_skips_the_fragment_and_keeps_the_group() {
    let mut h = Harness::new(Parts::default(), Policy::default());
    h.push(frag("k", 0, 1));
    h.push(frag("k", 0, u32::MAX).with_sequence(9));
    h.push(frag("k", 0, 2));
    h.finish();
    assert_eq!(h.take()[0].1.payload().values, [1, 2]);
    assert_eq!(h.diverted.dead_letters.len(), 1);
    assert_eq!(h.diverted.dead_letters[0].meta.sequence, 9);
    assert_eq!(h.diverted.dead_letters[0].meta.key.as_deref(), Some(&b"k"[..]));
    h.assert_balanced(true);
}

#[test]
fn a_merge_error_can_discard_the_group() {
    let policy = Policy::builder().on_merge_error(OnMergeError::DiscardGroup).build().unwrap();
    let mut h = Harness::new(Parts::default(), policy);
    h.push(frag("k", 0, 1));
    h.push(frag("k", 0, 2));
    h.push(frag("k", 0, u32::MAX));
    h.finish();
    assert_eq!(h.records(), 0);
    assert_eq!(h.ledger().discarded, 2);
    h.assert_balanced(true);
}

#[test]
fn a_merge_error_can_stop_the_run() {
    let policy = Policy::builder().on_merge_error(OnMergeError::StopRun).build().unwrap();
    let mut h = Harness::new(Parts::default(), policy);
    h.push(frag("k", 0, u32::MAX));
    assert_eq!(h.diverted.dead_letters.len(), 1);
    assert_eq!(h.diverted.failures.len(), 1);
    h.assert_balanced(true);
}

#[test]
fn a_merge_error_on_a_new_key_leaves_no_empty_group() {
    let mut h = Harness::new(Parts::default(), Policy::default());
    h.push(frag("k", 0, u32::MAX));
    assert_eq!(h.stats.pressure().pending_keys, 0);
    h.finish();
    assert_eq!(h.records(), 0);
}
