//! The contract for pooled buffers; implementations live in `flux-memory`.

use core::fmt;
use std::error::Error;

/// What a pool has done so far.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PoolStats {
    /// Buffers handed out, in total.
    pub rented: u64,
    /// Buffers that came back.
    pub returned: u64,
    /// Buffers out now (`rented - returned`).
    pub in_use: u64,
    /// Most buffers out at once.
    pub high_water: u64,
    /// Rentals served by reusing a returned buffer instead of allocating.
    pub allocations_avoided: u64,
    /// Buffers the pool allowed to be out at once.
    pub capacity: u64,
}

/// A pool had no buffer to rent and its policy said not to wait.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PoolExhausted {
    /// The pool's name.
    pub pool: String,
    /// Its capacity in buffers.
    pub capacity: u64,
}

impl fmt::Display for PoolExhausted {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "buffer pool `{}` is exhausted ({} buffers in use)", self.pool, self.capacity)
    }
}

impl Error for PoolExhausted {}

/// Buffers still out when an engine stopped.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LeakError {
    /// The pool's name.
    pub pool: String,
    /// How many buffers were not returned.
    pub outstanding: u64,
}

impl fmt::Display for LeakError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "buffer pool `{}` leaked {} buffers", self.pool, self.outstanding)
    }
}

impl Error for LeakError {}

/// A bounded pool of reusable buffers.
///
/// # Contract
///
/// - A rented buffer returns to its pool when the last reference to it is
///   dropped, from any thread.
/// - `stats().in_use` is exact once every thread using the pool is idle;
///   engines rely on it at stop to report leaks (see [`BufferPool::check_leaks`]).
pub trait BufferPool: Send + Sync {
    /// What is rented.
    type Buffer;

    /// The pool's name, used in errors.
    fn name(&self) -> &str;

    /// Rents a buffer.
    ///
    /// # Errors
    ///
    /// The pool is at capacity and its policy is to fail rather than wait.
    fn rent(&self) -> Result<Self::Buffer, PoolExhausted>;

    /// What the pool has done so far.
    fn stats(&self) -> PoolStats;

    /// Checks that every rented buffer has come back.
    ///
    /// # Errors
    ///
    /// Some buffers are still out.
    fn check_leaks(&self) -> Result<(), LeakError> {
        match self.stats().in_use {
            0 => Ok(()),
            outstanding => Err(LeakError { pool: self.name().to_owned(), outstanding }),
        }
    }
}

/// The object-safe face of a pool that an engine checks at stop.
pub trait LeakCheck: Send + Sync {
    /// Checks that every rented buffer has come back.
    ///
    /// # Errors
    ///
    /// Some buffers are still out.
    fn check(&self) -> Result<(), LeakError>;

    /// The pool's name and figures, for a run's report. The default has none.
    fn figures(&self) -> Option<(&str, PoolStats)> {
        None
    }
}

impl<P: BufferPool> LeakCheck for P {
    fn check(&self) -> Result<(), LeakError> {
        self.check_leaks()
    }

    fn figures(&self) -> Option<(&str, PoolStats)> {
        Some((self.name(), self.stats()))
    }
}
