//! Group timers on the timers' clock: each open group's earliest deadline
//! (latency, TTL, linger), indexed by fire time, and the clock itself.

use flux_core::{Context, EmitReason, Instant, Meta};

use super::{ByTime, by_time_bytes, move_entry};
use crate::group::{GroupInfo, GroupKey};
use crate::node::deadline::group_fire;
use crate::policy::{Policy, TimerClock, TimerStart};
use crate::table::GroupTable;

/// The open groups' timers. With no timer in the policy and none asked
/// for by the accumulator (`ttl_for`, `linger_for`), the index stays empty
/// and every call is a look at an empty map.
pub(crate) struct GroupTimers {
    /// Groups by (fire time, first-arrival serial).
    by_fire: ByTime,
    /// Where a periodic TTL's ticks count from: time zero, then the latest
    /// size emission ([`TimerStart::Periodic`]).
    phase: Instant,
    /// Whether emissions for size restart the ticks.
    periodic: bool,
    clock: TimerClock,
    /// The event-time clock, under [`TimerClock::EventTime`]: the largest
    /// event time seen minus the lag.
    event_clock: Instant,
}

impl GroupTimers {
    pub(crate) fn new(policy: &Policy) -> Self {
        GroupTimers {
            by_fire: ByTime::new(),
            phase: Instant::ZERO,
            periodic: policy.ttl.is_some_and(|t| t.start == TimerStart::Periodic),
            clock: policy.timer_clock,
            event_clock: Instant::ZERO,
        }
    }

    /// The time timers and closed keys are measured on: the engine's
    /// clock, or the event-time clock ([`TimerClock`]).
    #[inline]
    pub(crate) fn now(&self, cx: &Context<'_>) -> Instant {
        match self.clock {
            TimerClock::Engine => cx.now(),
            TimerClock::EventTime { .. } => self.event_clock,
        }
    }

    /// When a fragment with `meta` happened on the timers' clock: its
    /// event time under [`TimerClock::EventTime`] (the clock's reading
    /// `now` if it has none), `now` on the engine's clock.
    #[inline]
    pub(crate) fn stamp(&self, meta: &Meta, now: Instant) -> Instant {
        match self.clock {
            TimerClock::Engine => now,
            TimerClock::EventTime { .. } => meta.event_time.unwrap_or(now),
        }
    }

    /// Whether the timers run on the engine's clock (which the engine
    /// moves), not on the data's.
    #[inline(always)]
    pub(crate) fn on_engine_clock(&self) -> bool {
        self.clock == TimerClock::Engine
    }

    /// Moves the event-time clock to a fragment's event time less the
    /// lag, if that is later; true when it moved, so timers may be due.
    #[inline]
    pub(crate) fn advance(&mut self, meta: &Meta) -> bool {
        let TimerClock::EventTime { lag } = self.clock else { return false };
        let Some(at) = meta.event_time else { return false };
        let now = at - lag;
        let moved = now > self.event_clock;
        if moved {
            self.event_clock = now;
        }
        moved
    }

    /// Whether no group has a timer.
    #[inline(always)]
    pub(crate) fn is_empty(&self) -> bool {
        self.by_fire.is_empty()
    }

    /// Where a periodic TTL's ticks count from now.
    pub(crate) fn phase(&self) -> Instant {
        self.phase
    }

    /// A group opened or merged: its timer moved from `old` to `new`.
    pub(crate) fn merge(
        &mut self,
        serial: u64,
        old: Option<(Instant, EmitReason)>,
        new: Option<(Instant, EmitReason)>,
        key: impl FnOnce() -> GroupKey,
    ) {
        move_entry(&mut self.by_fire, serial, old.map(|f| f.0), new.map(|f| f.0), key);
    }

    /// A group left: its timer goes with it.
    pub(crate) fn emit<K>(&mut self, info: &GroupInfo<K>) {
        if let Some((at, _)) = info.fire {
            self.by_fire.remove(&(at, info.serial));
        }
    }

    /// The earliest timer.
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        self.by_fire.first_key_value().map(|(&(at, _), _)| at)
    }

    /// The next group whose timer is due at `now`, taken off the index.
    pub(crate) fn pop_due(&mut self, now: Instant) -> Option<GroupKey> {
        super::pop_due(&mut self.by_fire, now)
    }

    /// A group went out for its size: under a periodic TTL the ticks
    /// restart from `now`, and every open group's timer moves to the new
    /// schedule (a pass over the open groups).
    pub(crate) fn restart<S, K>(&mut self, policy: &Policy, groups: &mut GroupTable<S, K>, now: Instant) {
        if !self.periodic {
            return;
        }
        self.phase = now;
        for (key, group) in groups.entries_mut() {
            let fire = group_fire(policy, &group.info, now);
            if fire != group.info.fire {
                let old = core::mem::replace(&mut group.info.fire, fire);
                self.merge(group.info.serial, old, fire, || key.clone());
            }
        }
    }

    /// Every group left at once.
    pub(crate) fn clear(&mut self) {
        self.by_fire.clear();
    }

    pub(crate) fn heap_bytes(&self) -> usize {
        by_time_bytes(self.by_fire.len())
    }
}
