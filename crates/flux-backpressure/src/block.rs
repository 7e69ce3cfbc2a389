//! Block: a full boundary holds the sender until the receiver makes room.

use flux_core::{Admission, BackpressurePolicy, EdgeSpec, Instant, Pressure};

use crate::Limit;

/// A bounded boundary: while it is full, the segment before it is
/// suspended (on the tokio engine its task waits; on the sync engine it is
/// not stepped) until the receiver takes a batch. Nothing is dropped.
///
/// # Examples
///
/// ```
/// use flux_backpressure::{Block, Limit};
/// use flux_core::{Admission, BackpressurePolicy, Instant, Pressure};
///
/// let mut block = Block::at(Limit::batches(2));
/// let one = Pressure { queued_batches: 1, ..Pressure::default() };
/// let two = Pressure { queued_batches: 2, ..Pressure::default() };
/// assert_eq!(block.admit(512, &one, Instant::ZERO), Admission::Now);
/// assert_eq!(block.admit(512, &two, Instant::ZERO), Admission::WhenRoom);
/// ```
#[derive(Clone, Copy, Debug)]
pub struct Block {
    limit: Limit,
}

impl Block {
    /// Blocks the sender while `limit` is reached.
    pub fn at(limit: Limit) -> Self {
        Block { limit }
    }
}

impl BackpressurePolicy for Block {
    fn name(&self) -> &'static str {
        "block"
    }

    fn edge(&self) -> EdgeSpec {
        self.limit.edge()
    }

    fn room(&self, pressure: &Pressure) -> Option<usize> {
        Some(self.limit.room(pressure))
    }

    fn admit(&mut self, _batch: usize, pressure: &Pressure, _now: Instant) -> Admission {
        match self.limit.reached(pressure) {
            true => Admission::WhenRoom,
            false => Admission::Now,
        }
    }
}
