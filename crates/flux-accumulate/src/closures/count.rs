//! `count()`: how many fragments each group received.

use core::fmt;
use core::marker::PhantomData;
use std::error::Error;

use bytes::Bytes;
use flux_core::{Accumulator, Completeness, EmitReason, Envelope};

use super::Keyed;

/// An accumulator that counts each group's fragments; the record is the
/// group's key and its count.
///
/// # Examples
///
/// ```
/// use flux_accumulate::{AccumulateExt, Keyed, Policy, count};
/// use flux_steps::Steps;
/// use flux_core::{Pipeline, Runnable};
/// use flux_test::{IterSource, VecSink};
/// # use flux_engine_sync::SyncEngine;
/// # use flux_plan::Planner;
///
/// let out = VecSink::new();
/// let pipeline = Pipeline::from_source(IterSource::new(["GET", "PUT", "GET"]))
///     .key_by(|verb| *verb)
///     .accumulate(count(), Policy::default())
///     .sink(out.clone());
/// # let plan = Planner::new().plan(pipeline.describe())?;
/// # let _report = SyncEngine::new().run(&plan, pipeline)?;
/// assert_eq!(out.payloads(), [Keyed { key: "GET".into(), value: 2 }, Keyed { key: "PUT".into(), value: 1 }]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn count<T>() -> Count<T> {
    Count { _fragment: PhantomData }
}

/// The accumulator [`count`] makes.
pub struct Count<T> {
    _fragment: PhantomData<fn(T)>,
}

impl<T: 'static> Accumulator for Count<T> {
    type Fragment = T;
    type State = u64;
    type Output = Keyed<u64>;

    #[inline]
    fn open(&mut self, _key: &Bytes) -> u64 {
        0
    }

    #[inline]
    fn merge(&mut self, count: &mut u64, _fragment: Envelope<T>) -> Result<(), Box<dyn Error + Send + Sync>> {
        *count += 1;
        Ok(())
    }

    #[inline]
    fn completeness(&self, _count: &u64) -> Completeness {
        Completeness::EMPTY
    }

    #[inline]
    fn close(&mut self, key: Bytes, value: u64, _reason: EmitReason) -> Keyed<u64> {
        Keyed { key, value }
    }
}

impl<T> fmt::Debug for Count<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Count")
    }
}
