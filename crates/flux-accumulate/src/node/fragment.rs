//! One fragment's way in: event time, key, closed keys, merge, verdict.

use bytes::Bytes;
use flux_core::{
    Accumulator, CompleteAll, Context, EmitReason, Envelope, ErrorEnvelope, Instant, Meta, PanicGuard, Position, Push,
    SideEnvelope, SideReason, StageError,
};

use super::merge::merge_fragment;
use super::parts::Admitted;
use super::{AccumulateNode, Cause};
use crate::FragmentError;
use crate::group::{Group, GroupCore, GroupInfo, GroupKey, GroupKeyRef, Origin, Slot};
use crate::policy::{BytesBound, NoKey, OnMergeError, OnNewKey, Policy};
use crate::release::Release;
use crate::table::NO_SLOT;

/// What the merge decided about the group.
enum Verdict {
    Open { fire: Option<(Instant, EmitReason)> },
    Emit(EmitReason),
}

impl<A, D, R> AccumulateNode<A, D, R>
where
    A: Accumulator,
    R: Release<A>,
    D: Push<R::Out>,
{
    /// Takes one fragment the general way; a control signal
    /// ([`Accumulator::completes_all`]) completes every open group, merged
    /// first or not as it says.
    #[inline(never)]
    pub(super) fn accept(&mut self, item: Envelope<A::Fragment>, cx: &mut Context<'_>) {
        let guard = PanicGuard::new(&self.id, item.meta().sequence);
        let signal = self.acc.completes_all(&item);
        guard.disarm();
        match signal {
            None => self.accept_fragment(item, cx),
            Some(CompleteAll::Exclusive) => {
                // A control fragment, not data: counted, never merged.
                self.ledger.dropped += 1;
                self.stats.count_signal();
                self.complete_others(EmitReason::Forced, cx);
            }
            Some(CompleteAll::Inclusive) => {
                // The others go whatever became of the signal's own merge.
                self.accept_fragment(item, cx);
                self.complete_others(EmitReason::Forced, cx);
            }
        }
    }

    fn accept_fragment(&mut self, item: Envelope<A::Fragment>, cx: &mut Context<'_>) {
        self.advance_event_clock(item.meta(), cx);
        let now = self.timers.now(cx);
        // When the fragment happened, on the timers' clock: its own event
        // time under the event-time clock, so a group's deadline is in the
        // data's time and the clock's lag is room for stragglers.
        let stamp = self.timers.stamp(item.meta(), now);
        let window = match self.windows.admit(item.meta().event_time) {
            Admitted::Window { index, advanced } => {
                if advanced {
                    self.fire_windows(cx);
                }
                index
            }
            Admitted::MissingEventTime => {
                return self.divert_error(item.into_parts().1, FragmentError::MissingEventTime, cx);
            }
            Admitted::Late => return self.divert_side(item.into_parts().1, SideReason::Late, cx),
        };
        // Each call into user code is guarded (see `PanicGuard`): a panic
        // is settled at this stage, and the node, left whole, can still
        // flush its groups when the run stops.
        let guard = PanicGuard::new(&self.id, item.meta().sequence);
        let starts = self.acc.starts_group(&item);
        let closes = self.acc.closes_group(&item);
        let copy = R::copy(&item);
        guard.disarm();
        let (payload, mut meta, cost) = item.into_parts();
        // The key is moved out of the fragment (no reference count per
        // fragment): `merge` sees the fragment without it.
        let (key, keyed) = match meta.key.take() {
            Some(key) => (key, true),
            None => match &self.policy.no_key {
                NoKey::Group(key) => (key.clone(), false),
                NoKey::DeadLetter => return self.divert_error(meta, FragmentError::MissingKey, cx),
                NoKey::Drop => return self.drop_keyless(),
            },
        };
        if starts || !self.timers.is_empty() || self.spill.holds_any() {
            self.prepare_group(&key, window, starts, now, cx);
        }
        if self.policy.bytes_bound == BytesBound::AtMost {
            self.make_room(&key, window, cost.bytes, meta.sequence, cx);
        }
        let probe = GroupKeyRef { key: &key, window, storage: self.policy.key_storage };
        if self.closing.turns_away(&probe, now) {
            meta.key = keyed.then_some(key);
            return self.divert_side(meta, SideReason::ClosedKey, cx);
        }
        if self.policy.on_new_key == OnNewKey::CompleteOthers && self.is_new_key(&probe) {
            self.complete_others(EmitReason::NewKey, cx);
        }
        let origin = Origin::of(&meta);
        let hash = self.groups.hash(&probe);
        merge_fragment!(
            self, &probe, (hash, NO_SLOT), (payload, meta, cost), copy, origin, stamp
                => group, opened, state, before, merged
        );
        if merged.is_ok() {
            // A fragment out of order does not pull an inactivity timer back.
            group.info.last_at = group.info.last_at.max(stamp);
        }
        // Once merged, the fragment is accounted for by its group: a panic
        // from here stops the run without a dead letter.
        let guard = PanicGuard::accounted(&self.id, origin.sequence, merged.is_ok());
        self.resident_bytes = self.resident_bytes.saturating_sub(before) + self.acc.state_bytes(state) as u64;
        if merged.is_ok() && group.info.linger_until.is_none() {
            group.info.linger_until = self.acc.linger_for(state).map(|wait| stamp + wait);
        }
        let verdict = match merged {
            Ok(()) => judge(&self.acc, &self.policy, (group.core, &mut group.info), closes, self.timers.phase()),
            Err(cause) => {
                guard.disarm();
                return self.merge_failed(key, keyed, window, origin, cause, closes, cx);
            }
        };
        guard.disarm();
        let fire = match verdict {
            Verdict::Open { fire } => fire,
            Verdict::Emit(reason) => {
                let close = self.closing.closes(reason);
                self.emit(&probe, reason, close, cx);
                if matches!(reason, EmitReason::Count | EmitReason::Weight) {
                    self.restart_period(cx);
                }
                return;
            }
        };
        let serial = group.info.serial;
        let old_fire = core::mem::replace(&mut group.info.fire, fire);
        let recency = self.eviction.uses_recency() || self.spill.uses_recency();
        if recency {
            self.touch += 1;
            group.info.touched = self.touch;
        }
        if fire != old_fire {
            self.reschedule(&probe, serial, old_fire, fire);
        }
        if recency {
            self.touched(&probe);
        }
        if opened {
            self.after_open(group_key_of(&self.groups, &probe), cx);
        }
        if self.spill.is_over(self.resident_bytes) {
            // `encode_state` and the tier's cipher are user code; the
            // fragment is merged, so a panic there only stops the run. The
            // error names this fragment, the one that set the spill off,
            // though the group being spilled is likely another.
            let id = self.id.clone();
            let guard = PanicGuard::accounted(&id, origin.sequence, true);
            self.spill_cold();
            guard.disarm();
        }
    }

    /// Moves a group's timer entry from `old` to `new`.
    #[inline(never)]
    pub(super) fn reschedule(
        &mut self,
        probe: &GroupKeyRef<'_>,
        serial: u64,
        old: Option<(Instant, EmitReason)>,
        new: Option<(Instant, EmitReason)>,
    ) {
        self.timers.merge(serial, old, new, || group_key_of(&self.groups, probe));
    }

    /// Records the latest use of a group with the components that order
    /// groups by use. Each drops its stale entries once these outnumber the
    /// live ones: an order grows by one entry per fragment, so it is
    /// compacted here, whether or not anything is spilled or evicted (it
    /// once grew to ten times the state it was meant to bound).
    #[inline(never)]
    fn touched(&mut self, probe: &GroupKeyRef<'_>) {
        let key = group_key_of(&self.groups, probe);
        self.spill.merge(&key, self.touch, &self.groups);
        self.eviction.merge(&key, self.touch, &self.groups);
    }

    /// A merge failed: the fragment is a dead letter (or, under
    /// [`OnMergeError::DiscardGroupAndFragment`], discarded), then the
    /// policy decides. A fragment that ends its group (`closes_group`) still ends
    /// it: the group is emitted as complete without it, or the next
    /// record would run on into this one's group.
    #[cold]
    #[inline(never)]
    #[allow(clippy::too_many_arguments, reason = "the fragment's parts, taken apart on the way in")]
    pub(super) fn merge_failed(
        &mut self,
        key: Bytes,
        keyed: bool,
        window: u64,
        origin: Origin,
        cause: Cause,
        closes: bool,
        cx: &mut Context<'_>,
    ) {
        if self.policy.on_merge_error == OnMergeError::DiscardGroupAndFragment {
            // Not a dead letter: accounted for as merged, then discarded
            // with its group (`after_merge_error` drops the group).
            self.ledger.merged += 1;
            self.ledger.discarded += 1;
        } else {
            let dead = dead_fragment(&key, keyed, origin);
            let error =
                StageError::new(self.id.clone(), Position::Sequence(origin.sequence), FragmentError::Merge(cause));
            cx.dead_letter(ErrorEnvelope { meta: dead, error });
        }
        let probe = GroupKeyRef { key: &key, window, storage: self.policy.key_storage };
        self.after_merge_error(&probe, origin.sequence, cx);
        if closes {
            let close = self.closing.closes(EmitReason::EndCondition);
            self.emit(&probe, EmitReason::EndCondition, close, cx);
        }
    }

    /// Before a fragment joins: a group whose timer is due expires first (so
    /// a fragment at the deadline opens the next group), a group that a
    /// start condition ends is emitted, and a spilled group is restored.
    #[inline(never)]
    fn prepare_group(&mut self, key: &Bytes, window: u64, starts: bool, now: Instant, cx: &mut Context<'_>) {
        let probe = GroupKeyRef { key, window, storage: self.policy.key_storage };
        let Some(group) = self.groups.get(&probe) else { return };
        let due = group.info.fire.filter(|&(at, _)| at <= now).map(|(_, reason)| reason);
        if let Some(reason) = due {
            let close = self.closing.closes(reason);
            self.emit(&probe, reason, close, cx);
        } else if starts {
            // The group ends because its successor starts: the key stays open for it.
            self.emit(&probe, EmitReason::StartCondition, false, cx);
        } else if group.core.is_spilled() {
            self.restore(&probe, cx);
        }
    }

    /// Under an "at most" byte limit, before a fragment of `bytes` joins:
    /// if it would take its group past the limit (the group's own from
    /// `max_bytes_for`, or the policy's), the group is emitted for its
    /// size first, and the fragment will open the next one. A group whose
    /// fragments weigh nothing takes any fragment (as Pekko's does).
    #[inline(never)]
    fn make_room(&mut self, key: &Bytes, window: u64, bytes: u32, sequence: u64, cx: &mut Context<'_>) {
        let probe = GroupKeyRef { key, window, storage: self.policy.key_storage };
        let Some(group) = self.groups.get(&probe) else { return };
        let Slot::Resident(state) = &group.core.state else { return };
        if group.core.bytes == 0 {
            return;
        }
        // User code, before the fragment is merged: a panic makes it a dead letter.
        let guard = PanicGuard::new(&self.id, sequence);
        let limit = self.acc.max_bytes_for(state).or(self.policy.max_bytes);
        guard.disarm();
        if limit.is_some_and(|max| group.core.bytes.saturating_add(u64::from(bytes)) > max) {
            let close = self.closing.closes(EmitReason::Weight);
            self.emit(&probe, EmitReason::Weight, close, cx);
            self.restart_period(cx);
        }
    }

    /// Whether no open group has `probe`'s key (in any window): groups
    /// are open, none for this key and window, and some for another key.
    fn is_new_key(&self, probe: &GroupKeyRef<'_>) -> bool {
        self.groups.len() > 0
            && self.groups.get(probe).is_none()
            && self.groups.keys().all(|open| !crate::key::same_key(open.key.as_slice(), probe.key))
    }

    fn after_merge_error(&mut self, key: &GroupKeyRef<'_>, sequence: u64, cx: &mut Context<'_>) {
        let Some(group) = self.groups.get(key) else { return };
        if group.core.fragments == 0 {
            // The fragment would have opened this group: it holds nothing.
            self.discard(key, cx);
        }
        match self.policy.on_merge_error {
            OnMergeError::SkipFragment => {}
            OnMergeError::DiscardGroup | OnMergeError::DiscardGroupAndFragment => self.discard(key, cx),
            OnMergeError::StopRun => {
                cx.fail(StageError::new(
                    self.id.clone(),
                    Position::Sequence(sequence),
                    FragmentError::StoppedOnMergeError,
                ));
            }
        }
    }

    #[cold]
    #[inline(never)]
    pub(super) fn divert_error(&mut self, meta: Meta, cause: FragmentError, cx: &mut Context<'_>) {
        let error = StageError::new(self.id.clone(), Position::Sequence(meta.sequence), cause);
        cx.dead_letter(ErrorEnvelope { meta, error });
    }

    /// A key-less fragment dropped by policy ([`NoKey::Drop`]): counted,
    /// so the ledger still balances and the drop shows in the stats.
    #[cold]
    #[inline(never)]
    fn drop_keyless(&mut self) {
        self.ledger.dropped += 1;
        self.stats.count_dropped_no_key();
    }

    #[cold]
    #[inline(never)]
    fn divert_side(&mut self, meta: Meta, reason: SideReason, cx: &mut Context<'_>) {
        cx.side_output(SideEnvelope { stage: self.id.clone(), meta, reason });
    }
}

