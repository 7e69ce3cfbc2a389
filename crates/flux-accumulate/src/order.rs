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

    pub(crate) fn clear(&mut self) {
        self.entries.clear();
    }

    /// Heap bytes the queue holds (its allocation, full or not).
    pub(crate) fn heap_bytes(&self) -> usize {
        self.entries.capacity() * core::mem::size_of::<(u64, GroupKey)>()
    }
}
