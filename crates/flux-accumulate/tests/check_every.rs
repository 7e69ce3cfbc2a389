//! A timer check period (`check_every`): group timers fire at the first
//! multiple of the period at or after their deadline, as at peers that
//! look at timers on a tick (Camel, Vector); windows are not moved.

mod support;

use std::time::Duration;

use flux_accumulate::{Expiry, Policy, PolicyBuilder, TimerStart, Watermark};
use flux_core::{EmitReason, Instant};
use support::{Harness, Parts, frag, secs};

fn checked(period: u64) -> PolicyBuilder {
    Policy::builder().check_every(Duration::from_secs(period))
}

/// (time, values, reason) of each record taken.
fn groups(h: &mut Harness<Parts>) -> Vec<(Instant, Vec<u32>, EmitReason)> {
    h.take()
        .into_iter()
        .map(|(at, r)| {
            let r = r.into_payload();
            (at, r.values, r.reason)
        })
        .collect()
}

#[test]
fn the_default_is_exact_timers_and_a_period_of_zero_is_rejected() {
    assert_eq!(Policy::default().check_every(), None);
    assert!(checked(0).build().is_err());
    assert_eq!(checked(5).build().unwrap().check_every(), Some(Duration::from_secs(5)));
}

#[test]
fn a_ttl_fires_at_the_first_check_at_or_after_its_deadline() {
    let mut h = Harness::new(
        Parts::default(),
        checked(5).ttl(Duration::from_secs(7), TimerStart::FirstFragment).build().unwrap(),
    );
    h.push(frag("k", 0, 1));
    assert_eq!(h.node_deadline(), Some(secs(10)), "due at 7 s, checked at 10 s");
    h.tick(secs(10) - Duration::from_nanos(1));
    assert_eq!(h.records(), 0);
    h.tick(secs(10));
    assert_eq!(groups(&mut h), [(secs(10), vec![1], EmitReason::Lifetime)]);
    h.assert_balanced(true);
}

#[test]
fn a_deadline_on_an_exact_multiple_fires_then() {
    let mut h = Harness::new(
        Parts::default(),
        checked(5).ttl(Duration::from_secs(10), TimerStart::FirstFragment).build().unwrap(),
    );
    h.push(frag("k", 0, 1));
    assert_eq!(h.node_deadline(), Some(secs(10)));
    // One nanosecond past a multiple waits a whole period.
    h.advance_to(Instant::from_nanos(1));
    h.push(frag("j", 0, 2));
    assert_eq!(h.node_deadline(), Some(secs(10)));
    h.advance_to(secs(20));
    let times: Vec<_> = groups(&mut h).into_iter().map(|(at, ..)| at).collect();
    assert_eq!(times, [secs(10), secs(15)]);
}

#[test]
fn after_deadline_expiry_on_a_multiple_waits_for_the_next_check() {
    let policy = checked(5)
        .ttl(Duration::from_secs(10), TimerStart::FirstFragment)
        .expiry(Expiry::AfterDeadline)
        .build()
        .unwrap();
    let mut h = Harness::new(Parts::default(), policy);
    h.push(frag("k", 0, 1));
    assert_eq!(h.node_deadline(), Some(secs(15)), "expires strictly after 10 s: the check at 15 s");
}

#[test]
fn a_fragment_after_the_deadline_but_before_the_check_still_joins() {
    let mut h = Harness::new(
        Parts::default(),
        checked(5).ttl(Duration::from_secs(7), TimerStart::FirstFragment).build().unwrap(),
    );
    h.push(frag("k", 0, 1));
    h.now = secs(8);
    h.push(frag("k", 0, 2));
    h.now = secs(10); // at the check itself, the group has expired: the fragment opens the next one
    h.push(frag("k", 0, 3));
    h.advance_to(secs(30));
    assert_eq!(
        groups(&mut h),
        [(secs(10), vec![1, 2], EmitReason::Lifetime), (secs(20), vec![3], EmitReason::Lifetime)]
    );
    h.assert_balanced(true);
}

