//! Composing a flow allocates nothing: `map` and `and_then` over the
//! environment's timeout and retry are plain structs, polled in place.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::future::{Future, ready};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use flux_stream::flow::{Backoff, Env, Verdict};
use futures_util::{FutureExt, TryFutureExt};

/// Counts every allocation, by thread: the test harness's own threads
/// allocate while a test runs (a process-wide count saw 4 of theirs once
/// in CI), and only this test's thread is measured.
struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

/// Allocations made so far on this thread.
fn allocations() -> u64 {
    ALLOCATIONS.with(Cell::get)
}

// SAFETY: every call goes straight to the system allocator; only a count
// is added.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // A thread being torn down has no counter left: not counted.
        let _ = ALLOCATIONS.try_with(|count| count.set(count.get() + 1));
        // SAFETY: the caller's layout, passed on unchanged.
        unsafe { System.alloc(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `alloc` above, with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

#[test]
fn composing_and_running_a_flow_allocates_nothing() {
    let env = Env::seeded(3);
    let mut cx = Context::from_waker(Waker::noop());
    let before = allocations();
    let mut total = 0u64;
    for n in 0..10_000u64 {
        let flow = env
            .timeout(Duration::from_secs(1), ready(Ok::<u64, &str>(n)))
            .map(|timed| timed.unwrap_or(Err("timed out")))
            .and_then(|n| ready(Ok(n * 2)))
            .map_ok(|n| n + 1)
            .then(|r| {
                env.retry(Backoff::exponential(Duration::from_secs(1), 3), |_| Verdict::Transient, move || ready(r))
            });
        let mut flow = std::pin::pin!(flow);
        match flow.as_mut().poll(&mut cx) {
            Poll::Ready(Ok(value)) => total += value,
            other => panic!("a ready flow is ready at once: {other:?}"),
        }
    }
    let allocations = allocations() - before;
    assert_eq!(total, (0..10_000u64).map(|n| n * 2 + 1).sum::<u64>());
    assert_eq!(allocations, 0, "10,000 flows of map, and_then, timeout and retry");
}
