//! Driving a future to completion on the calling thread, with no runtime:
//! poll it, and park the thread until its waker says to poll again.
//!
//! This is how a synchronous `Sink::write` drives an asynchronous writer,
//! the way the sync engine drives async stage logic in place. It is a
//! dozen lines because it needs nothing else: no timers, no I/O reactor,
//! no tasks. A writer that needs a reactor (tokio's sockets and files)
//! must have one running on another thread, as a multi-threaded tokio
//! runtime does; on a thread with no such runtime its poll fails or never
//! wakes, and that is the writer's contract, not this loop's.

use core::future::Future;
use core::pin::pin;
use core::task::{Context, Poll, Waker};
use std::sync::Arc;
use std::task::Wake;
use std::thread::{self, Thread, ThreadId};

/// Wakes a parked thread.
struct Unpark(Thread);

impl Wake for Unpark {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.0.unpark();
    }
}

/// Runs futures to completion on the calling thread, keeping its waker so
/// that steady-state flushes allocate nothing.
#[derive(Debug, Default)]
pub(super) struct InPlace {
    /// The waker of the thread that last blocked, and that thread's id: a
    /// sink may move between threads, and a waker must unpark the thread
    /// that waits.
    waker: Option<(ThreadId, Waker)>,
}

impl InPlace {
    /// Polls `future` until it is ready, parking the thread in between.
    pub(super) fn block_on<F: Future>(&mut self, future: F) -> F::Output {
        let here = thread::current();
        if self.waker.as_ref().is_some_and(|(id, _)| *id != here.id()) {
            self.waker = None;
        }
        let (_, waker) = self.waker.get_or_insert_with(|| (here.id(), Waker::from(Arc::new(Unpark(here)))));
        let mut cx = Context::from_waker(waker);
        let mut future = pin!(future);
        loop {
            match future.as_mut().poll(&mut cx) {
                Poll::Ready(output) => return output,
                // A wake that came before this park makes it return at
                // once; a spurious return just polls again.
                Poll::Pending => thread::park(),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Pending `times` times, waking itself from another thread each time
    /// (before or after the poller parks: either order must work).
    struct WokenFromAfar {
        times: usize,
        polls: usize,
    }

    impl Future for WokenFromAfar {
        type Output = usize;

        fn poll(mut self: core::pin::Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<usize> {
            self.polls += 1;
            if self.polls > self.times {
                return Poll::Ready(self.polls);
            }
            let waker = cx.waker().clone();
            thread::spawn(move || waker.wake());
            Poll::Pending
        }
    }

    #[test]
    fn a_future_woken_from_another_thread_is_polled_again_until_ready() {
        let mut in_place = InPlace::default();
        assert_eq!(in_place.block_on(WokenFromAfar { times: 3, polls: 0 }), 4);
        assert_eq!(in_place.block_on(async { 7 }), 7);
    }

    #[test]
    fn a_sink_moved_to_another_thread_gets_a_waker_for_that_thread() {
        let mut in_place = InPlace::default();
        in_place.block_on(async {});
        let first = in_place.waker.as_ref().map(|(id, _)| *id);
        let mut in_place = thread::spawn(move || {
            in_place.block_on(WokenFromAfar { times: 1, polls: 0 });
            in_place
        })
        .join()
        .unwrap();
        assert_ne!(in_place.waker.as_ref().map(|(id, _)| *id), first);
        in_place.block_on(async {});
        assert_eq!(in_place.waker.as_ref().map(|(id, _)| *id), first);
    }
}
