//! A bounded pool of large byte slabs, handed out as zero-copy `Bytes`.

mod config;
mod shared;
mod slab;

pub use config::{Exhaustion, PoolConfig};
pub use slab::Slab;

use flux_core::{BufferPool, PoolExhausted, PoolStats};

use crate::sync::Arc;
use shared::Shared;

/// A bounded pool of byte slabs that sources fill from I/O.
///
/// A source rents a [`Slab`], reads into it, and [freezes](Slab::freeze) it
/// into one [`Bytes`](bytes::Bytes); frames are slices of that `Bytes`, so
/// handing a frame downstream copies nothing. The slab's memory goes back
/// to the pool when the last slice of it is dropped, on whatever thread
/// that happens, and the next rental reuses it instead of allocating.
///
/// The pool is bounded: at most [`PoolConfig::max_slabs`] slabs are out at
/// once. What a rental does at the bound is the [`Exhaustion`] policy.
/// Cloning a pool gives another handle to the same slabs.
///
/// # Examples
///
/// ```
/// use flux_core::BufferPool;
/// use flux_memory::{PoolConfig, SlabPool};
///
/// let pool = SlabPool::new("input", PoolConfig::default().slab_size(1024).max_slabs(2));
/// let mut slab = pool.rent()?;
/// slab.extend_from_slice(b"hello\nworld\n");
/// let bytes = slab.freeze();
/// let world = bytes.slice(6..11); // a frame: no copy
/// drop(bytes);
/// assert_eq!(pool.stats().in_use, 1); // `world` still holds the slab
/// drop(world);
/// assert_eq!(pool.stats().in_use, 0);
///
/// let _again = pool.rent()?; // reuses the slab
/// assert_eq!(pool.stats().allocations_avoided, 1);
/// # Ok::<(), flux_core::PoolExhausted>(())
/// ```
#[derive(Clone)]
pub struct SlabPool {
    shared: Arc<Shared>,
}

impl SlabPool {
    /// A pool named `name` (the name appears in exhaustion and leak errors).
    ///
    /// # Panics
    ///
    /// If `config` asks for slabs of zero bytes or a bound of zero slabs.
    pub fn new(name: impl Into<String>, config: PoolConfig) -> Self {
        assert!(config.slab_size > 0, "a slab pool needs slabs of at least one byte");
        assert!(config.max_slabs > 0, "a slab pool needs room for at least one slab");
        SlabPool { shared: Arc::new(Shared::new(name.into(), config)) }
    }

    /// Rents a slab without waiting, whatever the policy.
    ///
    /// # Errors
    ///
    /// Every slab is out, or a fresh slab could not be allocated (a slab
    /// size larger than memory).
    pub fn try_rent(&self) -> Result<Slab, PoolExhausted> {
        Shared::rent(&self.shared, Exhaustion::Fail)
    }

    /// The size of each slab in bytes.
    pub fn slab_size(&self) -> usize {
        self.shared.config.slab_size
    }

    /// The configuration the pool was made with.
    pub fn config(&self) -> PoolConfig {
        self.shared.config
    }

    /// How many rentals had to wait for a slab to come back.
    pub fn waits(&self) -> u64 {
        self.shared.waits()
    }
}

impl BufferPool for SlabPool {
    type Buffer = Slab;

    fn name(&self) -> &str {
        &self.shared.name
    }

    /// Rents a slab, waiting or failing at the bound as the policy says.
    fn rent(&self) -> Result<Slab, PoolExhausted> {
        Shared::rent(&self.shared, self.shared.config.exhaustion)
    }

    fn stats(&self) -> PoolStats {
        self.shared.stats()
    }
}

impl core::fmt::Debug for SlabPool {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SlabPool")
            .field("name", &self.shared.name)
            .field("config", &self.shared.config)
            .field("stats", &self.shared.stats())
            .finish()
    }
}
