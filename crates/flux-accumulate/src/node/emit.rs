//! A group's way out: a record with its headers, its fragments again, or
//! a counted discard.

use core::hash::Hash;

use flux_core::{Accumulator, Context, Cost, EmitReason, Envelope, Instant, Meta, Push};

use hashbrown::Equivalent;

use super::AccumulateNode;
use crate::group::{Group, GroupKey, Slot};
use crate::policy::{AtEnd, OnExpiry};
use crate::release::Release;

/// Header: the record's completeness score, as text with three decimals.
pub const COMPLETENESS_HEADER: &str = "acc.completeness";
/// Header: why the record was emitted ([`EmitReason::as_str`]).
pub const REASON_HEADER: &str = "acc.reason";
/// Header: how many fragments the record merged, as decimal text.
pub const FRAGMENTS_HEADER: &str = "acc.fragments";

impl<A, D, R> AccumulateNode<A, D, R>
where
    A: Accumulator,
    R: Release<A>,
    D: Push<R::Out>,
{
    /// Emits the group under `key`, if it is open.
    pub(super) fn emit<Q>(&mut self, key: &Q, reason: EmitReason, close_key: bool, cx: &mut Context<'_>)
    where
        Q: Hash + Equivalent<GroupKey> + ?Sized,
    {
        if let Some((key, group)) = self.take_group(key, cx) {
            self.release(key, group, reason, close_key, cx);
        }
    }

    /// Emits a group already taken out of the table: as a record, or as its
    /// original fragments when the stage re-emits them for `reason`.
    fn release(
        &mut self,
        key: GroupKey,
        mut group: Group<A::State, R::Kept>,
        reason: EmitReason,
        close_key: bool,
        cx: &mut Context<'_>,
    ) {
        if self.policy.on_expiry == OnExpiry::Discard && reason.is_timer() {
            return self.discard_expired(key, group, reason, close_key, cx);
        }
        let fragments = group.core.fragments;
        self.emitted.count(reason);
        if !reason.is_whole() {
            tracing::debug!(target: "flux::flush", stage = %self.id, reason = reason.as_str(), fragments, "a partial group is flushed");
        }
        if R::reemits(reason) {
            // The fragments go out as they came: a spilled state is not needed.
            self.spill.forget(&group.core.state);
            let info = group.info;
            let next = &mut self.next;
            let count = R::reemit(info.kept, reason, |fragment| flux_core::push_isolated(next, fragment, cx));
            self.ledger.created += count;
            self.ledger.partial += count;
            self.ledger.released += count;
            self.ledger.pending -= count;
        } else {
            let text = &mut self.text;
            let record_key = key.key.to_bytes(|k| text.copy(k));
            let state = match core::mem::replace(&mut group.core.state, Slot::Vacant) {
                Slot::Resident(state) => state,
                Slot::Spilled(stored) => match self.decode(&record_key, &stored) {
                    Ok(state) => state,
                    Err(cause) => {
                        self.spill.forget_stored(&stored);
                        return self.fail_restore(&group, cause, cx);
                    }
                },
                Slot::Vacant => unreachable!("a group's state is only vacant while it is moved"),
            };
            let origin = group.info.origin;
            let acc = &mut self.acc;
            let closing_key = record_key.clone();
            let made = flux_core::catch_panic(|| {
                let completeness = acc.completeness(&state);
                (completeness, R::record(acc.close(closing_key, state, reason)))
            });
            let (completeness, output) = match made {
                Ok(made) => made,
                Err(panic) => {
                    // The record cannot be made: its fragments are counted
                    // as discarded, and the run stops.
                    self.count_discarded(&group);
                    let position = flux_core::Position::Sequence(origin.sequence);
                    return cx.fail(flux_core::StageError::new(self.id.clone(), position, panic));
                }
            };
            let meta = Meta {
                sequence: origin.sequence,
                key: Some(record_key),
                event_time: origin.event_time,
                trace: origin.trace,
                headers: self.text.headers(completeness, reason, fragments),
            };
            self.ledger.created += 1;
            self.ledger.partial += u64::from(!reason.is_whole());
            self.ledger.released += fragments;
            self.ledger.pending -= fragments;
            let cost = Cost::bytes(u32::try_from(group.core.bytes).unwrap_or(u32::MAX));
            flux_core::push_isolated(&mut self.next, Envelope::from_parts(output, meta, cost), cx);
        }
        self.close_if(key, close_key, cx);
    }

    /// A group whose timer ran out under [`OnExpiry::Discard`]: dropped,
    /// counted, and its key closed as if it had been emitted (the group did
    /// end for `reason`).
    #[cold]
    #[inline(never)]
    fn discard_expired(
        &mut self,
        key: GroupKey,
        group: Group<A::State, R::Kept>,
        reason: EmitReason,
        close_key: bool,
        cx: &mut Context<'_>,
    ) {
        tracing::debug!(target: "flux::flush", stage = %self.id, reason = reason.as_str(), fragments = group.core.fragments, "an expired group is discarded");
        self.count_discarded(&group);
        self.stats.count_discarded_group(reason);
        self.close_if(key, close_key, cx);
    }

    /// Closes `key` once its group has ended, if `close_key` says so.
    fn close_if(&mut self, key: GroupKey, close_key: bool, cx: &mut Context<'_>) {
        if close_key {
            self.closing.emit(key, self.timers.now(cx));
        }
    }

    /// Drops the group under `key`; its fragments are counted as discarded.
    pub(super) fn discard<Q>(&mut self, key: &Q, cx: &mut Context<'_>)
    where
        Q: Hash + Equivalent<GroupKey> + ?Sized,
    {
        if let Some((_, group)) = self.take_group(key, cx) {
            self.count_discarded(&group);
        }
    }

    /// Discards the group a panicking merge left half-written, if any: its
    /// state cannot be trusted to make a record. Its earlier fragments are
    /// counted as discarded; the one whose merge panicked is a dead letter.
    #[inline(always)]
    pub(super) fn discard_half_merged(&mut self, cx: &mut Context<'_>) {
        if self.half_merged.is_some() {
            self.discard_half_merged_now(cx);
        }
    }

    #[cold]
    #[inline(never)]
    fn discard_half_merged_now(&mut self, cx: &mut Context<'_>) {
        let Some((key, window)) = self.half_merged.take() else { return };
        let probe = crate::group::GroupKeyRef { key: &key, window, storage: self.policy.key_storage };
        self.discard(&probe, cx);
        // The state left the count at a size it may not have had when it
        // was counted: every resident state is measured again, so the
        // count is exact (the per-fragment path relies on it).
        let (acc, groups) = (&self.acc, &self.groups);
        let recount = flux_core::catch_panic(|| {
            groups.groups().filter_map(|group| group.state.resident()).map(|state| acc.state_bytes(state) as u64).sum()
        });
        match recount {
            Ok(total) => self.resident_bytes = total,
            Err(panic) => {
                let position = flux_core::Position::None;
                cx.fail(flux_core::StageError::new(self.id.clone(), position, panic));
            }
        }
        // A fragment's push that follows may not publish (see `Figures`).
        self.publish();
    }

    fn count_discarded(&mut self, group: &Group<A::State, R::Kept>) {
        self.spill.forget(&group.core.state);
        self.ledger.discarded += group.core.fragments;
        self.ledger.pending -= group.core.fragments;
    }

    /// End of input: every open group, by deadline then first arrival.
    ///
    /// The table is drained in one sequential pass; each group is then
    /// emitted as the drain (or, when it must be sorted, the sorted list)
    /// hands it on, never looked up again.
    pub(super) fn flush_at_end(&mut self, cx: &mut Context<'_>) {
        for (key, group) in self.take_all() {
            let timer = group.info.fire.map(|f| f.1);
            match (self.policy.at_end, timer) {
                (AtEnd::Drop, _) => {
                    self.count_discarded(&group);
                    self.stats.count_discarded_group(EmitReason::EndOfStream);
                }
                (AtEnd::WaitForTimers, Some(reason)) => {
                    let close = self.closing.closes(reason);
                    self.release(key, group, reason, close, cx);
                }
                (AtEnd::Flush | AtEnd::WaitForTimers, _) => {
                    self.release(key, group, EmitReason::EndOfStream, false, cx);
                }
            }
        }
    }

    /// Emits every open group for `reason`, in the order of a flush: a new
    /// key's first fragment under [`OnNewKey::CompleteOthers`] (every open
    /// group is another key's), or a forced completion.
    ///
    /// [`OnNewKey::CompleteOthers`]: crate::OnNewKey::CompleteOthers
    #[cold]
    #[inline(never)]
    pub(super) fn complete_others(&mut self, reason: EmitReason, cx: &mut Context<'_>) {
        for (key, group) in self.take_all() {
            let close = self.closing.closes(reason);
            self.release(key, group, reason, close, cx);
        }
    }

    /// Takes every group out of the table in emission order, and empties
    /// every index and figure that counts them.
    fn take_all(&mut self) -> InEmissionOrder<A::State, R::Kept> {
        let open = self.drain_in_order();
        self.timers.clear();
        self.windows.clear();
        self.eviction.clear();
        self.spill.clear();
        self.resident_bytes = 0;
        self.key_heap = 0;
        open
    }

    /// Takes every group out of the table, in emission order.
    ///
    /// The table gives its groups in the order they opened unless a group
    /// reused another's place (see `GroupTable::drain`): when that order
    /// holds and no group has a deadline (the common end of a plain run),
    /// it is the emission order, and the groups are handed on straight from
    /// the table's drain, each moved once. Otherwise they are sorted by
    /// deadline, then first arrival.
    fn drain_in_order(&mut self) -> InEmissionOrder<A::State, R::Kept> {
        let drained = self.groups.drain();
        let mut last = None;
        let in_order = drained.infos().all(|info| {
            let next = last < Some(info.serial) && info.fire.is_none() && info.window_due.is_none();
            last = Some(info.serial);
            next
        });
        if in_order {
            return InEmissionOrder::AsDrained(drained);
        }
        InEmissionOrder::Sorted(sorted_by_deadline(drained.map(Some).collect(), self.next_serial).into_iter())
    }

    /// Removes a group and everything that indexes it.
    #[allow(clippy::type_complexity, reason = "the table's own entry, named by its parts")]
    fn take_group<Q>(&mut self, key: &Q, cx: &mut Context<'_>) -> Option<(GroupKey, Group<A::State, R::Kept>)>
    where
        Q: Hash + Equivalent<GroupKey> + ?Sized,
    {
        let (key, group) = self.groups.remove_entry(key)?;
        self.key_heap -= key.key.heap_bytes(self.policy.key_storage);
        self.timers.emit(&group.info);
        self.windows.emit(&group.info);
        self.spill.emit(&group.core.state);
        match &group.core.state {
            // Saturating: a merge that panicked leaves the count behind the state.
            Slot::Resident(state) => {
                let size = super::memory::measure(&self.acc, &self.id, state, group.info.origin.sequence, cx);
                self.resident_bytes = self.resident_bytes.saturating_sub(size);
            }
            Slot::Spilled(_) | Slot::Vacant => {}
        }
        Some((key, group))
    }
}

/// The groups of a flush, in the order they are emitted: straight from the
/// table's drain when that is the order, else sorted.
enum InEmissionOrder<S, K> {
    AsDrained(crate::table::Drain<S, K>),
    Sorted(std::vec::IntoIter<(GroupKey, Group<S, K>)>),
}

impl<S, K> Iterator for InEmissionOrder<S, K> {
    type Item = (GroupKey, Group<S, K>);

    #[inline]
    fn next(&mut self) -> Option<(GroupKey, Group<S, K>)> {
        match self {
            InEmissionOrder::AsDrained(drained) => drained.next(),
            InEmissionOrder::Sorted(sorted) => sorted.next(),
        }
    }
}

/// When a group must be emitted by: its timer or its window, the earlier.
fn deadline<S, K>(group: &Group<S, K>) -> Option<Instant> {
    [group.info.fire.map(|f| f.0), group.info.window_due].into_iter().flatten().min()
}

/// `open` in emission order: by deadline (none last), then first arrival.
fn sorted_by_deadline<S, K>(
    mut open: Vec<Option<(GroupKey, Group<S, K>)>>,
    serials: u64,
) -> Vec<(GroupKey, Group<S, K>)> {
    let mut order: Vec<(Instant, u64, u32)> = open
        .iter()
        .flatten()
        .enumerate()
        // The table holds fewer than 2^32 groups: its slots would not fit in memory.
        .map(|(index, (_, g))| (deadline(g).unwrap_or(Instant::from_nanos(u64::MAX)), g.info.serial, index as u32))
        .collect();
    sort_by_deadline(&mut order, serials);
    order.into_iter().filter_map(|(_, _, index)| open[index as usize].take()).collect()
}

/// Sorts groups by (deadline, serial). When no group has a deadline and
/// the serials handed out are few, each group is placed at its serial
/// instead: serials are distinct, so this is the same order, found in
/// linear time (the sort cost more than the rest of a plain flush).
fn sort_by_deadline(order: &mut Vec<(Instant, u64, u32)>, serials: u64) {
    let none = Instant::from_nanos(u64::MAX);
    let dense = usize::try_from(serials).is_ok_and(|n| n <= order.len().saturating_mul(4));
    if !dense || order.iter().any(|&(deadline, _, _)| deadline != none) {
        order.sort_unstable();
        return;
    }
    let mut by_serial = vec![None; order.len().saturating_mul(4).max(1)];
    for &(_, serial, index) in order.iter() {
        // `dense` bounds every serial below `by_serial.len()`.
        by_serial[serial as usize] = Some((serial, index));
    }
    order.clear();
    order.extend(by_serial.into_iter().flatten().map(|(serial, index)| (none, serial, index)));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placing_by_serial_gives_the_sorted_order() {
        let none = Instant::from_nanos(u64::MAX);
        let serials = [7_u64, 2, 9, 0, 4];
        let mut order: Vec<_> = serials.iter().enumerate().map(|(i, &s)| (none, s, i as u32)).collect();
        let mut sorted = order.clone();
        sorted.sort_unstable();
        sort_by_deadline(&mut order, 10);
        assert_eq!(order, sorted);
        let mut timed = vec![(Instant::from_nanos(5), 3, 0), (none, 1, 1), (Instant::from_nanos(2), 8, 2)];
        let mut expected = timed.clone();
        expected.sort_unstable();
        sort_by_deadline(&mut timed, 10);
        assert_eq!(timed, expected, "deadlines come first when any group has one");
    }
}
