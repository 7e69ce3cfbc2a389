//! Size limits: items and bytes per group, and limits computed from the
//! group's own state.

mod support;

use flux_accumulate::Policy;
use flux_core::{Cost, EmitReason};
use support::{Harness, Parts, frag};

#[test]
fn max_items_emits_a_partial_record_with_reason_size() {
    let mut h = Harness::new(Parts::default(), Policy::builder().max_items(3).build().unwrap());
    for v in 0..7 {
        h.push(frag("k", 0, v));
    }
    let out = h.take();
    assert_eq!(out.len(), 2);
    assert!(out.iter().all(|(_, r)| r.payload().reason == EmitReason::Count));
    assert_eq!(out[1].1.payload().values, [3, 4, 5]);
    h.finish();
    assert_eq!(h.take()[0].1.payload().values, [6]);
    h.assert_balanced(true);
}

#[test]
fn max_bytes_counts_the_fragments_envelope_costs() {
    let mut h = Harness::new(Parts::default(), Policy::builder().max_bytes(100).build().unwrap());
    h.push(frag("k", 0, 1).with_cost(Cost::bytes(40)));
    h.push(frag("k", 0, 2).with_cost(Cost::bytes(40)));
    assert_eq!(h.records(), 0);
    h.push(frag("k", 0, 3).with_cost(Cost::bytes(40)));
    let record = h.take().remove(0).1;
    assert_eq!(record.payload().reason, EmitReason::Weight);
    assert_eq!(record.cost().bytes, 120, "a record costs what its fragments cost");
}

#[test]
fn a_group_can_set_its_own_item_limit_from_its_state() {
    let acc = Parts { limit_from_part63: true, ..Parts::default() };
    let mut h = Harness::new(acc, Policy::builder().max_items(100).build().unwrap());
    h.push(frag("small", 63, 2)); // this group announces two items
    h.push(frag("big", 0, 1));
    h.push(frag("big", 0, 2));
    h.push(frag("small", 0, 9));
    let out = h.take();
    assert_eq!(out.len(), 1);
    assert_eq!(&out[0].1.meta().key.as_ref().unwrap()[..], b"small");
}
