//! Time-driven emissions: group timers on the engine clock, and windows
//! closed by the event-time watermark.

use flux_core::{Accumulator, Context, EmitReason, Envelope, Instant, Push};

use super::AccumulateNode;
use crate::policy::{TimerClock, TimerStart};
use crate::release::Release;

impl<A, D, R> AccumulateNode<A, D, R>
where
    A: Accumulator,
    R: Release<A>,
    D: Push<R::Out>,
{
    /// The time group timers and closed keys are measured on: the engine's
    /// clock, or the event-time clock ([`TimerClock`]).
    #[inline]
    pub(super) fn timer_now(&self, cx: &Context<'_>) -> Instant {
        match self.policy.timer_clock {
            TimerClock::Engine => cx.now(),
            TimerClock::EventTime { .. } => self.event_clock,
        }
    }

    /// When `item` happened on the timers' clock: its event time under
    /// [`TimerClock::EventTime`] (the clock's reading `now` if it has none),
    /// `now` on the engine's clock.
    #[inline]
    pub(super) fn timer_stamp(&self, item: &Envelope<A::Fragment>, now: Instant) -> Instant {
        match self.policy.timer_clock {
            TimerClock::Engine => now,
            TimerClock::EventTime { .. } => item.meta().event_time.unwrap_or(now),
        }
    }

    /// Moves the event-time clock to `item`'s event time less the lag, if
    /// that is later, and fires the timers it passed: before the fragment
    /// merges, so that it never joins a group that has already expired.
    #[inline]
    pub(super) fn advance_event_clock(&mut self, item: &Envelope<A::Fragment>, cx: &mut Context<'_>) {
        let TimerClock::EventTime { lag } = self.policy.timer_clock else { return };
        let Some(at) = item.meta().event_time else { return };
        let now = at - lag;
        if now > self.event_clock {
            self.event_clock = now;
            self.fire_due(cx);
        }
    }

    /// Emits every group whose timer is due at [`timer_now`](Self::timer_now),
    /// by fire time then first arrival.
    pub(super) fn fire_due(&mut self, cx: &mut Context<'_>) {
        let now = self.timer_now(cx);
        while let Some(entry) = self.timers.first_entry() {
            if entry.key().0 > now {
                break;
            }
            let key = entry.remove();
            let reason = self.groups.get(&key).and_then(|g| g.info.fire).map_or(EmitReason::Lifetime, |f| f.1);
            let close = self.closes_key(reason);
            self.emit(&key, reason, close, cx);
        }
        if let Some(closed) = &mut self.closed {
            closed.forget(now);
            self.stats.set_forgotten_closed_keys(closed.forgotten());
        }
    }

    /// A group went out for its size: under a [`TimerStart::Periodic`] TTL
    /// the ticks restart from now, and every open group's timer moves to
    /// the new schedule (a pass over the open groups).
    pub(super) fn restart_period(&mut self, cx: &Context<'_>) {
        if !self.policy.ttl.is_some_and(|t| t.start == TimerStart::Periodic) {
            return;
        }
        let now = self.timer_now(cx);
        self.phase = now;
        let (policy, timers) = (&self.policy, &mut self.timers);
        for (key, group) in self.groups.entries_mut() {
            let fire = super::deadline::group_fire(policy, &group.info, now);
            if fire == group.info.fire {
                continue;
            }
            let serial = group.info.serial;
            let entry = group.info.fire.and_then(|(at, _)| timers.remove(&(at, serial)));
            if let Some((at, _)) = fire {
                timers.insert((at, serial), entry.unwrap_or_else(|| key.clone()));
            }
            group.info.fire = fire;
        }
    }

    /// Emits every window the watermark has reached, by due watermark then
    /// first arrival.
    pub(super) fn fire_windows(&mut self, cx: &mut Context<'_>) {
        let Some(mark) = self.watermark else { return };
        while let Some(entry) = self.windows.first_entry() {
            if entry.key().0 > mark {
                break;
            }
            let key = entry.remove();
            let close = self.closes_key(EmitReason::Watermark);
            self.emit(&key, EmitReason::Watermark, close, cx);
        }
    }
}
