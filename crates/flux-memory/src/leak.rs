//! Making a leaked slab fail a test loudly.

use flux_core::LeakCheck;

/// Panics with the pool's name and the number of slabs still out.
///
/// Call it after every engine run in a test; an engine watching the pool
/// (`SyncEngine::watch_pool`) does the same check and fails the run.
///
/// # Panics
///
/// When a buffer rented from `pool` has not come back.
///
/// # Examples
///
/// ```
/// use flux_core::BufferPool;
/// use flux_memory::{PoolConfig, SlabPool, assert_no_leaks};
///
/// let pool = SlabPool::new("checked", PoolConfig::default());
/// let frame = pool.rent()?.freeze();
/// drop(frame);
/// assert_no_leaks(&pool);
/// # Ok::<(), flux_core::PoolExhausted>(())
/// ```
#[track_caller]
pub fn assert_no_leaks(pool: &dyn LeakCheck) {
    if let Err(leak) = pool.check() {
        panic!("{leak}");
    }
}

/// Checks a pool for leaks when it goes out of scope.
///
/// Hold one at the top of a test: whatever path the test takes, it fails if
/// a slab is still out at its end. A test already panicking is left to
/// report its own failure.
///
/// # Examples
///
/// ```
/// use flux_memory::{LeakGuard, PoolConfig, SlabPool};
///
/// let pool = SlabPool::new("guarded", PoolConfig::default());
/// let _guard = LeakGuard::new(pool.clone());
/// // ... run pipelines that rent from `pool` ...
/// ```
#[derive(Debug)]
pub struct LeakGuard<P: LeakCheck> {
    pool: P,
}

impl<P: LeakCheck> LeakGuard<P> {
    /// Guards `pool`.
    pub fn new(pool: P) -> Self {
        LeakGuard { pool }
    }
}

impl<P: LeakCheck> Drop for LeakGuard<P> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            return;
        }
        if let Err(leak) = self.pool.check() {
            panic!("{leak}");
        }
    }
}
