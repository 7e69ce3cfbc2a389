//! Time-driven emissions: group timers on the engine clock, and windows
//! closed by the event-time watermark.

use flux_core::{Accumulator, Context, EmitReason, Push};

use super::AccumulateNode;
use crate::release::Release;

impl<A, D, R> AccumulateNode<A, D, R>
where
    A: Accumulator,
    R: Release<A>,
    D: Push<R::Out>,
{
    /// Emits every group whose timer is due at `cx.now()`, by fire time
    /// then first arrival.
    pub(super) fn fire_due(&mut self, cx: &mut Context<'_>) {
        let now = cx.now();
        while let Some(entry) = self.timers.first_entry() {
            if entry.key().0 > now {
                break;
            }
            let key = entry.remove();
            let reason = self.groups.get(&key).and_then(|g| g.info.fire).map_or(EmitReason::TtlExpired, |f| f.1);
            let close = self.closes_key(reason);
            self.emit(&key, reason, close, cx);
        }
        if let Some(closed) = &mut self.closed {
            closed.forget(now);
            self.stats.set_forgotten_closed_keys(closed.forgotten());
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
