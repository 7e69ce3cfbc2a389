//! A backpressure policy that holds its sender by its answers alone.

use flux_core::{Admission, BackpressurePolicy, EdgeSpec, Instant, Pressure};

/// Asks the sender to wait for room whenever anything is queued, and says
/// nothing of its room (`room` is `None`): only its `WhenRoom` answers hold
/// the sender back, far below the channel's capacity of 1,000 batches of
/// 4. What a test of an engine's handling of `WhenRoom` needs.
///
/// # Examples
///
/// ```
/// use flux_core::{Admission, BackpressurePolicy, Instant, Pressure};
/// use flux_test::WaitWhenQueued;
///
/// let mut policy = WaitWhenQueued;
/// assert_eq!(policy.admit(4, &Pressure::default(), Instant::ZERO), Admission::Now);
/// let one = Pressure { queued_batches: 1, ..Pressure::default() };
/// assert_eq!(policy.admit(4, &one, Instant::ZERO), Admission::WhenRoom);
/// assert_eq!((policy.room(&one), policy.edge().capacity), (None, 1_000));
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct WaitWhenQueued;

impl BackpressurePolicy for WaitWhenQueued {
    fn name(&self) -> &'static str {
        "wait-when-queued"
    }

    fn edge(&self) -> EdgeSpec {
        EdgeSpec { capacity: 1_000, batch_size: 4 }
    }

    fn admit(&mut self, _batch: usize, pressure: &Pressure, _now: Instant) -> Admission {
        match pressure.queued_batches {
            0 => Admission::Now,
            _ => Admission::WhenRoom,
        }
    }
}
