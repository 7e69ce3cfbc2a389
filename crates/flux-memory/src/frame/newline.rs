//! Frames ended by `\n` or `\r\n`.

use super::lines::{Bounds, walk_lines};
use super::mask::{BLOCK, Kernel, newline_mask};
use super::{FrameErrorKind, Framed, Framer};

/// What to do with a last line that has no terminator.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Unterminated {
    /// Emit it as a frame, as `BufRead::lines` does (default).
    #[default]
    Emit,
    /// Report it as [`FrameErrorKind::TruncatedRecord`].
    Reject,
}

/// Frames ended by a newline; a `\r` before the `\n` is removed too.
///
/// A line longer than the maximum is reported as
/// [`FrameErrorKind::Oversize`] at its first byte as soon as it passes the
/// limit, and the rest of it is skipped up to the next newline (counted in
/// [`Framer::skipped_bytes`]); the line after it is read as usual.
///
/// Newlines are found 64 bytes at a time: each block of the window is
/// turned into a bit mask of its newline positions once (vector compares:
/// AVX2 when the CPU has it, found at run time, else SSE2), the masks of a
/// run of blocks are flattened into an array of line ends, and the lines
/// are read off that array, so short lines cost a few instructions each
/// rather than a search.
///
/// # Examples
///
/// ```
/// use flux_memory::{Framed, Framer, NewlineDelimited};
///
/// let mut framer = NewlineDelimited::new(80);
/// let input = b"one\r\ntwo\nthr";
/// let mut pos = 0;
/// assert_eq!(framer.next_frame(input, &mut pos), Framed::Frame(0..3));
/// assert_eq!(framer.next_frame(input, &mut pos), Framed::Frame(5..8));
/// assert_eq!(framer.next_frame(input, &mut pos), Framed::NeedMore);
/// assert_eq!(framer.finish(input, &mut pos), Some(Framed::Frame(9..12)));
/// ```
#[derive(Clone, Debug)]
pub struct NewlineDelimited {
    max_frame: usize,
    unterminated: Unterminated,
    /// Inside an oversize line: skip to the next newline.
    skipping: bool,
    skipped: u64,
    index: NewlineIndex,
    /// How block masks are computed: AVX2 when the CPU has it.
    kernel: Kernel,
}

impl NewlineDelimited {
    /// A framer for lines of at most `max_frame` bytes (terminator excluded).
    pub fn new(max_frame: usize) -> Self {
        NewlineDelimited {
            max_frame,
            unterminated: Unterminated::Emit,
            skipping: false,
            skipped: 0,
            index: NewlineIndex::default(),
            kernel: Kernel::detect(),
        }
    }

    /// Sets what happens to a last line with no terminator.
    #[must_use]
    pub fn unterminated(mut self, unterminated: Unterminated) -> Self {
        self.unterminated = unterminated;
        self
    }

    /// The maximum frame size in bytes.
    pub fn max_frame(&self) -> usize {
        self.max_frame
    }

    /// The same framer on another mask kernel, so tests can hold every
    /// kernel to the same results.
    #[cfg(test)]
    pub(super) fn with_kernel(mut self, kernel: Kernel) -> Self {
        self.kernel = kernel;
        self
    }
}

impl Framer for NewlineDelimited {
    #[inline]
    fn next_frame(&mut self, window: &[u8], pos: &mut usize) -> Framed {
        loop {
            let start = *pos;
            let Some(newline) = self.index.find(window, start) else {
                let rest = window.len() - start;
                if self.skipping {
                    self.skipped += rest as u64;
                    *pos = window.len();
                } else if rest > self.max_carry() {
                    self.skipping = true;
                    self.skipped += rest as u64;
                    *pos = window.len();
                    return Framed::Bad {
                        at: start,
                        kind: FrameErrorKind::Oversize { limit: self.max_frame, length: None },
                    };
                }
                return Framed::NeedMore;
            };
            *pos = newline + 1;
            if self.skipping {
                self.skipping = false;
                self.skipped += (newline + 1 - start) as u64;
                continue;
            }
            let end = if newline > start && window[newline - 1] == b'\r' { newline - 1 } else { newline };
            if end - start > self.max_frame {
                self.skipped += (newline + 1 - start) as u64;
                let length = Some((end - start) as u64);
                return Framed::Bad { at: start, kind: FrameErrorKind::Oversize { limit: self.max_frame, length } };
            }
            return Framed::Frame(start..end);
        }
    }

