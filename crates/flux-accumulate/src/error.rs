//! What the accumulating stage reports as a dead letter or a failed run.

use core::fmt;
use std::error::Error;

/// Why a fragment went to the dead-letter output, or why the run stopped.
///
/// # Examples
///
/// ```
/// use flux_accumulate::FragmentError;
///
/// assert_eq!(FragmentError::MissingKey.to_string(), "fragment has no key");
/// ```
#[derive(Debug)]
#[non_exhaustive]
pub enum FragmentError {
    /// The fragment has no key and the policy sends such fragments to the
    /// dead-letter output.
    MissingKey,
    /// Event-time windows are on and the fragment has no event time.
    MissingEventTime,
    /// The accumulator could not merge the fragment (the cause is the
    /// accumulator's error).
    Merge(Box<dyn Error + Send + Sync>),
    /// A merge failed and the policy ([`OnMergeError::StopRun`](crate::OnMergeError::StopRun))
    /// stops the run; the fragment itself is a dead letter with the cause.
    StoppedOnMergeError,
    /// A spilled group could not be restored; its fragments were counted
    /// as discarded and the run stops.
    Restore(Box<dyn Error + Send + Sync>),
}

impl fmt::Display for FragmentError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            FragmentError::MissingKey => "fragment has no key",
            FragmentError::MissingEventTime => "fragment has no event time",
            FragmentError::Merge(_) => "fragment could not be merged",
            FragmentError::StoppedOnMergeError => "a merge failed and the policy stops the run",
            FragmentError::Restore(_) => "spilled group could not be restored",
        })
    }
}

impl Error for FragmentError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match self {
            FragmentError::Merge(cause) | FragmentError::Restore(cause) => Some(&**cause),
            FragmentError::MissingKey | FragmentError::MissingEventTime | FragmentError::StoppedOnMergeError => None,
        }
    }
}
