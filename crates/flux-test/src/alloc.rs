//! A global allocator that counts, for memory bounds shown by a test.

// The one unsafe module of the kit: a `GlobalAlloc` cannot be written
// without it. It forwards to `System` and only counts.
#![allow(unsafe_code, reason = "a global allocator is an unsafe trait; this one forwards to System and counts")]

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

/// Counts heap bytes live, their peak, and allocations made.
///
/// Install it in a test binary, then measure what a run holds:
///
/// ```
/// use flux_test::CountingAllocator;
///
/// #[global_allocator]
/// static ALLOCATOR: CountingAllocator = CountingAllocator::new();
///
/// fn main() {
///     let (sum, peak) = ALLOCATOR.peak_during(|| (0..1_000u64).collect::<Vec<_>>().iter().sum::<u64>());
///     assert_eq!(sum, 499_500);
///     assert!(peak >= 8_000, "the vector's 8,000 bytes were live for a while");
/// }
/// ```
///
/// The counters are global to the binary: hold a lock while measuring if
/// the binary's tests run on several threads.
#[derive(Debug)]
pub struct CountingAllocator {
    live: AtomicUsize,
    peak: AtomicUsize,
    allocations: AtomicU64,
}

impl CountingAllocator {
    /// An allocator with nothing counted yet.
    pub const fn new() -> Self {
        CountingAllocator { live: AtomicUsize::new(0), peak: AtomicUsize::new(0), allocations: AtomicU64::new(0) }
    }

    /// Heap bytes allocated and not yet freed.
    pub fn live(&self) -> usize {
        self.live.load(Ordering::Relaxed)
    }

    /// Allocations (and reallocations) made so far.
    pub fn allocations(&self) -> u64 {
        self.allocations.load(Ordering::Relaxed)
    }

    /// Runs `f`; returns its result and the most heap bytes live during it,
    /// above what was live when it started.
    pub fn peak_during<R>(&self, f: impl FnOnce() -> R) -> (R, usize) {
        let start = self.live();
        self.peak.store(start, Ordering::Relaxed);
        let result = f();
        (result, self.peak.load(Ordering::Relaxed).saturating_sub(start))
    }

    fn grew(&self, bytes: usize) {
        let live = self.live.fetch_add(bytes, Ordering::Relaxed) + bytes;
        self.peak.fetch_max(live, Ordering::Relaxed);
    }
}

impl Default for CountingAllocator {
    fn default() -> Self {
        Self::new()
    }
}

// SAFETY: every method forwards its arguments unchanged to `System`, so the
// allocator keeps `System`'s guarantees; counting is atomic arithmetic that
// neither allocates nor touches the memory handed out.
unsafe impl GlobalAlloc for CountingAllocator {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        self.allocations.fetch_add(1, Ordering::Relaxed);
        self.grew(layout.size());
        // SAFETY: the caller's contract for `alloc` is passed on as is.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        self.allocations.fetch_add(1, Ordering::Relaxed);
        self.grew(layout.size());
        // SAFETY: the caller's contract for `alloc_zeroed` is passed on as is.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        self.allocations.fetch_add(1, Ordering::Relaxed);
        self.live.fetch_sub(layout.size(), Ordering::Relaxed);
        self.grew(new_size);
        // SAFETY: `ptr` was allocated by this allocator, that is by `System`,
        // with `layout`; the caller's contract is passed on as is.
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        self.live.fetch_sub(layout.size(), Ordering::Relaxed);
        // SAFETY: `ptr` was allocated by this allocator, that is by `System`.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[global_allocator]
    static COUNTING: CountingAllocator = CountingAllocator::new();

    #[test]
    fn live_bytes_their_peak_and_allocations_are_counted() {
        let before = COUNTING.allocations();
        let (kept, peak) = COUNTING.peak_during(|| {
            let passing = vec![0u8; 1 << 20];
            drop(passing);
            vec![1u8; 4096]
        });
        assert!(peak >= 1 << 20, "the megabyte freed inside counts in the peak: {peak}");
        assert!(COUNTING.allocations() >= before + 2);
        let live = COUNTING.live();
        drop(kept);
        assert!(live - COUNTING.live() >= 4096, "freeing gives the bytes back");
    }
}
