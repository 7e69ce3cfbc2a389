//! The fast path of newline framing: a run of blocks flattened into an array
//! of line ends, then one loop over the lines.
//!
//! Stepping through each block's mask bit by bit costs a branch per line and
//! one more to leave each block, and both follow the line lengths, so the
//! CPU mispredicts about once per block. Here each mask is flattened with no
//! branch that depends on the data for up to [`WRITE_AHEAD`] lines per block
//! (a block of log lines holds zero, one or two) into the offsets of the
//! newlines in a run of [`RUN_BLOCKS`] blocks; the loop over those lines
//! then leaves once per run instead of once per block.

use core::ops::Range;

use super::mask::{BLOCK, BlockMask, Kernel};

/// Blocks flattened before their lines are handed out (1 KiB; 8 and 32
/// measured the same on the bench).
const RUN_BLOCKS: usize = 16;

/// Newline offsets written per block whatever its count; more take a
/// branch. Lines of 32 bytes or more, newline included, put at most two
/// newlines in a block;
/// on the bench's log lines (40 to 200 bytes) two measured faster than
/// three or four (0.76 of the memchr count against 0.72 and 0.69), since
/// each slot is a link in a `blsr` chain. Files of shorter lines take the
/// branch in most blocks, which the CPU then predicts.
const WRITE_AHEAD: usize = 2;

/// Room for every byte of a run being a newline, plus the write-ahead.
const SLOTS: usize = RUN_BLOCKS * BLOCK + WRITE_AHEAD;

/// What a run of lines may hold: the most bytes a frame may have and the
/// most frames to hand out.
#[derive(Clone, Copy, Debug)]
pub(super) struct Bounds {
    /// A line longer than this stops the walk at its start.
    pub(super) max_frame: usize,
    /// The walk stops at the start of the line after this many.
    pub(super) limit: usize,
}

/// Hands every line of the whole 64-byte blocks of `window[start..]` to
/// `each`, as a range without its `\n` or `\r\n`, and returns where it
/// stopped: at the start of the first line past `bounds`, or of the line
/// that runs past the last whole block.
#[inline]
pub(super) fn walk_lines(
    kernel: Kernel,
    window: &[u8],
    start: usize,
    bounds: Bounds,
    each: &mut impl FnMut(Range<usize>),
) -> usize {
    match kernel {
        Kernel::Portable(masks) => walk(masks, window, start, bounds, each),
        #[cfg(all(target_arch = "x86_64", target_feature = "sse2"))]
        Kernel::Sse2(masks) => walk(masks, window, start, bounds, each),
        #[cfg(target_arch = "x86_64")]
        Kernel::Avx2(masks) => {
            // `walk_avx2` requires AVX2, POPCNT and BMI1, and is safe code
            // otherwise; an `Avx2` token is made only by `Avx2::detect`.
            #[allow(unsafe_code, reason = "calls a #[target_feature] function; see SAFETY")]
            // SAFETY: `masks` is an `Avx2` token: this CPU has all three.
            unsafe {
                walk_avx2(masks, window, start, bounds, each)
            }
        }
    }
}

/// [`walk`] compiled for AVX2, so that the AVX2 mask is inlined into it,
/// with `popcnt` and `tzcnt` for [`flatten`].
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,popcnt,bmi1")]
fn walk_avx2(
    masks: super::mask::Avx2,
    window: &[u8],
    start: usize,
    bounds: Bounds,
    each: &mut impl FnMut(Range<usize>),
) -> usize {
    walk(masks, window, start, bounds, each)
}

#[inline(always)]
fn walk<M: BlockMask>(
    masks: M,
    window: &[u8],
    mut start: usize,
    bounds: Bounds,
    each: &mut impl FnMut(Range<usize>),
) -> usize {
    let mut ends = [0u32; SLOTS];
    let mut handed = 0usize;
    let mut run_base = start;
    loop {
        let mut found = 0usize;
        let mut block_at = run_base;
        for _ in 0..RUN_BLOCKS {
            let Some(block) = window.get(block_at..).and_then(<[u8]>::first_chunk::<BLOCK>) else { break };
            // At most `(RUN_BLOCKS - 1) * BLOCK` offsets so far, so the
            // write-ahead and the block's own offsets fit in `SLOTS`.
            flatten(masks.mask(block), (block_at - run_base) as u32, &mut ends, &mut found);
            block_at += BLOCK;
        }
        if block_at == run_base {
            return start;
        }
        for &offset in &ends[..found] {
            let newline = run_base + offset as usize;
            let end = newline - usize::from(newline > start && window[newline - 1] == b'\r');
            if end - start > bounds.max_frame || handed == bounds.limit {
                return start;
            }
            each(start..end);
            handed += 1;
            start = newline + 1;
        }
        run_base = block_at;
    }
}

