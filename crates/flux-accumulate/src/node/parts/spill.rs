//! The spill tier: cold groups' states encoded, handed to the spill
//! strategy, and restored before their next fragment.

use bytes::Bytes;
use flux_core::{Accumulator, StageId};

use super::eviction::is_latest_use;
use crate::group::{GroupKey, GroupRef, Slot};
use crate::node::Cause;
use crate::order::OrderQueue;
use crate::policy::{Policy, SpillAt};
use crate::table::GroupTable;
use crate::{AccumulatorStats, SpillStrategy};

/// Resident groups in latest-use order, the strategy that keeps the
/// spilled ones, and what it keeps; off (nothing ever spills) without a
/// [`SpillAt`] in the policy.
pub(crate) struct SpillTier {
    at: Option<SpillAt>,
    strategy: Box<dyn SpillStrategy>,
    /// Groups in latest-use order, for choosing cold groups to spill.
    cold: OrderQueue,
    /// Set once the accumulator declines to encode a state, or the
    /// strategy to take one: spilling stops.
    declined: bool,
    /// Spilled groups, and the bytes the strategy returned for them.
    groups: u64,
    bytes: u64,
    /// The encoding of the state being spilled (kept to reuse its memory).
    scratch: Vec<u8>,
}

impl SpillTier {
    pub(crate) fn new(policy: &Policy, strategy: Box<dyn SpillStrategy>) -> Self {
        SpillTier {
            at: policy.spill,
            strategy,
            cold: OrderQueue::default(),
            declined: false,
            groups: 0,
            bytes: 0,
            scratch: Vec::new(),
        }
    }

    /// Whether the policy spills nothing.
    pub(crate) fn is_off(&self) -> bool {
        self.at.is_none()
    }

    /// Whether the tier needs each group's latest use.
    #[inline(always)]
    pub(crate) fn uses_recency(&self) -> bool {
        self.at.is_some()
    }

    /// Whether any group is spilled (so a fragment's group may need restoring).
    #[inline(always)]
    pub(crate) fn holds_any(&self) -> bool {
        self.groups > 0
    }

    /// Spilled groups and their stored bytes, as the stats show them.
    pub(crate) fn figures(&self) -> (u64, u64) {
        (self.groups, self.bytes)
    }

    /// A fragment joined the group under `key`, whose latest use is now `touched`.
    pub(crate) fn merge<S, K>(&mut self, key: &GroupKey, touched: u64, groups: &GroupTable<S, K>) {
        if self.at.is_none() {
            return;
        }
        self.cold.push(touched, key.clone());
        self.cold.compact(groups.len(), |k, stamp| is_cold(groups.get(k), stamp));
    }

    /// Whether `resident` state bytes are over the threshold, so cold
    /// groups should spill.
    #[inline(always)]
    pub(crate) fn is_over(&self, resident: u64) -> bool {
        self.at.is_some_and(|at| resident > at.resident_bytes)
    }

    /// Spills the least recently used resident groups until `resident`
    /// bytes are back under the threshold, or none can be spilled. A panic
    /// in `state_bytes` or `encode_state` leaves the group resident.
    pub(crate) fn spill_cold<A: Accumulator, K>(
        &mut self,
        acc: &A,
        groups: &mut GroupTable<A::State, K>,
        resident: &mut u64,
        stats: &AccumulatorStats,
        id: &StageId,
    ) {
        while !self.declined && self.is_over(*resident) {
            let table = &*groups;
            let Some(victim) = self.cold.pop_valid(|k, stamp| is_cold(table.get(k), stamp)) else { break };
            let Some(group) = groups.get_mut(&victim) else { break };
            let Slot::Resident(state) = &group.core.state else { continue };
            // Measured first: should `state_bytes` panic, nothing is stored yet.
            let size = acc.state_bytes(state) as u64;
            self.scratch.clear();
            if !acc.encode_state(state, &mut self.scratch) {
                self.declined = true;
                break;
            }
            let Ok(stored) = self.strategy.spill(victim.key.as_slice(), &self.scratch) else {
                // The tier cannot take more (its disk is full): the group
                // stays in memory, and spilling stops, counted.
                self.declined = true;
                stats.count_spill_failure();
                tracing::warn!(target: "flux::spill", stage = %id, "the spill tier is full: spilling stops");
                break;
            };
            *resident = resident.saturating_sub(size);
            self.bytes += stored.len() as u64;
            self.groups += 1;
            group.core.state = Slot::Spilled(stored);
            stats.count_spill();
            tracing::debug!(target: "flux::spill", stage = %id, state_bytes = size, resident_bytes = *resident, "a group spills");
        }
        let table = &*groups;
        self.cold.compact(table.len(), |k, stamp| is_cold(table.get(k), stamp));
    }

