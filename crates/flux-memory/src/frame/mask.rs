//! The newline positions of a 64-byte block, as a bit mask, computed by the
//! best vector unit this CPU has.
//!
//! This is the framer's inner loop. Written portably, the compiler turns it
//! into a byte-at-a-time loop (1.1 GB/s on the bench machine); with SSE2
//! compares and `movemask` it runs at four times that, and AVX2 does the
//! same work in half the instructions. SSE2 is part of every x86-64 CPU and
//! is chosen when the crate is built; AVX2 is chosen at run time, so one
//! binary runs everywhere.
//!
//! Each way of computing the mask is a [`BlockMask`] token. A token is a
//! proof: [`Avx2`] can only be made by [`Kernel::detect`] on a CPU that has
//! AVX2, which is what makes calling its `#[target_feature]` code sound.

/// Bytes per block.
pub(super) const BLOCK: usize = 64;

/// One way of computing a block's newline mask.
pub(super) trait BlockMask: Copy {
    /// Bit `i` set where `block[i]` is `\n`.
    fn mask(self, block: &[u8; BLOCK]) -> u64;
}

/// The mask eight bytes at a time in a `u64`: any CPU.
#[derive(Clone, Copy, Debug)]
pub(super) struct Portable;

/// The mask with SSE2 compares: x86-64 builds with SSE2 enabled.
#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
#[derive(Clone, Copy, Debug)]
pub(super) struct Sse2(());

/// The mask with AVX2 compares: x86-64 CPUs found to have AVX2 (with POPCNT
/// and BMI1) at run time.
#[cfg(target_arch = "x86_64")]
#[derive(Clone, Copy, Debug)]
pub(super) struct Avx2(());

/// The mask kernel this CPU runs best, chosen once per framer.
#[derive(Clone, Copy, Debug)]
pub(super) enum Kernel {
    /// No vector unit the crate knows.
    #[cfg_attr(
        all(target_arch = "x86_64", target_feature = "sse2"),
        allow(dead_code, reason = "made only by tests on this target")
    )]
    Portable(Portable),
    /// SSE2, known at build time.
    #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
    Sse2(Sse2),
    /// AVX2, found at run time.
    #[cfg(target_arch = "x86_64")]
    Avx2(Avx2),
}

impl Kernel {
    /// The fastest kernel this CPU supports.
    pub(super) fn detect() -> Kernel {
        #[cfg(target_arch = "x86_64")]
        if let Some(avx2) = Avx2::detect() {
            return Kernel::Avx2(avx2);
        }
        Kernel::baseline()
    }

    /// The kernel every CPU this build runs on supports.
    pub(super) fn baseline() -> Kernel {
        #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
        return Kernel::Sse2(Sse2(()));
        #[cfg(not(all(target_arch = "x86_64", target_feature = "sse2")))]
        return Kernel::Portable(Portable);
    }
}

#[cfg(target_arch = "x86_64")]
impl Avx2 {
    /// The token, if this CPU has AVX2 (and POPCNT and BMI1, which every
    /// AVX2 CPU has, and which the walk over AVX2 masks uses too).
    pub(super) fn detect() -> Option<Avx2> {
        use std::arch::is_x86_feature_detected;
        let all =
            is_x86_feature_detected!("avx2") && is_x86_feature_detected!("popcnt") && is_x86_feature_detected!("bmi1");
        all.then_some(Avx2(()))
    }
}

/// Bit `i` set where `block[i]` is `\n`, with the kernel every CPU running
/// this build has (for the one-block-at-a-time search of `next_frame`).
#[inline]
pub(super) fn newline_mask(block: &[u8; BLOCK]) -> u64 {
    Kernel::baseline().mask(block)
}

impl Kernel {
    /// This kernel's mask of one block (a branch per block: for single
    /// blocks and tests; loops dispatch once, outside).
    #[inline]
    pub(super) fn mask(self, block: &[u8; BLOCK]) -> u64 {
        match self {
            Kernel::Portable(kernel) => kernel.mask(block),
            #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
            Kernel::Sse2(kernel) => kernel.mask(block),
            #[cfg(target_arch = "x86_64")]
            Kernel::Avx2(kernel) => kernel.mask(block),
        }
    }
}

/// Every kernel this CPU can run, the portable one included.
#[cfg(test)]
pub(super) fn every_kernel() -> Vec<Kernel> {
    let mut kernels = vec![Kernel::Portable(Portable), Kernel::baseline()];
    #[cfg(target_arch = "x86_64")]
    kernels.extend(Avx2::detect().map(Kernel::Avx2));
    kernels
}

impl BlockMask for Portable {
    #[inline]
    fn mask(self, block: &[u8; BLOCK]) -> u64 {
        const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
        const NEWLINES: u64 = 0x0a0a_0a0a_0a0a_0a0a;
        let (words, _) = block.as_chunks::<8>();
        let mut mask = 0u64;
        for (i, word) in words.iter().enumerate() {
            // A byte of `x` is zero exactly where the input byte is a
            // newline; the top bit of each byte of `zero` is set exactly
            // for those bytes.
            let x = u64::from_le_bytes(*word) ^ NEWLINES;
            let zero = !(((x & LOW7).wrapping_add(LOW7)) | x) & !LOW7;
            // Gathers the eight top bits into one byte.
            let byte = (zero >> 7).wrapping_mul(0x0102_0408_1020_4080) >> 56;
            mask |= byte << (i * 8);
        }
        mask
    }
}

