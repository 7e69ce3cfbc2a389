//! Waking the engine's thread when a pending source has something.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Wake, Waker};
use std::thread::{self, Thread};

/// The waker a source gets in its context: waking it marks the source
/// ready and unparks the engine's thread, should it be parked waiting.
#[derive(Debug)]
pub(crate) struct ThreadWake {
    woken: AtomicBool,
    thread: Thread,
}

impl ThreadWake {
    /// A waker for the calling thread, with its handle to wake it by.
    pub(crate) fn current() -> (Arc<Self>, Waker) {
        let wake = Arc::new(ThreadWake { woken: AtomicBool::new(false), thread: thread::current() });
        let waker = Waker::from(wake.clone());
        (wake, waker)
    }

    /// Whether it was woken since the last call.
    pub(crate) fn take(&self) -> bool {
        self.woken.swap(false, Ordering::AcqRel)
    }

    /// Blocks the calling thread until it is woken (at once, if it was).
    pub(crate) fn park_until_woken(&self) {
        while !self.woken.load(Ordering::Acquire) {
            thread::park();
        }
    }
}

impl Wake for ThreadWake {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.woken.store(true, Ordering::Release);
        self.thread.unpark();
    }
}
