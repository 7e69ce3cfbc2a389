//! The state every handle to a pool and every rented slab shares.
//!
//! Rentals and returns happen once per slab (tens of thousands of frames),
//! so one mutex around the free list and the counters costs nothing
//! measurable and keeps every count exact; the loom models check it.

use std::sync::PoisonError;

use flux_core::{PoolExhausted, PoolStats};

use super::{Exhaustion, PoolConfig, Slab};
use crate::sync::{Arc, Condvar, Mutex, MutexGuard};

pub(crate) struct Shared {
    pub(crate) name: String,
    pub(crate) config: PoolConfig,
    state: Mutex<State>,
    returned: Condvar,
}

#[derive(Default)]
struct State {
    /// Slabs that came back, ready to be rented again.
    free: Vec<Vec<u8>>,
    stats: PoolStats,
    waits: u64,
}

impl Shared {
    pub(crate) fn new(name: String, config: PoolConfig) -> Self {
        let stats = PoolStats { capacity: config.max_slabs as u64, ..PoolStats::default() };
        // The free list grows as slabs come back: a bound of `usize::MAX`
        // slabs must not reserve room for them up front.
        let state = State { free: Vec::new(), stats, waits: 0 };
        Shared { name, config, state: Mutex::new(state), returned: Condvar::new() }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // Every update under this lock is a handful of integer writes and a
        // Vec push or pop that cannot be left half done: a panic elsewhere
        // while holding it leaves the state consistent.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn rent(this: &Arc<Shared>, exhaustion: Exhaustion) -> Result<Slab, PoolExhausted> {
        let mut state = this.lock();
        while state.stats.in_use >= state.stats.capacity {
            let Exhaustion::Wait { timeout } = exhaustion else {
                return Err(this.exhausted());
            };
            state.waits += 1;
            let (next, waited) = this.returned.wait_timeout(state, timeout).unwrap_or_else(PoisonError::into_inner);
            state = next;
            if waited.timed_out() && state.stats.in_use >= state.stats.capacity {
                return Err(this.exhausted());
            }
        }
        let reused = state.free.pop();
        // The slot is held while a fresh slab is allocated outside the lock.
        state.stats.in_use += 1;
        drop(state);
        // A fresh slab is zeroed once here (so reads can fill it without
        // unsafe code) and never again: reused slabs keep their old bytes,
        // which are overwritten before they are part of any frame.
        let avoided = reused.is_some();
        let buf = reused.or_else(|| fresh_slab(this.config.slab_size));
        let mut state = this.lock();
        let Some(buf) = buf else {
            state.stats.in_use -= 1;
            drop(state);
            this.returned.notify_one();
            return Err(this.exhausted());
        };
        let stats = &mut state.stats;
        stats.rented += 1;
        stats.allocations_avoided += u64::from(avoided);
        stats.high_water = stats.high_water.max(stats.in_use);
        drop(state);
        Ok(Slab::new(buf, Arc::clone(this)))
    }

    /// Takes a slab's memory back; called from whichever thread dropped the
    /// last reference to it.
    pub(crate) fn give_back(&self, buf: Vec<u8>) {
        let mut state = self.lock();
        state.stats.returned += 1;
        state.stats.in_use -= 1;
        if buf.len() == self.config.slab_size {
            state.free.push(buf);
        }
        drop(state);
        self.returned.notify_one();
    }

    pub(crate) fn stats(&self) -> PoolStats {
        self.lock().stats
    }

    pub(crate) fn waits(&self) -> u64 {
        self.lock().waits
    }

    /// The error for a rental that found no slab (or could not allocate one).
    fn exhausted(&self) -> PoolExhausted {
        PoolExhausted { pool: self.name.clone(), capacity: self.config.max_slabs as u64 }
    }
}

/// A zeroed slab of `size` bytes, or `None` when the allocator cannot give
/// one (a size no machine has is an error to report, not a panic).
fn fresh_slab(size: usize) -> Option<Vec<u8>> {
    let mut buf = Vec::new();
    buf.try_reserve_exact(size).ok()?;
    buf.resize(size, 0);
    Some(buf)
}