/// Appends the offsets of `mask`'s set bits, plus `base`, to
/// `ends[*found..]` and moves `found` past them.
#[inline(always)]
fn flatten(mut mask: u64, base: u32, ends: &mut [u32; SLOTS], found: &mut usize) {
    // A count, not a loop, moves `found`: its chain from block to block is
    // one add (one `popcnt` with AVX2's companions enabled).
    let count = mask.count_ones() as usize;
    let at = *found;
    for slot in &mut ends[at..at + WRITE_AHEAD] {
        // Past the last set bit this writes `base + 64`; `count` leaves
        // those slots out.
        *slot = base + mask.trailing_zeros();
        mask &= mask.wrapping_sub(1);
    }
    if count > WRITE_AHEAD {
        for slot in &mut ends[at + WRITE_AHEAD..at + count] {
            *slot = base + mask.trailing_zeros();
            mask &= mask - 1;
        }
    }
    *found = at + count;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::frame::mask::every_kernel;

    /// The lines of `window[start..]` that end in a whole block, found byte
    /// by byte, and where the walk stops.
    fn reference(window: &[u8], from: usize, bounds: Bounds) -> (Vec<Range<usize>>, usize) {
        let whole = from + (window.len() - from) / BLOCK * BLOCK;
        let mut lines = Vec::new();
        let mut start = from;
        for newline in from..whole {
            if window[newline] != b'\n' {
                continue;
            }
            let end = if newline > start && window[newline - 1] == b'\r' { newline - 1 } else { newline };
            if end - start > bounds.max_frame || lines.len() == bounds.limit {
                break;
            }
            lines.push(start..end);
            start = newline + 1;
        }
        (lines, start)
    }

    fn random_window(state: &mut u64, len: usize) -> Vec<u8> {
        let mut next = || {
            *state ^= *state << 13;
            *state ^= *state >> 7;
            *state ^= *state << 17;
            *state
        };
        let mut window = Vec::with_capacity(len);
        while window.len() < len {
            // Empty lines, short lines, CRLF, and lines longer than a run.
            let line = match next() % 8 {
                0 => 0,
                1..=4 => (next() % 40) as usize,
                5 | 6 => (next() % 200) as usize,
                _ => (next() % 3000) as usize,
            };
            window.extend((0..line).map(|i| b'a' + (i % 26) as u8));
            if next() % 3 == 0 {
                window.push(b'\r');
            }
            window.push(b'\n');
        }
        window.truncate(len);
        window
    }

    #[test]
    fn every_kernel_walks_the_same_lines_as_a_byte_by_byte_scan() {
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        for round in 0..400 {
            let window = random_window(&mut state, 64 + (round * 37) % 5000);
            let start = (round * 13) % 70;
            let bounds = Bounds {
                max_frame: if round % 3 == 0 { 100 } else { usize::MAX },
                limit: if round % 4 == 0 { round % 17 } else { usize::MAX },
            };
            let expected = reference(&window, start, bounds);
            for kernel in every_kernel() {
                let mut lines = Vec::new();
                let stop = walk_lines(kernel, &window, start, bounds, &mut |range| lines.push(range));
                assert_eq!((lines, stop), expected, "{kernel:?}, round {round}");
            }
        }
    }

    #[test]
    fn a_run_of_nothing_but_newlines_fills_every_slot() {
        let window = vec![b'\n'; RUN_BLOCKS * BLOCK * 2 + 5];
        for kernel in every_kernel() {
            let mut lines = 0;
            let bounds = Bounds { max_frame: 0, limit: usize::MAX };
            let stop = walk_lines(kernel, &window, 0, bounds, &mut |range| {
                assert!(range.is_empty());
                lines += 1;
            });
            assert_eq!((lines, stop), (RUN_BLOCKS * BLOCK * 2, RUN_BLOCKS * BLOCK * 2), "{kernel:?}");
        }
    }
}
