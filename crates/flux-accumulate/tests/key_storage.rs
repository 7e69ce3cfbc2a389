//! How a group keeps its key: a private copy by default, so that a
//! long-lived group never pins the buffer its first fragment's key slices;
//! the fragment's own slice when asked.

mod support;

use bytes::Bytes;
use flux_accumulate::{KeyStorage, Policy};
use flux_core::Envelope;
use support::Harness;

/// A buffer standing in for a pool slab, and a fragment keyed by a slice of it.
fn slab_and_fragment(key_len: usize) -> (Bytes, Envelope<(u8, u32)>) {
    let slab = Bytes::from(vec![b'k'; 4096]);
    let fragment = Envelope::new((0, 1)).with_key(slab.slice(..key_len));
    (slab, fragment)
}

#[test]
fn an_open_group_does_not_pin_its_first_fragments_buffer_by_default() {
    for key_len in [8, 200] {
        let mut h = Harness::new(support::Parts::default(), Policy::default());
        let (slab, fragment) = slab_and_fragment(key_len);
        h.push(fragment);
        assert_eq!(h.stats.pressure().pending_keys, 1, "the group is still open");
        assert!(slab.is_unique(), "a {key_len}-byte key was copied, so the slab is free to go back");
        h.finish();
        let out = h.take();
        assert_eq!(out[0].1.meta().key.as_deref(), Some(&[b'k'; 4096][..key_len]));
        assert_eq!(out[0].1.payload().key.len(), key_len);
        h.assert_balanced(true);
    }
}

#[test]
fn a_shared_key_is_the_first_fragments_slice() {
    let policy = Policy::builder().key_storage(KeyStorage::Share).build().unwrap();
    let mut h = Harness::new(support::Parts::default(), policy);
    let (slab, fragment) = slab_and_fragment(8);
    h.push(fragment);
    assert!(!slab.is_unique(), "the open group holds a slice of the slab");
    h.finish();
    let out = h.take();
    assert_eq!(out[0].1.meta().key.as_ref().map(|k| k.as_ptr()), Some(slab.as_ptr()));
    drop(out);
    assert!(slab.is_unique(), "nothing is held once the record is gone");
    h.assert_balanced(true);
}

#[test]
fn closed_keys_and_timers_hold_the_copy_not_the_slice() {
    use std::time::Duration;

    use flux_accumulate::{CloseAfter, ClosedKeys, TimerStart};
    let acc = support::Parts { required: 0b1, ..Default::default() };
    let closed = ClosedKeys::new(8).remember_for(Duration::from_secs(60)).after(CloseAfter::Whole);
    let policy =
        Policy::builder().closed_keys(closed).ttl(Duration::from_secs(5), TimerStart::FirstFragment).build().unwrap();
    let mut h = Harness::new(acc, policy);
    let (slab, fragment) = slab_and_fragment(8);
    h.push(fragment.map(|_| (1, 1))); // opens a group with a timer (part 1 is not required)
    let (other, completing) = slab_and_fragment(8);
    h.push(completing); // same key bytes: completes the group, closes the key
    assert!(slab.is_unique() && other.is_unique(), "the closed set and the timers keep copies");
    h.finish();
    h.assert_balanced(true);
}
