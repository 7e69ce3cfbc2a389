//! The engine's clock: tokio's, counted from the start of the run.

use core::time::Duration;

use flux_core::{Clock, Instant};

/// Engine time for an async run: the time since the run started, on
/// tokio's clock. Under tokio's paused time (`start_paused`, as the tests
/// use) it moves only when every task waits, straight to the next timer,
/// so timers fire at their exact instants, as on the sync engine.
#[derive(Clone, Copy, Debug)]
pub struct RunClock {
    start: tokio::time::Instant,
}

impl RunClock {
    /// A clock whose zero is now.
    pub fn start() -> Self {
        RunClock { start: tokio::time::Instant::now() }
    }

    /// The tokio instant of engine time `at`.
    pub fn deadline(&self, at: Instant) -> tokio::time::Instant {
        self.start + Duration::from_nanos(at.as_nanos())
    }
}

impl Clock for RunClock {
    fn now(&self) -> Instant {
        let elapsed = self.start.elapsed().as_nanos();
        Instant::from_nanos(u64::try_from(elapsed).unwrap_or(u64::MAX))
    }
}
