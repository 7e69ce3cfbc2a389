//! The soft limit on live keys: which group goes when there are too many.

use crate::group::{GroupKey, GroupRef};
use crate::order::OrderQueue;
use crate::policy::{Eviction, Policy};
use crate::table::GroupTable;

/// The groups in the order the key limit evicts them: first arrival, or
/// latest use; off without a key limit.
pub(crate) enum EvictionOrder {
    Off,
    OldestFirst { max_keys: usize, queue: OrderQueue },
    LeastRecentlyUsed { max_keys: usize, queue: OrderQueue },
}

impl EvictionOrder {
    pub(crate) fn new(policy: &Policy) -> Self {
        match policy.key_limit {
            None => EvictionOrder::Off,
            Some(limit) => {
                let (max_keys, queue) = (limit.max_keys, OrderQueue::default());
                match limit.eviction {
                    Eviction::OldestFirst => EvictionOrder::OldestFirst { max_keys, queue },
                    Eviction::LeastRecentlyUsed => EvictionOrder::LeastRecentlyUsed { max_keys, queue },
                }
            }
        }
    }

    /// Whether the policy has no key limit.
    pub(crate) fn is_off(&self) -> bool {
        matches!(self, EvictionOrder::Off)
    }

    /// Whether the order needs each group's latest use.
    #[inline(always)]
    pub(crate) fn uses_recency(&self) -> bool {
        matches!(self, EvictionOrder::LeastRecentlyUsed { .. })
    }

    /// A group opened: it takes its place in arrival order.
    pub(crate) fn open(&mut self, key: &GroupKey, serial: u64) {
        if let EvictionOrder::OldestFirst { queue, .. } = self {
            queue.push(serial, key.clone());
        }
    }

    /// A fragment joined the group under `key`, whose latest use is now `touched`.
    pub(crate) fn merge<S, K>(&mut self, key: &GroupKey, touched: u64, groups: &GroupTable<S, K>) {
        if let EvictionOrder::LeastRecentlyUsed { queue, .. } = self {
            queue.push(touched, key.clone());
            queue.compact(groups.len(), |k, stamp| is_latest_use(groups.get(k), stamp));
        }
    }

    /// The group to evict, while `groups` holds more than the limit, taken
    /// off the order; none when the table is within it.
    pub(crate) fn victim<S, K>(&mut self, groups: &GroupTable<S, K>) -> Option<GroupKey> {
        match self {
            EvictionOrder::Off => None,
            EvictionOrder::OldestFirst { max_keys, queue } => (groups.len() > *max_keys)
                .then(|| queue.pop_valid(|k, serial| groups.get(k).is_some_and(|g| g.info.serial == serial)))?,
            EvictionOrder::LeastRecentlyUsed { max_keys, queue } => {
                (groups.len() > *max_keys).then(|| queue.pop_valid(|k, stamp| is_latest_use(groups.get(k), stamp)))?
            }
        }
    }

    /// Drops the entries of groups that left, once they outnumber the live ones.
    pub(crate) fn compact<S, K>(&mut self, groups: &GroupTable<S, K>) {
        let live = groups.len();
        match self {
            EvictionOrder::Off => {}
            EvictionOrder::OldestFirst { queue, .. } => {
                queue.compact(live, |k, serial| groups.get(k).is_some_and(|g| g.info.serial == serial));
            }
            EvictionOrder::LeastRecentlyUsed { queue, .. } => {
                queue.compact(live, |k, stamp| is_latest_use(groups.get(k), stamp));
            }
        }
    }

    /// Every group left at once.
    pub(crate) fn clear(&mut self) {
        if let EvictionOrder::OldestFirst { queue, .. } | EvictionOrder::LeastRecentlyUsed { queue, .. } = self {
            queue.clear();
        }
    }

    pub(crate) fn heap_bytes(&self) -> usize {
        match self {
            EvictionOrder::Off => 0,
            EvictionOrder::OldestFirst { queue, .. } | EvictionOrder::LeastRecentlyUsed { queue, .. } => {
                queue.heap_bytes()
            }
        }
    }
}

/// Whether an order entry stamped `stamp` is the group's latest use.
pub(super) fn is_latest_use<S, K>(group: Option<GroupRef<'_, S, K>>, stamp: u64) -> bool {
    group.is_some_and(|g| g.info.touched == stamp)
}

#[cfg(test)]
mod tests {
    use super::EvictionOrder;
    use crate::node::parts::tests::{Table, key, open};
    use crate::policy::{Eviction, KeyLimit, Policy};

    fn order(eviction: Eviction) -> EvictionOrder {
        EvictionOrder::new(&Policy::builder().key_limit(KeyLimit { max_keys: 2, eviction }).build().unwrap())
    }

    #[test]
    fn the_oldest_group_goes_only_while_the_table_is_over_the_limit() {
        let mut order = order(Eviction::OldestFirst);
        let mut table = Table::default();
        for (serial, name) in ["a", "b"].into_iter().enumerate() {
            open(&mut table, name, serial as u64, 0);
            order.open(&key(name), serial as u64);
        }
        assert_eq!(order.victim(&table), None, "two groups are within a limit of two");
        open(&mut table, "c", 2, 0);
        order.open(&key("c"), 2);
        assert_eq!(order.victim(&table), Some(key("a")));
        assert!(!order.uses_recency());
        assert!(order.heap_bytes() > 0);
        order.clear();
        assert_eq!(order.victim(&table), None, "cleared, the order names no group");
    }

    #[test]
    fn compaction_drops_the_entries_of_groups_that_left_and_keeps_the_live_in_order() {
        let mut order = order(Eviction::OldestFirst);
        let mut table = Table::default();
        // Five thousand groups came and went (evicted or emitted): their
        // entries are stale. Three are still open.
        for serial in 0..5_000 {
            order.open(&key(&format!("gone-{serial}")), serial);
        }
        for (serial, name) in [(5_000, "a"), (5_001, "b"), (5_002, "c")] {
            open(&mut table, name, serial, 0);
            order.open(&key(name), serial);
        }
        let before = order.heap_bytes();
        order.compact(&table);
        assert!(order.heap_bytes() * 2 <= before, "{} bytes kept of {before}", order.heap_bytes());
        assert_eq!(order.victim(&table), Some(key("a")), "the live entries stay, oldest first");
    }

    #[test]
    fn the_least_recently_used_group_goes_and_stale_uses_are_skipped() {
        let mut order = order(Eviction::LeastRecentlyUsed);
        assert!(order.uses_recency());
        let mut table = Table::default();
        for (touch, name) in [(1, "a"), (2, "b"), (3, "c")] {
            open(&mut table, name, touch, touch);
            order.merge(&key(name), touch, &table);
        }
        // `a` is used again: its first entry is stale.
        table.get_mut(&key("a")).unwrap().info.touched = 4;
        order.merge(&key("a"), 4, &table);
        assert_eq!(order.victim(&table), Some(key("b")));
        assert_eq!(EvictionOrder::new(&Policy::default()).victim(&table), None, "off, nothing is evicted");
    }
}
