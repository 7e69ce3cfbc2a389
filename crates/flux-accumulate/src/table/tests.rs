//! The group table's unit tests.

use bytes::Bytes;
use flux_core::{Instant, TraceContext};

use super::*;
use crate::group::{GroupKeyRef, Origin};
use crate::policy::KeyStorage;

type Table = GroupTable<u64, ()>;

fn probe(key: &Bytes) -> GroupKeyRef<'_> {
    GroupKeyRef { key, window: 0, storage: KeyStorage::Copy }
}

fn open(table: &mut Table, key: &Bytes, state: u64) {
    let probe = probe(key);
    let hash = table.hash(&probe);
    let origin = Origin { sequence: 0, event_time: None, trace: TraceContext::default() };
    match table.find_or_vacant_at(hash, NO_SLOT, &probe) {
        Ok(_) => panic!("{key:?} is open already"),
        Err(vacant) => {
            vacant.open((GroupKey::from(&probe), Group::new(state, 0, Instant::ZERO, origin)));
        }
    }
}

fn state(table: &Table, key: &Bytes) -> Option<u64> {
    table.get(&probe(key)).and_then(|group| group.core.state.resident().copied())
}

/// Keys whose hashes share their low bits, so that they probe the same
/// run of slots (the cases deletion must get right).
fn crowded(table: &Table, count: usize) -> Vec<Bytes> {
    crowded_at(table, count, 3)
}

/// Keys whose home is slot `home` of a table of 16 slots.
fn crowded_at(table: &Table, count: usize, home: u64) -> Vec<Bytes> {
    let mut keys = Vec::new();
    let mut n = 0_u32;
    while keys.len() < count {
        let key = Bytes::from(format!("key-{n}"));
        if table.hash(&probe(&key)) & 0xf == home {
            keys.push(key);
        }
        n += 1;
    }
    keys
}

/// A table holding `count` crowded keys, the i-th with state i.
fn crowded_table(count: usize) -> (Table, Vec<Bytes>) {
    let mut table = Table::default();
    let keys = crowded(&table, count);
    for (i, key) in keys.iter().enumerate() {
        open(&mut table, key, i as u64);
    }
    (table, keys)
}

#[test]
fn a_hint_is_tagged_for_an_open_group_and_not_for_a_key_never_opened() {
    let mut table = Table::default();
    let (open_key, other) = (Bytes::from_static(b"open"), Bytes::from_static(b"never"));
    let (open_hash, other_hash) = (table.hash(&probe(&open_key)), table.hash(&probe(&other)));
    assert!(!table.is_tagged(table.slot_hint(open_hash), open_hash), "an empty table has no slot");
    open(&mut table, &open_key, 1);
    assert!(table.is_tagged(table.slot_hint(open_hash), open_hash));
    assert!(!table.is_tagged(table.slot_hint(other_hash), other_hash), "its hint is the empty slot");
    assert!(!table.is_tagged(table.slot_hint(open_hash), other_hash), "another hash's tag");
}

#[test]
fn a_hint_names_the_slot_of_a_group_pushed_past_its_home_round_the_end() {
    // Five keys whose home is the last of 16 slots: the first stays
    // there, the others go on from the front of the table.
    let mut table = Table::default();
    table.reserve(14);
    let keys = crowded_at(&table, 5, 15);
    for (i, key) in keys.iter().enumerate() {
        open(&mut table, key, i as u64);
    }
    assert_eq!(table.slots(), 16);
    for (i, key) in keys.iter().enumerate() {
        let hash = table.hash(&probe(key));
        let hint = table.slot_hint(hash);
        assert_eq!(hint, (15 + i) % 16, "the hint of key {i}");
        assert!(table.is_tagged(hint, hash), "key {i}'s group is in its hinted slot");
    }
    let never = crowded_at(&table, 6, 15).pop().expect("six keys");
    assert_eq!(table.slot_hint(table.hash(&probe(&never))), 4, "the empty slot after the run");
}