    /// Frames the plain lines of a window in one tight loop; anything
    /// unusual (an oversize line, a skip in progress, the window's end) goes
    /// through `next_frame`.
    #[inline]
    fn scan(
        &mut self,
        window: &[u8],
        pos: &mut usize,
        limit: usize,
        each: &mut impl FnMut(core::ops::Range<usize>),
    ) -> Framed {
        if !self.skipping {
            *pos = walk_lines(self.kernel, window, *pos, Bounds { max_frame: self.max_frame, limit }, each);
            self.index = NewlineIndex::default();
        }
        self.next_frame(window, pos)
    }

    fn finish(&mut self, window: &[u8], pos: &mut usize) -> Option<Framed> {
        let start = *pos;
        let have = window.len() - start;
        *pos = window.len();
        if have == 0 {
            return None;
        }
        if self.skipping {
            self.skipping = false;
            self.skipped += have as u64;
            return None;
        }
        if have > self.max_frame {
            self.skipped += have as u64;
            let kind = FrameErrorKind::Oversize { limit: self.max_frame, length: Some(have as u64) };
            return Some(Framed::Bad { at: start, kind });
        }
        match self.unterminated {
            Unterminated::Emit => Some(Framed::Frame(start..window.len())),
            Unterminated::Reject => {
                self.skipped += have as u64;
                Some(Framed::Bad { at: start, kind: FrameErrorKind::TruncatedRecord { expected: None, have } })
            }
        }
    }

    /// A line of `max_frame` bytes and its `\r`, still waiting for the `\n`
    /// (`usize::MAX` for a limit of `usize::MAX`: no limit at all).
    fn max_carry(&self) -> usize {
        self.max_frame.saturating_add(1)
    }

    fn skipped_bytes(&self) -> u64 {
        self.skipped
    }

    fn new_window(&mut self) {
        self.index = NewlineIndex::default();
    }

    /// A newline among the new bytes ends a line; a partial line past the
    /// limit is reported; a skip in progress drops what it can at once.
    fn may_frame(&self, unconsumed: &[u8], new_from: usize) -> bool {
        self.skipping
            || unconsumed.len() > self.max_carry()
            || unconsumed.get(new_from..).is_some_and(|new| memchr::memchr(b'\n', new).is_some())
    }
}

/// The newline positions of one 64-byte block of the window, as bits.
#[derive(Clone, Copy, Debug, Default)]
struct NewlineIndex {
    /// Window index of bit 0.
    base: usize,
    /// Bit `i` is set when `window[base + i]` is a newline.
    mask: u64,
    /// False until a block has been indexed in this window.
    valid: bool,
}

impl NewlineIndex {
    /// The first newline at or after `from`.
    #[inline]
    fn find(&mut self, window: &[u8], from: usize) -> Option<usize> {
        let mut base = from;
        if self.valid && from >= self.base && from < self.base + BLOCK {
            let ahead = self.mask & (u64::MAX << (from - self.base));
            if ahead != 0 {
                return Some(self.base + ahead.trailing_zeros() as usize);
            }
            base = self.base + BLOCK;
        }
        while let Some(block) = window.get(base..).and_then(<[u8]>::first_chunk::<BLOCK>) {
            let mask = newline_mask(block);
            if mask != 0 {
                *self = NewlineIndex { base, mask, valid: true };
                return Some(base + mask.trailing_zeros() as usize);
            }
            base += BLOCK;
        }
        self.valid = false;
        let tail = window.get(base..)?;
        memchr::memchr(b'\n', tail).map(|i| base + i)
    }
}
