//! Timers on the event-time clock ([`TimerClock::EventTime`]): the data's
//! own time expires groups, whatever the engine's clock says.

mod support;

use std::time::Duration;

use flux_accumulate::{AtEnd, CloseAfter, ClosedKeys, Policy, TimerClock, TimerStart};
use flux_core::{EmitReason, Envelope};
use support::{Harness, Parts, frag, secs};

fn event_ttl(after: u64, lag: u64) -> Policy {
    Policy::builder()
        .ttl(Duration::from_secs(after), TimerStart::FirstFragment)
        .timer_clock(TimerClock::EventTime { lag: Duration::from_secs(lag) })
        .build()
        .unwrap()
}

/// A fragment of `key` stamped with event time `at` seconds.
fn at(key: &'static str, value: u32, at: u64) -> Envelope<(u8, u32)> {
    frag(key, 0, value).with_event_time(secs(at))
}

#[test]
fn a_group_expires_when_event_time_passes_its_deadline_with_the_engine_clock_at_zero() {
    let mut h = Harness::new(Parts::default(), event_ttl(10, 0));
    h.push(at("a", 1, 100));
    h.push(at("b", 2, 105));
    assert_eq!(h.node_deadline(), None, "the engine is never asked to wait for event time");
    h.push(at("b", 3, 109));
    assert_eq!(h.records(), 0, "event time 109 is one second before a's deadline of 110");
    h.push(at("c", 4, 110));
    let out = h.take();
    assert_eq!(out.len(), 1, "the clock reached 110: a expired, b (deadline 115) did not");
    assert_eq!(out[0].0, secs(0), "on the engine's clock nothing moved");
    assert_eq!(out[0].1.payload().values, [1]);
    assert_eq!(out[0].1.payload().reason, EmitReason::Lifetime);
    h.finish();
    let rest: Vec<_> = h.take().into_iter().map(|(_, r)| (r.payload().values.clone(), r.payload().reason)).collect();
    assert_eq!(rest, [(vec![2, 3], EmitReason::EndOfStream), (vec![4], EmitReason::EndOfStream)]);
    h.assert_balanced(true);
}

#[test]
fn the_fragment_that_moves_the_clock_past_a_deadline_opens_a_new_group() {
    let mut h = Harness::new(Parts::default(), event_ttl(10, 0));
    h.push(at("a", 1, 0));
    h.push(at("a", 2, 10));
    let out = h.take();
    assert_eq!(out.len(), 1, "the group expired before the fragment at its deadline merged");
    assert_eq!(out[0].1.payload().values, [1]);
    h.finish();
    assert_eq!(h.take()[0].1.payload().values, [2]);
}

/// A group's deadline is its first fragment's event time plus the TTL;
/// the clock trails the newest event time by the lag, so a straggler out
/// of order by more than the lag still finds its open group.
#[test]
fn deadlines_are_in_event_time_and_the_lag_holds_the_clock_back() {
    let mut h = Harness::new(Parts::default(), event_ttl(10, 5));
    h.push(at("a", 1, 100)); // a's deadline: 110; the clock: 95
    h.push(at("a", 2, 108)); // the clock: 103
    h.push(at("b", 3, 112)); // the clock: 107
    h.push(at("a", 4, 105)); // out of order by 7, and a is still open
    h.push(frag("c", 0, 5)); // no event time: the clock stays
    h.push(at("b", 6, 114)); // the clock: 109
    assert_eq!(h.records(), 0, "the clock has not reached 110");
    h.push(at("b", 7, 115)); // the clock: 110, a's deadline
    let out = h.take();
    assert_eq!(out.len(), 1);
    assert_eq!((out[0].1.payload().values.clone(), out[0].1.payload().reason), (vec![1, 2, 4], EmitReason::Lifetime));
    h.finish();
    h.assert_balanced(true);
}

#[test]
fn an_inactivity_timer_restarts_at_each_fragments_event_time_but_never_goes_back() {
    let policy = Policy::builder()
        .ttl(Duration::from_secs(10), TimerStart::LastFragment)
        .timer_clock(TimerClock::EventTime { lag: Duration::ZERO })
        .build()
        .unwrap();
    let mut h = Harness::new(Parts::default(), policy);
    h.push(at("a", 1, 100));
    h.push(at("a", 2, 108)); // a's deadline: 118
    h.push(at("a", 3, 101)); // out of order: the deadline stays 118
    h.push(at("b", 4, 117));
    assert_eq!(h.records(), 0);
    h.push(at("b", 5, 118));
    let out = h.take();
    assert_eq!(out[0].1.payload().values, [1, 2, 3]);
}

#[test]
fn engine_ticks_do_not_fire_event_time_timers() {
    let mut h = Harness::new(Parts::default(), event_ttl(10, 0));
    h.push(at("a", 1, 0));
    h.advance_to(secs(1_000));
    assert_eq!(h.records(), 0, "engine time is not event time");
    h.push(at("b", 2, 10));
    assert_eq!(h.take().len(), 1);
}

#[test]
fn closed_keys_are_remembered_on_the_event_clock() {
    let policy = Policy::builder()
        .ttl(Duration::from_secs(10), TimerStart::FirstFragment)
        .timer_clock(TimerClock::EventTime { lag: Duration::ZERO })
        .closed_keys(ClosedKeys::new(16).remember_for(Duration::from_secs(30)).after(CloseAfter::AnyEnd))
        .at_end(AtEnd::Flush)
        .build()
        .unwrap();
    let mut h = Harness::new(Parts::default(), policy);
    h.push(at("a", 1, 0));
    h.push(at("b", 2, 10)); // a expires at 10 and its key closes until 40
    assert_eq!(h.take().len(), 1);
    h.push(at("a", 3, 39));
    let values: Vec<_> = h.take().into_iter().map(|(_, r)| r.payload().values.clone()).collect();
    assert_eq!(values, [vec![2]], "the clock passed b's deadline of 20; a at 39 went to the side output");
    h.push(at("a", 4, 40));
    h.finish();
    let values: Vec<_> = h.take().into_iter().map(|(_, r)| r.payload().values.clone()).collect();
    assert_eq!(values, [vec![4]], "at 40 the closed key a is forgotten and opens a group again");
    h.assert_balanced(true);
}
