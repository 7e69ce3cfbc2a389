//! The open groups by key: an open-addressing hash table whose lookups can
//! take a hash computed earlier, and whose slot for a group can be found
//! (and its cache lines fetched ahead) before the group is merged into.
//!
//! Its own table rather than hashbrown's: a batch's merges want each
//! group's slot address some fragments ahead, to prefetch it, and
//! hashbrown has no API that gives a slot from a hash. Linear probing over
//! a dense array of hash tags, the groups in a parallel array at the same
//! index: a probe reads tags (sixteen to a cache line) and touches one group
//! entry, whose address the tag probe gives before the entry is read.
//!
//! An entry holds a group's key and core ([`GroupCore`]); the rest of its
//! bookkeeping is in an [`InfoArena`] beside the entries, found by the
//! place the core names, and reached only by the paths that use it.

use core::hash::{BuildHasher, Hash};

use hashbrown::Equivalent;
use rustc_hash::FxBuildHasher;

use crate::group::{Group, GroupCore, GroupKey, GroupMut, GroupRef};
use crate::infos::{InfoArena, InfoMut, InfoRef};
use crate::prefetch::{prefetch, prefetch_whole};

/// A slot's tag: the low 32 bits of its group's hash, the top one set.
/// Four bytes, not the whole hash: the tags of 100,000 groups then take
/// 512 KiB, which stays in the second-level cache beside the entries
/// streaming through it, where eight-byte tags (1 MiB) missed it often
/// enough that the tag probes held about a tenth of the stage's samples
/// (perf); four-byte tags took 4-7% off an accumulate run.
type Tag = u32;

/// A slot's tag when it is empty; an occupied slot's tag is its group's
/// hash with the top bit set (the low bits, which place a group, intact).
const EMPTY: Tag = 0;

/// The most slots a table has: a tag keeps the 31 low bits of its hash
/// that place a group, and the table must be able to place it again from
/// its tag alone when it grows.
const MAX_SLOTS: usize = 1 << 31;

/// The table grows before more than this share of its slots (seven
/// eighths, as hashbrown's) is taken.
const LOAD: (usize, usize) = (7, 8);

/// The fewest slots a table that holds anything has.
const MIN_SLOTS: usize = 16;

/// A slot index from [`GroupTable::slot_hint`] that names no slot: the
/// table was empty.
pub(crate) const NO_SLOT: usize = usize::MAX;

/// One slot's group, with its key: what the table keeps in the slot.
type Entry<S> = (GroupKey, GroupCore<S>);

/// Open groups, FxHash with linear probing.
pub(crate) struct GroupTable<S, K> {
    /// Per slot: [`EMPTY`], or the tag of the group in the same slot of
    /// `entries`. A power of two long (or empty).
    tags: Vec<Tag>,
    entries: Vec<Option<Entry<S>>>,
    /// Each open group's bookkeeping, at the place its core names.
    infos: InfoArena<K>,
    len: usize,
    hasher: FxBuildHasher,
}

impl<S, K> Default for GroupTable<S, K> {
    fn default() -> Self {
        GroupTable { tags: Vec::new(), entries: Vec::new(), infos: InfoArena::default(), len: 0, hasher: FxBuildHasher }
    }
}

#[inline(always)]
fn tag_of(hash: u64) -> Tag {
    // Truncating on purpose: the tag keeps the low bits.
    hash as Tag | 1 << 31
}

impl<S, K> GroupTable<S, K> {
    /// What one group costs the table at its fullest: its entry and tag,
    /// over the highest share of slots in use (for `held_bytes`, which an
    /// allocator's count must bear out). A group's place in the
    /// bookkeeping arena is counted on its own.
    pub(crate) const fn bytes_per_group() -> usize {
        (size_of::<Option<Entry<S>>>() + size_of::<Tag>()) * LOAD.1 / LOAD.0
    }

    /// The hash a lookup of `key` uses.
    #[inline(always)]
    pub(crate) fn hash<Q: Hash + ?Sized>(&self, key: &Q) -> u64 {
        self.hasher.hash_one(key)
    }

    /// How many slots the table has: a slot index from
    /// [`slot_hint`](Self::slot_hint) holds only while this is unchanged.
    pub(crate) fn slots(&self) -> usize {
        self.tags.len()
    }

