//! Which emissions close a key, which closed key is forgotten first, and
//! a memory with no time limit.

mod support;

use std::time::Duration;

use flux_accumulate::{CloseAfter, ClosedKeys, Forget, Policy, TimerStart};
use flux_core::SideReason;
use support::{Harness, Parts, frag, secs};

/// The keys of the fragments turned away as closed, in order.
fn turned_away(h: &Harness<Parts>) -> Vec<Vec<u8>> {
    h.diverted
        .side_outputs
        .iter()
        .inspect(|side| assert_eq!(side.reason, SideReason::ClosedKey))
        .map(|side| side.meta.key.as_ref().unwrap().to_vec())
        .collect()
}

#[test]
fn each_setting_closes_the_key_after_its_own_reasons() {
    // A group ended by its count, then one by its lifetime, then a late
    // fragment for each key.
    for (after, closed) in [
        (CloseAfter::Whole, vec![]),
        (CloseAfter::WholeOrFull, vec![b"full".to_vec()]),
        (CloseAfter::AnyEnd, vec![b"full".to_vec(), b"timed".to_vec()]),
    ] {
        let policy = Policy::builder()
            .max_items(2)
            .ttl(Duration::from_secs(5), TimerStart::FirstFragment)
            .closed_keys(ClosedKeys::new(8).after(after))
            .build()
            .unwrap();
        let mut h = Harness::new(Parts::default(), policy);
        h.push(frag("full", 0, 1));
        h.push(frag("full", 0, 2)); // count
        h.push(frag("timed", 0, 3));
        h.advance_to(secs(6)); // lifetime
        h.push(frag("full", 0, 4));
        h.push(frag("timed", 0, 5));
        assert_eq!(turned_away(&h), closed, "{after:?}");
        h.finish();
        h.assert_balanced(true);
    }
}

#[test]
fn a_whole_group_closes_its_key_and_a_start_condition_never_does() {
    let acc = Parts { ends_on_part: Some(9), starts_on_part: Some(8), ..Parts::default() };
    let policy = Policy::builder().closed_keys(ClosedKeys::new(8).after(CloseAfter::AnyEnd)).build().unwrap();
    let mut h = Harness::new(acc, policy);
    h.push(frag("s", 0, 1));
    h.push(frag("s", 8, 2)); // starts the next group: `s` stays open for it
    h.push(frag("e", 9, 3)); // ends its own group: `e` closes
    h.push(frag("e", 0, 4));
    assert_eq!(turned_away(&h), [b"e".to_vec()]);
    assert_eq!(h.records(), 2);
}

#[test]
fn the_least_recently_touched_key_is_forgotten_first_when_over_capacity() {
    for (forget, forgotten) in [(Forget::OldestClosed, "a"), (Forget::LeastRecentlyTouched, "b")] {
        let policy = Policy::builder().max_items(1).closed_keys(ClosedKeys::new(2).forget(forget)).build().unwrap();
        let mut h = Harness::new(Parts { required: 0b1, ..Parts::default() }, policy);
        h.push(frag("a", 0, 1)); // closes a
        h.push(frag("b", 0, 2)); // closes b
        h.push(frag("a", 0, 3)); // turned away: touches a when touches count
        h.push(frag("c", 0, 4)); // closes c: one of a and b must go
        assert_eq!(h.stats.snapshot().forgotten_closed_keys, 1, "{forget:?}");
        let kept = if forgotten == "a" { "b" } else { "a" };
        h.push(frag(kept, 0, 5));
        h.push(frag(forgotten, 0, 6));
        let expected = [b"a".to_vec(), kept.as_bytes().to_vec()];
        assert_eq!(turned_away(&h), expected, "{forget:?}: {forgotten} was forgotten and opened a group");
        assert_eq!(h.records(), 4, "a, b, c and the forgotten key's new group");
        h.finish();
        h.assert_balanced(true);
    }
}

#[test]
fn each_turned_away_fragment_touches_its_key_anew() {
    // a and b closed, then both touched, b last: a is the least recently
    // touched when c's closing pushes one out.
    let policy = Policy::builder()
        .max_items(1)
        .closed_keys(ClosedKeys::new(2).forget(Forget::LeastRecentlyTouched))
        .build()
        .unwrap();
    let mut h = Harness::new(Parts { required: 0b1, ..Parts::default() }, policy);
    h.push(frag("a", 0, 1));
    h.push(frag("b", 0, 2));
    h.push(frag("a", 0, 3)); // touches a
    h.push(frag("b", 0, 4)); // touches b, after a
    h.push(frag("c", 0, 5)); // closes c: a goes
    h.push(frag("b", 0, 6));
    h.push(frag("a", 0, 7));
    assert_eq!(turned_away(&h), [b"a".to_vec(), b"b".to_vec(), b"b".to_vec()], "b kept, a forgotten");
    assert_eq!(h.records(), 4, "a, b, c, and a's new group");
}

#[test]
fn a_key_past_its_time_is_no_longer_closed_even_behind_a_fresher_one() {
    // Least recently touched first: a, touched after b, sits behind it in
    // the order, so its time runs out while b's has not.
    let closing = ClosedKeys::new(8).forget(Forget::LeastRecentlyTouched).remember_for(Duration::from_secs(10));
    let policy = Policy::builder().max_items(1).closed_keys(closing).build().unwrap();
    let mut h = Harness::new(Parts { required: 0b1, ..Parts::default() }, policy);
    h.push(frag("a", 0, 1)); // a closes at 0 s
    h.advance_to(secs(5));
    h.push(frag("b", 0, 2)); // b closes at 5 s
    h.push(frag("a", 0, 3)); // turned away, touched after b
    h.advance_to(secs(10));
    h.push(frag("a", 0, 4)); // 10 s after a closed: a group again
    h.push(frag("b", 0, 5)); // b still closed
    assert_eq!(turned_away(&h), [b"a".to_vec(), b"b".to_vec()]);
    assert_eq!(h.records(), 3, "a, b, and a's new group");
}

#[test]
fn without_remember_for_a_closed_key_is_kept_until_capacity_pushes_it_out() {
    let policy = Policy::builder().closed_keys(ClosedKeys::new(4)).build().unwrap();
    let mut h = Harness::new(Parts { required: 0b1, ..Parts::default() }, policy);
    h.push(frag("a", 0, 1));
    h.advance_to(secs(1_000_000));
    h.push(frag("a", 0, 2));
    assert_eq!(turned_away(&h), [b"a".to_vec()], "closed after a million seconds");
    let timed =
        Policy::builder().closed_keys(ClosedKeys::new(4).remember_for(Duration::from_secs(10))).build().unwrap();
    let mut h = Harness::new(Parts { required: 0b1, ..Parts::default() }, timed);
    h.push(frag("a", 0, 1));
    h.advance_to(secs(10) - Duration::from_nanos(1));
    h.push(frag("a", 0, 2));
    h.advance_to(secs(10));
    h.push(frag("a", 0, 3));
    assert_eq!(turned_away(&h), [b"a".to_vec()], "turned away just before ten seconds, not at ten");
    assert_eq!(h.stats.snapshot().forgotten_closed_keys, 1);
    assert!(Policy::builder().closed_keys(ClosedKeys::new(4).remember_for(Duration::ZERO)).build().is_err());
    assert!(Policy::builder().closed_keys(ClosedKeys::new(0)).build().is_err());
}
