//! Keeping memory bounded: the soft limit on live keys (eviction flushes)
//! and the spill tier (cold state compressed, restored on demand).

use bytes::Bytes;

use flux_core::{Accumulator, Context, EmitReason, Position, Push, StageError, StageId};

use super::{AccumulateNode, Cause};
use crate::FragmentError;
use crate::group::{Group, GroupKey, GroupKeyRef, Slot};
use crate::release::Release;

impl<A, D, R> AccumulateNode<A, D, R>
where
    A: Accumulator,
    R: Release<A>,
    D: Push<R::Out>,
{
    /// Registers a new group that stays open with the components that
    /// order or index it (its window, its place in arrival order); then
    /// evicts while live keys exceed the soft limit.
    pub(super) fn after_open(&mut self, key: GroupKey, cx: &mut Context<'_>) {
        if let Some(mut group) = self.groups.get_mut(&key) {
            self.windows.open(&key, &mut group.info);
            self.eviction.open(&key, group.info.serial);
        }
        self.evict_over_limit(cx);
    }

    fn evict_over_limit(&mut self, cx: &mut Context<'_>) {
        while let Some(victim) = self.eviction.victim(&self.groups) {
            self.stats.count_eviction();
            tracing::debug!(target: "flux::eviction", stage = %self.id, groups = self.groups.len(), "a group is evicted");
            self.emit(&victim, EmitReason::Evicted, false, cx);
        }
        self.eviction.compact(&self.groups);
    }

    /// Spills the least recently used resident groups until resident bytes
    /// are back under the threshold (or no group can be spilled).
    pub(super) fn spill_cold(&mut self) {
        self.spill.spill_cold(&self.acc, &mut self.groups, &mut self.resident_bytes, &self.stats, &self.id);
    }

    /// Brings a spilled group back into memory before its next fragment.
    pub(super) fn restore(&mut self, key: &GroupKeyRef<'_>, cx: &mut Context<'_>) {
        let Some(group) = self.groups.get_mut(key) else { return };
        let Slot::Spilled(stored) = core::mem::replace(&mut group.core.state, Slot::Vacant) else { return };
        let decoded = self.decode(key.key, &stored);
        let Some(group) = self.groups.get_mut(key) else { return };
        match decoded {
            Ok(state) => {
                // The group is whole again before `state_bytes` (user code)
                // measures it.
                self.spill.restored(&stored);
                let sequence = group.info.origin.sequence;
                let state = &*group.core.state.insert_resident(state);
                self.resident_bytes += measure(&self.acc, &self.id, state, sequence, cx);
            }
            Err(cause) => {
                group.core.state = Slot::Spilled(stored);
                let sequence = group.info.origin.sequence;
                self.discard(key, cx);
                self.report_restore_failure(sequence, cause, cx);
            }
        }
    }

    /// Decodes a spilled state (see [`SpillTier::decode`](super::parts::SpillTier::decode)).
    pub(super) fn decode(&mut self, key: &Bytes, stored: &[u8]) -> Result<A::State, Cause> {
        self.spill.decode(&mut self.acc, key, stored, &self.stats)
    }

    /// A group taken out for emission whose state could not be restored:
    /// its fragments are counted as discarded and the run stops.
    pub(super) fn fail_restore(&mut self, group: &Group<A::State, R::Kept>, cause: Cause, cx: &mut Context<'_>) {
        self.ledger.discarded += group.core.fragments;
        self.ledger.pending -= group.core.fragments;
        self.report_restore_failure(group.info.origin.sequence, cause, cx);
    }

    fn report_restore_failure(&mut self, sequence: u64, cause: Cause, cx: &mut Context<'_>) {
        let error = StageError::new(self.id.clone(), Position::Sequence(sequence), FragmentError::Restore(cause));
        cx.fail(error);
    }
}

/// A state's size, for accounting, measured where a panic must not unwind
/// (the group is out of the table, or just put back): a panic in
/// `state_bytes` stops the run, naming the group's first fragment, and the
/// state counts as empty. The group itself goes on as if measured.
pub(super) fn measure<A: Accumulator>(
    acc: &A,
    id: &StageId,
    state: &A::State,
    sequence: u64,
    cx: &mut Context<'_>,
) -> u64 {
    match flux_core::catch_panic(|| acc.state_bytes(state)) {
        Ok(bytes) => bytes as u64,
        Err(panic) => {
            cx.fail(StageError::new(id.clone(), Position::Sequence(sequence), panic));
            0
        }
    }
}
