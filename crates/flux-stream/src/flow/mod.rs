//! Stage logic as futures on the engine's clock: [`Env`] (time, timers,
//! a seeded generator, a retry budget), [`Env::retry`] with exponential
//! backoff and a transient/permanent classifier, and [`Env::timeout`].
//!
//! A flow is any future: compose with `futures`' own combinators
//! (`FutureExt::map`, `TryFutureExt::and_then`: no allocation each), and
//! give it to [`AsyncSteps::map_flow`](crate::AsyncSteps::map_flow), whose
//! node keeps the environment's clock. Because every wait is on the
//! engine's clock, the sync engine runs a thirty-second backoff in no real
//! time and to the nanosecond, and tokio runs it on tokio's time.
//!
//! Cancellation is Rust's: a run that stops at once (a failure, or a
//! `StopHandle` asking for `Stop::Now`) drops the flows in flight at that
//! instant, with their timers, and their inputs become dead letters of
//! the flow's stage that say so. A flow that must clean up does it in a
//! `Drop`.

mod env;
mod retry;

pub use env::{Env, Sleep};
pub use retry::{Backoff, Elapsed, GaveUp, Verdict};