#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
impl BlockMask for Sse2 {
    #[inline]
    fn mask(self, block: &[u8; BLOCK]) -> u64 {
        // `sse2_mask` requires SSE2 and reads `block` through safe code
        // only. `Sse2` exists only when the build enables SSE2 (its `cfg`),
        // and SSE2 is part of the x86-64 baseline.
        #[allow(unsafe_code, reason = "calls a #[target_feature] function; see SAFETY")]
        // SAFETY: this build, and so this CPU, has SSE2.
        unsafe {
            sse2_mask(block)
        }
    }
}

#[cfg(target_arch = "x86_64")]
impl BlockMask for Avx2 {
    #[inline]
    fn mask(self, block: &[u8; BLOCK]) -> u64 {
        // `avx2_mask` requires AVX2 and nothing else; its one other
        // `unsafe` is a load from `block`. An `Avx2` value is made only by
        // `Avx2::detect` (its field is private to this module).
        #[allow(unsafe_code, reason = "calls a #[target_feature] function; see SAFETY")]
        // SAFETY: `self` is an `Avx2` token: detection found AVX2.
        unsafe {
            avx2_mask(block)
        }
    }
}

#[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
#[target_feature(enable = "sse2")]
#[inline]
fn sse2_mask(block: &[u8; BLOCK]) -> u64 {
    use core::arch::x86_64::{_mm_cmpeq_epi8, _mm_movemask_epi8, _mm_set_epi64x, _mm_set1_epi8};

    let newline = _mm_set1_epi8(b'\n' as i8);
    let (words, _) = block.as_chunks::<8>();
    let mut mask = 0u64;
    for (lane, pair) in words.chunks_exact(2).enumerate() {
        let low = i64::from_le_bytes(pair[0]);
        let high = i64::from_le_bytes(pair[1]);
        let equal = _mm_cmpeq_epi8(_mm_set_epi64x(high, low), newline);
        // movemask sets the low 16 bits only: one per byte of the lane.
        let bits = u64::from(_mm_movemask_epi8(equal) as u16);
        mask |= bits << (lane * 16);
    }
    mask
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
#[inline]
fn avx2_mask(block: &[u8; BLOCK]) -> u64 {
    use core::arch::x86_64::{__m256i, _mm256_cmpeq_epi8, _mm256_loadu_si256, _mm256_movemask_epi8, _mm256_set1_epi8};

    let newline = _mm256_set1_epi8(b'\n' as i8);
    let (lanes, _) = block.as_chunks::<32>();
    let mut mask = 0u64;
    for (i, lane) in lanes.iter().enumerate() {
        // Built from four `i64`s (as `sse2_mask` does), the lane took
        // seven shuffles instead of one load; that was measurable.
        #[allow(unsafe_code, reason = "an unaligned vector load; see SAFETY")]
        // SAFETY: `lane` is a reference to 32 initialised bytes, so the
        // pointer is valid for a 32-byte read, and `loadu` allows any
        // alignment.
        let lane_bytes = unsafe { _mm256_loadu_si256(lane.as_ptr().cast::<__m256i>()) };
        let equal = _mm256_cmpeq_epi8(lane_bytes, newline);
        // movemask sets all 32 bits: one per byte of the lane.
        let bits = u64::from(_mm256_movemask_epi8(equal) as u32);
        mask |= bits << (i * 32);
    }
    mask
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(block: &[u8; BLOCK]) -> u64 {
        block.iter().enumerate().fold(0, |m, (i, &b)| m | (u64::from(b == b'\n') << i))
    }

    #[test]
    fn every_kernel_matches_a_byte_by_byte_scan() {
        let kernels = every_kernel();
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        let mut block = [0u8; BLOCK];
        for round in 0..20_000 {
            for byte in &mut block {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                // Mostly newlines and their neighbours 0x09, 0x0b, 0x8a.
                *byte = [b'\n', 0x09, 0x0b, 0x8a, b'a', 0xff, 0x00, b'\r'][(state % 8) as usize];
            }
            if round == 0 {
                block = [b'\n'; BLOCK];
            }
            let expected = naive(&block);
            assert_eq!(newline_mask(&block), expected, "{block:?}");
            for &kernel in &kernels {
                assert_eq!(kernel.mask(&block), expected, "{kernel:?} on {block:?}");
            }
        }
    }

    #[test]
    fn the_detected_kernel_is_avx2_exactly_when_the_cpu_has_it() {
        let detected = Kernel::detect();
        #[cfg(target_arch = "x86_64")]
        assert_eq!(
            matches!(detected, Kernel::Avx2(_)),
            std::arch::is_x86_feature_detected!("avx2")
                && std::arch::is_x86_feature_detected!("popcnt")
                && std::arch::is_x86_feature_detected!("bmi1"),
            "{detected:?}"
        );
        #[cfg(not(target_arch = "x86_64"))]
        assert!(matches!(detected, Kernel::Portable(_)));
    }
}
