//! An error or a rejected input, with the source it came from.

use core::fmt;
use std::error::Error;

/// What a source of a [`FanIn`](crate::FanIn) reported (a failed read, a
/// rejected frame), with the index of that source: the position in the
/// error or dead letter is within that source's input.
#[derive(Debug)]
pub struct FromSource {
    /// The source's index, in the order the sources were added.
    pub source: usize,
    /// What the source said.
    pub cause: Box<dyn Error + Send + Sync>,
}

impl fmt::Display for FromSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "source {}: {}", self.source, self.cause)
    }
}

impl Error for FromSource {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        Some(&*self.cause)
    }
}
