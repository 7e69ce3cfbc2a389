//! `reduce(f)`: each group's first payload, then `f` over the rest.

use core::fmt;
use core::marker::PhantomData;
use std::error::Error;

use bytes::Bytes;
use flux_core::{Accumulator, Completeness, EmitReason, Envelope};

use super::Keyed;

/// An accumulator whose group value is its first payload, each later one
/// combined into it with `f`; the record is the group's key and value.
///
/// # Examples
///
/// The largest reading per sensor:
///
/// ```
/// use flux_accumulate::{AccumulateExt, Keyed, Policy, reduce};
/// use flux_steps::Steps;
/// use flux_core::{Pipeline, Runnable};
/// use flux_test::{IterSource, VecSink};
/// # use flux_engine_sync::SyncEngine;
/// # use flux_plan::Planner;
///
/// let out = VecSink::new();
/// let pipeline = Pipeline::from_source(IterSource::new([("t1", 20), ("t1", 23), ("t1", 21)]))
///     .key_by(|(sensor, _)| *sensor)
///     .map(|(_, reading)| reading)
///     .accumulate(reduce(|max: i32, reading: i32| max.max(reading)), Policy::default())
///     .sink(out.clone());
/// # let plan = Planner::new().plan(pipeline.describe())?;
/// # let _report = SyncEngine::new().run(&plan, pipeline)?;
/// assert_eq!(out.payloads(), [Keyed { key: "t1".into(), value: 23 }]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn reduce<T, F>(f: F) -> Reduce<T, F>
where
    F: FnMut(T, T) -> T,
{
    Reduce { f, _fragment: PhantomData }
}

/// The accumulator [`reduce`] makes.
pub struct Reduce<T, F> {
    f: F,
    _fragment: PhantomData<fn(T)>,
}

impl<T, F> Accumulator for Reduce<T, F>
where
    T: Send + 'static,
    F: FnMut(T, T) -> T + Send + 'static,
{
    type Fragment = T;
    type State = Option<T>;
    type Output = Keyed<T>;

    #[inline]
    fn open(&mut self, _key: &Bytes) -> Option<T> {
        None
    }

    #[inline]
    fn merge(&mut self, state: &mut Option<T>, fragment: Envelope<T>) -> Result<(), Box<dyn Error + Send + Sync>> {
        let item = fragment.into_payload();
        *state = Some(match state.take() {
            Some(value) => (self.f)(value, item),
            None => item,
        });
        Ok(())
    }

    #[inline]
    fn completeness(&self, _state: &Option<T>) -> Completeness {
        Completeness::EMPTY
    }

    fn close(&mut self, key: Bytes, state: Option<T>, _reason: EmitReason) -> Keyed<T> {
        // A group is emitted only once a fragment has merged into it (a
        // group whose only merge panicked is discarded, not emitted).
        let value = state.expect("an emitted group has merged at least one fragment");
        Keyed { key, value }
    }
}

impl<T, F> fmt::Debug for Reduce<T, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Reduce")
    }
}
