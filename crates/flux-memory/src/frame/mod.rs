//! Framers: where one frame ends and the next begins, over pooled bytes.

mod error;
#[cfg(test)]
mod kernels;
mod length;
mod lines;
mod mask;
mod newline;

pub use error::{FrameError, FrameErrorKind};
pub use length::LengthPrefixed;
pub use newline::{NewlineDelimited, Unterminated};

use core::ops::Range;

/// What a framer found in a window of bytes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Framed {
    /// A frame's payload, as a range of the window (terminators and length
    /// prefixes excluded).
    Frame(Range<usize>),
    /// Bad input starting at window index `at`; the framer has already
    /// moved past it (or set itself to skip it), so the stream goes on.
    Bad {
        /// Index in the window where the bad frame starts.
        at: usize,
        /// What is wrong with it.
        kind: FrameErrorKind,
    },
    /// The rest of the window is the start of a frame: more bytes are needed.
    NeedMore,
}

/// Splits a byte stream into frames.
///
/// A [`FrameReader`](crate::FrameReader) shows the framer one window at a
/// time (a frozen slab, starting with any partial frame carried over from
/// the slab before) and a position in it. The framer looks for the next
/// frame from `*pos`, moves `*pos` past what it consumed, and says what it
/// found.
///
/// # Contract
///
/// - `NeedMore` leaves at most [`Framer::max_carry`] bytes unconsumed; the
///   reader copies them to the front of the next slab (the only copy
///   framing makes, and it is counted), or of a grown buffer when they
///   fill a slab. A framer reports a partial frame past its limit as
///   `Bad` once it has more than `max_carry` bytes of it, so the reader
///   never holds more than `max_carry + 1` bytes of one frame.
/// - After `Bad`, the framer skips the bad frame itself, across windows if
///   need be, and counts what it skipped in [`Framer::skipped_bytes`].
/// - [`Framer::finish`] is called once, at end of input, with the
///   unconsumed rest; a partial frame there is reported, never dropped.
pub trait Framer: Send {
    /// Finds the next frame in `window[*pos..]`.
    fn next_frame(&mut self, window: &[u8], pos: &mut usize) -> Framed;

    /// Handles the unconsumed rest at end of input, consuming it.
    fn finish(&mut self, window: &[u8], pos: &mut usize) -> Option<Framed>;

    /// The most bytes `next_frame` leaves unconsumed when it needs more:
    /// the bound on the memory one frame may hold. `usize::MAX` means no
    /// bound, and a [`FrameReader`](crate::FrameReader) refuses it.
    fn max_carry(&self) -> usize;

    /// Bytes skipped because they belonged to bad frames.
    fn skipped_bytes(&self) -> u64;

    /// A new window starts; a framer that caches an index over the window
    /// drops it here.
    fn new_window(&mut self) {}

    /// Whether `unconsumed` (the bytes from where the framer stopped, of
    /// which only `unconsumed[new_from..]` arrived since it last answered
    /// `false`) may now yield a frame or a bad frame.
    ///
    /// In [`ReadMode::Eager`](crate::ReadMode::Eager) the reader keeps
    /// reading into the same slab until it may, so a frame that arrives a
    /// few bytes per read is copied once, not once per read. Look only at
    /// `unconsumed[new_from..]` where you can: it is what keeps the reader
    /// linear. The default, `true`, frames after every read.
    fn may_frame(&self, unconsumed: &[u8], new_from: usize) -> bool {
        let _ = (unconsumed, new_from);
        true
    }

    /// Hands every frame in `window[*pos..]` to `each`, up to `limit`
    /// frames, and returns what stopped it: `Frame` at the limit (that
    /// frame not yet handed out), `Bad` or `NeedMore`.
    ///
    /// The default calls [`Framer::next_frame`] in a loop; a framer
    /// overrides it when a tighter loop over a whole window pays.
    #[inline]
    fn scan(&mut self, window: &[u8], pos: &mut usize, limit: usize, each: &mut impl FnMut(Range<usize>)) -> Framed
    where
        Self: Sized,
    {
        for _ in 0..limit {
            match self.next_frame(window, pos) {
                Framed::Frame(range) => each(range),
                other => return other,
            }
        }
        self.next_frame(window, pos)
    }
}
