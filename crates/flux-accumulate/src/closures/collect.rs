//! `collect()`: each group's payloads, in arrival order.

use core::fmt;
use core::marker::PhantomData;
use std::error::Error;

use bytes::Bytes;
use flux_core::{Accumulator, Completeness, EmitReason, Envelope};

use super::Keyed;

/// An accumulator that gathers each group's payloads into a `Vec`, in
/// arrival order; the record is the group's key and the `Vec`.
///
/// # Examples
///
/// ```
/// use flux_accumulate::{AccumulateExt, Keyed, Policy, collect};
/// use flux_steps::Steps;
/// use flux_core::{Pipeline, Runnable};
/// use flux_test::{IterSource, VecSink};
/// # use flux_engine_sync::SyncEngine;
/// # use flux_plan::Planner;
///
/// let out = VecSink::new();
/// let pipeline = Pipeline::from_source(IterSource::new([("a", 1), ("b", 2), ("a", 3)]))
///     .key_by(|(key, _)| *key)
///     .map(|(_, n)| n)
///     .accumulate(collect(), Policy::builder().max_items(2).build()?)
///     .sink(out.clone());
/// # let plan = Planner::new().plan(pipeline.describe())?;
/// # let _report = SyncEngine::new().run(&plan, pipeline)?;
/// assert_eq!(out.payloads(), [Keyed { key: "a".into(), value: vec![1, 3] }, Keyed { key: "b".into(), value: vec![2] }]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn collect<T>() -> Collect<T> {
    Collect { _fragment: PhantomData }
}

/// The accumulator [`collect`] makes.
pub struct Collect<T> {
    _fragment: PhantomData<fn(T)>,
}

impl<T: Send + 'static> Accumulator for Collect<T> {
    type Fragment = T;
    type State = Vec<T>;
    type Output = Keyed<Vec<T>>;

    #[inline]
    fn open(&mut self, _key: &Bytes) -> Vec<T> {
        Vec::new()
    }

    #[inline]
    fn merge(&mut self, items: &mut Vec<T>, fragment: Envelope<T>) -> Result<(), Box<dyn Error + Send + Sync>> {
        items.push(fragment.into_payload());
        Ok(())
    }

    #[inline]
    fn completeness(&self, _items: &Vec<T>) -> Completeness {
        Completeness::EMPTY
    }

    #[inline]
    fn close(&mut self, key: Bytes, value: Vec<T>, _reason: EmitReason) -> Keyed<Vec<T>> {
        Keyed { key, value }
    }

    fn state_bytes(&self, items: &Vec<T>) -> usize {
        core::mem::size_of::<Vec<T>>() + items.capacity() * core::mem::size_of::<T>()
    }
}

impl<T> fmt::Debug for Collect<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Collect")
    }
}
