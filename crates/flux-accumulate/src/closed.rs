//! The bounded memory of closed keys.

use std::collections::VecDeque;

use flux_core::Instant;
use hashbrown::HashMap;
use rustc_hash::FxBuildHasher;

use crate::group::{GroupKey, GroupKeyRef};
use crate::policy::ClosedKeys;

/// Keys closed after their group was emitted, remembered for a bounded time
/// and count (see [`ClosedKeys`]).
pub(crate) struct ClosedSet {
    limits: ClosedKeys,
    closed_at: HashMap<GroupKey, Instant, FxBuildHasher>,
    order: VecDeque<(GroupKey, Instant)>,
    forgotten: u64,
}

impl ClosedSet {
    pub(crate) fn new(limits: ClosedKeys) -> Self {
        ClosedSet { limits, closed_at: HashMap::default(), order: VecDeque::new(), forgotten: 0 }
    }

    /// Whether `key` is closed at `now` (a key past its memory is not).
    pub(crate) fn contains(&self, key: &GroupKeyRef<'_>, now: Instant) -> bool {
        self.closed_at.get(key).is_some_and(|&at| now < at + self.limits.remember_for)
    }

    pub(crate) fn close(&mut self, key: GroupKey, now: Instant) {
        self.closed_at.insert(key.clone(), now);
        self.order.push_back((key, now));
        self.forget(now);
    }

    /// Forgets keys past their time, then the oldest while over capacity.
    pub(crate) fn forget(&mut self, now: Instant) {
        while let Some((key, at)) = self.order.front() {
            let current = self.closed_at.get(key).copied();
            let expired = now >= *at + self.limits.remember_for;
            let over = self.closed_at.len() > self.limits.capacity;
            if current != Some(*at) {
                self.order.pop_front(); // closed again later: a newer entry stands for it
            } else if expired || over {
                self.closed_at.remove(key);
                self.order.pop_front();
                self.forgotten += 1;
            } else {
                break;
            }
        }
    }

    pub(crate) fn forgotten(&self) -> u64 {
        self.forgotten
    }
}
