//! What framing did, counted so that nothing leaves the stream unseen.

use std::sync::{Arc, Mutex, PoisonError};

/// Counts kept by a [`FrameReader`](crate::FrameReader).
///
/// Every input byte is in a frame, in the terminators and prefixes around
/// frames, or in `skipped_bytes`; every bad frame is in `bad_frames` (and
/// reaches the dead-letter output through the source).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FramingStats {
    /// Frames handed out.
    pub frames: u64,
    /// Bad frames reported.
    pub bad_frames: u64,
    /// Slabs filled from the input.
    pub slabs: u64,
    /// Times a partial frame at the end of a slab was copied to the front
    /// of the next one: the only copies framing makes.
    pub spanning_copies: u64,
    /// Bytes those copies moved.
    pub copied_bytes: u64,
    /// Partial frames that filled a whole slab and went on in a grown
    /// buffer outside the pool (see [`FrameReader`](crate::FrameReader)'s
    /// "Frames larger than a slab").
    pub outgrown_frames: u64,
    /// Bytes copied into grown buffers: a long frame's bytes, moved each
    /// time its buffer doubles (about twice its length at most).
    pub grown_copied_bytes: u64,
    /// Bytes of bad frames, skipped.
    pub skipped_bytes: u64,
    /// Bytes read from the input.
    pub bytes_read: u64,
}

/// A shared view of a source's [`FramingStats`], readable after the
/// pipeline that owns the source has run.
///
/// The source publishes its counts once per slab and at end of input, so
/// reading them costs the frame path nothing.
#[derive(Clone, Debug, Default)]
pub struct FramingStatsHandle {
    shared: Arc<Mutex<FramingStats>>,
}

impl FramingStatsHandle {
    /// The counts as last published.
    pub fn get(&self) -> FramingStats {
        *self.shared.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn publish(&self, stats: FramingStats) {
        *self.shared.lock().unwrap_or_else(PoisonError::into_inner) = stats;
    }
}