#[test]
fn two_keys_whose_hashes_make_the_same_tag_keep_groups_of_their_own() {
    // The first pair of keys whose hashes agree in the bits a tag keeps.
    let mut table = Table::default();
    let mut by_tag = std::collections::HashMap::new();
    let (first, second) = (0_u32..)
        .map(|n| Bytes::from(format!("key-{n}")))
        .find_map(|key| Some((by_tag.insert(tag_of(table.hash(&probe(&key))), key.clone())?, key)))
        .expect("tags repeat");
    open(&mut table, &first, 1);
    assert_eq!(state(&table, &second), None, "the same tag, another key: no group");
    // Hinted at the first key's slot, whose tag it shares, the second
    // key is still not found there.
    let hash = table.hash(&probe(&second));
    let hint = table.slot_hint(hash);
    assert!(table.is_tagged(hint, hash), "hinted at the group with its tag");
    assert!(table.find_or_vacant_at(hash, hint, &probe(&second)).is_err(), "no group under the second key");
    open(&mut table, &second, 2);
    assert_eq!((state(&table, &first), state(&table, &second)), (Some(1), Some(2)));
}

#[test]
fn reserving_grows_to_the_fewest_slots_that_stay_at_most_seven_eighths_full() {
    let mut table = Table::default();
    table.reserve(14);
    assert_eq!(table.slots(), 16, "14 groups fill 16 slots to seven eighths");
    table.reserve(14);
    assert_eq!(table.slots(), 16, "room already there: no growth");
    table.reserve(15);
    assert_eq!(table.slots(), 32);
    let mut table = Table::default();
    table.reserve(100);
    assert_eq!(table.slots(), 128, "100 groups need 115 slots at most seven eighths full");
    for i in 0..112 {
        open(&mut table, &Bytes::from(format!("key-{i}")), i);
    }
    assert_eq!(table.slots(), 128, "112 groups still fit");
    table.reserve(1);
    assert_eq!(table.slots(), 256, "the 113th would pass seven eighths");
}

#[test]
fn a_drain_dropped_early_still_empties_the_table() {
    let (mut table, keys) = crowded_table(5);
    let mut drain = table.drain();
    assert!(drain.next().is_some());
    drop(drain);
    assert_eq!((table.len(), table.groups().count(), table.keys().count()), (0, 0, 0));
    assert!(keys.iter().all(|key| state(&table, key).is_none()), "no group is left behind");
}

#[test]
fn no_hash_makes_an_empty_tag_and_a_tag_keeps_its_home_slot() {
    let home_bits = MAX_SLOTS - 1;
    for hash in [0, 1, 1 << 31, (1 << 31) - 1, 1 << 32, 1 << 63, (1 << 63) | 5, u64::MAX] {
        assert_ne!(tag_of(hash), EMPTY, "hash {hash:#x}");
        assert_eq!(tag_of(hash) as usize & home_bits, hash as usize & home_bits, "hash {hash:#x}");
    }
}

#[test]
fn a_group_costs_its_entry_and_tag_over_the_highest_load_as_the_table_allocates_them() {
    let mut table = Table::default();
    let per_group = Table::bytes_per_group();
    let entry_and_tag = size_of::<Option<Entry<u64>>>() + size_of::<Tag>();
    assert!(per_group >= entry_and_tag && per_group < entry_and_tag * 2, "{per_group} bytes a group");
    // Filled to the last group before it grows, the table holds no more
    // than `bytes_per_group` for each.
    let mut n = 0;
    loop {
        let slots = table.slots();
        open(&mut table, &Bytes::from(format!("k{n}")), n);
        if slots > 0 && table.slots() != slots {
            break;
        }
        let held =
            table.tags.capacity() * size_of::<Tag>() + table.entries.capacity() * size_of::<Option<Entry<u64>>>();
        if table.len() * LOAD.1 == table.slots() * LOAD.0 {
            // Within a byte a group: `bytes_per_group` rounds down.
            assert!(held <= table.len() * (per_group + 1), "{held} bytes for {} groups", table.len());
            assert!(held >= table.len() * entry_and_tag);
        }
        n += 1;
    }
}

