//! Stopping a run from outside: a handle, and how much to wait for.

use std::sync::Arc;

use tokio::sync::watch;

/// How a run stops.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub enum Stop {
    /// Running: nothing asked it to stop.
    #[default]
    Running,
    /// Graceful drain: the source is not pulled again, what is inside the
    /// pipeline goes through to the sinks, and stages that wait for their
    /// timers at the end of input (an accumulator's `AtEnd::WaitForTimers`)
    /// still get them.
    Drain,
    /// Drain at once: as [`Stop::Drain`], but no timer is waited for: open
    /// groups and half-full batches go out now, as at the end of input
    /// under `AtEnd::Flush`. What a failure does.
    Now,
}

/// Stops runs from outside them: from another task, a signal handler, a
/// shutdown hook. Clones share one signal, and a signal only escalates
/// (a [`Stop::Now`] after a [`Stop::Drain`] hurries the drain; a `Drain`
/// after `Now` changes nothing).
///
/// Give it to [`AsyncEngine::stop_with`](crate::AsyncEngine::stop_with);
/// a run it stops ends with `Ok` and its report says so
/// ([`RunReport::stopped`](crate::RunReport::stopped)).
///
/// # Examples
///
/// ```
/// use flux_engine_async::{Stop, StopHandle};
///
/// let handle = StopHandle::new();
/// assert_eq!(handle.requested(), Stop::Running);
/// handle.stop(Stop::Now);
/// handle.clone().stop(Stop::Drain);
/// assert_eq!(handle.requested(), Stop::Now, "a signal only escalates");
/// ```
#[derive(Clone, Debug, Default)]
pub struct StopHandle {
    signal: Arc<watch::Sender<Stop>>,
}

impl StopHandle {
    /// A handle no one has signalled yet.
    pub fn new() -> Self {
        StopHandle { signal: Arc::new(watch::channel(Stop::Running).0) }
    }

    /// Asks every run watching this handle to stop `how`.
    pub fn stop(&self, how: Stop) {
        raise(&self.signal, how);
    }

    /// The strongest stop asked for so far.
    pub fn requested(&self) -> Stop {
        *self.signal.borrow()
    }

    pub(crate) fn subscribe(&self) -> watch::Receiver<Stop> {
        self.signal.subscribe()
    }
}

/// Escalates `signal` to `how`, if `how` is stronger.
pub(crate) fn raise(signal: &watch::Sender<Stop>, how: Stop) {
    signal.send_if_modified(|current| {
        let stronger = how > *current;
        if stronger {
            *current = how;
        }
        stronger
    });
}
