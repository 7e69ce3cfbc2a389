//! End of input: flush (default), drop (counted), or wait for timers; the
//! order of what one end emits.

mod support;

use std::time::Duration;

use flux_accumulate::{AtEnd, Policy, TimerStart};
use flux_core::{EmitReason, Instant};
use support::{AtEndDeadline, Harness, Parts, frag, secs};

fn at_end(at_end: AtEnd, ttl: bool) -> Policy {
    let builder = Policy::builder().at_end(at_end);
    let builder = if ttl { builder.ttl(Duration::from_secs(10), TimerStart::LastFragment) } else { builder };
    builder.build().unwrap()
}

#[test]
fn flush_emits_every_open_group_by_deadline_then_arrival() {
    let mut h = Harness::new(Parts::default(), at_end(AtEnd::Flush, true));
    h.push(frag("late", 0, 1));
    h.push(frag("early", 0, 1));
    h.advance_to(secs(2));
    h.push(frag("late", 0, 2)); // its deadline moves to 12
    h.push(frag("later", 0, 1));
    h.finish();
    let out = h.take();
    let keys: Vec<_> = out.iter().map(|(_, r)| r.payload().key.clone()).collect();
    assert_eq!(keys, ["early", "late", "later"]);
    assert!(out.iter().all(|(at, r)| r.payload().reason == EmitReason::EndOfStream && *at == secs(2)));
    h.assert_balanced(true);
}

#[test]
fn groups_without_a_deadline_follow_in_arrival_order() {
    let mut h = Harness::new(Parts::default(), Policy::default());
    for key in ["c", "a", "b"] {
        h.push(frag(key, 0, 1));
    }
    h.finish();
    let keys: Vec<_> = h.take().iter().map(|(_, r)| r.payload().key.clone()).collect();
    assert_eq!(keys, ["c", "a", "b"]);
}

/// The end of input orders groups by serial in place when nearly every
/// serial is still open, and by sorting otherwise: both give arrival order,
/// whatever groups left before the end.
#[test]
fn groups_left_open_after_earlier_emits_end_in_arrival_order() {
    const KEYS: [&str; 10] = ["k9", "k3", "k7", "k0", "k5", "k1", "k8", "k2", "k6", "k4"];
    for emitted_early in [&["k7"][..], &["k9", "k4"], &["k3", "k0", "k8", "k2", "k6"], &KEYS[..9]] {
        let mut h = Harness::new(Parts::default(), Policy::builder().max_items(2).build().unwrap());
        for key in KEYS {
            h.push(frag(key, 0, 1));
        }
        for &key in emitted_early {
            h.push(frag(key, 1, 1)); // full at two: emitted now, by size
        }
        let early: Vec<_> = h.take().iter().map(|(_, r)| r.payload().key.clone()).collect();
        assert_eq!(early, emitted_early);
        h.finish();
        let at_end: Vec<_> = h.take().iter().map(|(_, r)| r.payload().key.clone()).collect();
        let expected: Vec<_> = KEYS.iter().filter(|key| !emitted_early.contains(key)).collect();
        assert_eq!(at_end, expected, "after {emitted_early:?} left early");
        h.assert_balanced(true);
    }
}

#[test]
fn drop_discards_open_groups_and_counts_them() {
    let mut h = Harness::new(Parts::default(), at_end(AtEnd::Drop, false));
    h.push(frag("a", 0, 1));
    h.push(frag("a", 0, 2));
    h.push(frag("b", 0, 1));
    h.finish();
    assert_eq!(h.records(), 0);
    assert_eq!(h.ledger().discarded, 3);
    h.assert_balanced(true);
}

#[test]
fn wait_for_timers_lets_groups_expire_on_the_engine_clock() {
    let mut h = Harness::new(Parts::default(), at_end(AtEnd::WaitForTimers, true));
    h.push(frag("a", 0, 1));
    h.advance_to(secs(4));
    h.push(frag("b", 0, 1));
    assert_eq!(h.node.next_deadline_at_end(), Some(secs(10)));
    h.finish();
    let out = h.take();
    assert_eq!(out.iter().map(|(at, _)| *at).collect::<Vec<_>>(), [secs(10), secs(14)]);
    assert!(out.iter().all(|(_, r)| r.payload().reason == EmitReason::Inactivity));
    h.assert_balanced(true);
}

#[test]
fn without_wait_the_engine_is_not_asked_to_wait() {
    let mut h = Harness::new(Parts::default(), at_end(AtEnd::Flush, true));
    h.push(frag("a", 0, 1));
    assert_eq!(h.node.next_deadline_at_end(), None);
    assert_eq!(h.node_deadline(), Some(Instant::from_secs(10)));
}