#[test]
fn removing_from_the_middle_of_a_probe_run_keeps_the_rest_findable() {
    let (mut table, keys) = crowded_table(6);
    assert_eq!(table.slots(), MIN_SLOTS, "six groups fit the smallest table, in one run");
    for removed in [2, 0, 5] {
        let (stored, _) = table.remove_entry(&probe(&keys[removed])).expect("open");
        assert_eq!(stored.key.as_slice(), &keys[removed][..]);
    }
    assert_eq!(table.len(), 3);
    for (i, key) in keys.iter().enumerate() {
        let expected = (![0, 2, 5].contains(&i)).then_some(i as u64);
        assert_eq!(state(&table, key), expected, "key {i}");
    }
}

#[test]
fn growing_keeps_every_group_and_a_hint_finds_its_group() {
    let mut table = Table::default();
    let keys: Vec<Bytes> = (0..1_000).map(|k| Bytes::from(format!("customer-{k:04}"))).collect();
    for (i, key) in keys.iter().enumerate() {
        open(&mut table, key, i as u64);
    }
    assert_eq!(table.len(), 1_000);
    assert!(table.slots() * LOAD.0 >= 1_000 * LOAD.1, "the load stays under seven eighths");
    for (i, key) in keys.iter().enumerate() {
        let probe = probe(key);
        let hash = table.hash(&probe);
        let hint = table.slot_hint(hash);
        table.prefetch(hint);
        let group = table.find_or_vacant_at(hash, hint, &probe).ok().expect("open");
        assert_eq!(group.core.state.resident(), Some(&(i as u64)));
    }
    // Some groups leave first: their places are vacant in the drain.
    for key in keys.iter().step_by(3) {
        table.remove_entry(&probe(key)).expect("open");
    }
    let drained: Vec<u64> = table.drain().filter_map(|(_, group)| group.core.state.resident().copied()).collect();
    let stayed: Vec<u64> = (0..1_000).filter(|i| i % 3 != 0).collect();
    assert_eq!(drained, stayed, "in the order they opened, none left behind");
    assert_eq!((table.len(), table.slots()), (0, 0), "the slots go with the groups");
    assert_eq!(state(&table, &keys[7]), None, "a drained table holds nothing");
}

#[test]
fn a_drain_gives_the_groups_in_the_order_of_their_places_a_reused_place_first() {
    let mut table = Table::default();
    let keys: Vec<Bytes> = ["a", "b", "c", "d"].map(|k| Bytes::from_static(k.as_bytes())).to_vec();
    for (i, key) in keys[..3].iter().enumerate() {
        open(&mut table, key, i as u64);
    }
    table.remove_entry(&probe(&keys[0])).expect("open");
    open(&mut table, &keys[3], 3);
    let drained: Vec<u64> = table.drain().filter_map(|(_, group)| group.core.state.resident().copied()).collect();
    assert_eq!(drained, [3, 1, 2], "d took a's place, the first");
    assert_eq!((table.len(), table.groups().count()), (0, 0));
    open(&mut table, &keys[0], 7);
    assert_eq!(state(&table, &keys[0]), Some(7), "a drained table opens groups again");
}

#[test]
fn a_drain_shows_the_bookkeeping_of_the_groups_still_to_come_skipping_freed_places() {
    let mut table = Table::default();
    let keys: Vec<Bytes> = ["a", "b", "c"].map(|k| Bytes::from_static(k.as_bytes())).to_vec();
    for (i, key) in keys.iter().enumerate() {
        open(&mut table, key, i as u64);
        table.get_mut(&probe(key)).expect("open").info.serial = 10 + i as u64;
    }
    table.remove_entry(&probe(&keys[1])).expect("open");
    let mut drained = table.drain();
    let serials: Vec<u64> = drained.infos().map(|info| info.serial).collect();
    assert_eq!(serials, [10, 12], "b's freed place holds no group");
    drained.next().expect("a");
    let rest: Vec<u64> = drained.infos().map(|info| info.serial).collect();
    assert_eq!(rest, [12], "only what is still to come");
}

#[test]
fn a_stale_hint_is_probed_past() {
    let (mut table, keys) = crowded_table(3);
    let last = probe(&keys[2]);
    let hash = table.hash(&last);
    let hint = table.slot_hint(hash);
    // The first group leaves: the last moves back a slot.
    table.remove_entry(&probe(&keys[0]));
    let group = table.find_or_vacant_at(hash, hint, &last).ok().expect("still open");
    assert_eq!(group.core.state.resident(), Some(&2));
}
