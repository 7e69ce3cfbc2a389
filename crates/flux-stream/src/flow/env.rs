//! `Env`: the engine's clock and timers, handed to an async stage's
//! futures.

use core::future::Future;
use core::pin::Pin;
use core::task::{Context as TaskContext, Poll, Waker};
use core::time::Duration;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use flux_core::Instant;

/// What a stage's futures may use of the engine: its clock, timers on that
/// clock, and a seeded generator for jitter.
///
/// Time is the engine's, not the wall's: on the sync engine a future that
/// sleeps thirty seconds completes at exactly thirty seconds of virtual
/// time, in no real time; on tokio, at thirty seconds of tokio's time.
/// The stage's node keeps the clock: it sets the time before each call
/// into the futures, reports their earliest timer to the engine as its own
/// deadline, and wakes the futures whose timers are due when the engine
/// fires it. A clone is a handle to the same environment.
///
/// [`AsyncSteps::map_flow`](crate::AsyncSteps::map_flow) hands one to
/// each call of its transform.
///
/// # Examples
///
/// Driven by hand as the node drives it:
///
/// ```
/// use std::task::{Context, Waker};
/// use std::time::Duration;
///
/// use flux_core::Instant;
/// use flux_stream::flow::Env;
///
/// let env = Env::seeded(7);
/// let mut sleep = std::pin::pin!(env.sleep(Duration::from_secs(30)));
/// let mut cx = Context::from_waker(Waker::noop());
/// assert!(sleep.as_mut().poll(&mut cx).is_pending());
/// assert_eq!(env.next_timer(), Some(Instant::from_secs(30)));
///
/// env.advance_to(Instant::from_secs(30)); // what the node does when the engine fires it
/// assert!(sleep.as_mut().poll(&mut cx).is_ready());
/// assert_eq!(env.next_timer(), None);
/// ```
#[derive(Clone, Debug)]
pub struct Env {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    /// The engine's time, in nanoseconds, as the node last set it.
    now: AtomicU64,
    timers: Mutex<Timers>,
    /// The jitter generator's state (splitmix64).
    seed: AtomicU64,
    /// Retries the stage may still make, when it has a budget.
    retries_left: Option<AtomicU64>,
}

/// Sleeping futures' deadlines, by instant then registration, and the
/// waker of each.
#[derive(Debug, Default)]
struct Timers {
    due: BTreeMap<(Instant, u64), Waker>,
    next_id: u64,
}

impl Env {
    /// An environment at time zero whose jitter comes from `seed`.
    pub fn seeded(seed: u64) -> Self {
        Env::with_parts(seed, None)
    }

    /// The same with a retry budget: [`Env::retry`] retries at most
    /// `retries` times in all, across every input of the stage, so a
    /// downstream service that is down is not hammered by every input's
    /// retries at once.
    pub fn with_retry_budget(seed: u64, retries: u64) -> Self {
        Env::with_parts(seed, Some(retries))
    }

    fn with_parts(seed: u64, budget: Option<u64>) -> Self {
        let shared = Shared {
            now: AtomicU64::new(0),
            timers: Mutex::default(),
            seed: AtomicU64::new(seed),
            retries_left: budget.map(AtomicU64::new),
        };
        Env { shared: Arc::new(shared) }
    }

    fn timers(&self) -> MutexGuard<'_, Timers> {
        self.shared.timers.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The engine's time.
    pub fn now(&self) -> Instant {
        Instant::from_nanos(self.shared.now.load(Ordering::Acquire))
    }

    /// Moves the clock to `now` (never back) and wakes every future whose
    /// timer is due: what the stage's node does when the engine calls it.
    pub fn advance_to(&self, now: Instant) {
        self.shared.now.fetch_max(now.as_nanos(), Ordering::AcqRel);
        let now = self.now();
        let mut timers = self.timers();
        while let Some(entry) = timers.due.first_entry() {
            if entry.key().0 > now {
                break;
            }
            entry.remove().wake();
        }
    }

    /// The earliest instant a sleeping future waits for.
    pub fn next_timer(&self) -> Option<Instant> {
        self.timers().due.first_key_value().map(|((at, _), _)| *at)
    }

    /// A future that completes once the engine's time reaches `now() + for_`.
    pub fn sleep(&self, for_: Duration) -> Sleep {
        let nanos = u64::try_from(for_.as_nanos()).unwrap_or(u64::MAX);
        self.sleep_until(Instant::from_nanos(self.now().as_nanos().saturating_add(nanos)))
    }

    /// A future that completes once the engine's time reaches `deadline`.
    pub fn sleep_until(&self, deadline: Instant) -> Sleep {
        Sleep { env: self.clone(), deadline, registered: None }
    }

    /// The next number from the seeded generator (splitmix64): the same
    /// seed gives the same numbers in the same order.
    pub fn next_random(&self) -> u64 {
        let state = self.shared.seed.fetch_add(0x9E37_79B9_7F4A_7C15, Ordering::Relaxed);
        let mut z = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Takes one retry from the budget: false when it is spent (always
    /// true without a budget).
    pub(crate) fn take_retry(&self) -> bool {
        let Some(left) = &self.shared.retries_left else { return true };
        left.fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| n.checked_sub(1)).is_ok()
    }

    /// Retries left in the budget, if there is one.
    pub fn retries_left(&self) -> Option<u64> {
        self.shared.retries_left.as_ref().map(|left| left.load(Ordering::Acquire))
    }
}

/// A future that completes once the engine's time reaches its deadline
/// ([`Env::sleep`]). Dropped before then, it takes its timer back.
#[derive(Debug)]
#[must_use = "a sleep does nothing unless polled"]
pub struct Sleep {
    env: Env,
    deadline: Instant,
    /// Where its timer is, once polled.
    registered: Option<(Instant, u64)>,
}

impl Sleep {
    /// The instant it completes at.
    pub fn deadline(&self) -> Instant {
        self.deadline
    }
}

impl Future for Sleep {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, task: &mut TaskContext<'_>) -> Poll<()> {
        if self.env.now() >= self.deadline {
            if let Some(key) = self.registered.take() {
                self.env.timers().due.remove(&key);
            }
            return Poll::Ready(());
        }
        let env = self.env.clone();
        let mut timers = env.timers();
        let key = match self.registered {
            Some(key) => key,
            None => {
                let key = (self.deadline, timers.next_id);
                timers.next_id += 1;
                self.registered = Some(key);
                key
            }
        };
        // Registered anew if the engine fired it meanwhile (the time moved
        // to its deadline while this poll was on its way).
        timers.due.insert(key, task.waker().clone());
        Poll::Pending
    }
}

impl Drop for Sleep {
    fn drop(&mut self) {
        if let Some(key) = self.registered.take() {
            self.env.timers().due.remove(&key);
        }
    }
}
