//! A backpressure policy that holds its sender by its answers alone.

use flux_core::{Admission, BackpressurePolicy, EdgeSpec, Instant, Pressure};

/// Asks the sender to wait for room whenever more than a set number of
/// batches is queued (none, by default), and says nothing of its room
/// (`room` is `None`): only its `WhenRoom` answers hold the sender back,
/// far below the channel's capacity of 1,000 batches of 4. What a test of
/// an engine's handling of `WhenRoom` needs.
///
/// # Examples
///
/// ```
/// use flux_core::{Admission, BackpressurePolicy, Instant, Pressure};
/// use flux_test::WaitWhenQueued;
///
/// let queued = |batches| Pressure { queued_batches: batches, ..Pressure::default() };
/// let mut policy = WaitWhenQueued::default();
/// assert_eq!(policy.admit(4, &queued(0), Instant::ZERO), Admission::Now);
/// assert_eq!(policy.admit(4, &queued(1), Instant::ZERO), Admission::WhenRoom);
/// assert_eq!((policy.room(&queued(1)), policy.edge().capacity), (None, 1_000));
///
/// let mut two_deep = WaitWhenQueued::beyond(1);
/// assert_eq!(two_deep.admit(4, &queued(1), Instant::ZERO), Admission::Now);
/// assert_eq!(two_deep.admit(4, &queued(2), Instant::ZERO), Admission::WhenRoom);
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct WaitWhenQueued {
    /// Batches that may be queued before a batch must wait.
    queued: usize,
}

impl WaitWhenQueued {
    /// Lets a batch in at once while at most `queued` batches are queued.
    pub const fn beyond(queued: usize) -> Self {
        WaitWhenQueued { queued }
    }
}

impl BackpressurePolicy for WaitWhenQueued {
    fn name(&self) -> &'static str {
        "wait-when-queued"
    }

    fn edge(&self) -> EdgeSpec {
        EdgeSpec { capacity: 1_000, batch_size: 4 }
    }

    fn admit(&mut self, _batch: usize, pressure: &Pressure, _now: Instant) -> Admission {
        match pressure.queued_batches <= self.queued {
            true => Admission::Now,
            false => Admission::WhenRoom,
        }
    }
}
