//! Time that moves only when the engine moves it.

use flux_core::{Clock, Instant};

/// The sync engine's clock: starts at zero and advances only when the
/// engine advances it (to a source's next item, or to a timer), so a
/// thirty-minute TTL passes in no real time and every run replays exactly.
/// With [`SyncEngine::clock_follows_event_time`](crate::SyncEngine::clock_follows_event_time)
/// a source's next item is due at its event time, so the clock follows it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct VirtualClock {
    now: Instant,
}

impl VirtualClock {
    /// A clock at [`Instant::ZERO`].
    pub fn new() -> Self {
        Self::default()
    }

    /// Moves the clock forward to `to`; an earlier instant leaves it where
    /// it is, so time never goes backwards.
    pub fn advance_to(&mut self, to: Instant) {
        self.now = self.now.max(to);
    }
}

impl Clock for VirtualClock {
    fn now(&self) -> Instant {
        self.now
    }
}