/// The metadata a failed fragment's dead letter keeps.
fn dead_fragment(key: &Bytes, keyed: bool, origin: Origin) -> Meta {
    Meta {
        sequence: origin.sequence,
        key: keyed.then(|| key.clone()),
        event_time: origin.event_time,
        trace: origin.trace,
        headers: Default::default(),
    }
}

/// Decides, right after a merge, whether the group is emitted or when its
/// timer fires (keeping the TTL it read, for `restart_period`).
#[inline]
fn judge<A: Accumulator, K>(
    acc: &A,
    policy: &Policy,
    (core, info): (&GroupCore<A::State>, &mut GroupInfo<K>),
    closes: bool,
    phase: Instant,
) -> Verdict {
    let Slot::Resident(state) = &core.state else { return Verdict::Open { fire: info.fire } };
    if let Some(reason) = whole_or_full(acc, policy, state, (core.fragments, core.bytes), closes) {
        return Verdict::Emit(reason);
    }
    info.ttl = acc.ttl_for(state).or(policy.ttl.map(|t| t.after));
    Verdict::Open { fire: super::deadline::group_fire(policy, info, phase) }
}

/// Whether the merged group is whole (its completeness, or an end
/// condition on the fragment) or full (its item or weight limit), and
/// which rule says so: the checks both paths make after every merge.
#[inline(always)]
pub(super) fn whole_or_full<A: Accumulator>(
    acc: &A,
    policy: &Policy,
    state: &A::State,
    (fragments, bytes): (u64, u64),
    closes: bool,
) -> Option<EmitReason> {
    if closes {
        return Some(EmitReason::EndCondition);
    }
    if acc.completeness(state).score() >= policy.complete_at {
        return Some(EmitReason::Complete);
    }
    let max_items = acc.max_items_for(state).or(policy.max_items);
    if max_items.is_some_and(|max| fragments >= max) {
        return Some(EmitReason::Count);
    }
    let max_bytes = acc.max_bytes_for(state).or(policy.max_bytes);
    max_bytes.is_some_and(|max| bytes >= max).then_some(EmitReason::Weight)
}

