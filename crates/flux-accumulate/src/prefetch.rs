//! A hint that a cache line will be read soon, so that the merges of a
//! batch find their group's table slot in the cache instead of each waiting
//! for it in turn (see `GroupTable::prefetch`).

/// Asks the processor to start loading the cache line holding `place`.
/// Nothing is read: the hint changes no value and cannot fail.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
pub(crate) fn prefetch<T>(place: *const T) {
    use core::arch::x86_64::{_MM_HINT_T0, _mm_prefetch};
    // On Rust 1.95 the call still needs `unsafe`: the intrinsic carries
    // `#[target_feature(enable = "sse")]`, which only an `unsafe` call may
    // skip listing. SSE is part of every x86_64 target's baseline.
    #[allow(unsafe_code, reason = "the prefetch intrinsic only; see the SAFETY comment")]
    // SAFETY: a prefetch never faults and writes nothing, whatever the address (an invalid one is ignored).
    unsafe {
        _mm_prefetch::<_MM_HINT_T0>(place.cast());
    }
}

/// Other architectures: no hint, the lookups wait for their misses.
#[cfg(not(target_arch = "x86_64"))]
#[inline(always)]
pub(crate) fn prefetch<T>(_place: *const T) {}

/// The cache line size of the processors Flux is measured on.
const LINE: usize = 64;

/// Asks the processor to start loading every cache line of the `T` at
/// `place`: each line's worth from its start, and its last byte. A value
/// that does not start a line spans one line more than its size fills (an
/// 88-byte group entry starts at one of eight offsets in a line and spans
/// three lines from two of them), so fetching the first and last byte
/// alone left the middle line of a quarter of the entries to a demand miss
/// at the merge: a tenth of an accumulate run's time (measured).
#[inline(always)]
pub(crate) fn prefetch_whole<T>(place: *const T) {
    let start = place.cast::<u8>();
    let mut offset = 0;
    while offset < size_of::<T>() {
        prefetch(start.wrapping_add(offset));
        offset += LINE;
    }
    prefetch(start.wrapping_add(size_of::<T>().saturating_sub(1)));
}

#[cfg(test)]
mod tests {
    use super::{prefetch, prefetch_whole};

    /// A prefetch reads nothing and writes nothing, whatever the address:
    /// a live value, one past the end of a buffer, null and a dangling
    /// address all leave memory as it was (run under valgrind's memcheck,
    /// it reports no invalid read either).
    #[test]
    fn a_prefetch_changes_nothing_and_never_faults_whatever_the_address() {
        let values = vec![7_u64, 8, 9];
        prefetch(values.as_ptr());
        prefetch(values.as_ptr().wrapping_add(values.len()));
        prefetch(core::ptr::null::<u64>());
        let dangling = {
            let gone = vec![1_u64; 1024];
            gone.as_ptr()
        };
        prefetch(dangling);
        prefetch(usize::MAX as *const u8);
        prefetch_whole(values.as_ptr().cast::<[u64; 3]>());
        prefetch_whole(usize::MAX as *const [u8; 200]);
        prefetch_whole(core::ptr::null::<()>());
        assert_eq!(values, [7, 8, 9]);
    }
}
