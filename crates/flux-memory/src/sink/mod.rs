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
mod error;
#[cfg(feature = "tokio")]
mod in_place;
mod write;

use core::time::Duration;
use std::io;

#[cfg(feature = "tokio")]
pub use async_write::AsyncWriteSink;
pub use error::{FrameLost, Loss, WriterFailed};
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

/// What a frame sink does when its writer fails.
///
/// Whatever the setting, no frame is lost silently: each frame a failure
/// loses becomes a dead letter with its own sequence and output offset
/// ([`FrameLost`]). The setting decides whether the run stops.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum OnWriteError {
    /// Stop the run on a persistent error (a full disk, a closed pipe,
    /// a refused permission, a writer that accepts nothing, any error of
    /// an unknown kind); after a transient one (timed out, busy, still
    /// would block after retries), dead-letter the frames it lost and go
    /// on. The default.
    #[default]
    StopIfPersistent,
    /// Stop the run on any failure.
    Stop,
    /// Dead-letter what each failure lost, and go on.
    DeadLetter,
}

impl OnWriteError {
    /// Whether a failure of `kind` stops the sink.
    pub fn stops_on(self, kind: io::ErrorKind) -> bool {
        match self {
            OnWriteError::Stop => true,
            OnWriteError::DeadLetter => false,
            OnWriteError::StopIfPersistent => {
                !matches!(kind, io::ErrorKind::TimedOut | io::ErrorKind::WouldBlock | io::ErrorKind::ResourceBusy)
            }
        }
    }
}
