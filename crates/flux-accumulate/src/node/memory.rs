//! Keeping memory bounded: the soft limit on live keys (eviction flushes)
//! and the spill tier (cold state compressed, restored on demand).

use bytes::Bytes;

use flux_core::{Accumulator, Context, EmitReason, Position, Push, StageError, StageId};

use super::fragment::window_due;
use super::{AccumulateNode, Cause};
use crate::FragmentError;
use crate::group::{Group, GroupKey, GroupKeyRef, Slot};
use crate::policy::Eviction;
use crate::release::Release;

impl<A, D, R> AccumulateNode<A, D, R>
where
    A: Accumulator,
    R: Release<A>,
    D: Push<R::Out>,
{
    /// Registers a new group that stays open: its window, its place in
    /// arrival order; then evicts while live keys exceed the soft limit.
    pub(super) fn after_open(&mut self, key: GroupKey, serial: u64, cx: &mut Context<'_>) {
        if let Some(w) = self.policy.watermark {
            let length = u64::try_from(w.window.as_nanos()).unwrap_or(u64::MAX);
            let due = window_due(key.window, length, w, self.policy.expiry.of(crate::policy::Timer::Window));
            if let Some(group) = self.groups.get_mut(&key) {
                group.info.window_due = Some(due);
                self.windows.insert((due, serial), key.clone());
            }
        }
        if let Some(queue) = &mut self.arrival {
            queue.push(serial, key);
        }
        self.evict_over_limit(cx);
    }

    fn evict_over_limit(&mut self, cx: &mut Context<'_>) {
        let Some(limit) = self.policy.key_limit else { return };
        while self.groups.len() > limit.max_keys {
            let groups = &self.groups;
            let victim = match limit.eviction {
                Eviction::OldestFirst => self
                    .arrival
                    .as_mut()
                    .and_then(|q| q.pop_valid(|k, serial| groups.get(k).is_some_and(|g| g.info.serial == serial))),
                Eviction::LeastRecentlyUsed => self
                    .lru_evict
                    .as_mut()
                    .and_then(|q| q.pop_valid(|k, touched| groups.get(k).is_some_and(|g| g.info.touched == touched))),
            };
            let Some(victim) = victim else { break };
            self.stats.count_eviction();
            tracing::debug!(target: "flux::eviction", stage = %self.id, groups = self.groups.len(), "a group is evicted");
            self.emit(&victim, EmitReason::Evicted, false, cx);
        }
        let groups = &self.groups;
        let live = groups.len();
        if let Some(q) = &mut self.arrival {
            q.compact(live, |k, serial| groups.get(k).is_some_and(|g| g.info.serial == serial));
        }
        if let Some(q) = &mut self.lru_evict {
            q.compact(live, |k, touched| groups.get(k).is_some_and(|g| g.info.touched == touched));
        }
    }

    /// Spills the least recently used resident groups until resident bytes
    /// are back under the threshold (or no group can be spilled).
    pub(super) fn spill_cold(&mut self) {
        let Some(limit) = self.policy.spill else { return };
        while !self.spill_declined && self.resident_bytes > limit.resident_bytes {
            let groups = &self.groups;
            let cold = |k: &GroupKey, touched: u64| {
                groups.get(k).is_some_and(|g: &Group<A::State, R::Kept>| g.info.touched == touched && !g.is_spilled())
            };
            let Some(victim) = self.lru_spill.as_mut().and_then(|q| q.pop_valid(cold)) else { break };
            let Some(group) = self.groups.get_mut(&victim) else { break };
            let Slot::Resident(state) = &group.state else { continue };
            // Measured first: should `state_bytes` panic, nothing is stored yet.
            let size = self.acc.state_bytes(state) as u64;
            self.scratch.clear();
            if !self.acc.encode_state(state, &mut self.scratch) {
                self.spill_declined = true;
                break;
            }
            let stored = match self.strategy.spill(victim.key.as_slice(), &self.scratch) {
                Ok(stored) => stored,
                Err(_) => {
                    // The tier cannot take more (its disk is full): the
                    // group stays in memory, and spilling stops, counted.
                    self.spill_declined = true;
                    self.stats.count_spill_failure();
                    tracing::warn!(target: "flux::spill", stage = %self.id, "the spill tier is full: spilling stops");
                    break;
                }
            };
            self.resident_bytes = self.resident_bytes.saturating_sub(size);
            self.spilled_bytes += stored.len() as u64;
            self.spilled_groups += 1;
            group.state = Slot::Spilled(stored);
            self.stats.count_spill();
            tracing::debug!(target: "flux::spill", stage = %self.id, state_bytes = size, resident_bytes = self.resident_bytes, "a group spills");
        }
        self.stats.set_spilled(self.spilled_groups, self.spilled_bytes);
        let groups = &self.groups;
        let live = groups.len();
        if let Some(q) = &mut self.lru_spill {
            q.compact(live, |k, touched| groups.get(k).is_some_and(|g| g.info.touched == touched && !g.is_spilled()));
        }
    }

    /// Brings a spilled group back into memory before its next fragment.
    pub(super) fn restore(&mut self, key: &GroupKeyRef<'_>, cx: &mut Context<'_>) {
        let Some(group) = self.groups.get_mut(key) else { return };
        let Slot::Spilled(stored) = core::mem::replace(&mut group.state, Slot::Vacant) else { return };
        let decoded = self.decode(key.key, &stored);
        let Some(group) = self.groups.get_mut(key) else { return };
        match decoded {
            Ok(state) => {
                // The group is whole again before `state_bytes` (user code)
                // measures it.
                self.spilled_bytes -= stored.len() as u64;
                self.spilled_groups -= 1;
                self.stats.set_spilled(self.spilled_groups, self.spilled_bytes);
                let sequence = group.info.origin.sequence;
                let state = &*group.state.insert_resident(state);
                self.resident_bytes += measure(&self.acc, &self.id, state, sequence, cx);
            }
            Err(cause) => {
                group.state = Slot::Spilled(stored);
                let sequence = group.info.origin.sequence;
                self.discard(key, cx);
                self.report_restore_failure(sequence, cause, cx);
            }
        }
    }

    /// Decodes a spilled state (strategy, then accumulator), counting the
    /// restore. A panic in either (a cipher, `decode_state`) is a failed
    /// restore like any other: the caller holds the group apart while it
    /// decodes, and must not be unwound out of.
    pub(super) fn decode(&mut self, key: &Bytes, stored: &[u8]) -> Result<A::State, Cause> {
        self.stats.count_restore();
        let (strategy, acc) = (&mut self.strategy, &mut self.acc);
        let decoded = flux_core::catch_panic(|| {
            let encoded = strategy.restore(key, stored)?;
            acc.decode_state(key, &encoded)
        });
        decoded.unwrap_or_else(|panic| Err(panic.into()))
    }

    /// A group taken out for emission whose state could not be restored:
    /// its fragments are counted as discarded and the run stops.
    pub(super) fn fail_restore(&mut self, group: &Group<A::State, R::Kept>, cause: Cause, cx: &mut Context<'_>) {
        self.ledger.discarded += group.fragments;
        self.ledger.pending -= group.fragments;
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
