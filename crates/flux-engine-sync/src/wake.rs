//! Waking the engine's thread when a pending source has something.

use std::sync::Arc;
use std::task::{Wake, Waker};

// loom's mutex and condition variable when the crate is built with
// `--cfg loom`, so the model in `tests/loom.rs` explores every
// interleaving of a wake with the engine's wait, with the same code that
// ships.
#[cfg(loom)]
use loom::sync::{Condvar, Mutex, MutexGuard};
#[cfg(not(loom))]
use std::sync::{Condvar, Mutex, MutexGuard};

/// The waker a source gets in its context: waking it marks the source
/// ready and wakes the engine's thread, should it be waiting.
///
/// A mutex and a condition variable, not an atomic flag and `park`: the
/// flag is read, set and cleared from two threads, and under the mutex each
/// of those is one step that loom can check exhaustively (an atomic flag's
/// `swap` followed by a `load` is a pattern loom's memory model misjudges).
/// Wakes are rare (a source that waits on the outside world), so the lock
/// costs nothing that matters.
#[derive(Debug, Default)]
pub(crate) struct ThreadWake {
    woken: Mutex<bool>,
    ready: Condvar,
}

impl ThreadWake {
    /// A waker, with its handle to wait on it by.
    pub(crate) fn with_waker() -> (Arc<Self>, Waker) {
        let wake = Arc::new(ThreadWake::default());
        let waker = Waker::from(wake.clone());
        (wake, waker)
    }

    fn flag(&self) -> MutexGuard<'_, bool> {
        self.woken.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Whether it was woken since the last call.
    pub(crate) fn take(&self) -> bool {
        std::mem::take(&mut *self.flag())
    }

    /// Blocks the calling thread until it is woken (at once, if it was).
    pub(crate) fn park_until_woken(&self) {
        let mut woken = self.flag();
        while !*woken {
            woken = self.ready.wait(woken).unwrap_or_else(std::sync::PoisonError::into_inner);
        }
    }
}

impl Wake for ThreadWake {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        *self.flag() = true;
        self.ready.notify_one();
    }
}
