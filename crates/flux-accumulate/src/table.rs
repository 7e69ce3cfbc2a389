//! The open groups by key: a hash table whose lookups can take a hash
//! computed earlier, so that a batch's keys are all hashed (their bytes
//! fetched together, the cache misses overlapping) before any is probed.

use core::hash::{BuildHasher, Hash};

use hashbrown::hash_table::HashTable;
use hashbrown::{Equivalent, hash_table};
use rustc_hash::FxBuildHasher;

use crate::group::{Group, GroupKey};

/// Open groups, FxHash on hashbrown.
pub(crate) struct GroupTable<S, K> {
    table: HashTable<(GroupKey, Group<S, K>)>,
    hasher: FxBuildHasher,
}

impl<S, K> Default for GroupTable<S, K> {
    fn default() -> Self {
        GroupTable { table: HashTable::new(), hasher: FxBuildHasher }
    }
}

impl<S, K> GroupTable<S, K> {
    /// The hash a lookup of `key` uses.
    #[inline(always)]
    pub(crate) fn hash<Q: Hash + ?Sized>(&self, key: &Q) -> u64 {
        self.hasher.hash_one(key)
    }

    /// The group under `key`, whose hash is `hash`.
    #[inline(always)]
    pub(crate) fn find<Q>(&self, hash: u64, key: &Q) -> Option<&Group<S, K>>
    where
        Q: Equivalent<GroupKey> + ?Sized,
    {
        self.table.find(hash, |(stored, _)| key.equivalent(stored)).map(|(_, group)| group)
    }

    /// Room for `additional` more groups without growing.
    pub(crate) fn reserve(&mut self, additional: usize) {
        let hasher = self.hasher;
        self.table.reserve(additional, move |(stored, _)| hasher.hash_one(stored));
    }

    pub(crate) fn len(&self) -> usize {
        self.table.len()
    }

    pub(crate) fn get<Q>(&self, key: &Q) -> Option<&Group<S, K>>
    where
        Q: Hash + Equivalent<GroupKey> + ?Sized,
    {
        self.get_key_value(key).map(|(_, group)| group)
    }

    pub(crate) fn get_key_value<Q>(&self, key: &Q) -> Option<(&GroupKey, &Group<S, K>)>
    where
        Q: Hash + Equivalent<GroupKey> + ?Sized,
    {
        let (stored, group) = self.table.find(self.hash(key), |(stored, _)| key.equivalent(stored))?;
        Some((stored, group))
    }

    pub(crate) fn get_mut<Q>(&mut self, key: &Q) -> Option<&mut Group<S, K>>
    where
        Q: Hash + Equivalent<GroupKey> + ?Sized,
    {
        let hash = self.hash(key);
        self.table.find_mut(hash, |(stored, _)| key.equivalent(stored)).map(|(_, group)| group)
    }

    pub(crate) fn remove_entry<Q>(&mut self, key: &Q) -> Option<(GroupKey, Group<S, K>)>
    where
        Q: Hash + Equivalent<GroupKey> + ?Sized,
    {
        let hash = self.hash(key);
        let entry = self.table.find_entry(hash, |(stored, _)| key.equivalent(stored)).ok()?;
        Some(entry.remove().0)
    }

    /// The group under `key` (whose hash is `hash`), or the place to open
    /// it. A place, not a closure that opens it: the caller opens the group
    /// in its own body, where the opening is inlined (a closure handed in
    /// was compiled out of line once the group grew, which cost a plain
    /// `fold` stage some seventy instructions per group).
    #[inline(always)]
    pub(crate) fn find_or_vacant<Q>(&mut self, hash: u64, key: &Q) -> Result<&mut Group<S, K>, Vacant<'_, S, K>>
    where
        Q: Equivalent<GroupKey> + ?Sized,
    {
        // A plain find first (the table's `entry` also finds the slot to
        // insert into, and is not inlined): most fragments join a group.
        match self.table.find_entry(hash, |(stored, _)| key.equivalent(stored)) {
            Ok(entry) => Ok(&mut entry.into_mut().1),
            Err(absent) => Err(Vacant { absent, hash, hasher: self.hasher }),
        }
    }

    /// Every open group's key, in no particular order.
    pub(crate) fn keys(&self) -> impl Iterator<Item = &GroupKey> {
        self.table.iter().map(|(key, _)| key)
    }

    /// Every open group, in no particular order.
    pub(crate) fn groups(&self) -> impl Iterator<Item = &Group<S, K>> {
        self.table.iter().map(|(_, group)| group)
    }

    /// Every open group with its key, in no particular order, to change.
    pub(crate) fn entries_mut(&mut self) -> impl Iterator<Item = (&GroupKey, &mut Group<S, K>)> {
        self.table.iter_mut().map(|(key, group)| (&*key, group))
    }

    pub(crate) fn drain(&mut self) -> hash_table::Drain<'_, (GroupKey, Group<S, K>)> {
        self.table.drain()
    }
}

/// Where a group that is not open goes, found by
/// [`GroupTable::find_or_vacant`].
pub(crate) struct Vacant<'a, S, K> {
    absent: hash_table::AbsentEntry<'a, (GroupKey, Group<S, K>)>,
    hash: u64,
    hasher: FxBuildHasher,
}

impl<'a, S, K> Vacant<'a, S, K> {
    /// Opens the group under the table's own copy of its key.
    #[inline(always)]
    pub(crate) fn open(self, opened: (GroupKey, Group<S, K>)) -> &'a mut Group<S, K> {
        let hasher = self.hasher;
        let rehash = move |(stored, _): &(GroupKey, Group<S, K>)| hasher.hash_one(stored);
        &mut self.absent.into_table().insert_unique(self.hash, opened, rehash).into_mut().1
    }
}
