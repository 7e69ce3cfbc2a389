//! Pekko's `groupedWeightedWithin(maxWeight, d)` and `groupedWithin(n, d)`
//! replayed with one constant key: `max_bytes_at_most(maxWeight)` (the
//! weight as the envelope cost), `max_items(n)`, `ttl(d, Periodic)`, and
//! the remainder flushed at the end. Each scenario is one Pekko's own
//! operator documentation or tests describe, with the groups they expect.

mod support;

use std::time::Duration;

use flux_accumulate::{Policy, PolicyBuilder, TimerStart};
use flux_core::{Cost, EmitReason, Instant};
use support::{Harness, Parts, frag, secs};

/// `groupedWeightedWithin(max_weight, d)`: weights limited "at most",
/// and a timer that restarts when a group goes out for its weight.
fn grouped_weighted_within(max_weight: u64, d: Duration) -> PolicyBuilder {
    Policy::builder().max_bytes_at_most(max_weight).ttl(d, TimerStart::Periodic)
}

/// Pushes each element at the current time, weighing its own value.
fn send(h: &mut Harness<Parts>, elements: &[u32]) {
    for &e in elements {
        h.push(frag("all", 0, e).with_cost(Cost::bytes(e)));
    }
}

fn groups(h: &mut Harness<Parts>) -> Vec<(Instant, Vec<u32>)> {
    h.take().into_iter().map(|(at, r)| (at, r.into_payload().values)).collect()
}

#[test]
fn elements_heavier_than_the_limit_go_alone() {
    // Pekko: Source(List(1, 2, 3, 101, 4, 5, 6)).groupedWeightedWithin(100, 100.millis)(_.toLong)
    // gives (1, 2, 3), (101), (4, 5, 6).
    let mut h =
        Harness::new(Parts::default(), grouped_weighted_within(100, Duration::from_millis(100)).build().unwrap());
    send(&mut h, &[1, 2, 3, 101, 4, 5, 6]);
    h.finish();
    let got: Vec<_> = groups(&mut h).into_iter().map(|(_, g)| g).collect();
    assert_eq!(got, [vec![1, 2, 3], vec![101], vec![4, 5, 6]]);
    h.assert_balanced(true);
}

#[test]
fn a_pending_last_element_is_not_dropped() {
    // Pekko: 1, 2, 3 then completion, under groupedWeightedWithin(5, 50.millis)(identity),
    // gives (1, 2) and (3).
    let mut h = Harness::new(Parts::default(), grouped_weighted_within(5, Duration::from_millis(50)).build().unwrap());
    send(&mut h, &[1, 2, 3]);
    h.finish();
    let got: Vec<_> = groups(&mut h).into_iter().map(|(_, g)| g).collect();
    assert_eq!(got, [vec![1, 2], vec![3]]);
}

#[test]
fn max_weight_and_max_number_both_split_groups() {
    // Pekko: groupedWeightedWithin(10, 3, 30.seconds)(identity) over
    // 1, 2, 3, 4, 5, 6, 11, 7, 2 gives (1, 2, 3) by number, (4, 5) and (6)
    // by weight (one more did not fit), (11) alone, and (7, 2) at the end.
    let policy = grouped_weighted_within(10, Duration::from_secs(30)).max_items(3).build().unwrap();
    let mut h = Harness::new(Parts::default(), policy);
    send(&mut h, &[1, 2, 3, 4, 5, 6, 11, 7, 2]);
    h.finish();
    let got: Vec<_> = groups(&mut h).into_iter().map(|(_, g)| g).collect();
    assert_eq!(got, [vec![1, 2, 3], vec![4, 5], vec![6], vec![11], vec![7, 2]]);
    h.assert_balanced(true);
}

#[test]
fn the_time_window_restarts_when_a_group_goes_out_for_its_size() {
    // Pekko: groupedWithin(3, 2.seconds); nothing for a second, then 1 to 4:
    // (1, 2, 3) at once, and (4) two seconds later, not at the tick the
    // stage started with (2 s).
    let policy = Policy::builder().max_items(3).ttl(Duration::from_secs(2), TimerStart::Periodic).build().unwrap();
    let mut h = Harness::new(Parts::default(), policy);
    h.advance_to(secs(1));
    send(&mut h, &[1, 2, 3, 4]);
    h.advance_to(secs(2));
    assert_eq!(groups(&mut h), [(secs(1), vec![1, 2, 3])]);
    h.advance_to(secs(10));
    assert_eq!(groups(&mut h), [(secs(3), vec![4])]);
    h.assert_balanced(true);
}

#[test]
fn a_group_goes_out_when_the_time_elapses_since_the_last_group_and_never_empty() {
    // Pekko's documentation: emits "when the configured time elapses since
    // the last group has been emitted, but not if no elements has been
    // grouped (i.e: no empty groups), or when weight limit has been
    // reached". Weights 4, 3, 2 in the first second under a limit of 10:
    // (4, 3, 2) at the tick at 1 s; nothing at 2 s (no elements); 6 and 4
    // at 2.5 s reach the limit at once, and restart the ticks: 7 at 3 s
    // goes out a full period later, at 3.5 s.
    let mut h = Harness::new(Parts::default(), grouped_weighted_within(10, Duration::from_secs(1)).build().unwrap());
    send(&mut h, &[4, 3]);
    h.advance_to(Instant::from_millis(500));
    send(&mut h, &[2]);
    h.advance_to(Instant::from_millis(2_500));
    send(&mut h, &[6, 4]);
    h.advance_to(secs(3));
    send(&mut h, &[7]);
    h.advance_to(secs(10));
    h.finish();
    assert_eq!(
        groups(&mut h),
        [(secs(1), vec![4, 3, 2]), (Instant::from_millis(2_500), vec![6, 4]), (Instant::from_millis(3_500), vec![7])]
    );
    let reasons = h.stats.snapshot();
    assert_eq!((reasons.emitted(EmitReason::Interval), reasons.emitted(EmitReason::Weight)), (2, 1));
    h.assert_balanced(true);
}
