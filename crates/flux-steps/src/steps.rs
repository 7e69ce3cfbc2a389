//! `Steps`: the builder's stateless steps, as methods of a [`Pipeline`].

use std::error::Error;

use flux_core::{Chain, Envelope, Instant, Meta, Pipeline, Source, Stack, Stage, StageId};

use crate::{
    EventTimeFrom, Filter, FlatMap, Inspect, KeyFrom, Map, OnPayload, SetMeta, SplitKey, StageLayer, TryMap, WithMeta,
};

/// The pipeline `Pipeline<S, C>` becomes once layer `L` is added.
type Then<S, C, L> = Pipeline<S, Stack<C, L>>;

/// The id a step gets by default: its method's name and its position.
fn next_id<In, C: Chain<In>>(kind: &str) -> StageId {
    StageId::new(format!("{kind}-{}", C::LEN + 1))
}

/// The builder's stateless steps. Each appends one stage to the pipeline,
/// with an id made of the method's name and its position (`map-1`), which
/// [`Pipeline::named`] changes.
pub trait Steps<S: Source, C: Chain<S::Item>>: Sized {
    /// Transforms each payload; metadata is kept.
    fn map<F, U>(self, f: F) -> Then<S, C, Map<OnPayload<F>, C::Out>>
    where
        F: FnMut(C::Out) -> U + Send + 'static,
        U: Send + 'static;

    /// Transforms each payload, reading its metadata (key, event time,
    /// headers) as well; metadata is kept.
    ///
    /// ```
    /// use flux_core::Pipeline;
    /// use flux_steps::Steps;
    /// use flux_test::{IterSource, VecSink};
    ///
    /// let out = VecSink::new();
    /// let p = Pipeline::from_source(IterSource::new(["a", "b"]))
    ///     .map_with_meta(|s: &str, meta| format!("{s}@{}", meta.sequence))
    ///     .sink(out.clone());
    /// # let _ = p;
    /// ```
    fn map_with_meta<F, U>(self, f: F) -> Then<S, C, Map<WithMeta<F>, C::Out>>
    where
        F: FnMut(C::Out, &Meta) -> U + Send + 'static,
        U: Send + 'static;

    /// Keeps the envelopes whose payload satisfies `f`; the rest are counted drops.
    fn filter<F>(self, f: F) -> Then<S, C, Filter<OnPayload<F>, C::Out>>
    where
        F: FnMut(&C::Out) -> bool + Send + 'static;

    /// Keeps the envelopes that `f` accepts, reading their metadata as
    /// well (route on a header such as an accumulated record's reason);
    /// the rest are counted drops.
    fn filter_with_meta<F>(self, f: F) -> Then<S, C, Filter<WithMeta<F>, C::Out>>
    where
        F: FnMut(&C::Out, &Meta) -> bool + Send + 'static;

    /// Sets each envelope's key from its payload, which is kept: what a
    /// keyed stage (`accumulate`) groups by. A key is anything that is
    /// [`IntoKey`](crate::IntoKey): bytes, text or an integer; a slice of
    /// a `Bytes` payload costs a reference count, not a copy.
    ///
    /// ```
    /// use bytes::Bytes;
    /// use flux_steps::Steps;
    /// use flux_core::Pipeline;
    /// use flux_test::{IterSource, VecSink};
    ///
    /// let out = VecSink::new();
    /// let p = Pipeline::from_source(IterSource::new([Bytes::from_static(b"alice,3")]))
    ///     .key_by(|line: &Bytes| line.slice(..5))
    ///     .sink(out.clone());
    /// # let _ = p;
    /// ```
    fn key_by<F, K>(self, f: F) -> Then<S, C, SetMeta<KeyFrom<F>, C::Out>>
    where
        F: FnMut(&C::Out) -> K + Send + 'static,
        K: crate::IntoKey;

    /// Splits each payload into its key and the payload that goes on: the
    /// key is moved into the metadata, not copied out of the payload, so
    /// keying costs neither a copy nor a reference count. Where `key_by`
    /// keeps the payload whole and clones its key from it, `split_key`
    /// suits a record whose key the later stages no longer need in the
    /// payload (a user and an amount, summed per user).
    ///
    /// ```
    /// use bytes::Bytes;
    /// use flux_core::{Pipeline, Runnable};
    /// use flux_steps::Steps;
    /// use flux_test::{IterSource, VecSink};
    ///
    /// let out = VecSink::new();
    /// let p = Pipeline::from_source(IterSource::new([(Bytes::from_static(b"ann"), 3u64)]))
    ///     .split_key(|(user, amount)| (user, amount))
    ///     .sink(out.clone());
    /// assert_eq!(p.describe()[1].id.as_str(), "split_key-1");
    /// ```
    fn split_key<F, K, U>(self, f: F) -> Then<S, C, SplitKey<F, C::Out>>
    where
        F: FnMut(C::Out) -> (K, U) + Send + 'static,
        K: crate::IntoKey,
        U: Send + 'static;

    /// Sets each envelope's event time from its payload, which is kept:
    /// what watermarks and event-time windows read.
    fn event_time<F>(self, f: F) -> Then<S, C, SetMeta<EventTimeFrom<F>, C::Out>>
    where
        F: FnMut(&C::Out) -> Instant + Send + 'static;

