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
mod tests;
