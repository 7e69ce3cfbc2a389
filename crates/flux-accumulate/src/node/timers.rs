//! Time-driven emissions: group timers on the timers' clock, and windows
//! closed by the event-time watermark.

use flux_core::{Accumulator, Context, EmitReason, Meta, Push};

use super::AccumulateNode;
use crate::release::Release;

impl<A, D, R> AccumulateNode<A, D, R>
where
    A: Accumulator,
    R: Release<A>,
    D: Push<R::Out>,
{
    /// Moves the event-time clock to a fragment's event time less the lag,
    /// if that is later, and fires the timers it passed: before the
    /// fragment merges, so that it never joins a group that has already
    /// expired.
    #[inline]
    pub(super) fn advance_event_clock(&mut self, meta: &Meta, cx: &mut Context<'_>) {
        if self.timers.advance(meta) {
            self.fire_due(cx);
        }
    }

    /// Emits every group whose timer is due on the timers' clock, by fire
    /// time then first arrival, and forgets the closed keys past their time.
    pub(super) fn fire_due(&mut self, cx: &mut Context<'_>) {
        let now = self.timers.now(cx);
        while let Some(key) = self.timers.pop_due(now) {
            let reason = self.groups.get(&key).and_then(|g| g.info.fire).map_or(EmitReason::Lifetime, |f| f.1);
            self.emit(&key, reason, self.closing.closes(reason), cx);
        }
        self.closing.forget(now);
    }

    /// A group went out for its size: a periodic TTL's ticks restart now.
    pub(super) fn restart_period(&mut self, cx: &Context<'_>) {
        let now = self.timers.now(cx);
        self.timers.restart(&self.policy, &mut self.groups, now);
    }

    /// Emits every window the watermark has reached, by due watermark then
    /// first arrival.
    pub(super) fn fire_windows(&mut self, cx: &mut Context<'_>) {
        while let Some(key) = self.windows.pop_due() {
            self.emit(&key, EmitReason::Watermark, self.closing.closes(EmitReason::Watermark), cx);
        }
    }
}
