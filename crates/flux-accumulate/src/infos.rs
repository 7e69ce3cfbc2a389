//! Where the open groups' bookkeeping ([`GroupInfo`]) lives: one vector
//! whose freed places are reused, so that opening a group allocates
//! nothing once the vector has grown. A box per group cost a `malloc` when
//! the group opened and a `free` when it was emitted, some 350
//! instructions a group: a tenth of a plain stage's work over 100,000 keys
//! of ten fragments each (callgrind, `cargo xtask bench accumulate
//! --instructions`).
//!
//! Not the `slab` crate, which does the same bookkeeping: its index reads
//! the entry to check that it is occupied before handing out a reference,
//! a load from the arena on every fragment's lookup, where the plain path
//! never reads a group's bookkeeping. Here a group found in the table
//! names its bookkeeping with a handle ([`InfoMut`], [`InfoRef`]) that
//! indexes the vector only when it is used: a bounds check made for every
//! lookup, used or not, cost the plain path five instructions a fragment.

use core::ops::{Deref, DerefMut};

use crate::group::GroupInfo;

/// A group's place in the [`InfoArena`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct InfoId(u32);

impl InfoId {
    /// No place: a group not in a table yet.
    pub(crate) const NONE: InfoId = InfoId(u32::MAX);

    /// The place, as an index into [`InfoArena::take_all`]'s vector.
    pub(crate) fn place(self) -> usize {
        self.0 as usize
    }
}

/// The bookkeeping of every open group of a table, by [`InfoId`].
pub(crate) struct InfoArena<K> {
    infos: Vec<GroupInfo<K>>,
    /// Places whose group was taken out, to reuse first.
    free: Vec<u32>,
}

impl<K> Default for InfoArena<K> {
    fn default() -> Self {
        InfoArena { infos: Vec::new(), free: Vec::new() }
    }
}

impl<K: Default> InfoArena<K> {
    /// Keeps `info`, in a freed place if there is one.
    #[inline]
    pub(crate) fn insert(&mut self, info: GroupInfo<K>) -> InfoId {
        if let Some(place) = self.free.pop() {
            self.infos[place as usize] = info;
            return InfoId(place);
        }
        // A table holds fewer than 2^32 groups: its slots would not fit in memory.
        let place = u32::try_from(self.infos.len()).unwrap_or_else(|_| unreachable!("fewer than 2^32 groups"));
        self.infos.push(info);
        InfoId(place)
    }

    /// Takes the bookkeeping at `id` out; its place is free.
    #[inline]
    pub(crate) fn take(&mut self, id: InfoId) -> GroupInfo<K> {
        self.free.push(id.0);
        core::mem::take(&mut self.infos[id.0 as usize])
    }
}

impl<K> InfoArena<K> {
    #[inline(always)]
    pub(crate) fn get(&self, id: InfoId) -> &GroupInfo<K> {
        &self.infos[id.0 as usize]
    }

    #[inline(always)]
    pub(crate) fn get_mut(&mut self, id: InfoId) -> &mut GroupInfo<K> {
        &mut self.infos[id.0 as usize]
    }

    /// Room for `additional` more groups without growing.
    pub(crate) fn reserve(&mut self, additional: usize) {
        self.infos.reserve(additional.saturating_sub(self.free.len()));
    }

    /// Takes every place's bookkeeping out at once, in place order (a freed
    /// place holds the default); the arena is empty after.
    pub(crate) fn take_all(&mut self) -> Vec<GroupInfo<K>> {
        self.free.clear();
        core::mem::take(&mut self.infos)
    }
}

/// A group's bookkeeping, to change: indexed when dereferenced.
pub(crate) struct InfoMut<'a, K> {
    arena: &'a mut InfoArena<K>,
    id: InfoId,
}

/// A group's bookkeeping, to read: indexed when dereferenced.
pub(crate) struct InfoRef<'a, K> {
    arena: &'a InfoArena<K>,
    id: InfoId,
}

impl<'a, K> InfoMut<'a, K> {
    #[inline(always)]
    pub(crate) fn new(arena: &'a mut InfoArena<K>, id: InfoId) -> Self {
        InfoMut { arena, id }
    }
}

impl<'a, K> InfoRef<'a, K> {
    #[inline(always)]
    pub(crate) fn new(arena: &'a InfoArena<K>, id: InfoId) -> Self {
        InfoRef { arena, id }
    }
}

impl<K> Deref for InfoMut<'_, K> {
    type Target = GroupInfo<K>;

    #[inline(always)]
    fn deref(&self) -> &GroupInfo<K> {
        self.arena.get(self.id)
    }
}

impl<K> DerefMut for InfoMut<'_, K> {
    #[inline(always)]
    fn deref_mut(&mut self) -> &mut GroupInfo<K> {
        self.arena.get_mut(self.id)
    }
}

impl<K> Deref for InfoRef<'_, K> {
    type Target = GroupInfo<K>;

    #[inline(always)]
    fn deref(&self) -> &GroupInfo<K> {
        self.arena.get(self.id)
    }
}

// By hand: derived, they would ask `K` to be `Copy` too.
impl<K> Clone for InfoRef<'_, K> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<K> Copy for InfoRef<'_, K> {}

#[cfg(test)]
mod tests {
    use flux_core::Instant;

    use super::*;

    fn info(serial: u64) -> GroupInfo<Vec<u8>> {
        GroupInfo { serial, kept: vec![1, 2, 3], ..GroupInfo::default() }
    }

    #[test]
    fn a_freed_place_is_reused_and_holds_nothing_of_the_group_that_left() {
        let mut arena = InfoArena::default();
        let (a, b) = (arena.insert(info(1)), arena.insert(info(2)));
        assert_ne!(a, b);
        let taken = arena.take(a);
        assert_eq!((taken.serial, taken.kept.len()), (1, 3));
        assert!(arena.get(a).kept.is_empty(), "the kept fragments left with the group");
        let c = arena.insert(info(3));
        assert_eq!(c, a, "the freed place first");
        assert_eq!((arena.get(c).serial, arena.get(b).serial), (3, 2));
        arena.get_mut(b).last_at = Instant::from_secs(4);
        assert_eq!(arena.get(b).last_at, Instant::from_secs(4));
    }

    #[test]
    fn freed_places_count_as_room_and_an_emptied_arena_starts_again() {
        let mut arena = InfoArena::<()>::default();
        arena.reserve(100);
        assert!(arena.infos.capacity() >= 100);
        let mut arena = InfoArena::<()>::default();
        let ids: Vec<_> = (0..10).map(|serial| arena.insert(GroupInfo { serial, ..GroupInfo::default() })).collect();
        ids.iter().for_each(|&id| assert_eq!(arena.take(id).serial, u64::from(id.0)));
        let capacity = arena.infos.capacity();
        arena.reserve(10);
        assert_eq!(arena.infos.capacity(), capacity, "ten freed places make room for ten");
        arena.reserve(11);
        assert!(arena.infos.capacity() >= 11);
        assert_eq!(arena.take_all().len(), 10, "every place, freed ones too");
        let fresh = arena.insert(GroupInfo::default());
        assert_eq!(fresh, InfoId(0), "an emptied arena starts again at its first place");
    }
}
