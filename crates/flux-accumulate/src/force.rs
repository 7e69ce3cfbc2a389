//! Completing every open group on request: the application's handle.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::Waker;

/// A handle that completes every open group of one accumulating stage
/// (reason [`Forced`](flux_core::EmitReason::Forced)), held by the
/// application: for an operator's "flush now", or a batch boundary the
/// data does not mark. Take it from [`Accumulate::force_handle`](crate::Accumulate::force_handle)
/// before the pipeline runs; clones share the stage.
///
/// A request takes effect at the stage's next call from its engine: before
/// the next fragment or batch it takes, or at once when it is idle (the
/// handle wakes the engine, which asks the stage for its timers). Groups go
/// out in the order of a flush, by deadline then first arrival. Requests
/// made before one takes effect count as one.
///
/// # Examples
///
/// ```
/// use flux_accumulate::{Accumulate, Policy, count};
///
/// let mut layer = Accumulate::new(count::<u32>(), Policy::default());
/// let force = layer.force_handle();
/// assert_eq!(force.requested(), 0);
/// force.complete_all();
/// assert_eq!(force.requested(), 1);
/// ```
#[derive(Clone, Debug, Default)]
pub struct ForceComplete {
    shared: Arc<Shared>,
}

#[derive(Debug, Default)]
pub(crate) struct Shared {
    /// Requests made so far; the stage remembers the count it last served.
    requests: AtomicU64,
    /// The engine task that runs the stage, woken by a request.
    waker: Mutex<Option<Waker>>,
}

impl ForceComplete {
    /// Asks the stage to complete every open group.
    pub fn complete_all(&self) {
        // Release: the stage that sees the new count sees what the caller
        // did before asking.
        self.shared.requests.fetch_add(1, Ordering::Release);
        let waker = self.shared.waker.lock().unwrap_or_else(PoisonError::into_inner).clone();
        if let Some(waker) = waker {
            waker.wake();
        }
    }

    /// How many requests have been made.
    pub fn requested(&self) -> u64 {
        self.shared.requests.load(Ordering::Acquire)
    }

    pub(crate) fn shared(&self) -> Arc<Shared> {
        self.shared.clone()
    }
}

/// The stage's side of the handle: the requests it has served.
#[derive(Debug)]
pub(crate) struct ForceRequests {
    shared: Arc<Shared>,
    served: u64,
}

impl ForceRequests {
    pub(crate) fn new(shared: Arc<Shared>) -> Self {
        ForceRequests { shared, served: 0 }
    }

    /// Whether a request has come since the last one served.
    pub(crate) fn pending(&self) -> bool {
        self.shared.requests.load(Ordering::Acquire) != self.served
    }

    /// Marks every request so far as served; true if there was one.
    pub(crate) fn take(&mut self) -> bool {
        let now = self.shared.requests.load(Ordering::Acquire);
        core::mem::replace(&mut self.served, now) != now
    }

    /// Keeps the engine's waker, so that a request wakes an idle stage.
    pub(crate) fn register(&self, waker: &Waker) {
        // A call with no engine task behind it (a stage driven by hand)
        // must not replace the engine's waker.
        if waker.will_wake(Waker::noop()) {
            return;
        }
        let mut slot = self.shared.waker.lock().unwrap_or_else(PoisonError::into_inner);
        if !slot.as_ref().is_some_and(|held| held.will_wake(waker)) {
            *slot = Some(waker.clone());
        }
    }
}