    /// Decodes a spilled state (strategy, then accumulator), counting the
    /// restore. A panic in either (a cipher, `decode_state`) is a failed
    /// restore like any other: the caller holds the group apart while it
    /// decodes, and must not be unwound out of.
    pub(crate) fn decode<A: Accumulator>(
        &mut self,
        acc: &mut A,
        key: &Bytes,
        stored: &[u8],
        stats: &AccumulatorStats,
    ) -> Result<A::State, Cause> {
        stats.count_restore();
        let strategy = &mut self.strategy;
        let decoded = flux_core::catch_panic(|| {
            let encoded = strategy.restore(key, stored)?;
            acc.decode_state(key, &encoded)
        });
        decoded.unwrap_or_else(|panic| Err(panic.into()))
    }

    /// A spilled group is back in memory: the strategy's copy is no
    /// longer counted.
    pub(crate) fn restored(&mut self, stored: &[u8]) {
        self.bytes -= stored.len() as u64;
        self.groups -= 1;
    }

    /// A group left the table: a spilled one is no longer counted.
    pub(crate) fn emit<S>(&mut self, state: &Slot<S>) {
        if let Slot::Spilled(stored) = state {
            self.restored(stored);
        }
    }

    /// A group that left is done with: the strategy may free what it
    /// stored for it.
    pub(crate) fn forget<S>(&mut self, state: &Slot<S>) {
        if let Slot::Spilled(stored) = state {
            self.forget_stored(stored);
        }
    }

    /// Likewise, for a stored state already taken out of its group.
    pub(crate) fn forget_stored(&mut self, stored: &[u8]) {
        self.strategy.forget(stored);
    }

    /// Every group left at once.
    pub(crate) fn clear(&mut self) {
        self.cold.clear();
        self.groups = 0;
        self.bytes = 0;
    }

    pub(crate) fn heap_bytes(&self) -> usize {
        self.cold.heap_bytes()
    }
}

