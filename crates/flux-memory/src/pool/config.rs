//! How a slab pool is shaped and what it does when every slab is out.

use core::time::Duration;

/// What a rental does when every slab is out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Exhaustion {
    /// Fail at once with [`PoolExhausted`](flux_core::PoolExhausted).
    ///
    /// The right policy for the sync engine: there, the only holders of
    /// slabs are stages on the same thread as the source, so nothing could
    /// return a slab while the source waited.
    Fail,
    /// Block until another thread drops its last slice of a slab, for at
    /// most `timeout` after the last wake-up, then fail.
    ///
    /// Use it when frames are consumed on other threads (the async engine,
    /// a segment behind a channel). The timeout turns a wait that cannot end
    /// (every slab held by the waiting thread itself) into a clear
    /// `PoolExhausted` error instead of a hang; it bounds a blocking call
    /// and is never used to make a decision on engine time.
    Wait {
        /// The longest a rental waits without a slab coming back.
        timeout: Duration,
    },
}

/// The shape of a [`SlabPool`](crate::SlabPool).
///
/// # Examples
///
/// ```
/// use core::time::Duration;
/// use flux_memory::{Exhaustion, PoolConfig};
///
/// let config = PoolConfig::default()
///     .slab_size(1 << 20)
///     .max_slabs(8)
///     .exhaustion(Exhaustion::Wait { timeout: Duration::from_secs(5) });
/// assert_eq!(config.slab_size, 1 << 20);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PoolConfig {
    /// Bytes per slab (default 256 KiB).
    pub slab_size: usize,
    /// Most slabs out at once (default 16).
    pub max_slabs: usize,
    /// What a rental does at the bound (default [`Exhaustion::Fail`]).
    pub exhaustion: Exhaustion,
}

impl Default for PoolConfig {
    fn default() -> Self {
        PoolConfig { slab_size: 256 * 1024, max_slabs: 16, exhaustion: Exhaustion::Fail }
    }
}

impl PoolConfig {
    /// Sets the bytes per slab.
    #[must_use]
    pub fn slab_size(mut self, bytes: usize) -> Self {
        self.slab_size = bytes;
        self
    }

    /// Sets the most slabs out at once.
    #[must_use]
    pub fn max_slabs(mut self, slabs: usize) -> Self {
        self.max_slabs = slabs;
        self
    }

    /// Sets what a rental does at the bound.
    #[must_use]
    pub fn exhaustion(mut self, exhaustion: Exhaustion) -> Self {
        self.exhaustion = exhaustion;
        self
    }
}
