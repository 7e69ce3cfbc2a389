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
    /// Whether the policy gives every group a timer (a TTL or a latency
    /// limit); without, only the accumulator's `ttl_for` and `linger_for` do.
    by_policy: bool,
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
            by_policy: policy.ttl.is_some() || policy.max_latency.is_some(),
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

    /// Whether the policy sets no timer and the timers run on the engine's
    /// clock: only the accumulator's own (`ttl_for`, `linger_for`) can start one.
    pub(crate) fn is_off(&self) -> bool {
        !self.by_policy && self.on_engine_clock()
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
        groups.for_each_info_mut(|key, info| {
            let fire = group_fire(policy, info, now);
            if fire != info.fire {
                let old = core::mem::replace(&mut info.fire, fire);
                self.merge(info.serial, old, fire, || key.clone());
            }
        });
    }

    /// Every group left at once.
    pub(crate) fn clear(&mut self) {
        self.by_fire.clear();
    }

    pub(crate) fn heap_bytes(&self) -> usize {
        by_time_bytes(self.by_fire.len())
    }
}

#[cfg(test)]
mod tests {
    use core::time::Duration;

    use flux_core::{EmitReason, Instant, Meta};

    use super::GroupTimers;
    use crate::node::parts::tests::{Table, key, open};
    use crate::policy::{Policy, TimerClock, TimerStart};

    #[test]
    fn the_event_time_clock_moves_only_forward_and_less_its_lag() {
        let lag = Duration::from_secs(2);
        let policy = Policy::builder().timer_clock(TimerClock::EventTime { lag }).build().unwrap();
        let mut timers = GroupTimers::new(&policy);
        let at = |secs| Meta { event_time: Some(Instant::from_secs(secs)), ..Meta::default() };
        assert!(timers.advance(&at(10)));
        assert!(!timers.advance(&at(9)), "an earlier event leaves the clock");
        assert!(!timers.advance(&at(10)), "the same event time does not move it");
        assert!(!timers.advance(&Meta::default()), "no event time, no move");
        assert!(timers.advance(&at(11)));
        assert_eq!(
            timers.stamp(&at(4), Instant::ZERO),
            Instant::from_secs(4),
            "a fragment is stamped with its event time"
        );
        assert_eq!(timers.stamp(&Meta::default(), Instant::from_secs(1)), Instant::from_secs(1));
        assert!(!timers.on_engine_clock());
        let engine = GroupTimers::new(&Policy::default());
        assert!(engine.on_engine_clock());
        assert_eq!(
            engine.stamp(&at(4), Instant::from_secs(1)),
            Instant::from_secs(1),
            "the engine's clock ignores event time"
        );
    }

    #[test]
    fn a_size_emission_restarts_periodic_ticks_and_moves_every_open_timer() {
        let ten = Duration::from_secs(10);
        let policy = Policy::builder().ttl(ten, TimerStart::Periodic).build().unwrap();
        let mut timers = GroupTimers::new(&policy);
        let mut table = Table::default();
        for (serial, name) in ["a", "b"].into_iter().enumerate() {
            open(&mut table, name, serial as u64, 0);
            let mut group = table.get_mut(&key(name)).unwrap();
            group.info.ttl = Some(ten);
            let fire = Some((Instant::from_secs(10), EmitReason::Interval));
            group.info.fire = fire;
            timers.merge(serial as u64, None, fire, || key(name));
        }
        assert_eq!(timers.next_deadline(), Some(Instant::from_secs(10)));
        timers.restart(&policy, &mut table, Instant::from_secs(4));
        assert_eq!(timers.phase(), Instant::from_secs(4));
        assert_eq!(timers.next_deadline(), Some(Instant::from_secs(14)), "the ticks count from the restart");
        assert_eq!(table.get(&key("b")).unwrap().info.fire, Some((Instant::from_secs(14), EmitReason::Interval)));
        assert!(timers.pop_due(Instant::from_secs(13)).is_none(), "the old tick is gone");
        assert_eq!(timers.pop_due(Instant::from_secs(14)), Some(key("a")));
        assert_eq!(timers.pop_due(Instant::from_secs(14)), Some(key("b")));
        assert!(timers.is_empty());

        // Each timer is counted in the held bytes; a group leaving takes its
        // timer, and all leaving at once take them all.
        let later = Some((Instant::from_secs(30), EmitReason::Interval));
        timers.merge(0, None, later, || key("a"));
        timers.merge(1, None, later, || key("b"));
        assert_eq!(timers.heap_bytes(), crate::node::parts::by_time_bytes(2));
        let a = &mut table.get_mut(&key("a")).unwrap().info;
        a.fire = later;
        timers.emit(a);
        assert_eq!(timers.heap_bytes(), crate::node::parts::by_time_bytes(1));
        assert_eq!(timers.pop_due(Instant::from_secs(30)), Some(key("b")), "a's timer left with it");
        timers.merge(1, None, later, || key("b"));
        timers.clear();
        assert!(timers.is_empty() && timers.next_deadline().is_none() && timers.heap_bytes() == 0);

        // Any other TTL start: a size emission moves nothing.
        let fixed = Policy::builder().ttl(ten, TimerStart::FirstFragment).build().unwrap();
        let mut timers = GroupTimers::new(&fixed);
        timers.restart(&fixed, &mut table, Instant::from_secs(4));
        assert_eq!(timers.phase(), Instant::ZERO);
    }
}
