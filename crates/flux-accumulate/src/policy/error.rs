//! The error for a policy that cannot run.

use core::fmt;
use std::error::Error;

/// A policy setting that was rejected when the policy was built: a limit,
/// duration or capacity of zero, or a completion score not above zero.
///
/// # Examples
///
/// ```
/// use flux_accumulate::Policy;
///
/// let err = Policy::builder().max_bytes(0).build().unwrap_err();
/// assert_eq!(err.setting(), "max_bytes");
/// assert_eq!(err.to_string(), "accumulation policy setting `max_bytes` must be above zero");
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PolicyError {
    setting: &'static str,
}

impl PolicyError {
    pub(crate) fn new(setting: &'static str) -> Self {
        PolicyError { setting }
    }

    /// The name of the rejected setting.
    pub fn setting(&self) -> &'static str {
        self.setting
    }
}

impl fmt::Display for PolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "accumulation policy setting `{}` must be above zero", self.setting)
    }
}

impl Error for PolicyError {}
