//! The soft limit on live keys: eviction flushes (never drops), oldest
//! first or least recently used, and holds memory under key explosion.

mod support;

use flux_accumulate::{Eviction, KeyLimit, Policy};
use flux_core::{EmitReason, Envelope};
use support::{Harness, Parts, frag};

#[test]
fn a_million_distinct_keys_with_a_soft_limit_of_ten_thousand_stay_within_bounds() {
    let policy = Policy::builder().max_live_keys(10_000).build().unwrap();
    let mut h = Harness::new(Parts::default(), policy);
    for n in 0..1_000_000u32 {
        let key = bytes::Bytes::from(n.to_le_bytes().to_vec());
        h.push(Envelope::new((0, n)).with_key(key));
    }
    let stats = h.stats.snapshot();
    assert_eq!(stats.peak_keys, 10_000);
    // Each state is the struct plus one u32 of capacity rounded up by Vec
    // (4 items).
    let per_state = (std::mem::size_of::<support::State>() + 16) as u64;
    assert_eq!(stats.state_bytes, 10_000 * per_state);
    // What the stage holds never grew past what ten thousand groups hold
    // (give or take the eviction queue's growth between compactions).
    assert!(
        stats.peak_bytes <= stats.pending_bytes * 3 / 2,
        "peak {} bytes, now {}",
        stats.peak_bytes,
        stats.pending_bytes
    );
    assert_eq!(stats.evictions, 990_000);
    assert_eq!(h.records(), 990_000, "evicted groups are flushed, not dropped");
    h.finish();
    assert_eq!(h.records(), 1_000_000);
    h.assert_balanced(true);
}

#[test]
fn oldest_first_evicts_by_first_arrival() {
    let mut h = Harness::new(Parts::default(), Policy::builder().max_live_keys(2).build().unwrap());
    h.push(frag("a", 0, 1));
    h.push(frag("b", 0, 1));
    h.push(frag("a", 0, 2));
    h.push(frag("c", 0, 1));
    let out = h.take();
    assert_eq!(out[0].1.payload().key, "a");
    assert_eq!(out[0].1.payload().values, [1, 2]);
    assert_eq!(out[0].1.payload().reason, EmitReason::Evicted);
}

#[test]
fn least_recently_used_evicts_the_coldest_group() {
    let limit = KeyLimit { max_keys: 2, eviction: Eviction::LeastRecentlyUsed };
    let mut h = Harness::new(Parts::default(), Policy::builder().key_limit(limit).build().unwrap());
    h.push(frag("a", 0, 1));
    h.push(frag("b", 0, 1));
    h.push(frag("a", 0, 2));
    h.push(frag("c", 0, 1));
    let out = h.take();
    assert_eq!(out[0].1.payload().key, "b");
    h.finish();
    h.assert_balanced(true);
}

#[test]
fn pending_keys_and_bytes_are_reported_for_backpressure() {
    let mut h = Harness::new(Parts::default(), Policy::default());
    h.push(frag("a", 0, 1));
    h.push(frag("b", 0, 1));
    let pressure = h.stats.pressure();
    assert_eq!(pressure.pending_keys, 2);
    assert!(pressure.pending_bytes >= 2 * std::mem::size_of::<support::State>() as u64);
    h.finish();
    assert_eq!(h.stats.pressure().pending_keys, 0);
    assert_eq!(h.stats.pressure().pending_bytes, 0);
}

#[test]
fn a_finished_stage_holds_nothing_even_with_recency_queues() {
    // A least-recently-used key limit and a spill threshold each keep a
    // recency queue, which grows by one entry per fragment.
    let limit = KeyLimit { max_keys: 100_000, eviction: Eviction::LeastRecentlyUsed };
    let policy = Policy::builder().key_limit(limit).spill_above(1 << 30).build().unwrap();
    let mut h = Harness::new(Parts::default(), policy);
    for i in 0..5_000 {
        h.push(frag(if i % 2 == 0 { "a" } else { "b" }, 0, i));
    }
    // The two states hold about 32 KB; the rest is the queues.
    assert!(h.stats.pressure().pending_bytes > 100_000, "{:?}", h.stats.pressure());
    h.finish();
    assert_eq!(h.stats.pressure().pending_bytes, 0, "the queues give back their room at the end");
}

