//! Adaptive batching: batch size from depth, open groups and latency.

use core::time::Duration;

use flux_core::{Admission, BackpressurePolicy, EdgeSpec, Instant, Pressure};

use crate::{Block, Limit};

/// A bounded boundary (it blocks like [`Block`](crate::Block)) whose batch
/// size follows the load, between a floor and a ceiling:
///
/// - it doubles while the receiver falls behind (the channel at least half
///   full) or while groups stay open downstream (at least `open_groups`
///   pending keys, so records complete rarely and nothing waits on a small
///   batch): fewer, larger hand-offs;
/// - it halves when the receiver is idle (nothing queued) and batches take
///   longer than `max_wait` to fill: smaller batches, lower latency.
///
/// # Examples
///
/// ```
/// use core::time::Duration;
///
/// use flux_backpressure::{AdaptiveBatch, Limit};
/// use flux_core::{BackpressurePolicy, Instant, Pressure};
///
/// let mut adaptive = AdaptiveBatch::new(Limit::batches(8), 64, 1_024).max_wait(Duration::from_millis(5));
/// assert_eq!(adaptive.edge().batch_size, 64, "it starts at the floor");
/// let behind = Pressure { queued_batches: 4, ..Pressure::default() };
/// assert_eq!(adaptive.batch_size(&behind, Instant::ZERO), 128);
/// assert_eq!(adaptive.batch_size(&behind, Instant::ZERO), 256);
/// // Idle, and the last batch took 10 ms to fill: back down.
/// assert_eq!(adaptive.batch_size(&Pressure::default(), Instant::from_millis(10)), 128);
/// ```
#[derive(Clone, Copy, Debug)]
pub struct AdaptiveBatch {
    limit: Limit,
    floor: usize,
    ceiling: usize,
    current: usize,
    open_groups: u64,
    max_wait: Duration,
    last_send: Instant,
}

impl AdaptiveBatch {
    /// Blocks at `limit`, with batches of `floor` to `ceiling` envelopes
    /// (starting at the floor), growing at 1,024 open groups and shrinking
    /// past 10 ms per batch unless set otherwise.
    pub fn new(limit: Limit, floor: usize, ceiling: usize) -> Self {
        let floor = floor.max(1);
        AdaptiveBatch {
            limit: limit.batch_size(floor),
            floor,
            ceiling: ceiling.max(floor),
            current: floor,
            open_groups: 1_024,
            max_wait: Duration::from_millis(10),
            last_send: Instant::ZERO,
        }
    }

    /// Grows the batch while at least `keys` groups are open downstream.
    pub fn open_groups(mut self, keys: u64) -> Self {
        self.open_groups = keys;
        self
    }

    /// Shrinks the batch when one takes longer than `wait` to fill while
    /// the receiver is idle.
    pub fn max_wait(mut self, wait: Duration) -> Self {
        self.max_wait = wait;
        self
    }
}

impl BackpressurePolicy for AdaptiveBatch {
    fn name(&self) -> &'static str {
        "adaptive-batch"
    }

    // It waits at its limit exactly as `Block` does; only the batch size is its own.
    fn edge(&self) -> EdgeSpec {
        Block::at(self.limit).edge()
    }

    fn room(&self, pressure: &Pressure) -> Option<usize> {
        Block::at(self.limit).room(pressure)
    }

    fn admit(&mut self, batch: usize, pressure: &Pressure, now: Instant) -> Admission {
        Block::at(self.limit).admit(batch, pressure, now)
    }

    fn batch_size(&mut self, pressure: &Pressure, now: Instant) -> usize {
        let behind = pressure.queued_batches * 2 >= self.limit.edge().capacity;
        let slow = pressure.queued_batches == 0 && now.saturating_since(self.last_send) > self.max_wait;
        self.last_send = now;
        if behind || pressure.pending_keys >= self.open_groups {
            self.current = (self.current * 2).min(self.ceiling);
        } else if slow {
            self.current = (self.current / 2).max(self.floor);
        }
        self.current
    }
}
