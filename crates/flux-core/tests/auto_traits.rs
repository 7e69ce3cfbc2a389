//! Pins the auto traits, object safety and sizes that the rest of Flux
//! relies on, so that a change that breaks them fails here first.

use bytes::Bytes;
use flux_core::{
    BatchReceiver, BatchSender, Diversions, Envelope, ErrorEnvelope, ExecutionPlan, LeakCheck, Meta, Observer,
    PlanError, PlannerPass, Segment, SideEnvelope, StageError, StageLedger,
};

fn send_sync<T: Send + Sync>() {}
fn send<T: Send>() {}

#[test]
fn data_crosses_threads() {
    send_sync::<Envelope<Bytes>>();
    send_sync::<Meta>();
    send_sync::<ExecutionPlan>();
    send_sync::<StageLedger>();
    send::<ErrorEnvelope>();
    send::<SideEnvelope>();
    // Errors box into `Box<dyn Error + Send + Sync>` and cross threads.
    send_sync::<StageError>();
    send_sync::<PlanError>();
}

#[test]
fn the_seams_are_object_safe() {
    // Each line fails to compile if its trait stops being object safe.
    let _: Option<Box<dyn Segment>> = None;
    let _: Option<Box<dyn Diversions>> = None;
    let _: Option<Box<dyn PlannerPass>> = None;
    let _: Option<Box<dyn Observer>> = None;
    let _: Option<Box<dyn LeakCheck>> = None;
    let _: Option<Box<dyn BatchSender<u32>>> = None;
    let _: Option<Box<dyn BatchReceiver<u32>>> = None;
    send::<Box<dyn Segment>>();
}

#[test]
fn an_envelope_stays_small_and_shares_its_key() {
    // Sequence 8, key 32, event time 16, trace 24, headers 8: 88 bytes,
    // 8-aligned. A larger `Meta` costs every envelope in every fused
    // segment. (That an envelope allocates nothing is counted by the
    // counting-allocator test in flux-memory's tests/alloc.rs.)
    assert_eq!(core::mem::size_of::<Meta>(), 88);
    assert_eq!(core::mem::align_of::<Meta>(), 8);
    assert_eq!(core::mem::size_of::<Envelope<u64>>(), 104);
    // A line's envelope fits in 128 bytes, as much as the compiler moves
    // with inline stores on x86-64 (eight 16-byte moves): at 136 bytes,
    // every hand-off into a batch was a `memcpy` call (docs/BENCHMARKS.md).
    assert_eq!(core::mem::size_of::<Envelope<Bytes>>(), 128);
    // Headers are one optional shared list (one word, null when empty).
    assert_eq!(core::mem::size_of::<flux_core::Headers>(), 8);
    let env = Envelope::new(1u64);
    assert!(env.meta().headers.is_empty());
    // A key is a shared slice: cloning the envelope shares its bytes.
    let key = Bytes::from(vec![7u8; 64]);
    let keyed = Envelope::new(()).with_key(key.clone());
    let copy = keyed.clone();
    assert_eq!(copy.meta().key.as_ref().unwrap().as_ptr(), key.as_ptr());
}
