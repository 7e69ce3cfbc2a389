//! A [`BackpressurePolicy`]: a fixed channel shape, and no sending into a full queue.

use flux_core::{Admission, BackpressurePolicy, EdgeSpec, Instant, Pressure};

/// Boundaries of `capacity` batches of `batch_size` envelopes; a batch is
/// admitted while fewer than `capacity` batches wait, and otherwise waits
/// for room.
///
/// Engines take a boundary's shape from the plan, so the shape reaches them
/// through a planner pass: [`ApplyPolicy`](crate::ApplyPolicy) writes
/// [`BackpressurePolicy::edge`] onto every boundary. The admission rule
/// reaches them as a [`ChoosePolicy`](flux_core::ChoosePolicy) given to
/// the engine (`with_backpressure`), which asks it before every batch.
///
/// # Examples
///
/// ```
/// use flux_core::{Admission, BackpressurePolicy, EdgeSpec, Instant, Pressure};
/// use flux_user_extension::CappedQueue;
///
/// let mut policy = CappedQueue::new(2, 64);
/// assert_eq!(policy.edge(), EdgeSpec { capacity: 2, batch_size: 64 });
///
/// let queued = |batches| Pressure { queued_batches: batches, ..Pressure::default() };
/// assert_eq!(policy.admit(64, &queued(1), Instant::ZERO), Admission::Now);
/// assert_eq!(policy.admit(64, &queued(2), Instant::ZERO), Admission::WhenRoom);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CappedQueue {
    edge: EdgeSpec,
}

impl CappedQueue {
    /// A policy of `capacity` batches of `batch_size` envelopes (each at least one).
    pub fn new(capacity: usize, batch_size: usize) -> Self {
        CappedQueue { edge: EdgeSpec { capacity: capacity.max(1), batch_size: batch_size.max(1) } }
    }
}

impl BackpressurePolicy for CappedQueue {
    fn name(&self) -> &'static str {
        "capped-queue"
    }

    fn edge(&self) -> EdgeSpec {
        self.edge
    }

    fn admit(&mut self, _batch: usize, pressure: &Pressure, _now: Instant) -> Admission {
        if pressure.queued_batches < self.edge.capacity { Admission::Now } else { Admission::WhenRoom }
    }
}