#[test]
fn pending_bytes_follow_each_state_as_it_grows_fails_and_leaves() {
    // The size the accumulator reports for a state holding `n` values.
    let size_with = |n: u32| {
        let mut values = Vec::new();
        (0..n).for_each(|v| values.push(v));
        std::mem::size_of::<support::State>() as u64 + values.capacity() as u64 * 4
    };
    let mut h = Harness::new(Parts { required: 0b11, ..Parts::default() }, Policy::default());
    let state_bytes = |h: &Harness<Parts>| h.stats.snapshot().state_bytes;
    h.push(frag("a", 0, 1));
    // What a group costs beyond its state: the same for every group here.
    let per_group = h.stats.pressure().pending_bytes - state_bytes(&h);
    assert!(per_group > 0, "the table and the group's bookkeeping count");
    h.push(frag("b", 0, 1));
    h.push(frag("b", 2, 2));
    h.push(frag("b", 2, 3));
    h.push(frag("b", 2, 4));
    h.push(frag("b", 2, 5));
    assert_eq!(state_bytes(&h), size_with(1) + size_with(5), "the states as they grew");
    assert_eq!(h.stats.pressure().pending_bytes, state_bytes(&h) + 2 * per_group);
    h.push(frag("b", 2, u32::MAX));
    assert_eq!(state_bytes(&h), size_with(1) + size_with(5), "a failed merge changes nothing");
    h.push(frag("a", 1, 2));
    assert_eq!(h.take().len(), 1, "a is complete");
    assert_eq!(state_bytes(&h), size_with(5), "an emitted group's state is no longer pending");
    assert_eq!(h.stats.pressure().pending_bytes, size_with(5) + per_group);
    h.finish();
    assert_eq!(h.stats.pressure().pending_bytes, 0);
    assert_eq!(state_bytes(&h), 0);
}

/// A fragment fed alone publishes the figures only when it may have moved
/// them: a new key opens a group even when no state grows, and a fragment
/// merged into an open group of fixed size leaves them standing.
#[test]
fn a_new_key_is_counted_at_once_when_no_state_grows() {
    let count = flux_accumulate::fold(0u64, |count: &mut u64, _: u32| *count += 1);
    let mut h = Harness::new(count, Policy::default());
    let keyed = |key: &'static str| Envelope::new(7u32).with_key(bytes::Bytes::from_static(key.as_bytes()));
    h.push(keyed("a"));
    let one = h.stats.pressure();
    assert_eq!(one.pending_keys, 1);
    h.push(keyed("a"));
    assert_eq!(h.stats.pressure(), one, "merged into an open group of the same size");
    h.push(keyed("b"));
    let two = h.stats.pressure();
    assert_eq!(two.pending_keys, 2, "the second key opened a group");
    assert_eq!(two.pending_bytes, 2 * one.pending_bytes, "two groups of one size");
    assert_eq!(h.stats.snapshot().state_bytes, 2 * std::mem::size_of::<u64>() as u64);
    h.finish();
    assert_eq!(h.take().len(), 2);
    assert_eq!(h.stats.pressure().pending_keys, 0);
}

#[test]
fn pending_bytes_count_a_group_timer_set_by_a_later_fragment() {
    // A plain policy, a group TTL from the state: the second fragment sets
    // the group's timer without opening a group or growing a state (both
    // values fit the room the first one made), and the timer's entry is
    // held too.
    let mut h = Harness::new(Parts { ttl_from_part62: true, ..Parts::default() }, Policy::default());
    h.push(frag("a", 0, 1));
    let before = h.stats.snapshot();
    h.push(frag("a", 62, 5));
    let after = h.stats.snapshot();
    assert_eq!(after.state_bytes, before.state_bytes, "the state kept its size");
    assert_eq!(after.pending_keys, 1);
    assert!(after.pending_bytes > before.pending_bytes, "the timer is held: {before:?} then {after:?}");
    h.advance_to(support::secs(5));
    assert_eq!(h.take().len(), 1, "the timer fired");
    assert_eq!(h.stats.pressure().pending_bytes, 0);
}
