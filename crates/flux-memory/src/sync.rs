//! The synchronisation types the pool uses: std's, or loom's when the crate
//! is built with `--cfg loom`, so the loom models in `tests/loom.rs` explore
//! every interleaving of the pool's locking with the same code that ships.

#[cfg(loom)]
pub(crate) use loom::sync::{Arc, Condvar, Mutex, MutexGuard};
#[cfg(not(loom))]
pub(crate) use std::sync::{Arc, Condvar, Mutex, MutexGuard};
