//! Sinks that write frames into a writer, through one reused buffer with
//! flush thresholds in bytes and engine time.
//!
//! The buffering and flush rules live once, in [`FrameBuffer`](buffer);
//! each sink only says how its writer is driven: [`WriteSink`] calls
//! `std::io::Write`, and `AsyncWriteSink` (feature `tokio`) polls a
//! `tokio::io::AsyncWrite` to completion in place.

#[cfg(feature = "tokio")]
mod async_write;
mod buffer;
#[cfg(feature = "tokio")]
mod in_place;
mod write;

use core::fmt;
use core::time::Duration;
use std::error::Error;
use std::io;

#[cfg(feature = "tokio")]
pub use async_write::AsyncWriteSink;
pub use write::WriteSink;

/// How each frame is marked in the output.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Delimit {
    /// Each frame followed by `\n` (default).
    #[default]
    Newline,
    /// Each frame preceded by its length as a `u32`, big-endian.
    LengthPrefix,
    /// Frames written back to back.
    None,
}

/// When a sink hands its buffer to the writer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FlushPolicy {
    /// Flush once this many bytes are buffered (default 64 KiB).
    pub bytes: usize,
    /// Flush at the first write this long (engine time) after the last
    /// flush; `None` flushes on size and at close only (default).
    pub interval: Option<Duration>,
}

impl Default for FlushPolicy {
    fn default() -> Self {
        FlushPolicy { bytes: 64 * 1024, interval: None }
    }
}

/// What a sink has done.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SinkStats {
    /// Frames written (into the buffer or straight through).
    pub frames: u64,
    /// Bytes handed to the writer, delimiters included.
    pub bytes: u64,
    /// Flushes of the buffer.
    pub flushes: u64,
}

/// A flush failed; the frames buffered since the last flush are lost.
#[derive(Debug)]
pub struct FlushFailed {
    /// How many frames the failed flush carried.
    pub frames_lost: u64,
    source: io::Error,
}

impl fmt::Display for FlushFailed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "flushing {} buffered frames failed", self.frames_lost)
    }
}

impl Error for FlushFailed {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        Some(&self.source)
    }
}
