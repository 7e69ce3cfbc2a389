//! The per-fragment path of a stage whose policy has no windows, timers,
//! closed keys, key limit, spill, new-key completion or "at most" byte
//! limit: small enough to be inlined into the loop that feeds the stage,
//! so that a fragment's envelope stays in registers instead of being
//! written out for a call (which measured several times slower than the
//! merge itself).

use flux_core::{Accumulator, Context, Envelope, PanicGuard, Push};

use super::AccumulateNode;
use super::fragment::whole_or_full;
use super::merge::merge_fragment;
use super::parts::{EvictionOrder, GroupTimers, KeyClosing, SpillTier, Windows};
use crate::group::{GroupKeyRef, Origin};
use crate::policy::Policy;
use crate::release::Release;
use crate::table::NO_SLOT;

impl<A, D, R> AccumulateNode<A, D, R>
where
    A: Accumulator,
    R: Release<A>,
    D: Push<R::Out>,
{
    /// Merges a fragment under a plain policy; anything out of the
    /// ordinary (no key, a start condition, a control signal, a group timer set by
    /// `ttl_for` or `linger_for`, a merge error) goes the general way. `hashed` is the
    /// lookup hash of the fragment's key and the table slot hinted for it,
    /// when the caller computed them already (see `plain_hashes` and
    /// `slot_hints`).
    ///
    /// Says whether the stage's published figures may have moved: only a
    /// fragment merged into an open group, its state no larger or smaller
    /// and nothing emitted or armed, leaves them as they were.
    #[inline(always)]
    pub(super) fn accept_plain(
        &mut self,
        item: Envelope<A::Fragment>,
        hashed: Option<(u64, usize)>,
        cx: &mut Context<'_>,
    ) -> Figures {
        // User code is guarded as on the general path (`accept`).
        let guard = PanicGuard::new(&self.id, item.meta().sequence);
        let starts = self.acc.starts_group(&item);
        let closes = self.acc.closes_group(&item);
        let signal = self.acc.completes_all(&item).is_some();
        let copy = R::copy(&item);
        guard.disarm();
        // Taken apart before any branch: the envelope must never be passed
        // whole to a call that is not inlined, or it lives in memory on
        // every path (the general path gets a fresh one).
        let (payload, mut meta, cost) = item.into_parts();
        let key = match meta.key.take() {
            Some(key) if !starts && !signal && self.timers.is_empty() => key,
            key => {
                meta.key = key;
                self.accept(Envelope::from_parts(payload, meta, cost), cx);
                return Figures::MayHaveMoved;
            }
        };
        let now = cx.now();
        let probe = GroupKeyRef { key: &key, window: 0, storage: self.policy.key_storage };
        let sequence = meta.sequence;
        let (hash, hint) = hashed.unwrap_or_else(|| (self.groups.hash(&probe), NO_SLOT));
        // Taken by value: should `open_group` not be inlined, a reference
        // to `meta` would keep it in memory for every fragment.
        let origin = Origin { sequence, event_time: meta.event_time, trace: meta.trace };
        merge_fragment!(
            self, &probe, (hash, hint), (payload, meta, cost), copy, origin, now
                => group, opened, state, before, result
        );
        if let Err(cause) = result {
            let guard = PanicGuard::new(&self.id, sequence);
            self.resident_bytes = self.resident_bytes.saturating_sub(before) + self.acc.state_bytes(state) as u64;
            guard.disarm();
            self.merge_failed(key, true, 0, origin, cause, closes, cx);
            return Figures::MayHaveMoved;
        }
        // `last_at` is not kept: no timer of a plain policy starts from it.
        // Merged: the group accounts for the fragment if user code panics now.
        let guard = PanicGuard::accounted(&self.id, sequence, true);
        // Wrapping, as release builds do anyway: the count is exact on this
        // path (a plain policy never spills, and a discarded half-merged
        // group is followed by a recount), and checked arithmetic here cost
        // one percent of the path.
        let after = self.acc.state_bytes(state) as u64;
        self.resident_bytes = self.resident_bytes.wrapping_sub(before).wrapping_add(after);
        let reason = whole_or_full(&self.acc, &self.policy, state, (group.core.fragments, group.core.bytes), closes);
        // A per-group TTL from the state: the first timer of the stage
        // (with one set, fragments take the general way).
        let ttl = if reason.is_none() { self.acc.ttl_for(state) } else { None };
        let linger = if reason.is_none() { self.acc.linger_for(state) } else { None };
        guard.disarm();
        if let Some(reason) = reason {
            self.emit(&probe, reason, false, cx);
            return Figures::MayHaveMoved;
        }
        if ttl.is_some() || linger.is_some() {
            self.arm_first_timer(&probe, ttl, linger, now);
            return Figures::MayHaveMoved;
        }
        match opened || after != before {
            true => Figures::MayHaveMoved,
            false => Figures::Unmoved,
        }
    }

    /// Sets the stage's first group timer, from the group's own TTL or
    /// linger (a tie goes to the TTL, as on the general path); from then
    /// on fragments take the general way until no timer is left. Cold and
    /// out of line: it runs only while the stage has no timer, and keeps
    /// the plain path around it small.
    #[cold]
    #[inline(never)]
    fn arm_first_timer(
        &mut self,
        probe: &GroupKeyRef<'_>,
        ttl: Option<core::time::Duration>,
        linger: Option<core::time::Duration>,
        now: flux_core::Instant,
    ) {
        let Some((key, mut group)) = self.groups.get_key_value_mut(probe) else { return };
        group.info.linger_until = linger.map(|wait| now + wait);
        group.info.ttl = ttl;
        // No stage TTL or latency limit: the TTL counts from the first fragment.
        let fire = super::deadline::group_fire(&self.policy, &group.info, self.timers.phase());
        group.info.fire = fire;
        self.timers.merge(group.info.serial, None, fire, || key.clone());
    }

    /// Merges a batch under a plain policy: hashes every key and finds its
    /// table slot from the tags first, reserves room for the groups it
    /// opens, then merges the fragments in order, each group's entry
    /// prefetched a few fragments ahead.
    pub(super) fn push_plain_batch(&mut self, mut rest: flux_core::BatchRest<'_, A::Fragment>, cx: &mut Context<'_>) {
        let BatchLookups { mut hashes, mut hints } = core::mem::take(&mut self.batch);
        self.plain_hashes(rest.as_slice().iter(), &mut hashes);
        let slots = self.groups.slots();
        let known = self.slot_hints(rest.as_slice().iter(), &hashes, &mut hints);
        self.groups.reserve(rest.as_slice().len() - known);
        if self.groups.slots() != slots {
            // Grown: every group moved.
            self.slot_hints(rest.as_slice().iter(), &hashes, &mut hints);
        }
        hints.iter().take(AHEAD).for_each(|&hint| self.groups.prefetch(hint));
        for (merging, (&hash, &hint)) in hashes.iter().zip(&hints).enumerate() {
            let Some(item) = rest.next() else { break };
            self.prefetch_ahead(&hints, merging);
            // The figures are published once, after the batch.
            let _ = self.accept_plain(item, Some((hash, hint)), cx);
        }
        self.batch = BatchLookups { hashes, hints };
    }

    /// The lookup hash of each keyed fragment of `batch`, in order, into
    /// `hashes` (zero for a fragment with no key: it goes the general way,
    /// which hashes for itself). Hashing a whole batch before probing lets
    /// the fetches of many keys' bytes overlap in one short loop, where one
    /// fragment at a time waited for its key, then for its table slot; the
    /// tags each lookup reads first are prefetched as the keys are hashed
    /// (measured: the tag probes of `slot_hints` went from 14% to 8% of the
    /// stage's samples).
    pub(super) fn plain_hashes<'b>(&self, batch: impl Iterator<Item = &'b Envelope<A::Fragment>>, hashes: &mut Vec<u64>)
    where
        A::Fragment: 'b,
    {
        let storage = self.policy.key_storage;
        hashes.clear();
        hashes.extend(batch.map(|item| match &item.meta().key {
            Some(key) => {
                let hash = self.groups.hash(&GroupKeyRef { key, window: 0, storage });
                self.groups.prefetch_tags(hash);
                hash
            }
            None => 0,
        }));
    }

    /// The table slot hinted for each fragment of `batch` (see
    /// `GroupTable::slot_hint`), in order, into `hints`, and how many
    /// fragments have a group open under their key's tag. The others bound
    /// the groups the batch opens, which the caller reserves before
    /// merging, so that no merge waits for the table to grow.
    ///
    /// The hints come from the table's tags alone (sixteen to a cache line,
    /// a twentieth of the table's bytes), so this short pass reads no group:
    /// the merging loop prefetches each group's entry from its hint a few
    /// fragments ahead (`prefetch_ahead`), and finds it there when it
    /// merges, where a lookup in the merging loop, with its hundreds of
    /// instructions per fragment, waited for each miss in turn.
    pub(super) fn slot_hints<'b>(
        &self,
        batch: impl Iterator<Item = &'b Envelope<A::Fragment>>,
        hashes: &[u64],
        hints: &mut Vec<usize>,
    ) -> usize
    where
        A::Fragment: 'b,
    {
        hints.clear();
        let mut known = 0;
        hints.extend(batch.zip(hashes).map(|(item, &hash)| {
            if item.meta().key.is_none() {
                return NO_SLOT;
            }
            let hint = self.groups.slot_hint(hash);
            known += usize::from(self.groups.is_tagged(hint, hash));
            hint
        }));
        known
    }

    /// Starts fetching the group entry hinted for the fragment `AHEAD`
    /// places after the one about to merge, so that it has arrived by the
    /// time that fragment merges.
    #[inline(always)]
    pub(super) fn prefetch_ahead(&self, hints: &[usize], merging: usize) {
        if let Some(&hint) = hints.get(merging + AHEAD) {
            self.groups.prefetch(hint);
        }
    }
}

