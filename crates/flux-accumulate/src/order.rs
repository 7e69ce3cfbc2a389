//! A queue of groups in some order (first arrival, latest use), with lazy
//! removal: an entry is skipped when its group has moved on.

use std::collections::VecDeque;

use crate::group::GroupKey;

/// Entries are `(stamp, key)`; an entry is valid while the group under
/// `key` still carries `stamp`. Stale entries are dropped when they reach
/// the front, or all at once when they outnumber the live ones.
#[derive(Default)]
pub(crate) struct OrderQueue {
    entries: VecDeque<(u64, GroupKey)>,
}

impl OrderQueue {
    pub(crate) fn push(&mut self, stamp: u64, key: GroupKey) {
        self.entries.push_back((stamp, key));
    }

    /// The first valid entry, removed from the queue.
    pub(crate) fn pop_valid(&mut self, mut valid: impl FnMut(&GroupKey, u64) -> bool) -> Option<GroupKey> {
        while let Some((stamp, key)) = self.entries.pop_front() {
            if valid(&key, stamp) {
                return Some(key);
            }
        }
        None
    }

    /// Drops stale entries once they are a third of the queue, so the queue
    /// stays within one and a half times the live groups (amortised O(1)
    /// per push: a compaction follows at least `live / 2` pushes), and
    /// gives back room a burst left.
    pub(crate) fn compact(&mut self, live: usize, mut valid: impl FnMut(&GroupKey, u64) -> bool) {
        if self.entries.len() > live + live / 2 + 1024 {
            self.entries.retain(|(stamp, key)| valid(key, *stamp));
            let enough = 2 * self.entries.len().max(1024);
            if self.entries.capacity() > 2 * enough {
                self.entries.shrink_to(enough);
            }
        }
    }

    /// Empties the queue and gives back its room (every group has left).
    pub(crate) fn clear(&mut self) {
        self.entries = VecDeque::new();
    }

    /// Heap bytes the queue holds (its allocation, full or not).
    pub(crate) fn heap_bytes(&self) -> usize {
        self.entries.capacity() * core::mem::size_of::<(u64, GroupKey)>()
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::OrderQueue;
    use crate::group::{GroupKey, GroupKeyRef};
    use crate::policy::KeyStorage;

    fn key() -> GroupKey {
        GroupKey::from(&GroupKeyRef { key: &Bytes::from_static(b"k"), window: 0, storage: KeyStorage::Copy })
    }

    #[test]
    fn compaction_drops_stale_entries_however_far_past_the_bound_the_queue_is() {
        // The bound can be passed by more than one entry between calls (a
        // group closing lowers it): compaction must not wait to meet it
        // exactly.
        let mut queue = OrderQueue::default();
        for stamp in 0..10_000 {
            queue.push(stamp, key());
        }
        let burst = queue.heap_bytes();
        queue.compact(10, |_, stamp| stamp == 9_999);
        assert_eq!(queue.entries.len(), 1);
        let kept = 2048 * core::mem::size_of::<(u64, GroupKey)>();
        assert!(burst >= 10_000 * core::mem::size_of::<(u64, GroupKey)>(), "every entry is counted");
        assert!(burst > 2 * kept, "{burst}");
        assert!((kept..2 * kept).contains(&queue.heap_bytes()), "the room a burst left is given back, but for 2048");
        assert_eq!(queue.pop_valid(|_, _| true).map(|_| ()), Some(()));
    }

    #[test]
    fn a_queue_is_compacted_once_it_holds_more_than_half_again_its_live_groups_and_1024() {
        // With 10 live groups the bound is 10 + 5 + 1024 = 1039 entries.
        let mut queue = OrderQueue::default();
        for stamp in 0..1039 {
            queue.push(stamp, key());
        }
        queue.compact(10, |_, _| false);
        assert_eq!(queue.entries.len(), 1039, "at the bound, nothing is dropped");
        queue.push(1039, key());
        queue.compact(10, |_, stamp| stamp >= 1030);
        assert_eq!(queue.entries.len(), 10, "one past it, the stale entries go");
    }

    #[test]
    fn compaction_keeps_room_for_twice_what_is_left_and_shrinks_only_from_twice_that() {
        let size = core::mem::size_of::<(u64, GroupKey)>();
        let mut queue = OrderQueue::default();
        for stamp in 0..3000 {
            queue.push(stamp, key());
        }
        // The deque doubles its room as it grows (the pinned toolchain's
        // `VecDeque`): 3000 entries sit in room for 4096.
        assert_eq!(queue.heap_bytes(), 4096 * size, "the test needs room for exactly 4096");
        queue.compact(0, |_, stamp| stamp == 2999);
        assert_eq!(queue.entries.len(), 1);
        // Room for 2 * 1024 entries is kept: 4096 is not more than twice it.
        assert_eq!(queue.heap_bytes(), 4096 * size, "no shrink at exactly twice the room kept");
    }

    #[test]
    fn a_cleared_queue_holds_nothing() {
        let mut queue = OrderQueue::default();
        for stamp in 0..100 {
            queue.push(stamp, key());
        }
        queue.clear();
        assert_eq!(queue.heap_bytes(), 0);
        assert!(queue.pop_valid(|_, _| true).is_none());
    }
}
