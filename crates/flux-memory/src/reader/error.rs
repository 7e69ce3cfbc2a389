//! What can stop a reader: its input, its pool, or a framer with no limit.

use core::fmt;
use std::error::Error;
use std::io;

use flux_core::PoolExhausted;

/// A failure reading input into slabs.
#[derive(Debug)]
#[non_exhaustive]
pub enum ReadError {
    /// Reading the input failed.
    Io {
        /// The first byte of input not delivered: every frame before it
        /// was handed out.
        offset: u64,
        /// The I/O error.
        source: io::Error,
    },
    /// No slab could be rented.
    Exhausted {
        /// The first byte of input not delivered (where the next slab
        /// would have started).
        offset: u64,
        /// The pool's error.
        source: PoolExhausted,
    },
}

impl ReadError {
    /// Where in the input it happened.
    pub fn offset(&self) -> u64 {
        match self {
            ReadError::Io { offset, .. } | ReadError::Exhausted { offset, .. } => *offset,
        }
    }
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReadError::Io { offset, .. } => write!(f, "reading input failed at byte {offset}"),
            ReadError::Exhausted { offset, .. } => write!(f, "no slab to read into at byte {offset}"),
        }
    }
}

impl Error for ReadError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match self {
            ReadError::Io { source, .. } => Some(source),
            ReadError::Exhausted { source, .. } => Some(source),
        }
    }
}

/// A framer with no limit on its frames (its largest partial frame is
/// `usize::MAX` bytes), so the memory a long frame holds would be bounded
/// only by the input. Frames larger than a slab are fine up to any lower
/// limit.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CarryTooLarge {
    /// The framer's maximum carry in bytes.
    pub max_carry: usize,
    /// The pool's slab size in bytes.
    pub slab_size: usize,
}

impl fmt::Display for CarryTooLarge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "a framer needs a limit on its frames (it may carry {} bytes; slabs are {} bytes)",
            self.max_carry, self.slab_size
        )
    }
}

impl Error for CarryTooLarge {}