/// The lookup hashes and hinted table slots of the batch being pushed,
/// kept between batches to reuse their memory.
#[derive(Default)]
pub(super) struct BatchLookups {
    hashes: Vec<u64>,
    hints: Vec<usize>,
}

/// How many fragments ahead of its merge a group's entry is prefetched:
/// far enough for a miss to the last-level cache (some hundreds of cycles)
/// to be over, near enough for the line to be still in the first-level
/// cache.
pub(super) const AHEAD: usize = 8;

/// Whether a fragment may have moved the figures a stage publishes (its
/// open groups, the bytes they hold, its emitted counts): a fragment fed
/// alone is published only when it may have, since comparing the figures'
/// inputs after every merge into an open group cost the LZ4 job of `cargo
/// xtask bench async` 15 instructions a record (callgrind).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[must_use]
pub(super) enum Figures {
    /// Merged into an open group of the same size: nothing to publish.
    Unmoved,
    /// Opened, emitted, armed, resized or took the general way.
    MayHaveMoved,
}

/// Whether every fragment may take `accept_plain`: every component is
/// off (no timers from the policy on the engine's clock, no windows,
/// closed keys, key limit or spill), and the policy's two rules that look
/// past the fragment's own group before it merges are at their defaults.
pub(super) fn is_plain(
    policy: &Policy,
    parts: (&GroupTimers, &Windows, &EvictionOrder, &KeyClosing, &SpillTier),
) -> bool {
    let (timers, windows, eviction, closing, spill) = parts;
    timers.is_off()
        && windows.is_off()
        && eviction.is_off()
        && closing.is_off()
        && spill.is_off()
        // A fragment is weighed against its group before it merges: the general way.
        && policy.bytes_bound == crate::policy::BytesBound::AtLeast
        // The other groups are looked at when a group opens: the general way.
        && policy.on_new_key == crate::policy::OnNewKey::KeepOthers
}
