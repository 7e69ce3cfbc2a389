//! Panics in user code, caught where they happen and turned into values.

use core::any::Any;
use core::fmt;
use std::error::Error;
use std::panic::{AssertUnwindSafe, catch_unwind};

/// User code panicked (a closure, a stage, a source, a sink, an
/// accumulator), and the panic was caught at the stage that called it.
///
/// The node that caught it sends the input to the dead-letter output with
/// this as the cause, and stops the run with an error naming the stage and
/// the input's sequence.
///
/// # Examples
///
/// ```
/// use flux_core::catch_panic;
///
/// let caught = catch_panic(|| -> u32 { panic!("no digits in {:?}", "x") }).unwrap_err();
/// assert_eq!(caught.message(), "no digits in \"x\"");
/// assert_eq!(caught.to_string(), "user code panicked: no digits in \"x\"");
/// assert_eq!(catch_panic(|| 7).unwrap(), 7);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Panicked {
    message: String,
}

impl Panicked {
    /// The panic's message, from the payload `catch_unwind` returned (a
    /// `&str` or a `String`; anything else is described as such).
    pub fn from_payload(payload: &(dyn Any + Send)) -> Self {
        let message = match (payload.downcast_ref::<&str>(), payload.downcast_ref::<String>()) {
            (Some(text), _) => (*text).to_owned(),
            (_, Some(text)) => text.clone(),
            _ => "a panic with a payload that is not text".to_owned(),
        };
        Panicked { message }
    }

    /// What the panic said.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for Panicked {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "user code panicked: {}", self.message)
    }
}

impl Error for Panicked {}

/// Runs `f`, returning its panic as a [`Panicked`] value instead of
/// unwinding.
///
/// Nodes wrap every call into user code with it, so a panic stops at the
/// stage that made the call. On the path that does not panic it costs no
/// more than the call itself.
///
/// # Errors
///
/// `f` panicked.
#[inline(always)]
pub fn catch_panic<R>(f: impl FnOnce() -> R) -> Result<R, Panicked> {
    // The caller decides what state it trusts after a panic: every node
    // that catches one stops the run and accounts for its input.
    catch_unwind(AssertUnwindSafe(f)).map_err(|payload| Panicked::from_payload(&*payload))
}
