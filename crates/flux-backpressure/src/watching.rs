//! What accumulators downstream hold, added to what a channel holds.

use flux_core::{Admission, BackpressurePolicy, EdgeSpec, Instant, Pressure};

/// A policy that also sees the open keys and bytes of accumulators
/// downstream: before each decision it adds what `watch` reports
/// (`pending_keys`, `pending_bytes`) to the engine's queue figures. Made
/// by [`PolicyExt::watching`].
pub struct Watching<P, F> {
    policy: P,
    watch: F,
}

impl<P, F: Fn() -> Pressure> Watching<P, F> {
    fn with_pending(&self, pressure: &Pressure) -> Pressure {
        let held = (self.watch)();
        Pressure {
            pending_keys: pressure.pending_keys + held.pending_keys,
            pending_bytes: pressure.pending_bytes + held.pending_bytes,
            ..*pressure
        }
    }
}

impl<P: BackpressurePolicy, F: Fn() -> Pressure + Send> BackpressurePolicy for Watching<P, F> {
    fn name(&self) -> &'static str {
        self.policy.name()
    }

    fn edge(&self) -> EdgeSpec {
        self.policy.edge()
    }

    fn admit(&mut self, batch: usize, pressure: &Pressure, now: Instant) -> Admission {
        let pressure = self.with_pending(pressure);
        self.policy.admit(batch, &pressure, now)
    }

    fn batch_size(&mut self, pressure: &Pressure, now: Instant) -> usize {
        let pressure = self.with_pending(pressure);
        self.policy.batch_size(&pressure, now)
    }

    fn room(&self, pressure: &Pressure) -> Option<usize> {
        self.policy.room(&self.with_pending(pressure))
    }

    fn waits(&self) -> bool {
        self.policy.waits()
    }
}

impl<P: core::fmt::Debug, F> core::fmt::Debug for Watching<P, F> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Watching").field("policy", &self.policy).finish_non_exhaustive()
    }
}

/// Ways to combine a policy with more of what it should see.
pub trait PolicyExt: BackpressurePolicy + Sized {
    /// Adds what `watch` reports to the pressure this policy sees: an
    /// accumulator's `AccumulatorStats::pressure`, so that a downstream
    /// holding many open groups counts as full.
    ///
    /// # Examples
    ///
    /// ```
    /// use flux_backpressure::{Block, Limit, PolicyExt};
    /// use flux_core::{Admission, BackpressurePolicy, Instant, Pressure};
    ///
    /// let open_groups = || Pressure { pending_keys: 5_000, ..Pressure::default() };
    /// let mut policy = Block::at(Limit::batches(8).pending_keys(4_000)).watching(open_groups);
    /// assert_eq!(policy.admit(512, &Pressure::default(), Instant::ZERO), Admission::WhenRoom);
    /// ```
    fn watching<F: Fn() -> Pressure + Send>(self, watch: F) -> Watching<Self, F> {
        Watching { policy: self, watch }
    }
}

impl<P: BackpressurePolicy> PolicyExt for P {}
