//! The contract for pooled buffers; implementations live in `flux-memory`.

use core::fmt;
use std::error::Error;

/// What a pool has done so far.
///
/// [`BufferPool::stats`] returns it; an engine puts it in the run's report
/// (through [`LeakCheck::figures`]), and `in_use` is what the leak check
/// at stop reads.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
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
///
/// [`BufferPool::rent`] returns it. A source that reads into pooled
/// buffers turns it into a [`SourceError`](crate::SourceError) at the
/// byte it could not read (as `flux-memory`'s framed source does), which
/// stops the run with this error in its chain of causes.
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
///
/// [`BufferPool::check_leaks`] and [`LeakCheck::check`] return it; an
/// engine that watches the pool fails the run with it.
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
/// - The pool is bounded: at most `stats().capacity` buffers are out at
///   once, so memory stays bounded however fast the source reads.
///
/// Every `BufferPool` is also a [`LeakCheck`], so an engine can watch it
/// (`SyncEngine::watch_pool` in `flux-engine-sync`). `flux-memory`'s
/// `SlabPool` is the pool Flux's framed sources read into.
///
/// # Examples
///
/// A pool of one-kilobyte buffers that come back when dropped:
///
/// ```
/// use std::sync::atomic::{AtomicU64, Ordering};
/// use std::sync::Arc;
///
/// use flux_core::{BufferPool, PoolExhausted, PoolStats};
///
/// #[derive(Default)]
/// struct Counters {
///     rented: AtomicU64,
///     returned: AtomicU64,
/// }
///
/// struct KiloPool {
///     counters: Arc<Counters>,
///     capacity: u64,
/// }
///
/// /// A rented buffer: counted back in when dropped.
/// struct Kilo(Vec<u8>, Arc<Counters>);
///
/// impl Drop for Kilo {
///     fn drop(&mut self) {
///         self.1.returned.fetch_add(1, Ordering::Relaxed);
///     }
/// }
///
/// impl BufferPool for KiloPool {
///     type Buffer = Kilo;
///     fn name(&self) -> &str {
///         "kilo"
///     }
///     fn rent(&self) -> Result<Kilo, PoolExhausted> {
///         if self.stats().in_use == self.capacity {
///             return Err(PoolExhausted { pool: self.name().to_owned(), capacity: self.capacity });
///         }
///         self.counters.rented.fetch_add(1, Ordering::Relaxed);
///         Ok(Kilo(vec![0; 1024], self.counters.clone()))
///     }
///     fn stats(&self) -> PoolStats {
///         let rented = self.counters.rented.load(Ordering::Relaxed);
///         let returned = self.counters.returned.load(Ordering::Relaxed);
///         PoolStats { rented, returned, in_use: rented - returned, capacity: self.capacity, ..PoolStats::default() }
///     }
/// }
///
/// let pool = KiloPool { counters: Arc::default(), capacity: 1 };
/// let buffer = pool.rent()?;
/// assert_eq!(buffer.0.len(), 1024);
/// let full = pool.rent().err().expect("the only buffer is out");
/// assert_eq!(full.to_string(), "buffer pool `kilo` is exhausted (1 buffers in use)");
/// assert_eq!(pool.check_leaks().unwrap_err().outstanding, 1, "still out");
/// drop(buffer);
/// assert!(pool.check_leaks().is_ok());
/// # Ok::<(), PoolExhausted>(())
/// ```
pub trait BufferPool: Send + Sync {
    /// What is rented: a buffer that goes back to the pool when the last
    /// reference to it is dropped.
    type Buffer;

    /// The pool's name, used in errors and in a run's report.
    fn name(&self) -> &str;

    /// Rents a buffer.
    ///
    /// A pool may wait for a buffer to come back when all are out, if its
    /// policy says so and another thread can return one.
    ///
    /// # Errors
    ///
    /// The pool is at capacity and its policy is to fail rather than wait.
    fn rent(&self) -> Result<Self::Buffer, PoolExhausted>;

    /// What the pool has done so far.
    fn stats(&self) -> PoolStats;

    /// Checks that every rented buffer has come back.
    ///
    /// The default reads `stats().in_use`, so call it when every thread
    /// using the pool is idle (an engine calls it after the run has
    /// stopped).
    ///
    /// # Errors
    ///
    /// Some buffers are still out: the error names the pool and how many.
    fn check_leaks(&self) -> Result<(), LeakError> {
        match self.stats().in_use {
            0 => Ok(()),
            outstanding => Err(LeakError { pool: self.name().to_owned(), outstanding }),
        }
    }
}

/// The object-safe face of a pool that an engine checks at stop.
///
/// An engine keeps its watched pools as `Arc<dyn LeakCheck>` (a
/// [`BufferPool`] has an associated type, so it cannot be a trait object
/// itself) and calls [`check`](LeakCheck::check) on each after the run;
/// the first error fails the run. Every `BufferPool` is one; implement it
/// directly for a handle that only sees a pool's counters.
///
/// # Examples
///
/// A handle on the count of a pool's buffers that are out, kept by a test
/// while the pool itself moved into the pipeline with its source:
///
/// ```
/// use std::sync::atomic::{AtomicU64, Ordering};
/// use std::sync::Arc;
///
/// use flux_core::{LeakCheck, LeakError};
///
/// struct FramesOut(Arc<AtomicU64>);
///
/// impl LeakCheck for FramesOut {
///     fn check(&self) -> Result<(), LeakError> {
///         match self.0.load(Ordering::Relaxed) {
///             0 => Ok(()),
///             outstanding => Err(LeakError { pool: "frames".to_owned(), outstanding }),
///         }
///     }
/// }
///
/// let out = Arc::new(AtomicU64::new(0));
/// let watched: Vec<Arc<dyn LeakCheck>> = vec![Arc::new(FramesOut(out.clone()))];
/// out.fetch_add(2, Ordering::Relaxed); // two frames still held when the run stops
/// let leak = watched.iter().find_map(|pool| pool.check().err()).expect("a leak");
/// assert_eq!(leak.to_string(), "buffer pool `frames` leaked 2 buffers");
/// assert!(watched[0].figures().is_none(), "no figures for the report unless it gives them");
/// ```
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
