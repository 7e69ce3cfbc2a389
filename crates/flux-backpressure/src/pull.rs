//! Reactive pull: the source reads only what downstream asked for.

use flux_core::{Admission, BackpressurePolicy, EdgeSpec, Instant, Pressure};

/// Demand-driven flow, as in reactive streams: the receiver asks for
/// `demand` batches, and the sender may have no more than that queued. A
/// batch past the demand waits, and the segment before the boundary (the
/// source's, when the boundary follows it) is not stepped meanwhile, so
/// it reads nothing while downstream is full. With a demand of one, the
/// source reads its next batch only once the last one was taken.
///
/// # Examples
///
/// ```
/// use flux_backpressure::ReactivePull;
/// use flux_core::{Admission, BackpressurePolicy, Instant, Pressure};
///
/// let mut pull = ReactivePull::demand(1);
/// assert_eq!(pull.edge().capacity, 1);
/// assert_eq!(pull.admit(512, &Pressure::default(), Instant::ZERO), Admission::Now);
/// let asked = Pressure { queued_batches: 1, ..Pressure::default() };
/// assert_eq!(pull.admit(512, &asked, Instant::ZERO), Admission::WhenRoom);
/// ```
#[derive(Clone, Copy, Debug)]
pub struct ReactivePull {
    demand: usize,
    batch_size: usize,
}

impl ReactivePull {
    /// `batches` (at least one) requested at a time, of the default size.
    pub fn demand(batches: usize) -> Self {
        ReactivePull { demand: batches.max(1), batch_size: EdgeSpec::default().batch_size }
    }

    /// Batches of `size` envelopes (at least one).
    pub fn batch_size(mut self, size: usize) -> Self {
        self.batch_size = size.max(1);
        self
    }
}

impl BackpressurePolicy for ReactivePull {
    fn name(&self) -> &'static str {
        "reactive-pull"
    }

    fn edge(&self) -> EdgeSpec {
        EdgeSpec { capacity: self.demand, batch_size: self.batch_size }
    }

    fn room(&self, pressure: &Pressure) -> Option<usize> {
        Some(self.demand.saturating_sub(pressure.queued_batches).saturating_mul(self.batch_size))
    }

    fn admit(&mut self, _batch: usize, pressure: &Pressure, _now: Instant) -> Admission {
        match pressure.queued_batches >= self.demand {
            true => Admission::WhenRoom,
            false => Admission::Now,
        }
    }
}