#[test]
fn an_inactivity_timer_that_a_late_fragment_restarted_is_checked_again() {
    let mut h = Harness::new(
        Parts::default(),
        checked(5).ttl(Duration::from_secs(7), TimerStart::LastFragment).build().unwrap(),
    );
    h.push(frag("k", 0, 1)); // due at 7 s, checked at 10 s
    h.now = secs(9);
    h.push(frag("k", 0, 2)); // due at 16 s, checked at 20 s
    assert_eq!(h.node_deadline(), Some(secs(20)));
    h.advance_to(secs(30));
    assert_eq!(groups(&mut h), [(secs(20), vec![1, 2], EmitReason::Inactivity)]);
}

#[test]
fn latency_interval_and_periodic_timers_are_checked_too() {
    let mut h = Harness::new(Parts::default(), checked(2).max_latency(Duration::from_secs(3)).build().unwrap());
    h.push(frag("k", 0, 1));
    assert_eq!(h.node_deadline(), Some(secs(4)));

    // A fixed interval of 3 s, checked every 2 s: ticks at 3, 6, 9 s are checked at 4, 6, 10 s.
    let mut h = Harness::new(
        Parts::default(),
        checked(2).ttl(Duration::from_secs(3), TimerStart::FixedInterval).build().unwrap(),
    );
    h.push(frag("a", 0, 1));
    h.advance_to(secs(5));
    h.push(frag("b", 0, 1));
    h.advance_to(secs(7));
    h.push(frag("c", 0, 1));
    h.advance_to(secs(20));
    let times: Vec<_> = groups(&mut h).into_iter().map(|(at, ..)| at).collect();
    assert_eq!(times, [secs(4), secs(6), secs(10)]);

    // A periodic TTL restarted by a size emission at 1 s: its tick at 4 s is checked at 4 s, the next at 8 s.
    let policy = checked(2).ttl(Duration::from_secs(3), TimerStart::Periodic).max_items(2).build().unwrap();
    let mut h = Harness::new(Parts::default(), policy);
    h.advance_to(secs(1));
    h.push(frag("k", 0, 1));
    h.push(frag("k", 0, 2));
    h.push(frag("k", 0, 3));
    assert_eq!(h.node_deadline(), Some(secs(4)));
    h.advance_to(secs(5));
    h.push(frag("k", 0, 4)); // the tick at 7 s, checked at 8 s
    assert_eq!(h.node_deadline(), Some(secs(8)));
}

#[test]
fn a_groups_own_ttl_is_checked_on_the_plain_path() {
    let acc = Parts { ttl_from_part62: true, ..Parts::default() };
    let mut h = Harness::new(acc, checked(5).build().unwrap());
    h.now = secs(1);
    h.push(frag("quick", 62, 3)); // due at 4 s
    assert_eq!(h.node_deadline(), Some(secs(5)));
    h.advance_to(secs(20));
    assert_eq!(groups(&mut h), [(secs(5), vec![3], EmitReason::Lifetime)]);
}

#[test]
fn a_linger_is_checked_on_both_paths() {
    // A whole group lingering 3 s from 1 s: due at 4 s, checked at 5 s;
    // as the stage's first timer (the plain path) and beside a latency limit.
    let acc = Parts { linger_secs: Some(3), ..Parts::default() };
    for policy in [checked(5).build().unwrap(), checked(5).max_latency(Duration::from_secs(60)).build().unwrap()] {
        let mut h = Harness::new(acc.clone(), policy);
        h.now = secs(1);
        h.push(frag("k", 0, 1));
        assert_eq!(h.node_deadline(), Some(secs(5)));
        h.now = secs(4);
        h.push(frag("k", 0, 2)); // past the linger's end, before the check: joins
        h.advance_to(secs(20));
        assert_eq!(groups(&mut h), [(secs(5), vec![1, 2], EmitReason::Complete)]);
    }
}

#[test]
fn watermark_windows_are_not_moved() {
    let window = Watermark {
        window: Duration::from_secs(10),
        out_of_orderness: Duration::ZERO,
        allowed_lateness: Duration::ZERO,
    };
    let mut h = Harness::new(Parts::default(), checked(3).watermark(window).build().unwrap());
    h.push(frag("k", 0, 1).with_event_time(secs(1)));
    h.push(frag("k", 0, 2).with_event_time(secs(10))); // the watermark reaches the window's end
    assert_eq!(groups(&mut h), [(Instant::ZERO, vec![1], EmitReason::Watermark)]);
}
