//! A circuit placeholder: counts when a boundary stays full, and when it recovers.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use flux_core::{Admission, BackpressurePolicy, EdgeSpec, Instant, Pressure};

use crate::{Block, Limit};

/// How often a [`Circuit`] opened and closed; a handle the application
/// keeps, since the engine owns the policy.
#[derive(Clone, Debug, Default)]
pub struct CircuitCounts {
    opened: Arc<AtomicU64>,
    closed: Arc<AtomicU64>,
}

impl CircuitCounts {
    /// Times the circuit opened.
    pub fn opened(&self) -> u64 {
        self.opened.load(Ordering::Relaxed)
    }

    /// Times the circuit closed again.
    pub fn closed(&self) -> u64 {
        self.closed.load(Ordering::Relaxed)
    }
}

/// A placeholder for a circuit breaker: it blocks like
/// [`Block`](crate::Block), and counts a boundary that stays full. The
/// circuit opens when `trip_after` offers in a row find `limit` reached,
/// and closes when an offer finds it below the limit again; both are counted in
/// [`CircuitCounts`]. What an open circuit should do besides (fail fast,
/// shed, call a fallback) is left to the policy that replaces it.
///
/// # Examples
///
/// ```
/// use flux_backpressure::{Circuit, Limit};
/// use flux_core::{Admission, BackpressurePolicy, Instant, Pressure};
///
/// let mut circuit = Circuit::new(Limit::batches(2), 3);
/// let counts = circuit.counts();
/// let full = Pressure { queued_batches: 2, ..Pressure::default() };
/// for _ in 0..3 {
///     assert_eq!(circuit.admit(512, &full, Instant::ZERO), Admission::WhenRoom);
/// }
/// assert_eq!((counts.opened(), counts.closed()), (1, 0), "three full offers in a row open it");
/// circuit.admit(512, &Pressure::default(), Instant::ZERO);
/// assert_eq!((counts.opened(), counts.closed()), (1, 1), "room again closes it");
/// ```
#[derive(Debug)]
pub struct Circuit {
    limit: Limit,
    trip_after: u32,
    full_in_a_row: u32,
    open: bool,
    counts: CircuitCounts,
}

impl Circuit {
    /// Opens after `trip_after` (at least one) offers in a row find `limit` reached.
    pub fn new(limit: Limit, trip_after: u32) -> Self {
        Circuit {
            limit,
            trip_after: trip_after.max(1),
            full_in_a_row: 0,
            open: false,
            counts: CircuitCounts::default(),
        }
    }

    /// The counts, shared with this circuit.
    pub fn counts(&self) -> CircuitCounts {
        self.counts.clone()
    }

    /// Counts into `counts` (shared by every circuit made with it, such as
    /// the fresh one each run makes).
    pub fn counting_into(mut self, counts: &CircuitCounts) -> Self {
        self.counts = counts.clone();
        self
    }
}

impl BackpressurePolicy for Circuit {
    fn name(&self) -> &'static str {
        "circuit"
    }

    fn edge(&self) -> EdgeSpec {
        Block::at(self.limit).edge()
    }

    fn room(&self, pressure: &Pressure) -> Option<usize> {
        Block::at(self.limit).room(pressure)
    }

    fn admit(&mut self, batch: usize, pressure: &Pressure, now: Instant) -> Admission {
        let full = self.limit.reached(pressure);
        self.full_in_a_row = if full { self.full_in_a_row + 1 } else { 0 };
        if !self.open && self.full_in_a_row >= self.trip_after {
            self.open = true;
            self.counts.opened.fetch_add(1, Ordering::Relaxed);
        } else if self.open && !full {
            self.open = false;
            self.counts.closed.fetch_add(1, Ordering::Relaxed);
        }
        // Open or closed, it waits at its limit as `Block` does.
        Block::at(self.limit).admit(batch, pressure, now)
    }
}
