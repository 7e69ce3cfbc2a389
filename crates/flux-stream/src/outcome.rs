//! What an async map does with a future's output: pass it on as it is, or
//! pass on an `Ok` and make an `Err` a dead letter of the stage.

use std::error::Error;

/// How an async map settles a future's output `O`: the record it passes
/// on, or the error that makes the input a dead letter.
///
/// [`AsIs`] is `map_async`'s and `map_flow`'s; [`OkOrDeadLetter`] is
/// `try_map_async`'s and `try_map_flow`'s.
pub trait Outcome<O>: Send + 'static {
    /// What the stage passes on.
    type Out;
    /// The record to pass on, or why the input failed.
    fn settle(output: O) -> Result<Self::Out, Box<dyn Error + Send + Sync>>;
}

/// Every output is passed on, errors included.
#[derive(Clone, Copy, Debug)]
pub struct AsIs;

impl<O> Outcome<O> for AsIs {
    type Out = O;
    fn settle(output: O) -> Result<O, Box<dyn Error + Send + Sync>> {
        Ok(output)
    }
}

/// An `Ok` is passed on; an `Err` makes the input a dead letter whose
/// error names the stage and the input's sequence, with the `Err` as its
/// cause (so a retry's [`GaveUp`](crate::flow::GaveUp) keeps its chain:
/// why it gave up, then the last attempt's error).
#[derive(Clone, Copy, Debug)]
pub struct OkOrDeadLetter;

impl<T, E> Outcome<Result<T, E>> for OkOrDeadLetter
where
    E: Into<Box<dyn Error + Send + Sync>>,
{
    type Out = T;
    fn settle(output: Result<T, E>) -> Result<T, Box<dyn Error + Send + Sync>> {
        output.map_err(Into::into)
    }
}
