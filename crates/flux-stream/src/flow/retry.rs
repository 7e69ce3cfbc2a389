//! Retry with exponential backoff, and timeouts, on the engine's clock.

use core::fmt;
use core::future::{Future, poll_fn};
use core::pin::pin;
use core::task::Poll;
use core::time::Duration;

use super::Env;

/// Whether an error is worth another attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// It may pass: a timeout, a connection reset, a busy service.
    Transient,
    /// It will not pass: bad input, a refused request. No retry.
    Permanent,
}

/// How often and how patiently [`Env::retry`] tries.
///
/// The wait before attempt `n + 1` is `first * factor^(n - 1)`, at most
/// `max`; with jitter, a number drawn from the environment's seeded
/// generator between half of that and all of it, so that inputs failing
/// together do not retry together, and a run replays the same waits.
///
/// ```
/// use std::time::Duration;
/// use flux_stream::flow::Backoff;
///
/// let backoff = Backoff::exponential(Duration::from_millis(100), 4).max(Duration::from_secs(1));
/// let waits: Vec<_> = (1..=4).map(|failed| backoff.wait_after(failed, None)).collect();
/// assert_eq!(waits, [100, 200, 400, 800].map(Duration::from_millis));
/// assert_eq!(backoff.wait_after(5, None), Duration::from_secs(1), "capped");
/// // With jitter: between half and all of the wait.
/// let jittered = backoff.wait_after(3, Some(u64::MAX / 2));
/// assert!(jittered >= Duration::from_millis(200) && jittered <= Duration::from_millis(400));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Backoff {
    /// Attempts in all, the first included.
    pub attempts: u32,
    /// The wait after the first failure.
    pub first: Duration,
    /// What each wait is multiplied by.
    pub factor: u32,
    /// The longest wait.
    pub max: Duration,
    /// Whether waits are drawn between half and all of their length.
    pub jitter: bool,
}

impl Backoff {
    /// `attempts` in all, waiting `first`, then twice as long each time,
    /// at most a minute, without jitter.
    pub fn exponential(first: Duration, attempts: u32) -> Self {
        Backoff { attempts, first, factor: 2, max: Duration::from_secs(60), jitter: false }
    }

    /// The same with waits of at most `max`.
    #[must_use]
    pub fn max(self, max: Duration) -> Self {
        Backoff { max, ..self }
    }

    /// The same with jitter from the environment's seeded generator.
    #[must_use]
    pub fn with_jitter(self) -> Self {
        Backoff { jitter: true, ..self }
    }

    /// The wait after `failed` attempts have failed; `random` (a draw from
    /// the generator) places it between half and all of the wait.
    pub fn wait_after(&self, failed: u32, random: Option<u64>) -> Duration {
        let growth = u64::from(self.factor).saturating_pow(failed.saturating_sub(1));
        let nanos = u64::try_from(self.first.as_nanos()).unwrap_or(u64::MAX).saturating_mul(growth);
        let wait = Duration::from_nanos(nanos).min(self.max);
        match random {
            None => wait,
            Some(random) => {
                let half = wait / 2;
                let spread = u64::try_from((wait - half).as_nanos()).unwrap_or(u64::MAX);
                half + Duration::from_nanos(if spread == 0 { 0 } else { random % (spread + 1) })
            }
        }
    }
}

/// Why [`Env::retry`] gave up, with the last error and how many attempts
/// were made.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum GaveUp<E> {
    /// The error was permanent: no retry.
    Permanent {
        /// Attempts made.
        attempts: u32,
        /// The error.
        error: E,
    },
    /// Every attempt failed.
    Exhausted {
        /// Attempts made.
        attempts: u32,
        /// The last error.
        error: E,
    },
    /// The stage's retry budget was spent.
    BudgetSpent {
        /// Attempts made.
        attempts: u32,
        /// The last error.
        error: E,
    },
}

impl<E> GaveUp<E> {
    /// The last error.
    pub fn error(&self) -> &E {
        match self {
            GaveUp::Permanent { error, .. } | GaveUp::Exhausted { error, .. } | GaveUp::BudgetSpent { error, .. } => {
                error
            }
        }
    }

    /// Attempts made.
    pub fn attempts(&self) -> u32 {
        match self {
            GaveUp::Permanent { attempts, .. }
            | GaveUp::Exhausted { attempts, .. }
            | GaveUp::BudgetSpent { attempts, .. } => *attempts,
        }
    }
}

