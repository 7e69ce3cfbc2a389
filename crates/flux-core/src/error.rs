//! Errors as values that name their place.

use core::fmt;
use std::error::Error;

use crate::{Meta, StageId};

/// Where in the input an error was found.
///
/// Every [`StageError`] carries one, so a failure can be found in the
/// input: a source names the byte offset of a bad frame, a stage the
/// sequence of the input it failed on. Its `Display` is the phrase an
/// error message ends with.
///
/// # Examples
///
/// ```
/// use flux_core::Position;
///
/// assert_eq!(Position::ByteOffset(4096).to_string(), "at byte 4096");
/// assert_eq!(Position::Sequence(7).to_string(), "at sequence 7");
/// assert_eq!(Position::None.to_string(), "");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
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
/// It is the error of every dead letter ([`ErrorEnvelope::error`]) and of
/// every failure reported with [`Context::fail`](crate::Context::fail).
/// The ledger counts a dead letter under the stage its error names, so a
/// node makes its errors with its own id.
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
    /// An error in `stage` at `position`, caused by `cause`: any error, or
    /// a `&str` or `String` message.
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

    /// The underlying cause, the same as [`Error::source`] gives but with
    /// `Send + Sync`, for callers that downcast it or move it to another
    /// thread's report.
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
///
/// Nodes send one to [`Context::dead_letter`](crate::Context::dead_letter)
/// for each input that failed; the engine counts it under the stage the
/// error names and keeps it in the run's report. The run goes on.
///
/// # Examples
///
/// ```
/// use bytes::Bytes;
/// use flux_core::{Envelope, ErrorEnvelope, Position, StageError, StageId};
///
/// let input = Envelope::new("12x").with_sequence(4).with_key(Bytes::from_static(b"ada"));
/// let cause = input.payload().parse::<u32>().unwrap_err();
/// let (_, meta, _) = input.into_parts();
/// let error = StageError::new(StageId::from_static("parse"), Position::Sequence(4), cause);
/// let letter = ErrorEnvelope { meta, error };
///
/// assert_eq!(letter.meta.key.as_deref(), Some(&b"ada"[..]), "traced back by its key");
/// assert_eq!(letter.error.to_string(), "stage `parse` failed at sequence 4");
/// assert_eq!(letter.error.cause().to_string(), "invalid digit found in string");
/// ```
#[derive(Debug)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct ErrorEnvelope {
    /// The metadata of the failed input.
    pub meta: Meta,
    /// What went wrong and where.
    pub error: StageError,
}

impl fmt::Display for ErrorEnvelope {
    /// `sequence 4: stage `parse` failed at sequence 4: invalid digit
    /// found in string`: which input, where, and why.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "sequence {}: {}: {}", self.meta.sequence, self.error, self.error.cause())
    }
}

/// Why an envelope left the main output without being an error.
///
/// A stage routes such an input to the side output
/// ([`Emit::side_output`](crate::Emit::side_output), or
/// [`Context::side_output`](crate::Context::side_output) from a node):
/// it is accounted for, but not as a failure. The accumulating stage of
/// `flux-accumulate` uses [`SideReason::Late`] and [`SideReason::ClosedKey`].
///
/// # Examples
///
/// ```
/// use flux_core::SideReason;
///
/// assert_eq!(SideReason::Late.as_str(), "late");
/// assert_eq!(SideReason::ClosedKey.as_str(), "closed key");
/// assert_eq!(SideReason::Other("over quota").as_str(), "over quota");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SideReason {
    /// Event time behind the watermark by more than the allowed lateness.
    Late,
    /// A fragment for a key that is closed.
    ClosedKey,
    /// A reason named by the stage: a short phrase, as reports print it.
    Other(&'static str),
}

impl SideReason {
    /// The reason as reports print it (the sync engine also tallies side
    /// outputs it does not keep by this text).
    pub fn as_str(self) -> &'static str {
        match self {
            SideReason::Late => "late",
            SideReason::ClosedKey => "closed key",
            SideReason::Other(reason) => reason,
        }
    }
}

/// An envelope routed to the side output, with the stage that routed it.
///
/// Like an [`ErrorEnvelope`], it keeps the input's metadata and not its
/// payload. The engine counts it under `stage` in the ledger, so the stage
/// that routes it names itself.
#[derive(Clone, Debug, PartialEq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct SideEnvelope {
    /// The stage that routed it.
    pub stage: StageId,
    /// The metadata of the routed input.
    pub meta: Meta,
    /// Why it was routed.
    pub reason: SideReason,
}
