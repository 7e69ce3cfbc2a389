//! A group's way out: a record with its headers, or a counted discard.

use bytes::Bytes;
use flux_core::{Accumulator, Completeness, Context, Cost, EmitReason, Envelope, Instant, Meta, Push};

use super::AccumulateNode;
use crate::group::{Group, GroupKey, Slot};
use crate::policy::AtEnd;

/// Header: the record's completeness score, as text with three decimals.
pub const COMPLETENESS_HEADER: &str = "acc.completeness";
/// Header: why the record was emitted ([`EmitReason::as_str`]).
pub const REASON_HEADER: &str = "acc.reason";
/// Header: how many fragments the record merged, as decimal text.
pub const FRAGMENTS_HEADER: &str = "acc.fragments";

impl<A, D> AccumulateNode<A, D>
where
    A: Accumulator,
    D: Push<A::Output>,
{
    /// Emits the group under `key` as a record, if it is open.
    pub(super) fn emit(&mut self, key: GroupKey, reason: EmitReason, close_key: bool, cx: &mut Context<'_>) {
        let Some(mut group) = self.take_group(&key) else { return };
        let state = match core::mem::replace(&mut group.state, Slot::Vacant) {
            Slot::Resident(state) => state,
            Slot::Spilled(stored) => match self.decode(&key, &stored) {
                Ok(state) => state,
                Err(cause) => return self.fail_restore(&group, cause, cx),
            },
            Slot::Vacant => unreachable!("a group's state is only vacant while it is moved"),
        };
        let completeness = self.acc.completeness(&state);
        let fragments = group.fragments;
        let output = self.acc.close(key.key.clone(), state, reason);
        self.ledger.created += 1;
        self.ledger.released += fragments;
        self.ledger.pending -= fragments;
        let mut meta = Meta {
            sequence: group.info.origin.sequence,
            key: Some(key.key.clone()),
            event_time: group.info.origin.event_time,
            trace: group.info.origin.trace,
            headers: Default::default(),
        };
        meta.headers.insert(COMPLETENESS_HEADER, score_text(completeness));
        meta.headers.insert(REASON_HEADER, Bytes::from_static(reason.as_str().as_bytes()));
        meta.headers.insert(FRAGMENTS_HEADER, Bytes::from(fragments.to_string()));
        let cost = Cost::bytes(u32::try_from(group.bytes).unwrap_or(u32::MAX));
        if close_key && let Some(closed) = &mut self.closed {
            closed.close(key, cx.now());
            self.stats.set_forgotten_closed_keys(closed.forgotten());
        }
        self.next.push(Envelope::from_parts(output, meta, cost), cx);
    }

    /// Drops the group under `key`; its fragments are counted as discarded.
    pub(super) fn discard(&mut self, key: &GroupKey) {
        if let Some(group) = self.take_group(key) {
            self.ledger.discarded += group.fragments;
            self.ledger.pending -= group.fragments;
        }
    }

    /// Whether emitting for `reason` closes the key, by policy.
    pub(super) fn closes_key(&self, reason: EmitReason) -> bool {
        let Some(closed) = self.policy.closed_keys else { return false };
        match reason {
            EmitReason::Complete => true,
            EmitReason::Size | EmitReason::Latency | EmitReason::TtlExpired | EmitReason::Watermark => {
                closed.include_expired
            }
            EmitReason::Evicted | EmitReason::EndOfStream => false,
        }
    }

    /// End of input: every open group, by deadline then first arrival.
    pub(super) fn flush_at_end(&mut self, cx: &mut Context<'_>) {
        let mut open: Vec<(Instant, u64, Option<EmitReason>, GroupKey)> = self
            .groups
            .iter()
            .map(|(key, g)| {
                let deadline = [g.fire.map(|f| f.0), g.info.window_due].into_iter().flatten().min();
                (deadline.unwrap_or(Instant::from_nanos(u64::MAX)), g.info.serial, g.fire.map(|f| f.1), key.clone())
            })
            .collect();
        open.sort_unstable_by_key(|&(deadline, serial, ..)| (deadline, serial));
        for (_, _, timer, key) in open {
            match (self.policy.at_end, timer) {
                (AtEnd::Drop, _) => self.discard(&key),
                (AtEnd::WaitForTimers, Some(reason)) => {
                    let close = self.closes_key(reason);
                    self.emit(key, reason, close, cx);
                }
                (AtEnd::Flush | AtEnd::WaitForTimers, _) => self.emit(key, EmitReason::EndOfStream, false, cx),
            }
        }
        self.arrival.iter_mut().chain(&mut self.lru_evict).chain(&mut self.lru_spill).for_each(|q| q.clear());
    }

    /// Removes a group and everything that indexes it.
    fn take_group(&mut self, key: &GroupKey) -> Option<Group<A::State>> {
        let group = self.groups.remove(&key.as_ref())?;
        if let Some((at, _)) = group.fire {
            self.timers.remove(&(at, group.info.serial));
        }
        if let Some(due) = group.info.window_due {
            self.windows.remove(&(due, group.info.serial));
        }
        if group.is_spilled() {
            self.spilled_bytes -= group.state_bytes;
            self.spilled_groups -= 1;
            self.stats.set_spilled(self.spilled_groups, self.spilled_bytes);
        } else {
            self.resident_bytes -= group.state_bytes;
        }
        Some(group)
    }
}

fn score_text(completeness: Completeness) -> Bytes {
    let score = completeness.score();
    if score >= 1.0 {
        Bytes::from_static(b"1.000")
    } else if score <= 0.0 {
        Bytes::from_static(b"0.000")
    } else {
        Bytes::from(format!("{score:.3}"))
    }
}