/// The table's own key for the group `probe` finds (a copy of the stored
/// key, so that indexes never hold the fragment's slice), or the probe's
/// key stored by policy when the group is not open.
fn group_key_of<S, K>(groups: &Groups<S, K>, probe: &GroupKeyRef<'_>) -> GroupKey {
    match groups.get_key_value(probe) {
        Some((key, _)) => key.clone(),
        None => GroupKey::from(probe),
    }
}

type Groups<S, K> = crate::table::GroupTable<S, K>;

/// What opening a group changes: the serials handed out, the resident
/// state bytes, the heap bytes of stored keys.
pub(super) struct Opening<'a> {
    pub(super) serials: &'a mut u64,
    pub(super) resident: &'a mut u64,
    pub(super) key_heap: &'a mut u64,
}

/// Names the group a fragment is joining, should user code panic on the
/// way in (`state_bytes`, `merge`): the state may be half-written, so the
/// stage discards the group (its earlier fragments counted) before it
/// does anything else. A group opened by the fragment goes too, holding
/// nothing, so a later fragment of the key opens its own. Like a
/// [`PanicGuard`], it acts only while unwinding.
pub(super) struct MergeMark<'a, 'k> {
    pub(super) slot: &'a mut Option<(Bytes, u64)>,
    pub(super) group: &'a GroupKeyRef<'k>,
}

impl MergeMark<'_, '_> {
    /// The merge returned.
    #[inline(always)]
    pub(super) fn disarm(self) {
        core::mem::forget(self);
    }
}

impl Drop for MergeMark<'_, '_> {
    /// Reached only while unwinding: a disarmed mark is forgotten.
    #[cold]
    fn drop(&mut self) {
        *self.slot = Some((self.group.key.clone(), self.group.window));
    }
}

/// A new group for `probe`'s key: the accumulator's fresh state (its size
/// added to the resident bytes), the next arrival serial, and the table's
/// own key (its heap bytes counted).
// Inlined: out of line it cost the plain path 3% of its instructions.
#[inline]
pub(super) fn open_group<A: Accumulator, K: Default>(
    acc: &mut A,
    opening: Opening<'_>,
    probe: &GroupKeyRef<'_>,
    now: Instant,
    origin: Origin,
) -> (GroupKey, Group<A::State, K>) {
    let serial = *opening.serials;
    *opening.serials += 1;
    let state = acc.open(probe.key);
    *opening.resident += acc.state_bytes(&state) as u64;
    let key = GroupKey::from(probe);
    *opening.key_heap += key.key.heap_bytes(probe.storage);
    (key, Group::new(state, serial, now, origin))
}