    /// The slot where the group with hash `hash` most likely is (the first
    /// whose tag matches), or the empty slot that ends its probe; found
    /// from the tags alone, without reading any group. [`NO_SLOT`] if the
    /// table is empty.
    #[inline(always)]
    pub(crate) fn slot_hint(&self, hash: u64) -> usize {
        let mask = self.tags.len().wrapping_sub(1);
        if self.tags.is_empty() {
            return NO_SLOT;
        }
        let tag = tag_of(hash);
        let mut at = hash as usize & mask;
        loop {
            let here = self.tags[at];
            if here == tag || here == EMPTY {
                return at;
            }
            at = (at + 1) & mask;
        }
    }

    /// Whether slot `slot` (a hint from [`slot_hint`](Self::slot_hint))
    /// is taken by a group whose hash matches `hash` in all but its top
    /// bit: most likely the group under the key hashed.
    #[inline(always)]
    pub(crate) fn is_tagged(&self, slot: usize, hash: u64) -> bool {
        self.tags.get(slot) == Some(&tag_of(hash))
    }

    /// Starts fetching the group entry in slot `slot` (a hint from
    /// [`slot_hint`](Self::slot_hint)) into the cache: every line it
    /// spans. A hint that names no slot fetches nothing.
    #[inline(always)]
    pub(crate) fn prefetch(&self, slot: usize) {
        if let Some(entry) = self.entries.get(slot) {
            prefetch_whole(entry);
        }
    }

    /// Starts fetching the tags a lookup of `hash` reads first.
    #[inline(always)]
    pub(crate) fn prefetch_tags(&self, hash: u64) {
        if let Some(tag) = self.tags.get(hash as usize & self.tags.len().wrapping_sub(1)) {
            prefetch(tag);
        }
    }

    /// The slot holding the group under `key` (whose hash is `hash`), or
    /// the empty slot where it would go. The table must have a slot.
    #[inline(always)]
    fn probe<Q>(&self, hash: u64, key: &Q) -> Result<usize, usize>
    where
        Q: Equivalent<GroupKey> + ?Sized,
    {
        let mask = self.tags.len() - 1;
        let tag = tag_of(hash);
        let mut at = hash as usize & mask;
        loop {
            let here = self.tags[at];
            if here == tag && self.holds(at, key) {
                return Ok(at);
            }
            if here == EMPTY {
                return Err(at);
            }
            at = (at + 1) & mask;
        }
    }

    /// Whether slot `at` holds the group under `key`.
    #[inline(always)]
    fn holds<Q: Equivalent<GroupKey> + ?Sized>(&self, at: usize, key: &Q) -> bool {
        self.entries.get(at).and_then(Option::as_ref).is_some_and(|(stored, _)| key.equivalent(stored))
    }

    /// The slot of the group under `key`, if it is open.
    #[inline(always)]
    fn slot_of<Q: Equivalent<GroupKey> + ?Sized>(&self, hash: u64, key: &Q) -> Option<usize> {
        if self.len == 0 {
            return None;
        }
        self.probe(hash, key).ok()
    }

