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

/// A batch reserves table room for the groups it opens, not for every
/// fragment it carries: once its keys have groups, the same keys again
/// allocate nothing (and the table keeps its size, which `pending_bytes`
/// does not show).
#[test]
fn a_batch_whose_keys_all_have_groups_allocates_nothing() {
    let _one = MEASURING.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let batch = || -> Vec<_> {
        (0..512_u32)
            .map(|key| Envelope::new(u64::from(key)).with_key(bytes::Bytes::from(format!("customer-{key:04}"))))
            .collect()
    };
    // A sum: merging allocates nothing, so whatever is allocated is the table's.
    let sum = flux_accumulate::fold(0_u64, |total: &mut u64, value: u64| *total += value);
    let mut h = Harness::new(sum, Policy::default());
    h.push_batch(batch());
    assert_eq!(h.stats.snapshot().pending_keys, 512);
    let again: Vec<_> = (0..4).map(|_| batch()).collect();
    let before = ALLOCATOR.allocations();
    for fragments in again {
        h.push_batch(fragments);
    }
    assert_eq!(ALLOCATOR.allocations(), before, "four batches of the same 512 keys");
    h.finish();
    h.assert_balanced(true);
    assert_eq!(h.records(), 512);
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