    /// Turns each payload into zero or more, each emitted as it is produced.
    ///
    /// ```
    /// use flux_core::Pipeline;
    /// use flux_steps::Steps;
    /// use flux_test::{IterSource, VecSink};
    ///
    /// let out = VecSink::new();
    /// let p = Pipeline::from_source(IterSource::new(["a b", "", "c"]))
    ///     .flat_map(|line: &str| line.split_whitespace().map(str::to_owned).collect::<Vec<_>>())
    ///     .sink(out.clone());
    /// # let _ = p;
    /// ```
    fn flat_map<F, I>(self, f: F) -> Then<S, C, FlatMap<F, C::Out>>
    where
        F: FnMut(C::Out) -> I + Send + 'static,
        I: IntoIterator,
        I::Item: Send + 'static;

    /// Transforms each payload fallibly; an `Err` sends the input to the
    /// dead-letter output with its metadata and this stage's id.
    fn try_map<F, U, E>(self, f: F) -> Then<S, C, TryMap<F, C::Out>>
    where
        F: FnMut(C::Out) -> Result<U, E> + Send + 'static,
        U: Send + 'static,
        E: Into<Box<dyn Error + Send + Sync>>;

    /// Calls `f` on each envelope as it passes, unchanged.
    fn inspect<F>(self, f: F) -> Then<S, C, Inspect<F, C::Out>>
    where
        F: FnMut(&Envelope<C::Out>) + Send + 'static;

    /// Appends a user [`Stage`].
    fn stage<T>(self, stage: T) -> Then<S, C, StageLayer<T, C::Out>>
    where
        T: Stage<C::Out> + 'static,
        T::Out: Send + 'static;
}

impl<S, C> Steps<S, C> for Pipeline<S, C>
where
    S: Source + 'static,
    S::Item: Send + 'static,
    C: Chain<S::Item>,
    C::Out: Send + 'static,
{
    fn map<F, U>(self, f: F) -> Then<S, C, Map<OnPayload<F>, C::Out>>
    where
        F: FnMut(C::Out) -> U + Send + 'static,
        U: Send + 'static,
    {
        let id = next_id::<S::Item, C>("map");
        self.layer(Map::new(OnPayload(f), id))
    }

    fn map_with_meta<F, U>(self, f: F) -> Then<S, C, Map<WithMeta<F>, C::Out>>
    where
        F: FnMut(C::Out, &Meta) -> U + Send + 'static,
        U: Send + 'static,
    {
        let id = next_id::<S::Item, C>("map");
        self.layer(Map::new(WithMeta(f), id))
    }

    fn filter<F>(self, f: F) -> Then<S, C, Filter<OnPayload<F>, C::Out>>
    where
        F: FnMut(&C::Out) -> bool + Send + 'static,
    {
        let id = next_id::<S::Item, C>("filter");
        self.layer(Filter::new(OnPayload(f), id))
    }

    fn filter_with_meta<F>(self, f: F) -> Then<S, C, Filter<WithMeta<F>, C::Out>>
    where
        F: FnMut(&C::Out, &Meta) -> bool + Send + 'static,
    {
        let id = next_id::<S::Item, C>("filter");
        self.layer(Filter::new(WithMeta(f), id))
    }

    fn key_by<F, K>(self, f: F) -> Then<S, C, SetMeta<KeyFrom<F>, C::Out>>
    where
        F: FnMut(&C::Out) -> K + Send + 'static,
        K: crate::IntoKey,
    {
        let id = next_id::<S::Item, C>("key_by");
        self.layer(SetMeta::new(KeyFrom::new(f), id))
    }

    fn split_key<F, K, U>(self, f: F) -> Then<S, C, SplitKey<F, C::Out>>
    where
        F: FnMut(C::Out) -> (K, U) + Send + 'static,
        K: crate::IntoKey,
        U: Send + 'static,
    {
        let id = next_id::<S::Item, C>("split_key");
        self.layer(SplitKey::new(f, id))
    }

    fn event_time<F>(self, f: F) -> Then<S, C, SetMeta<EventTimeFrom<F>, C::Out>>
    where
        F: FnMut(&C::Out) -> Instant + Send + 'static,
    {
        let id = next_id::<S::Item, C>("event_time");
        self.layer(SetMeta::new(EventTimeFrom(f), id))
    }

    fn flat_map<F, I>(self, f: F) -> Then<S, C, FlatMap<F, C::Out>>
    where
        F: FnMut(C::Out) -> I + Send + 'static,
        I: IntoIterator,
        I::Item: Send + 'static,
    {
        let id = next_id::<S::Item, C>("flat_map");
        self.layer(FlatMap::new(f, id))
    }

    fn try_map<F, U, E>(self, f: F) -> Then<S, C, TryMap<F, C::Out>>
    where
        F: FnMut(C::Out) -> Result<U, E> + Send + 'static,
        U: Send + 'static,
        E: Into<Box<dyn Error + Send + Sync>>,
    {
        let id = next_id::<S::Item, C>("try_map");
        self.layer(TryMap::new(f, id))
    }

    fn inspect<F>(self, f: F) -> Then<S, C, Inspect<F, C::Out>>
    where
        F: FnMut(&Envelope<C::Out>) + Send + 'static,
    {
        let id = next_id::<S::Item, C>("inspect");
        self.layer(Inspect::new(f, id))
    }

    /// Appends a user [`Stage`].
    fn stage<T>(self, stage: T) -> Then<S, C, StageLayer<T, C::Out>>
    where
        T: Stage<C::Out> + 'static,
        T::Out: Send + 'static,
    {
        let id = next_id::<S::Item, C>("stage");
        self.layer(StageLayer::new(stage, id))
    }
}