    /// Room for `additional` more groups without growing.
    pub(crate) fn reserve(&mut self, additional: usize) {
        self.infos.reserve(additional);
        let needed = self.len + additional;
        if needed * LOAD.1 <= self.tags.len() * LOAD.0 {
            return;
        }
        let mut slots = self.tags.len().max(MIN_SLOTS);
        while needed * LOAD.1 > slots * LOAD.0 {
            slots *= 2;
        }
        assert!(slots <= MAX_SLOTS, "an accumulating stage holds at most {} groups", MAX_SLOTS / LOAD.1 * LOAD.0);
        let old_tags = core::mem::replace(&mut self.tags, vec![EMPTY; slots]);
        let mut old_entries = core::mem::take(&mut self.entries);
        self.entries.resize_with(slots, || None);
        let mask = slots - 1;
        for (tag, entry) in old_tags.into_iter().zip(old_entries.iter_mut()) {
            let Some(entry) = entry.take() else { continue };
            let mut at = tag as usize & mask;
            while self.tags[at] != EMPTY {
                at = (at + 1) & mask;
            }
            self.tags[at] = tag;
            self.entries[at] = Some(entry);
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }

    pub(crate) fn get<Q>(&self, key: &Q) -> Option<GroupRef<'_, S, K>>
    where
        Q: Hash + Equivalent<GroupKey> + ?Sized,
    {
        self.get_key_value(key).map(|(_, group)| group)
    }

    pub(crate) fn get_key_value<Q>(&self, key: &Q) -> Option<(&GroupKey, GroupRef<'_, S, K>)>
    where
        Q: Hash + Equivalent<GroupKey> + ?Sized,
    {
        let at = self.slot_of(self.hash(key), key)?;
        let (stored, core) = self.entries[at].as_ref()?;
        Some((stored, GroupRef { core, info: InfoRef::new(&self.infos, core.info) }))
    }

    /// The group under `key`, to change, with the table's own key.
    pub(crate) fn get_key_value_mut<Q>(&mut self, key: &Q) -> Option<(&GroupKey, GroupMut<'_, S, K>)>
    where
        Q: Hash + Equivalent<GroupKey> + ?Sized,
    {
        let at = self.slot_of(self.hash(key), key)?;
        let (stored, core) = self.entries[at].as_mut()?;
        let info = InfoMut::new(&mut self.infos, core.info);
        Some((&*stored, GroupMut { core, info }))
    }

    pub(crate) fn get_mut<Q>(&mut self, key: &Q) -> Option<GroupMut<'_, S, K>>
    where
        Q: Hash + Equivalent<GroupKey> + ?Sized,
    {
        self.get_key_value_mut(key).map(|(_, group)| group)
    }

    pub(crate) fn remove_entry<Q>(&mut self, key: &Q) -> Option<(GroupKey, Group<S, K>)>
    where
        Q: Hash + Equivalent<GroupKey> + ?Sized,
        K: Default,
    {
        let at = self.slot_of(self.hash(key), key)?;
        let (key, core) = self.remove_at(at);
        let info = self.infos.take(core.info);
        Some((key, Group { core, info }))
    }

    /// Takes the group out of slot `hole`, then moves each later group of
    /// the same probe run back into the hole its probe passes over, so that
    /// no probe stops early at an empty slot (backward-shift deletion).
    fn remove_at(&mut self, mut hole: usize) -> Entry<S> {
        let mask = self.tags.len() - 1;
        let taken = self.entries[hole].take();
        self.tags[hole] = EMPTY;
        self.len -= 1;
        let mut next = (hole + 1) & mask;
        while self.tags[next] != EMPTY {
            let home = self.tags[next] as usize & mask;
            // The hole lies on the probe from `home` to `next`: fill it.
            if next.wrapping_sub(home) & mask >= next.wrapping_sub(hole) & mask {
                self.tags[hole] = core::mem::replace(&mut self.tags[next], EMPTY);
                self.entries[hole] = self.entries[next].take();
                hole = next;
            }
            next = (next + 1) & mask;
        }
        taken.unwrap_or_else(|| unreachable!("a found slot holds a group"))
    }

    /// The group under `key` (whose hash is `hash`), or the place to open
    /// it. `hint` is a slot from [`slot_hint`](Self::slot_hint) taken while
    /// the table had as many slots as now (or [`NO_SLOT`]): when it holds
    /// the group, no probe is needed; when it does not (the group moved,
    /// or was not open yet), the table is probed as without one.
    ///
    /// A place, not a closure that opens the group: the caller opens it in
    /// its own body, where the opening is inlined (a closure handed in was
    /// compiled out of line once the group grew, which cost a plain `fold`
    /// stage some seventy instructions per group).
    #[inline(always)]
    pub(crate) fn find_or_vacant_at<Q>(
        &mut self,
        hash: u64,
        hint: usize,
        key: &Q,
    ) -> Result<GroupMut<'_, S, K>, Vacant<'_, S, K>>
    where
        Q: Equivalent<GroupKey> + ?Sized,
    {
        let tag = tag_of(hash);
        let found = if self.tags.get(hint) == Some(&tag) && self.holds(hint, key) {
            Ok(hint)
        } else if self.tags.is_empty() {
            Err(NO_SLOT)
        } else {
            self.probe(hash, key)
        };
        match found {
            Ok(at) => match &mut self.entries[at] {
                Some((_, core)) => Ok(GroupMut { info: InfoMut::new(&mut self.infos, core.info), core }),
                None => unreachable!("a found slot holds a group"),
            },
            Err(at) => Err(Vacant { table: self, hash, at }),
        }
    }

    /// Every open group's key, in no particular order.
    pub(crate) fn keys(&self) -> impl Iterator<Item = &GroupKey> {
        self.entries.iter().flatten().map(|(key, _)| key)
    }

    /// Every open group's core, in no particular order.
    pub(crate) fn groups(&self) -> impl Iterator<Item = &GroupCore<S>> {
        self.entries.iter().flatten().map(|(_, core)| core)
    }

    /// Calls `f` with every open group's key and bookkeeping, in no
    /// particular order, to change the bookkeeping.
    pub(crate) fn for_each_info_mut(&mut self, mut f: impl FnMut(&GroupKey, &mut crate::group::GroupInfo<K>)) {
        for (key, core) in self.entries.iter().flatten() {
            f(key, self.infos.get_mut(core.info));
        }
    }

    /// Takes every group out at once, in the order of their places in the
    /// bookkeeping arena: the order they opened in, unless a group opened
    /// in a place another had left. The table gives up its slots with its
    /// groups and allocates new ones when a group opens again.
    ///
    /// In the arena's order, not the slots': the bookkeeping is read in
    /// one pass, where taking it place by place in slot order missed the
    /// cache on every group and made a plain flush of 100,000 groups one
    /// and a half times slower. The entries are taken from their slots as
    /// they are handed on, found through a list of slots by place (four
    /// bytes a group) and fetched a few groups ahead: moving them first
    /// into a vector in the arena's order wrote 9 MB of fresh memory for
    /// 100,000 groups, a tenth of an accumulate run's page faults.
    pub(crate) fn drain(&mut self) -> Drain<S, K> {
        self.tags = Vec::new();
        self.len = 0;
        let entries = core::mem::take(&mut self.entries);
        let infos = self.infos.take_all();
        let mut slots = vec![VACANT_PLACE; infos.len()];
        for (slot, (_, core)) in entries.iter().enumerate().filter_map(|(slot, entry)| Some((slot, entry.as_ref()?))) {
            // At most 2^31 slots (`MAX_SLOTS`): a slot fits 32 bits, below `VACANT_PLACE`.
            slots[core.info.place()] = slot as u32;
        }
        Drain { entries, slots: slots.into_iter(), infos: infos.into_iter() }
    }
}

/// A place in the bookkeeping arena whose group had left before a drain.
const VACANT_PLACE: u32 = u32::MAX;

/// How many groups ahead of the one handed on a drain fetches an entry.
const DRAIN_AHEAD: usize = 8;

/// The groups [`GroupTable::drain`] took out, to hand over one by one.
pub(crate) struct Drain<S, K> {
    /// The table's slots as they were, emptied as their groups are handed on.
    entries: Vec<Option<Entry<S>>>,
    /// The slot of each place's group, or [`VACANT_PLACE`].
    slots: std::vec::IntoIter<u32>,
    infos: std::vec::IntoIter<crate::group::GroupInfo<K>>,
}

impl<S, K> Drain<S, K> {
    /// The bookkeeping of every group still to come, in the order they
    /// come: read in place, so that the caller can choose how to hand the
    /// groups on before any is moved.
    pub(crate) fn infos(&self) -> impl Iterator<Item = &crate::group::GroupInfo<K>> {
        self.slots
            .as_slice()
            .iter()
            .zip(self.infos.as_slice())
            .filter(|&(&slot, _)| slot != VACANT_PLACE)
            .map(|(_, info)| info)
    }
}

impl<S, K> Iterator for Drain<S, K> {
    type Item = (GroupKey, Group<S, K>);

    fn next(&mut self) -> Option<(GroupKey, Group<S, K>)> {
        loop {
            if let Some(&ahead) = self.slots.as_slice().get(DRAIN_AHEAD) {
                // A vacant place's slot is out of range: `get` finds nothing.
                if let Some(entry) = self.entries.get(ahead as usize) {
                    prefetch_whole(entry);
                }
            }
            let (slot, info) = (self.slots.next()?, self.infos.next()?);
            if let Some((key, core)) = self.entries.get_mut(slot as usize).and_then(Option::take) {
                return Some((key, Group { core, info }));
            }
        }
    }
}

/// Where a group that is not open goes, found by
/// [`GroupTable::find_or_vacant_at`].
pub(crate) struct Vacant<'a, S, K> {
    table: &'a mut GroupTable<S, K>,
    hash: u64,
    /// The empty slot that ended the probe ([`NO_SLOT`] if there was none).
    at: usize,
}

impl<'a, S, K> Vacant<'a, S, K> {
    /// Opens the group under the table's own copy of its key: its core
    /// in the slot, its bookkeeping in the arena.
    #[inline(always)]
    pub(crate) fn open(self, (key, group): (GroupKey, Group<S, K>)) -> GroupMut<'a, S, K>
    where
        K: Default,
    {
        let Vacant { table, hash, mut at } = self;
        if (table.len + 1) * LOAD.1 > table.tags.len() * LOAD.0 {
            table.reserve(1);
            at = table.slot_hint(hash);
        }
        table.tags[at] = tag_of(hash);
        table.len += 1;
        let Group { mut core, info } = group;
        core.info = table.infos.insert(info);
        let (_, core) = table.entries[at].insert((key, core));
        GroupMut { info: InfoMut::new(&mut table.infos, core.info), core }
    }
}

#[cfg(test)]
mod tests {
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
}
