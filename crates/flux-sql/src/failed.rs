//! The cause a failed batch's records carry to the dead letters.

use core::fmt;
use std::error::Error;

/// Why a record did not reach its table: the batch it was in failed, and
/// was rolled back whole.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BatchFailed {
    /// The table (the sink's tables, comma-separated, when it has several).
    pub table: String,
    /// Rows in the batch, every one of them a dead letter.
    pub rows: usize,
    /// What the database said (or why a record could not be made a row),
    /// after any retries.
    pub error: String,
}

impl fmt::Display for BatchFailed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a batch of {} rows into `{}` failed and was rolled back: {}", self.rows, self.table, self.error)
    }
}

impl Error for BatchFailed {}