impl<E: fmt::Display> fmt::Display for GaveUp<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let why = match self {
            GaveUp::Permanent { .. } => "a permanent error",
            GaveUp::Exhausted { .. } => "every attempt failed",
            GaveUp::BudgetSpent { .. } => "the retry budget is spent",
        };
        let attempts = self.attempts();
        let plural = if attempts == 1 { "" } else { "s" };
        write!(f, "gave up after {attempts} attempt{plural} ({why}): {}", self.error())
    }
}

impl<E: std::error::Error + 'static> std::error::Error for GaveUp<E> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(self.error())
    }
}

/// A future did not complete within its time ([`Env::timeout`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Elapsed {
    /// The time it was given.
    pub after: Duration,
}

impl fmt::Display for Elapsed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "timed out after {:?} of engine time", self.after)
    }
}

impl std::error::Error for Elapsed {}

impl Env {
    /// Runs `attempt` until it succeeds, `classify` calls its error
    /// permanent, `backoff.attempts` have failed or the budget is spent,
    /// waiting between attempts on the engine's clock.
    ///
    /// ```
    /// use std::task::{Context, Poll, Waker};
    /// use std::time::Duration;
    /// use flux_core::Instant;
    /// use flux_stream::flow::{Backoff, Env, Verdict};
    ///
    /// let env = Env::seeded(1);
    /// let mut tries = 0;
    /// let call = env.retry(Backoff::exponential(Duration::from_secs(10), 3), |_: &&str| Verdict::Transient, || {
    ///     tries += 1;
    ///     let answer = if tries < 3 { Err("busy") } else { Ok(tries) };
    ///     async move { answer }
    /// });
    /// let mut call = std::pin::pin!(call);
    /// let mut cx = Context::from_waker(Waker::noop());
    /// assert!(call.as_mut().poll(&mut cx).is_pending());
    /// assert_eq!(env.next_timer(), Some(Instant::from_secs(10)), "waits 10 s after the first failure");
    /// env.advance_to(Instant::from_secs(10));
    /// assert!(call.as_mut().poll(&mut cx).is_pending());
    /// assert_eq!(env.next_timer(), Some(Instant::from_secs(30)), "then 20 s more");
    /// env.advance_to(Instant::from_secs(30));
    /// assert_eq!(call.as_mut().poll(&mut cx), Poll::Ready(Ok(3)));
    /// ```
    pub fn retry<T, E, Fut, C, A>(
        &self,
        backoff: Backoff,
        classify: C,
        mut attempt: A,
    ) -> impl Future<Output = Result<T, GaveUp<E>>> + use<T, E, Fut, C, A>
    where
        Fut: Future<Output = Result<T, E>>,
        C: Fn(&E) -> Verdict,
        A: FnMut() -> Fut,
    {
        let env = self.clone();
        async move {
            let mut attempts = 0;
            loop {
                attempts += 1;
                let error = match attempt().await {
                    Ok(value) => return Ok(value),
                    Err(error) => error,
                };
                if classify(&error) == Verdict::Permanent {
                    return Err(GaveUp::Permanent { attempts, error });
                }
                if attempts >= backoff.attempts {
                    return Err(GaveUp::Exhausted { attempts, error });
                }
                if !env.take_retry() {
                    return Err(GaveUp::BudgetSpent { attempts, error });
                }
                let random = backoff.jitter.then(|| env.next_random());
                env.sleep(backoff.wait_after(attempts, random)).await;
            }
        }
    }

    /// Runs `future` for at most `after` of engine time.
    ///
    /// # Errors
    ///
    /// [`Elapsed`], when the time ran out first (the future is dropped).
    pub fn timeout<F: Future>(
        &self,
        after: Duration,
        future: F,
    ) -> impl Future<Output = Result<F::Output, Elapsed>> + use<F> {
        let sleep = self.sleep(after);
        async move {
            let (mut future, mut sleep) = (pin!(future), pin!(sleep));
            poll_fn(|task| {
                if let Poll::Ready(output) = future.as_mut().poll(task) {
                    return Poll::Ready(Ok(output));
                }
                sleep.as_mut().poll(task).map(|()| Err(Elapsed { after }))
            })
            .await
        }
    }
}
