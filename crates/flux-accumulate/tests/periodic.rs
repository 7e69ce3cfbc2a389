//! A periodic TTL (`TimerStart::Periodic`): a fixed interval whose ticks
//! restart at every size emission, Pekko's `groupedWithin` timer.

mod support;

use std::time::Duration;

use flux_accumulate::{Policy, TimerStart};
use flux_core::{Cost, EmitReason, Instant};
use support::{Harness, Parts, frag, secs};

fn periodic(after: u64) -> flux_accumulate::PolicyBuilder {
    Policy::builder().ttl(Duration::from_secs(after), TimerStart::Periodic)
}

/// (time, key, values, reason) of each record taken.
fn groups(h: &mut Harness<Parts>) -> Vec<(Instant, String, Vec<u32>, EmitReason)> {
    h.take()
        .into_iter()
        .map(|(at, r)| {
            let r = r.into_payload();
            (at, String::from_utf8(r.key.to_vec()).unwrap(), r.values, r.reason)
        })
        .collect()
}

#[test]
fn without_a_size_emission_it_ticks_as_a_fixed_interval_from_time_zero() {
    let mut h = Harness::new(Parts::default(), periodic(10).build().unwrap());
    h.advance_to(secs(3));
    h.push(frag("a", 0, 1));
    h.advance_to(secs(10));
    h.push(frag("b", 0, 2)); // opened exactly on a tick: waits for the next one
    assert_eq!(h.node_deadline(), Some(secs(20)));
    h.advance_to(secs(25));
    assert_eq!(
        groups(&mut h),
        [(secs(10), "a".into(), vec![1], EmitReason::Interval), (secs(20), "b".into(), vec![2], EmitReason::Interval)]
    );
    h.assert_balanced(true);
}

#[test]
fn after_a_size_emission_the_next_group_gets_a_full_period_then_the_ticks_keep_their_new_phase() {
    let mut h = Harness::new(Parts::default(), periodic(10).max_items(3).build().unwrap());
    h.advance_to(secs(1));
    for v in 1..=4 {
        h.push(frag("k", 0, v));
    }
    assert_eq!(groups(&mut h), [(secs(1), "k".into(), vec![1, 2, 3], EmitReason::Count)]);
    assert_eq!(h.node_deadline(), Some(secs(11)), "a full period from the size emission, not the tick at 10 s");
    h.tick(secs(10));
    assert_eq!(h.records(), 0);
    h.advance_to(secs(11));
    assert_eq!(groups(&mut h), [(secs(11), "k".into(), vec![4], EmitReason::Interval)]);
    // A quiet spell: the ticks go on at 21, 31, ... from the restart.
    h.advance_to(secs(25));
    h.push(frag("k", 0, 5));
    assert_eq!(h.node_deadline(), Some(secs(31)));
    h.advance_to(secs(40));
    assert_eq!(groups(&mut h), [(secs(31), "k".into(), vec![5], EmitReason::Interval)]);
    h.assert_balanced(true);
    let stats = h.stats.snapshot();
    assert_eq!((stats.emitted(EmitReason::Count), stats.emitted(EmitReason::Interval)), (1, 2));

    // A fixed interval does not restart: the same input goes out at 10 s and 30 s.
    let mut h = Harness::new(
        Parts::default(),
        Policy::builder().ttl(Duration::from_secs(10), TimerStart::FixedInterval).max_items(3).build().unwrap(),
    );
    h.advance_to(secs(1));
    for v in 1..=4 {
        h.push(frag("k", 0, v));
    }
    h.advance_to(secs(25));
    h.push(frag("k", 0, 5));
    h.advance_to(secs(40));
    let times: Vec<_> = groups(&mut h).into_iter().map(|(at, ..)| at).collect();
    assert_eq!(times, [secs(1), secs(10), secs(30)]);
}

#[test]
fn a_size_emission_moves_every_open_groups_timer_and_equal_deadlines_go_by_first_arrival() {
    let mut h = Harness::new(Parts::default(), periodic(10).max_items(2).build().unwrap());
    h.push(frag("a", 0, 1)); // due at 10 s
    h.advance_to(secs(2));
    h.push(frag("b", 0, 1));
    assert_eq!(h.node_deadline(), Some(secs(10)));
    h.advance_to(secs(7));
    h.push(frag("b", 0, 2)); // "b" is full: the ticks restart at 7 s
    assert_eq!(h.node_deadline(), Some(secs(17)), "the stage-wide phase moved \"a\" too");
    h.advance_to(secs(8));
    h.push(frag("c", 0, 1));
    h.advance_to(secs(30));
    assert_eq!(
        groups(&mut h),
        [
            (secs(7), "b".into(), vec![1, 2], EmitReason::Count),
            (secs(17), "a".into(), vec![1], EmitReason::Interval),
            (secs(17), "c".into(), vec![1], EmitReason::Interval),
        ]
    );
    h.assert_balanced(true);
}

