//! What an accumulating stage holds, counted by the allocator: pending
//! bytes within a factor of two of it, and spill keeping the peak down on
//! a key explosion.

mod support;

use std::sync::Mutex;

use flux_accumulate::Policy;
use flux_core::Envelope;
use flux_test::CountingAllocator;
use support::{Harness, Parts};

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator::new();

/// One measurement at a time: the counters are global.
static MEASURING: Mutex<()> = Mutex::new(());

/// `keys` groups, each fed `values` fragments in a row (then left cold,
/// as keys of a growing key space are); returns the harness, the heap
/// bytes it holds, and the peak while feeding.
fn explode(keys: u32, values: u32, policy: Policy) -> (Harness<Parts>, usize, usize) {
    let start = ALLOCATOR.live();
    let (h, peak) = ALLOCATOR.peak_during(|| {
        let mut h = Harness::new(Parts { spillable: true, ..Parts::default() }, policy);
        for key in 0..keys {
            // Keys of 13 bytes: stored in the table, no allocation of their own.
            let key = bytes::Bytes::from(format!("customer-{key:04}"));
            for value in 0..values {
                h.push(Envelope::new((0, value.wrapping_mul(2_654_435_761))).with_key(key.clone()));
            }
        }
        h
    });
    (h, ALLOCATOR.live() - start, peak)
}

#[test]
fn pending_bytes_are_within_twice_what_the_allocator_counts() {
    let _one = MEASURING.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    for (keys, values) in [(2_000, 1), (20_000, 3), (2_000, 40)] {
        let (mut h, held, _) = explode(keys, values, Policy::default());
        let pending = h.stats.snapshot().pending_bytes as usize;
        assert!(
            pending * 2 >= held && pending <= held * 2,
            "{keys} keys of {values} values: pending {pending} bytes, the allocator counts {held}"
        );
        h.finish();
        h.assert_balanced(true);
    }
}

#[test]
fn spill_keeps_the_peak_below_no_spill_on_a_key_explosion() {
    let _one = MEASURING.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    // States of 200 values (about a kilobyte) for 2,000 keys.
    let (mut kept, _, kept_peak) = explode(2_000, 200, Policy::default());
    let spill = Policy::builder().spill_above(256 * 1024).build().unwrap();
    let (mut spilled, spilled_held, spilled_peak) = explode(2_000, 200, spill);
    let stats = spilled.stats.snapshot();
    assert!(stats.spills > 0);
    // What stays on the heap per group (its table bucket, bookkeeping and
    // recency entry: about 600 bytes here) is not spilled; the states are.
    assert!(
        spilled_peak < kept_peak * 2 / 3,
        "peak with spill {spilled_peak} bytes, without {kept_peak}: spilled state must leave the heap"
    );
    let pending = stats.pending_bytes as usize;
    assert!(pending * 2 >= spilled_held && pending <= spilled_held * 2, "pending {pending}, held {spilled_held}");
    kept.finish();
    spilled.finish();
    assert_eq!(kept.records(), spilled.records());
    spilled.assert_balanced(true);
}
