//! Group boundaries for any accumulator: `ends_when` and `starts_when`.

use core::fmt;
use core::time::Duration;
use std::error::Error;

use bytes::Bytes;
use flux_core::{Accumulator, Completeness, EmitReason, Envelope};

/// Boundaries from predicates on the incoming payload, for any accumulator
/// (the closure ones above all, which have none of their own).
pub trait Boundaries: Accumulator + Sized {
    /// The group ends with the fragment whose payload `ends` accepts: it
    /// is merged, and the group is emitted as complete (a blank line that
    /// ends a multi-line record, say).
    ///
    /// ```
    /// use flux_accumulate::{AccumulateExt, Boundaries, Policy, collect};
    /// use flux_steps::Steps;
    /// use flux_core::{Pipeline, Runnable};
    /// use flux_test::{IterSource, VecSink};
    /// # use flux_engine_sync::SyncEngine;
    /// # use flux_plan::Planner;
    ///
    /// let out = VecSink::new();
    /// let pipeline = Pipeline::from_source(IterSource::new(["a", "b", "", "c", ""]))
    ///     .key_by(|_| "lines")
    ///     .accumulate(collect().ends_when(|line: &&str| line.is_empty()), Policy::default())
    ///     .sink(out.clone());
    /// # let plan = Planner::new().plan(pipeline.describe())?;
    /// # let _report = SyncEngine::new().run(&plan, pipeline)?;
    /// let records: Vec<Vec<&str>> = out.payloads().into_iter().map(|r| r.value).collect();
    /// assert_eq!(records, [vec!["a", "b", ""], vec!["c", ""]]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    fn ends_when<P>(self, ends: P) -> Bounded<Self, P, Never>
    where
        P: Fn(&Self::Fragment) -> bool + Send + 'static,
    {
        Bounded { acc: self, ends, starts: Never }
    }

    /// A new group starts with the fragment whose payload `starts`
    /// accepts: the open group is emitted as complete without it (a header
    /// line that begins the next record, say).
    fn starts_when<P>(self, starts: P) -> Bounded<Self, Never, P>
    where
        P: Fn(&Self::Fragment) -> bool + Send + 'static,
    {
        Bounded { acc: self, ends: Never, starts }
    }
}

impl<A: Accumulator> Boundaries for A {}

/// A predicate that never holds: the boundary not set.
#[derive(Clone, Copy, Debug, Default)]
pub struct Never;

/// A test of a fragment's payload: a closure, or [`Never`].
pub trait Boundary<T>: Send + 'static {
    /// Whether the payload is a boundary.
    fn holds(&self, payload: &T) -> bool;
}

impl<T> Boundary<T> for Never {
    #[inline(always)]
    fn holds(&self, _payload: &T) -> bool {
        false
    }
}

impl<T, F: Fn(&T) -> bool + Send + 'static> Boundary<T> for F {
    #[inline(always)]
    fn holds(&self, payload: &T) -> bool {
        self(payload)
    }
}

/// An accumulator with boundaries: see [`Boundaries`].
pub struct Bounded<A, E, S> {
    acc: A,
    ends: E,
    starts: S,
}

impl<A, E, S> Accumulator for Bounded<A, E, S>
where
    A: Accumulator,
    E: Boundary<A::Fragment>,
    S: Boundary<A::Fragment>,
{
    type Fragment = A::Fragment;
    type State = A::State;
    type Output = A::Output;

    #[inline]
    fn open(&mut self, key: &Bytes) -> A::State {
        self.acc.open(key)
    }

    #[inline]
    fn merge(
        &mut self,
        state: &mut A::State,
        fragment: Envelope<A::Fragment>,
    ) -> Result<(), Box<dyn Error + Send + Sync>> {
        self.acc.merge(state, fragment)
    }

    #[inline]
    fn completeness(&self, state: &A::State) -> Completeness {
        self.acc.completeness(state)
    }

    #[inline]
    fn close(&mut self, key: Bytes, state: A::State, reason: EmitReason) -> A::Output {
        self.acc.close(key, state, reason)
    }

    fn state_bytes(&self, state: &A::State) -> usize {
        self.acc.state_bytes(state)
    }

    #[inline]
    fn closes_group(&self, fragment: &Envelope<A::Fragment>) -> bool {
        self.ends.holds(fragment.payload()) || self.acc.closes_group(fragment)
    }

    #[inline]
    fn starts_group(&self, fragment: &Envelope<A::Fragment>) -> bool {
        self.starts.holds(fragment.payload()) || self.acc.starts_group(fragment)
    }

    #[inline]
    fn completes_all(&self, fragment: &Envelope<A::Fragment>) -> Option<flux_core::CompleteAll> {
        self.acc.completes_all(fragment)
    }

    fn max_items_for(&self, state: &A::State) -> Option<u64> {
        self.acc.max_items_for(state)
    }

    fn max_bytes_for(&self, state: &A::State) -> Option<u64> {
        self.acc.max_bytes_for(state)
    }

    fn ttl_for(&self, state: &A::State) -> Option<Duration> {
        self.acc.ttl_for(state)
    }

    fn linger_for(&self, state: &A::State) -> Option<Duration> {
        self.acc.linger_for(state)
    }

    fn encode_state(&self, state: &A::State, out: &mut Vec<u8>) -> bool {
        self.acc.encode_state(state, out)
    }

    fn decode_state(&mut self, key: &Bytes, encoded: &[u8]) -> Result<A::State, Box<dyn Error + Send + Sync>> {
        self.acc.decode_state(key, encoded)
    }
}

impl<A: fmt::Debug, E, S> fmt::Debug for Bounded<A, E, S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Bounded").field("acc", &self.acc).finish_non_exhaustive()
    }
}
