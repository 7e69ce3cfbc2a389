//! A [`BufferPool`]: a few reusable `Vec<u8>` buffers that come back on drop.

use core::fmt;
use core::ops::{Deref, DerefMut};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use flux_core::{BufferPool, PoolExhausted, PoolStats};

/// A bounded pool of byte buffers.
///
/// At most `capacity` buffers are out at once; renting one more fails with
/// [`PoolExhausted`] rather than waiting (a stage decides what to do, for
/// example dead-letter the input). A [`PooledBuf`] goes back to the pool
/// when it is dropped, on any thread, cleared but with its allocation kept,
/// so the next rental reuses it. Clones are handles on the same pool: hand
/// one to the stage that rents, and one to the engine to check for leaks
/// at stop (`SyncEngine::watch_pool`).
///
/// # Examples
///
/// ```
/// use flux_core::BufferPool;
/// use flux_user_extension::VecPool;
///
/// let pool = VecPool::new("scratch", 1, 64);
/// let mut buf = pool.rent().unwrap();
/// buf.extend_from_slice(b"hello");
/// assert!(pool.rent().is_err(), "one buffer, and it is out");
/// assert!(pool.check_leaks().is_err());
///
/// drop(buf);
/// assert!(pool.rent().unwrap().is_empty(), "it came back cleared");
/// assert_eq!(pool.stats().allocations_avoided, 1);
/// assert!(pool.check_leaks().is_ok());
/// ```
#[derive(Clone)]
pub struct VecPool {
    shared: Arc<Shared>,
}

struct Shared {
    name: String,
    buffer_bytes: usize,
    state: Mutex<State>,
}

struct State {
    free: Vec<Vec<u8>>,
    stats: PoolStats,
}

/// A buffer rented from a [`VecPool`]; it returns there when dropped.
pub struct PooledBuf {
    bytes: Vec<u8>,
    home: Arc<Shared>,
}

impl VecPool {
    /// A pool named `name` of at most `capacity` buffers, each allocated
    /// with room for `buffer_bytes`.
    pub fn new(name: impl Into<String>, capacity: u64, buffer_bytes: usize) -> Self {
        let stats = PoolStats { capacity, ..PoolStats::default() };
        let state = Mutex::new(State { free: Vec::new(), stats });
        VecPool { shared: Arc::new(Shared { name: name.into(), buffer_bytes, state }) }
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // Each critical section updates counters and pushes or pops one
        // buffer; a panic cannot leave the state half-changed.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl BufferPool for VecPool {
    type Buffer = PooledBuf;

    fn name(&self) -> &str {
        &self.shared.name
    }

    fn rent(&self) -> Result<PooledBuf, PoolExhausted> {
        let mut state = self.shared.lock();
        let stats = &mut state.stats;
        if stats.in_use >= stats.capacity {
            return Err(PoolExhausted { pool: self.shared.name.clone(), capacity: stats.capacity });
        }
        stats.rented += 1;
        stats.in_use += 1;
        stats.high_water = stats.high_water.max(stats.in_use);
        let bytes = match state.free.pop() {
            Some(reused) => {
                state.stats.allocations_avoided += 1;
                reused
            }
            None => Vec::with_capacity(self.shared.buffer_bytes),
        };
        Ok(PooledBuf { bytes, home: Arc::clone(&self.shared) })
    }

    fn stats(&self) -> PoolStats {
        self.shared.lock().stats
    }
}

impl Drop for PooledBuf {
    fn drop(&mut self) {
        let mut bytes = std::mem::take(&mut self.bytes);
        bytes.clear();
        let mut state = self.home.lock();
        state.stats.returned += 1;
        state.stats.in_use -= 1;
        state.free.push(bytes);
    }
}

impl Deref for PooledBuf {
    type Target = Vec<u8>;

    fn deref(&self) -> &Vec<u8> {
        &self.bytes
    }
}

impl DerefMut for PooledBuf {
    fn deref_mut(&mut self) -> &mut Vec<u8> {
        &mut self.bytes
    }
}

impl fmt::Debug for VecPool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VecPool").field("name", &self.shared.name).field("stats", &self.stats()).finish()
    }
}

impl fmt::Debug for PooledBuf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("PooledBuf").field(&self.bytes).finish()
    }
}
