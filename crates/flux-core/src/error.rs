//! Errors as values that name their place.

use core::fmt;
use std::error::Error;

use crate::{Meta, StageId};

/// Where in the input an error was found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Position {
    /// A byte offset into the source's input (frames, files).
    ByteOffset(u64),
    /// The sequence number of the envelope being processed.
    Sequence(u64),
    /// No position applies (for example a sink that failed to flush).
    None,
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Position::ByteOffset(o) => write!(f, "at byte {o}"),
            Position::Sequence(s) => write!(f, "at sequence {s}"),
            Position::None => Ok(()),
        }
    }
}

/// An error raised by a stage, naming the stage and the position.
///
/// The cause is available through [`Error::source`] and is not repeated in
/// the `Display` output.
///
/// # Examples
///
/// ```
/// use flux_core::{Position, StageError, StageId};
///
/// let cause = "12x".parse::<u32>().unwrap_err();
/// let err = StageError::new(StageId::from_static("parse"), Position::Sequence(4), cause);
/// assert_eq!(err.to_string(), "stage `parse` failed at sequence 4");
/// assert!(std::error::Error::source(&err).is_some());
/// ```
#[derive(Debug)]
pub struct StageError {
    stage: StageId,
    position: Position,
    cause: Box<dyn Error + Send + Sync>,
}

impl StageError {
    /// An error in `stage` at `position`, caused by `cause`.
    pub fn new(stage: StageId, position: Position, cause: impl Into<Box<dyn Error + Send + Sync>>) -> Self {
        StageError { stage, position, cause: cause.into() }
    }

    /// The stage that failed.
    pub fn stage(&self) -> &StageId {
        &self.stage
    }

    /// Where in the input it failed.
    pub fn position(&self) -> Position {
        self.position
    }

    /// The underlying cause.
    pub fn cause(&self) -> &(dyn Error + Send + Sync + 'static) {
        &*self.cause
    }
}

impl fmt::Display for StageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "stage `{}` failed", self.stage)?;
        if self.position != Position::None {
            write!(f, " {}", self.position)?;
        }
        Ok(())
    }
}

impl Error for StageError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        Some(&*self.cause)
    }
}

/// An envelope that a stage could not process, kept with its correlation.
///
/// The payload's type is not kept (dead letters from every stage share one
/// output, and the kernel has no type erasure in the data path); the
/// metadata is, so a dead letter can be traced back to its input by
/// sequence, key and trace.
#[derive(Debug)]
pub struct ErrorEnvelope {
    /// The metadata of the failed input.
    pub meta: Meta,
    /// What went wrong and where.
    pub error: StageError,
}

/// Why an envelope left the main output without being an error.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SideReason {
    /// Event time behind the watermark by more than the allowed lateness.
    Late,
    /// A fragment for a key that is closed.
    ClosedKey,
    /// A reason named by the stage.
    Other(&'static str),
}

impl SideReason {
    /// The reason as reports print it.
    pub fn as_str(self) -> &'static str {
        match self {
            SideReason::Late => "late",
            SideReason::ClosedKey => "closed key",
            SideReason::Other(reason) => reason,
        }
    }
}

/// An envelope routed to the side output, with the stage that routed it.
#[derive(Clone, Debug, PartialEq)]
pub struct SideEnvelope {
    /// The stage that routed it.
    pub stage: StageId,
    /// The metadata of the routed input.
    pub meta: Meta,
    /// Why it was routed.
    pub reason: SideReason,
}