/// Whether a latest-use entry stamped `stamp` names a resident group still
/// at that use.
fn is_cold<S, K>(group: Option<GroupRef<'_, S, K>>, stamp: u64) -> bool {
    is_latest_use(group, stamp) && group.is_some_and(|g| !g.core.is_spilled())
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicU64, Ordering};

    use bytes::Bytes;
    use flux_core::{Completeness, EmitReason, Envelope, StageId};

    use super::SpillTier;
    use crate::group::Slot;
    use crate::node::parts::tests::{Table, key, open};
    use crate::policy::Policy;
    use crate::{AccumulatorStats, SpillError, SpillStrategy};

    /// Keeps each state as given, and counts what it was told to forget.
    #[derive(Default)]
    struct Counting {
        forgotten: Arc<AtomicU64>,
    }

    impl SpillStrategy for Counting {
        fn spill(&mut self, _: &[u8], state: &[u8]) -> Result<Box<[u8]>, SpillError> {
            Ok(state.into())
        }
        fn restore(&mut self, _: &[u8], stored: &[u8]) -> Result<Vec<u8>, SpillError> {
            Ok(stored.to_vec())
        }
        fn forget(&mut self, _: &[u8]) {
            self.forgotten.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// States of 100 bytes each, encoded as their value.
    struct Hundred;

    impl flux_core::Accumulator for Hundred {
        type Fragment = u64;
        type State = u64;
        type Output = u64;
        fn open(&mut self, _: &Bytes) -> u64 {
            0
        }
        fn merge(
            &mut self,
            state: &mut u64,
            fragment: Envelope<u64>,
        ) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
            *state += fragment.payload();
            Ok(())
        }
        fn completeness(&self, _: &u64) -> Completeness {
            Completeness::EMPTY
        }
        fn close(&mut self, _: Bytes, state: u64, _: EmitReason) -> u64 {
            state
        }
        fn state_bytes(&self, _: &u64) -> usize {
            100
        }
        fn encode_state(&self, state: &u64, out: &mut Vec<u8>) -> bool {
            out.extend_from_slice(&state.to_le_bytes());
            true
        }
    }

    fn tier(above: u64) -> (SpillTier, Arc<AtomicU64>) {
        let strategy = Counting::default();
        let forgotten = strategy.forgotten.clone();
        (SpillTier::new(&Policy::builder().spill_above(above).build().unwrap(), Box::new(strategy)), forgotten)
    }

    #[test]
    fn the_figures_follow_what_is_spilled_restored_and_emitted() {
        let (mut tier, _) = tier(1);
        assert!(tier.uses_recency() && !tier.holds_any());
        assert!(tier.is_over(2) && !tier.is_over(1), "over means above the threshold");
        (tier.groups, tier.bytes) = (2, 30);
        tier.restored(&[0; 10]);
        assert_eq!(tier.figures(), (1, 20));
        tier.emit::<u64>(&Slot::Resident(7));
        assert_eq!(tier.figures(), (1, 20), "a resident group leaving changes nothing");
        tier.emit::<u64>(&Slot::Spilled(vec![0; 20].into_boxed_slice()));
        assert_eq!(tier.figures(), (0, 0));
        assert!(!tier.holds_any());
        let off = SpillTier::new(&Policy::default(), Box::new(Counting::default()));
        assert!(!off.uses_recency() && !off.is_over(u64::MAX));
    }

    #[test]
    fn the_strategy_forgets_a_spilled_state_that_left_and_nothing_else() {
        let (mut tier, forgotten) = tier(1);
        tier.forget::<u64>(&Slot::Resident(7));
        assert_eq!(forgotten.load(Ordering::Relaxed), 0);
        tier.forget::<u64>(&Slot::Spilled(vec![1].into_boxed_slice()));
        assert_eq!(forgotten.load(Ordering::Relaxed), 1);
        tier.forget_stored(&[2]);
        assert_eq!(forgotten.load(Ordering::Relaxed), 2);
    }

    #[test]
    fn the_least_recently_used_resident_group_spills_first_past_stale_and_spilled_entries() {
        // Room for two states of 100 bytes: three open, one must spill.
        let (mut tier, _) = tier(200);
        let mut table = Table::default();
        for (touch, name) in [(1, "a"), (2, "b"), (3, "c")] {
            open(&mut table, name, touch, touch);
            tier.merge(&key(name), touch, &table);
        }
        assert!(tier.heap_bytes() > 0, "the latest-use order is counted");
        // `a` is used again: its first entry is stale, and `b` is the coldest.
        table.get_mut(&key("a")).unwrap().info.touched = 4;
        tier.merge(&key("a"), 4, &table);
        let (stats, id) = (AccumulatorStats::default(), StageId::new("acc"));
        let mut resident = 300;
        tier.spill_cold(&Hundred, &mut table, &mut resident, &stats, &id);
        assert_eq!(resident, 200);
        let spilled: Vec<_> =
            ["a", "b", "c"].into_iter().filter(|k| table.get(&key(k)).unwrap().core.is_spilled()).collect();
        assert_eq!(spilled, ["b"]);
        assert_eq!(tier.figures(), (1, 8), "one state of 8 encoded bytes");
        // Over again: `b` is spilled already, so `c` goes next, not `b` twice.
        resident = 300;
        tier.spill_cold(&Hundred, &mut table, &mut resident, &stats, &id);
        assert!(table.get(&key("c")).unwrap().core.is_spilled());
        assert_eq!(tier.figures(), (2, 16));
    }
}
