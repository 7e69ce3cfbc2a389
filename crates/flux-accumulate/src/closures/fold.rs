//! `fold(init, f)`: each group starts at `init` and folds its fragments in.

use core::fmt;
use core::marker::PhantomData;
use std::error::Error;

use bytes::Bytes;
use flux_core::{Accumulator, Completeness, EmitReason, Envelope};

use super::Keyed;

/// An accumulator that starts each group at a clone of `init` and folds
/// each fragment's payload into it with `f`. The record is the group's key
/// and its value ([`Keyed`]).
///
/// # Examples
///
/// Sum an amount per user:
///
/// ```
/// use flux_accumulate::{AccumulateExt, Keyed, Policy, fold};
/// use flux_steps::Steps;
/// use flux_core::{Pipeline, Runnable};
/// use flux_test::{IterSource, VecSink};
/// # use flux_engine_sync::SyncEngine;
/// # use flux_plan::Planner;
///
/// let out = VecSink::new();
/// let pipeline = Pipeline::from_source(IterSource::new([("ann", 3), ("bob", 4), ("ann", 5)]))
///     .key_by(|(user, _)| *user)
///     .map(|(_, amount)| amount)
///     .accumulate(fold(0, |sum: &mut u64, amount| *sum += amount), Policy::default())
///     .sink(out.clone());
/// # let plan = Planner::new().plan(pipeline.describe())?;
/// # let _report = SyncEngine::new().run(&plan, pipeline)?;
/// let sums: Vec<Keyed<u64>> = out.payloads();
/// assert_eq!(sums, [Keyed { key: "ann".into(), value: 8 }, Keyed { key: "bob".into(), value: 4 }]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn fold<T, S, F>(init: S, f: F) -> Fold<T, S, F>
where
    F: FnMut(&mut S, T),
{
    Fold { init, f, _fragment: PhantomData }
}

/// The accumulator [`fold`] makes.
pub struct Fold<T, S, F> {
    init: S,
    f: F,
    _fragment: PhantomData<fn(T)>,
}

impl<T, S, F> Accumulator for Fold<T, S, F>
where
    T: 'static,
    S: Clone + Send + 'static,
    F: FnMut(&mut S, T) + Send + 'static,
{
    type Fragment = T;
    type State = S;
    type Output = Keyed<S>;

    #[inline]
    fn open(&mut self, _key: &Bytes) -> S {
        self.init.clone()
    }

    #[inline]
    fn merge(&mut self, state: &mut S, fragment: Envelope<T>) -> Result<(), Box<dyn Error + Send + Sync>> {
        (self.f)(state, fragment.into_payload());
        Ok(())
    }

    #[inline]
    fn completeness(&self, _state: &S) -> Completeness {
        Completeness::EMPTY
    }

    #[inline]
    fn close(&mut self, key: Bytes, value: S, _reason: EmitReason) -> Keyed<S> {
        Keyed { key, value }
    }
}

impl<T, S: fmt::Debug, F> fmt::Debug for Fold<T, S, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Fold").field("init", &self.init).finish_non_exhaustive()
    }
}