#[test]
fn a_fragment_at_the_restarted_tick_opens_the_next_group() {
    let mut h = Harness::new(Parts::default(), periodic(10).max_items(2).build().unwrap());
    h.advance_to(secs(4));
    h.push(frag("k", 0, 1));
    h.push(frag("k", 0, 2)); // full at 4 s
    h.push(frag("k", 0, 3)); // due at 14 s
    h.now = secs(14); // arrives before the engine fired the timer
    h.push(frag("k", 0, 4));
    h.advance_to(secs(30));
    assert_eq!(
        groups(&mut h),
        [
            (secs(4), "k".into(), vec![1, 2], EmitReason::Count),
            (secs(14), "k".into(), vec![3], EmitReason::Interval),
            (secs(24), "k".into(), vec![4], EmitReason::Interval),
        ]
    );
}

#[test]
fn an_at_most_overflow_and_a_heavy_fragment_restart_the_ticks_as_they_arrive() {
    let policy = periodic(10).max_bytes_at_most(100).build().unwrap();
    let mut h = Harness::new(Parts::default(), policy);
    let weighing = |bytes| frag("k", 0, bytes).with_cost(Cost::bytes(bytes));
    h.advance_to(secs(2));
    h.push(weighing(60));
    h.advance_to(secs(5));
    h.push(weighing(50)); // overflows: the 60 goes out, the ticks restart at 5 s
    assert_eq!(h.node_deadline(), Some(secs(15)));
    h.advance_to(secs(13));
    h.push(weighing(50)); // 100: full, the ticks restart at 13 s
    assert_eq!(h.node_deadline(), None);
    h.advance_to(secs(14));
    h.push(weighing(150)); // heavier than the limit: alone, at once; restart at 14 s
    h.advance_to(secs(16));
    h.push(weighing(1));
    assert_eq!(h.node_deadline(), Some(secs(24)));
    h.advance_to(secs(30));
    assert_eq!(
        groups(&mut h),
        [
            (secs(5), "k".into(), vec![60], EmitReason::Weight),
            (secs(13), "k".into(), vec![50, 50], EmitReason::Weight),
            (secs(14), "k".into(), vec![150], EmitReason::Weight),
            (secs(24), "k".into(), vec![1], EmitReason::Interval),
        ]
    );
    h.assert_balanced(true);
}

#[test]
fn a_busy_keys_size_emissions_put_off_a_quiet_keys_tick_unless_a_latency_limit_bounds_it() {
    let run = |policy: Policy| {
        let mut h = Harness::new(Parts::default(), policy);
        h.push(frag("quiet", 0, 1)); // due at the tick at 10 s
        for at in [6, 12] {
            h.advance_to(secs(at));
            h.push(frag("busy", 0, 1));
            h.push(frag("busy", 0, 2)); // full: the ticks restart
        }
        h.advance_to(secs(30));
        h.assert_balanced(true);
        let got: Vec<_> = groups(&mut h).into_iter().map(|(at, key, _, reason)| (at, key, reason)).collect();
        got
    };
    // The restart at 6 s moves "quiet" to 16 s, the one at 12 s to 22 s.
    assert_eq!(
        run(periodic(10).max_items(2).build().unwrap()),
        [
            (secs(6), "busy".into(), EmitReason::Count),
            (secs(12), "busy".into(), EmitReason::Count),
            (secs(22), "quiet".into(), EmitReason::Interval),
        ]
    );
    // A latency limit of 12 s ends it first, whatever the ticks do.
    assert_eq!(
        run(periodic(10).max_items(2).max_latency(Duration::from_secs(12)).build().unwrap()),
        [
            (secs(6), "busy".into(), EmitReason::Count),
            (secs(12), "quiet".into(), EmitReason::Latency),
            (secs(12), "busy".into(), EmitReason::Count),
        ]
    );
}
