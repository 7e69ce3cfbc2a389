//! Groups dropped on purpose instead of emitted: on expiry
//! (`OnExpiry::Discard`) and on a merge failure together with the failing
//! fragment (`OnMergeError::DiscardGroupAndFragment`), each counted.

mod support;

use std::time::Duration;

use flux_accumulate::{AtEnd, CloseAfter, ClosedKeys, Expiry, OnExpiry, OnMergeError, Policy, TimerStart};
use flux_core::{EmitReason, SideReason};
use support::{Harness, Parts, frag, secs};

fn discarding() -> flux_accumulate::PolicyBuilder {
    Policy::builder().on_expiry(OnExpiry::Discard)
}

#[test]
fn an_expired_group_is_discarded_exactly_at_its_deadline_and_counted_with_its_reason() {
    let policy = discarding().ttl(Duration::from_secs(10), TimerStart::FirstFragment).build().unwrap();
    let mut h = Harness::new(Parts::default(), policy);
    h.push(frag("k", 0, 1).with_sequence(1));
    h.push(frag("k", 0, 2).with_sequence(2));
    h.tick(secs(10) - Duration::from_nanos(1));
    assert_eq!(h.ledger().discarded, 0, "one nanosecond early");
    h.tick(secs(10));
    assert_eq!(h.records(), 0, "nothing emitted");
    assert_eq!(h.ledger().discarded, 2, "both fragments");
    let figures = h.stats.snapshot();
    assert_eq!(figures.discarded(EmitReason::Lifetime), 1, "one group, under the reason it expired for");
    assert_eq!(figures.emitted(EmitReason::Lifetime), 0);
    let named = figures.figures();
    assert!(named.contains(&("discarded lifetime".to_owned(), 1)), "the report names it: {named:?}");
    let discards: Vec<_> = named.iter().filter(|(name, _)| name.starts_with("discarded")).collect();
    assert_eq!(discards.len(), 1, "only the reason a group was discarded for: {named:?}");
    assert!(!named.iter().any(|(name, _)| name.starts_with("emitted")), "no reason counted: {named:?}");
    assert_eq!(h.stats.pressure().pending_keys, 0);
    h.assert_balanced(false);
}

#[test]
fn a_fragment_at_the_deadline_opens_the_next_group_after_the_discard() {
    let policy = discarding().ttl(Duration::from_secs(10), TimerStart::FirstFragment).build().unwrap();
    let mut h = Harness::new(Parts::default(), policy);
    h.push(frag("k", 0, 1).with_sequence(1));
    h.now = secs(10); // the fragment arrives before the engine fired the timer
    h.push(frag("k", 0, 2).with_sequence(2));
    assert_eq!((h.records(), h.ledger().discarded), (0, 1), "the first group went, not the fragment");
    h.finish();
    let out = h.take();
    assert_eq!(out.len(), 1);
    assert_eq!((out[0].1.payload().values.as_slice(), out[0].1.meta().sequence), (&[2][..], 2));
    assert_eq!(out[0].1.payload().reason, EmitReason::EndOfStream, "flushed at the end, before its own deadline");
    assert_eq!(h.stats.snapshot().discarded(EmitReason::Lifetime), 1);
    h.assert_balanced(true);
}

#[test]
fn a_group_finished_at_end_of_input_is_emitted_not_discarded() {
    let policy = discarding().ttl(Duration::from_secs(10), TimerStart::FirstFragment).build().unwrap();
    let mut h = Harness::new(Parts::default(), policy);
    h.push(frag("k", 0, 1).with_sequence(1));
    h.advance_to(secs(9));
    h.finish(); // the default `AtEnd::Flush` does not wait for the timer
    let out = h.take();
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].1.payload().reason, EmitReason::EndOfStream);
    assert_eq!(out[0].1.payload().values, [1]);
    assert_eq!(h.ledger().discarded, 0);
    h.assert_balanced(true);
}

#[test]
fn with_after_deadline_a_fragment_at_the_deadline_is_discarded_with_its_group() {
    let policy = discarding()
        .ttl(Duration::from_secs(10), TimerStart::FirstFragment)
        .expiry(Expiry::AfterDeadline)
        .build()
        .unwrap();
    let mut h = Harness::new(Parts::default(), policy);
    h.push(frag("k", 0, 1));
    h.tick(secs(10));
    h.push(frag("k", 0, 2)); // joins: the group expires 1 ns later
    assert_eq!(h.ledger().discarded, 0);
    h.tick(secs(10) + Duration::from_nanos(1));
    assert_eq!((h.records(), h.ledger().discarded), (0, 2));
    h.assert_balanced(false);
}

#[test]
fn a_group_that_completes_or_fills_before_its_deadline_is_still_emitted() {
    let acc = Parts { required: 0b11, ..Parts::default() };
    let policy = discarding().ttl(Duration::from_secs(10), TimerStart::FirstFragment).max_items(3).build().unwrap();
    let mut h = Harness::new(acc, policy);
    h.push(frag("whole", 0, 1));
    h.push(frag("full", 0, 2));
    h.push(frag("full", 0, 3));
    h.push(frag("whole", 1, 4));
    h.push(frag("full", 0, 5));
    h.push(frag("late", 0, 6));
    h.advance_to(secs(20));
    let out: Vec<_> = h.take().into_iter().map(|(_, r)| (r.payload().values.clone(), r.payload().reason)).collect();
    assert_eq!(out, [(vec![1, 4], EmitReason::Complete), (vec![2, 3, 5], EmitReason::Count)]);
    assert_eq!(h.ledger().discarded, 1, "only `late` expired");
    h.assert_balanced(false);
}

