//! Time that moves only when the engine moves it.

use flux_core::{Clock, Instant};

/// The sync engine's clock: starts at zero and advances only when the
/// engine advances it (to a source's next item, or to a timer), so a
/// thirty-minute TTL passes in no real time and every run replays exactly.
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
