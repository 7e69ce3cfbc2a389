//! A CSV record that parsed but does not fit the input's shape.

use core::fmt;
use std::error::Error;

/// A CSV record that does not fit: a dead letter at its byte offset.
///
/// (A record cut short by the end of input inside quotes, or longer than
/// the limit, is a bad frame, a [`FrameError`](flux_memory::FrameError).)
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum CsvError {
    /// The record has another number of fields than the header row (or,
    /// with no header, the first record).
    FieldCount {
        /// Byte offset of the record in the input.
        offset: u64,
        /// Fields the first row has.
        expected: usize,
        /// Fields this record has.
        found: usize,
    },
}

impl CsvError {
    /// Byte offset of the record in the input.
    pub fn offset(&self) -> u64 {
        match self {
            CsvError::FieldCount { offset, .. } => *offset,
        }
    }
}

impl fmt::Display for CsvError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            CsvError::FieldCount { offset, expected, found } => {
                write!(f, "record at byte {offset} has {found} fields, not {expected}")
            }
        }
    }
}

impl Error for CsvError {}
