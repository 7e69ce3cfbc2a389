//! Bad input, with the byte offset where it starts.

use core::fmt;
use std::error::Error;

/// A frame that could not be read, and where it starts in the input.
///
/// # Examples
///
/// ```
/// use flux_memory::{FrameError, FrameErrorKind};
///
/// let error = FrameError::new(1_024, FrameErrorKind::TruncatedPrefix { have: 2 });
/// assert_eq!(error.offset(), 1_024);
/// assert_eq!(error.to_string(), "truncated length prefix at byte 1024: 2 of 4 bytes");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FrameError {
    offset: u64,
    kind: FrameErrorKind,
}

/// What is wrong with a frame.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum FrameErrorKind {
    /// The frame is longer than the framer's maximum; it was skipped.
    Oversize {
        /// The maximum frame size in bytes.
        limit: usize,
        /// The frame's length when known (a length prefix says it; a line
        /// is given up on as soon as it passes the limit).
        length: Option<u64>,
    },
    /// The input ended inside a 4-byte length prefix.
    TruncatedPrefix {
        /// Bytes of the prefix that were there.
        have: usize,
    },
    /// The input ended inside the last record.
    TruncatedRecord {
        /// The record's length when a prefix gave it; `None` for a last
        /// line with no terminator.
        expected: Option<u64>,
        /// Bytes of the record that were there.
        have: usize,
    },
}

impl FrameError {
    /// An error of `kind` in the frame starting at byte `offset`.
    pub fn new(offset: u64, kind: FrameErrorKind) -> Self {
        FrameError { offset, kind }
    }

    /// Byte offset in the input where the bad frame starts.
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// What is wrong with it.
    pub fn kind(&self) -> &FrameErrorKind {
        &self.kind
    }
}

impl fmt::Display for FrameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let offset = self.offset;
        match &self.kind {
            FrameErrorKind::Oversize { limit, length: Some(length) } => {
                write!(f, "frame at byte {offset} is {length} bytes, over the limit of {limit}")
            }
            FrameErrorKind::Oversize { limit, length: None } => {
                write!(f, "frame at byte {offset} is longer than the limit of {limit} bytes")
            }
            FrameErrorKind::TruncatedPrefix { have } => {
                write!(f, "truncated length prefix at byte {offset}: {have} of 4 bytes")
            }
            FrameErrorKind::TruncatedRecord { expected: Some(expected), have } => {
                write!(f, "truncated last record at byte {offset}: {have} of {expected} bytes")
            }
            FrameErrorKind::TruncatedRecord { expected: None, have } => {
                write!(f, "unterminated last record at byte {offset} ({have} bytes)")
            }
        }
    }
}

impl Error for FrameError {}
