//! The bounded memory of closed keys.

use std::collections::VecDeque;

use flux_core::Instant;
use hashbrown::HashMap;
use rustc_hash::FxBuildHasher;

use crate::group::{GroupKey, GroupKeyRef};
use crate::policy::{ClosedKeys, Forget};

/// Keys closed after their group was emitted, remembered for a bounded time
/// and count (see [`ClosedKeys`]).
///
/// `order` lists keys by their latest touch (their closing, or also a
/// fragment turned away under [`Forget::LeastRecentlyTouched`]); an entry
/// whose touch is not the key's latest is stale and skipped, so a touch is
/// an append, never a search.
pub(crate) struct ClosedSet {
    limits: ClosedKeys,
    /// Each closed key: when it closed, and its latest touch.
    closed: HashMap<GroupKey, Closed, FxBuildHasher>,
    order: VecDeque<(GroupKey, u64)>,
    touches: u64,
    forgotten: u64,
}

#[derive(Clone, Copy)]
struct Closed {
    at: Instant,
    touch: u64,
}

impl ClosedSet {
    pub(crate) fn new(limits: ClosedKeys) -> Self {
        ClosedSet { limits, closed: HashMap::default(), order: VecDeque::new(), touches: 0, forgotten: 0 }
    }

    /// Whether `key` is closed at `now` (a key past its memory is not).
    /// Under [`Forget::LeastRecentlyTouched`], a hit touches the key.
    pub(crate) fn hit(&mut self, key: &GroupKeyRef<'_>, now: Instant) -> bool {
        // Keys past their time go first, so that the count of forgotten
        // keys is current whenever a fragment asks.
        self.forget(now);
        let remember_for = self.limits.remember_for;
        let Some((stored, closed)) = self.closed.get_key_value_mut(key) else { return false };
        if remember_for.is_some_and(|d| now >= closed.at + d) {
            return false;
        }
        if self.limits.forget == Forget::LeastRecentlyTouched {
            self.touches += 1;
            closed.touch = self.touches;
            self.order.push_back((stored.clone(), self.touches));
            self.compact();
        }
        true
    }

    pub(crate) fn close(&mut self, key: GroupKey, now: Instant) {
        self.touches += 1;
        self.closed.insert(key.clone(), Closed { at: now, touch: self.touches });
        self.order.push_back((key, self.touches));
        self.forget(now);
    }

    /// Forgets the keys at the front of the order while they are past
    /// their time or over capacity. Under [`Forget::LeastRecentlyTouched`]
    /// a key past its time behind a fresher front waits for its turn: it
    /// is no longer closed (`hit` checks the time), only still counted.
    pub(crate) fn forget(&mut self, now: Instant) {
        while let Some((key, touch)) = self.order.front() {
            let Some(closed) = self.closed.get(key).copied().filter(|c| c.touch == *touch) else {
                self.order.pop_front(); // touched again later: a newer entry stands for it
                continue;
            };
            let expired = self.limits.remember_for.is_some_and(|d| now >= closed.at + d);
            let over = self.closed.len() > self.limits.capacity;
            if !(expired || over) {
                break;
            }
            self.closed.remove(key);
            self.order.pop_front();
            self.forgotten += 1;
        }
    }

    /// Drops stale entries once they outnumber the live ones, so that
    /// touches do not grow the order without bound.
    fn compact(&mut self) {
        if self.order.len() > 2 * self.closed.len() + 16 {
            let closed = &self.closed;
            self.order.retain(|(key, touch)| closed.get(key).is_some_and(|c| c.touch == *touch));
        }
    }

    pub(crate) fn forgotten(&self) -> u64 {
        self.forgotten
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;
    use crate::policy::KeyStorage;

    fn probe(key: &Bytes) -> GroupKeyRef<'_> {
        GroupKeyRef { key, window: 0, storage: KeyStorage::Copy }
    }

    #[test]
    fn touches_leave_the_order_bounded_and_every_live_key_in_it() {
        let limits = ClosedKeys::new(8).forget(Forget::LeastRecentlyTouched);
        let mut set = ClosedSet::new(limits);
        let (a, b) = (Bytes::from_static(b"a"), Bytes::from_static(b"b"));
        set.close(GroupKey::from(&probe(&a)), Instant::ZERO);
        set.close(GroupKey::from(&probe(&b)), Instant::ZERO);
        for _ in 0..1_000 {
            assert!(set.hit(&probe(&a), Instant::ZERO));
        }
        // Stale entries are dropped once they outnumber the live ones.
        assert!(set.order.len() <= 2 * set.closed.len() + 16, "{} entries for 2 keys", set.order.len());
        assert!(set.order.len() >= set.closed.len(), "every live key keeps its entry");
        // b, touched longest ago, is still the first to go.
        for i in 0..7 {
            set.close(GroupKey::from(&probe(&Bytes::from(format!("k{i}")))), Instant::ZERO);
        }
        assert!(!set.hit(&probe(&b), Instant::ZERO), "b forgotten first");
        assert!(set.hit(&probe(&a), Instant::ZERO), "a kept by its touches");
        assert_eq!(set.forgotten(), 1);
    }
}
