//! The spill tier: cold groups compressed and restored transparently,
//! counted, with an encryption hook.

mod support;

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use flux_accumulate::{Accumulate, Lz4Spill, Policy, SpillCipher, SpillError, SpillStrategy};
use flux_core::Envelope;
use support::{Harness, Parts, Record};

/// Fragments over `keys` keys, round robin, each value repeated so that
/// spilled states compress.
fn feed<A>(h: &mut Harness<A>, keys: u32, rounds: u32)
where
    A: flux_core::Accumulator<Fragment = (u8, u32)>,
    A::Output: Send,
{
    for round in 0..rounds {
        for k in 0..keys {
            let key = bytes::Bytes::from(format!("key-{k}"));
            h.push(Envelope::new((0, round % 4)).with_key(key));
        }
    }
}

fn sorted_records(h: &mut Harness<Parts>) -> Vec<Record> {
    let mut out: Vec<Record> = h.take().into_iter().map(|(_, r)| r.into_payload()).collect();
    out.sort_by(|a, b| a.key.cmp(&b.key));
    out
}

#[test]
fn spilled_groups_are_restored_transparently_and_counted() {
    let spillable = Parts { spillable: true, ..Parts::default() };
    let mut plain = Harness::new(spillable.clone(), Policy::default());
    let mut spilled = Harness::new(spillable, Policy::builder().spill_above(4096).build().unwrap());
    feed(&mut plain, 200, 20);
    feed(&mut spilled, 200, 20);
    let stats = spilled.stats.snapshot();
    assert!(stats.spills > 0 && stats.restores > 0, "{stats:?}");
    assert!(stats.pending_bytes < plain.stats.snapshot().pending_bytes, "spilling saves memory");
    plain.finish();
    spilled.finish();
    assert_eq!(sorted_records(&mut spilled), sorted_records(&mut plain));
    assert_eq!(spilled.stats.snapshot().spilled_groups, 0);
    spilled.assert_balanced(true);
}

#[test]
fn an_accumulator_that_cannot_encode_keeps_its_groups_in_memory() {
    let mut h = Harness::new(Parts::default(), Policy::builder().spill_above(64).build().unwrap());
    feed(&mut h, 50, 3);
    assert_eq!(h.stats.snapshot().spills, 0);
    h.finish();
    assert_eq!(h.records(), 50);
}

#[derive(Clone, Default)]
struct XorCipher {
    sealed: Arc<AtomicU64>,
    opened: Arc<AtomicU64>,
}

impl SpillCipher for XorCipher {
    fn seal(&mut self, _key: &[u8], block: &mut Vec<u8>) {
        self.sealed.fetch_add(1, Ordering::Relaxed);
        block.iter_mut().for_each(|b| *b ^= 0x5a);
    }
    fn open(&mut self, _key: &[u8], block: &mut Vec<u8>) -> Result<(), SpillError> {
        self.opened.fetch_add(1, Ordering::Relaxed);
        block.iter_mut().for_each(|b| *b ^= 0x5a);
        Ok(())
    }
}

#[test]
fn the_encryption_hook_seals_and_opens_every_spilled_block() {
    let cipher = XorCipher::default();
    let acc = Parts { spillable: true, ..Parts::default() };
    let layer = Accumulate::new(acc, Policy::builder().spill_above(1024).build().unwrap())
        .spill_strategy(Lz4Spill::with_cipher(cipher.clone()));
    let mut h = Harness::with_layer(layer);
    feed(&mut h, 100, 5);
    h.finish();
    let stats = h.stats.snapshot();
    assert_eq!(cipher.sealed.load(Ordering::Relaxed), stats.spills);
    assert_eq!(cipher.opened.load(Ordering::Relaxed), stats.restores);
    assert!(h.take().iter().all(|(_, r)| r.payload().values == [0, 1, 2, 3, 0]));
}

struct Corrupting;

impl SpillStrategy for Corrupting {
    fn spill(&mut self, _key: &[u8], state: &[u8]) -> Result<Box<[u8]>, SpillError> {
        Ok(state.into())
    }
    fn restore(&mut self, _key: &[u8], _stored: &[u8]) -> Result<Vec<u8>, SpillError> {
        Err(SpillError::new("block damaged"))
    }
}

#[test]
fn a_group_that_cannot_be_restored_is_counted_and_stops_the_run() {
    let acc = Parts { spillable: true, ..Parts::default() };
    let layer = Accumulate::new(acc, Policy::builder().spill_above(256).build().unwrap()).spill_strategy(Corrupting);
    let mut h = Harness::with_layer(layer);
    feed(&mut h, 20, 2);
    h.finish();
    assert!(!h.diverted.failures.is_empty());
    assert!(h.ledger().discarded > 0);
    h.assert_balanced(true);
}

/// Takes the first `room` spills, then fails like a full disk.
struct FillsUp {
    room: usize,
    inner: Lz4Spill,
}

impl SpillStrategy for FillsUp {
    fn spill(&mut self, key: &[u8], state: &[u8]) -> Result<Box<[u8]>, SpillError> {
        if self.room == 0 {
            return Err(SpillError::new("no space left"));
        }
        self.room -= 1;
        self.inner.spill(key, state)
    }
    fn restore(&mut self, key: &[u8], stored: &[u8]) -> Result<Vec<u8>, SpillError> {
        self.inner.restore(key, stored)
    }
}

#[test]
fn a_tier_that_cannot_take_more_keeps_groups_in_memory_and_says_so() {
    let acc = Parts { spillable: true, ..Parts::default() };
    let layer = Accumulate::new(acc.clone(), Policy::builder().spill_above(512).build().unwrap())
        .spill_strategy(FillsUp { room: 5, inner: Lz4Spill::new() });
    let mut h = Harness::with_layer(layer);
    let mut plain = Harness::new(acc, Policy::default());
    feed(&mut h, 100, 3);
    feed(&mut plain, 100, 3);
    let stats = h.stats.snapshot();
    assert_eq!((stats.spills, stats.spill_failures), (5, 1), "spilling stopped at the first failure");
    h.finish();
    plain.finish();
    assert_eq!(sorted_records(&mut h), sorted_records(&mut plain), "nothing was lost");
    h.assert_balanced(true);
}

#[test]
fn the_default_tier_is_a_file_and_restores_what_it_spilled() {
    let spillable = Parts { spillable: true, ..Parts::default() };
    let mut plain = Harness::new(spillable.clone(), Policy::default());
    let mut spilled = Harness::new(spillable, Policy::builder().spill_above(2048).build().unwrap());
    feed(&mut plain, 500, 12);
    feed(&mut spilled, 500, 12);
    let stats = spilled.stats.snapshot();
    assert!(stats.spilled_groups > 400, "{stats:?}");
    assert_eq!(stats.spilled_bytes, stats.spilled_groups * 4, "the table keeps a 4-byte handle per spilled group");
    plain.finish();
    spilled.finish();
    assert_eq!(sorted_records(&mut spilled), sorted_records(&mut plain));
    spilled.assert_balanced(true);
}