#[test]
fn a_latency_limit_and_a_ttl_from_state_discard_too() {
    let policy = discarding().max_latency(Duration::from_secs(5)).build().unwrap();
    let mut h = Harness::new(Parts::default(), policy);
    h.push(frag("k", 0, 1));
    h.advance_to(secs(5));
    assert_eq!((h.records(), h.ledger().discarded), (0, 1));
    assert_eq!(h.stats.snapshot().discarded(EmitReason::Latency), 1);
    h.assert_balanced(false);

    // A per-group TTL on a policy that is otherwise plain (part 62 sets it).
    let acc = Parts { ttl_from_part62: true, ..Parts::default() };
    let mut h = Harness::new(acc, discarding().build().unwrap());
    h.push(frag("k", 62, 3));
    h.push(frag("k", 0, 1));
    h.advance_to(secs(3));
    assert_eq!((h.records(), h.ledger().discarded), (0, 2));
    assert_eq!(h.stats.snapshot().discarded(EmitReason::Lifetime), 1);
    h.assert_balanced(false);
}

#[test]
fn groups_waited_for_at_the_end_are_discarded_when_their_timer_fires() {
    let policy = discarding()
        .ttl(Duration::from_secs(10), TimerStart::FirstFragment)
        .at_end(AtEnd::WaitForTimers)
        .build()
        .unwrap();
    let mut h = Harness::new(Parts::default(), policy);
    h.push(frag("k", 0, 1));
    h.finish();
    assert_eq!((h.records(), h.ledger().discarded), (0, 1));
    h.assert_balanced(true);
}

#[test]
fn a_discarded_expired_group_closes_its_key_only_when_asked() {
    for include_expired in [false, true] {
        let closed = ClosedKeys::new(10).remember_for(Duration::from_secs(60)).after(if include_expired {
            CloseAfter::AnyEnd
        } else {
            CloseAfter::Whole
        });
        let policy =
            discarding().ttl(Duration::from_secs(5), TimerStart::FirstFragment).closed_keys(closed).build().unwrap();
        let mut h = Harness::new(Parts::default(), policy);
        h.push(frag("k", 0, 1));
        h.advance_to(secs(5));
        h.push(frag("k", 0, 2).with_sequence(2));
        let sides = &h.diverted.side_outputs;
        assert_eq!(sides.len(), usize::from(include_expired));
        assert!(sides.iter().all(|s| s.reason == SideReason::ClosedKey && s.meta.sequence == 2));
        h.assert_balanced(false);
    }
}

#[test]
fn drop_at_end_counts_its_groups_as_discarded_for_end_of_stream() {
    let mut h = Harness::new(Parts::default(), Policy::builder().at_end(AtEnd::Drop).build().unwrap());
    h.push(frag("a", 0, 1));
    h.push(frag("b", 0, 2));
    h.finish();
    assert_eq!(h.stats.snapshot().discarded(EmitReason::EndOfStream), 2);
    assert_eq!(h.ledger().discarded, 2);
    h.assert_balanced(true);
}

#[test]
fn a_merge_failure_can_discard_the_group_with_the_failing_fragment() {
    let policy = Policy::builder().on_merge_error(OnMergeError::DiscardGroupAndFragment).build().unwrap();
    let mut h = Harness::new(Parts::default(), policy);
    h.push(frag("k", 0, 1).with_sequence(1));
    h.push(frag("k", 0, 2).with_sequence(2));
    h.push(frag("other", 0, 7).with_sequence(3));
    h.push(frag("k", 0, u32::MAX).with_sequence(4));
    assert!(h.diverted.dead_letters.is_empty(), "no dead letter");
    assert_eq!(h.ledger().discarded, 3, "the group's two fragments and the failing one");
    h.push(frag("k", 0, 5).with_sequence(5)); // a fresh group
    h.push(frag("new", 0, u32::MAX).with_sequence(6)); // would have opened a group: nothing stays open
    assert_eq!(h.ledger().discarded, 4);
    h.finish();
    let out: Vec<_> = h.take().into_iter().map(|(_, r)| (r.meta().sequence, r.payload().values.clone())).collect();
    assert_eq!(out, [(3, vec![7]), (5, vec![5])], "the other key untouched, the key's next group fresh");
    assert_eq!(h.ledger().merged, 6);
    h.assert_balanced(true);
}

#[test]
fn discard_group_alone_still_dead_letters_the_failing_fragment() {
    let policy = Policy::builder().on_merge_error(OnMergeError::DiscardGroup).build().unwrap();
    let mut h = Harness::new(Parts::default(), policy);
    h.push(frag("k", 0, 1));
    h.push(frag("k", 0, u32::MAX).with_sequence(2));
    assert_eq!(h.diverted.dead_letters.len(), 1);
    assert_eq!(h.diverted.dead_letters[0].meta.sequence, 2);
    assert_eq!(h.ledger().discarded, 1);
    h.assert_balanced(false);
}
