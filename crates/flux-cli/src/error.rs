//! The demo's one-line errors.

use core::fmt;

/// A failure the command reports in one line: what could not be done,
/// and why.
#[derive(Debug)]
pub struct DemoError(String);

impl fmt::Display for DemoError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for DemoError {}

/// Says what was being done when a call failed: `cannot read x.feed: No
/// such file or directory`.
pub(crate) trait OrSay<T> {
    /// The value, or a [`DemoError`] of `what` and the error's own words.
    fn or_say(self, what: fmt::Arguments<'_>) -> Result<T, DemoError>;
}

impl<T, E: fmt::Display> OrSay<T> for Result<T, E> {
    fn or_say(self, what: fmt::Arguments<'_>) -> Result<T, DemoError> {
        self.map_err(|error| DemoError(format!("{what}: {error}")))
    }
}
