//! When a segment that always has input gives its worker back to the
//! runtime.

use core::time::Duration;

use flux_core::Instant;

/// How long a segment that always has input keeps its worker before it
/// yields to the runtime, on the engine's clock. By time, not by a count of
/// steps: a step of trivial stages takes about a microsecond, and a yield
/// every 16 steps cost 10-20% of their throughput (docs/BENCHMARKS.md),
/// while a step of heavy stages can take a millisecond, which a count would
/// multiply. Half a millisecond keeps timers and other tasks on the same
/// worker waiting no longer than that.
pub(crate) const YIELD_AFTER: Duration = Duration::from_micros(500);

/// Steps a segment takes without yielding while the engine's clock stands
/// still, as it does under tokio's paused time (`start_paused`, as tests
/// use): a busy task must still let the others run. On a clock that moves
/// it matters only for steps under about 0.12 µs, a step of a few
/// envelopes.
pub(crate) const YIELD_STEPS: u32 = 4096;

/// Tells a busy segment when to yield.
///
/// It reads the engine time its task reads anyway before every step, so
/// that fairness costs no clock read of its own: two reads a step were
/// about 74 ns on the machine of docs/BENCHMARKS.md, a twentieth of a step
/// of trivial stages.
#[derive(Debug)]
pub(crate) struct YieldTimer {
    /// When the segment last took or got back its worker.
    since: Instant,
    /// Steps that made progress since then.
    steps: u32,
}

impl YieldTimer {
    /// A timer for a segment that has had its worker since `now`.
    pub(crate) fn new(now: Instant) -> Self {
        YieldTimer { since: now, steps: 0 }
    }

    /// After a step that made progress, at `now` (the time read before the
    /// next step): whether the segment has held its worker long enough,
    /// by time or, with the clock standing still, by its steps.
    pub(crate) fn due(&mut self, now: Instant) -> bool {
        self.steps += 1;
        now.saturating_since(self.since) >= YIELD_AFTER || self.steps >= YIELD_STEPS
    }

    /// The segment got its worker back at `now`.
    pub(crate) fn restart(&mut self, now: Instant) {
        *self = YieldTimer::new(now);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const START: Instant = Instant::from_secs(7);

    #[test]
    fn a_segment_yields_once_it_has_held_its_worker_for_half_a_millisecond() {
        let mut timer = YieldTimer::new(START);
        assert!(!timer.due(START + Duration::from_micros(1)));
        assert!(!timer.due(START + YIELD_AFTER - Duration::from_nanos(1)));
        assert!(timer.due(START + YIELD_AFTER));
        assert!(timer.due(START + YIELD_AFTER + Duration::from_micros(3)), "still due until restarted");
    }

    #[test]
    fn with_the_clock_standing_still_a_segment_yields_after_its_steps() {
        let mut timer = YieldTimer::new(START);
        for step in 1..YIELD_STEPS {
            assert!(!timer.due(START), "due after {step} steps");
        }
        assert!(timer.due(START));
    }

    #[test]
    fn a_restart_counts_time_and_steps_afresh() {
        let mut timer = YieldTimer::new(START);
        for _ in 1..YIELD_STEPS {
            assert!(!timer.due(START));
        }
        let back = START + YIELD_AFTER * 3;
        timer.restart(back);
        assert!(!timer.due(back), "steps counted afresh");
        assert!(!timer.due(back + YIELD_AFTER - Duration::from_nanos(1)), "time counted from the restart");
        assert!(timer.due(back + YIELD_AFTER));
    }
}
