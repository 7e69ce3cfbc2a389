//! The spill tier: cold groups' states encoded, handed to the spill
//! strategy, and restored before their next fragment.

use bytes::Bytes;
use flux_core::{Accumulator, StageId};

use super::eviction::is_latest_use;
use crate::group::{Group, GroupKey, Slot};
use crate::order::OrderQueue;
use crate::policy::{Policy, SpillAt};
use crate::table::GroupTable;
use crate::{AccumulatorStats, SpillStrategy};

/// Why a merge or a restore failed, as the accumulator or spill strategy said.
type Cause = Box<dyn std::error::Error + Send + Sync>;

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
            let Slot::Resident(state) = &group.state else { continue };
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
            group.state = Slot::Spilled(stored);
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
fn is_cold<S, K>(group: Option<&Group<S, K>>, stamp: u64) -> bool {
    is_latest_use(group, stamp) && group.is_some_and(|g| !g.is_spilled())
}

#[cfg(test)]
mod tests {
    use super::SpillTier;
    use crate::group::Slot;
    use crate::policy::Policy;

    #[test]
    fn the_figures_follow_what_is_spilled_restored_and_emitted() {
        let policy = Policy::builder().spill_above(1).build().unwrap();
        let mut tier = SpillTier::new(&policy, Box::new(crate::Lz4Spill::<crate::NoEncryption>::default()));
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
        let off = SpillTier::new(&Policy::default(), Box::new(crate::Lz4Spill::<crate::NoEncryption>::default()));
        assert!(!off.uses_recency() && !off.is_over(u64::MAX));
    }
}
