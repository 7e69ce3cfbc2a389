//! The builder step: `Pipeline::accumulate(..)` and the layer behind it.

use core::fmt;
use core::marker::PhantomData;

use flux_core::{
    Accumulator, Chain, Layer, Pipeline, Purity, Push, Source, Stack, StageDescriptor, StageId, StageKind,
};

use crate::{
    AccumulateNode, AccumulatorStats, FileSpill, ForceComplete, Fragments, Policy, Records, Release, SpillStrategy,
};

/// The [`Layer`] of an accumulating stage: an [`Accumulator`], a [`Policy`]
/// and a spill strategy ([`FileSpill`] unless replaced; it makes no file
/// until a group spills).
///
/// Build one to set a spill strategy or keep a [`AccumulatorStats`] handle,
/// then add it with [`AccumulateExt::accumulate_with`]; for the common case
/// [`AccumulateExt::accumulate`] builds it for you.
pub struct Accumulate<A, R = Records> {
    acc: A,
    policy: Policy,
    strategy: Box<dyn SpillStrategy>,
    id: StageId,
    stats: AccumulatorStats,
    force: Option<ForceComplete>,
    _release: PhantomData<fn() -> R>,
}

impl<A: Accumulator> Accumulate<A> {
    /// A stage merging with `acc` under `policy`.
    pub fn new(acc: A, policy: Policy) -> Self {
        Accumulate {
            acc,
            policy,
            strategy: Box::new(FileSpill::new()),
            id: StageId::from_static("accumulate"),
            stats: AccumulatorStats::default(),
            force: None,
            _release: PhantomData,
        }
    }

    /// Re-emits a group's original fragments instead of a partial record:
    /// a group cut short ([`EmitReason::is_whole`](flux_core::EmitReason::is_whole)
    /// is false: a size or time limit, a watermark, an eviction, the end of
    /// input) sends each of its
    /// fragments downstream as [`Emitted::Fragment`](crate::Emitted), as it
    /// arrived and in arrival order; a whole group is still one
    /// [`Emitted::Record`](crate::Emitted).
    ///
    /// Each fragment is cloned before it is merged (a `Bytes` payload or
    /// key costs a reference count, not a copy) and the clones stay with
    /// their group in memory (spilling moves only the merged state), so
    /// they hold the buffers they slice until the group ends. The ledger
    /// counts each re-emitted fragment as released from the merge and as
    /// one output created by the stage.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::error::Error;
    ///
    /// use bytes::Bytes;
    /// use flux_accumulate::{Accumulate, AccumulateExt, Emitted, Policy};
    /// use flux_core::*;
    /// use flux_test::{TimedSource, VecSink};
    /// use flux_engine_sync::SyncEngine;
    /// use flux_plan::Planner;
    ///
    /// /// Pairs: complete at two fragments.
    /// struct Pair;
    /// impl Accumulator for Pair {
    ///     type Fragment = &'static str;
    ///     type State = Vec<&'static str>;
    ///     type Output = String;
    ///     fn open(&mut self, _: &Bytes) -> Self::State { Vec::new() }
    ///     fn merge(&mut self, s: &mut Self::State, f: Envelope<&'static str>) -> Result<(), Box<dyn Error + Send + Sync>> {
    ///         s.push(f.into_payload());
    ///         Ok(())
    ///     }
    ///     fn completeness(&self, s: &Self::State) -> Completeness { Completeness::new(s.len() as f32 / 2.0) }
    ///     fn close(&mut self, _: Bytes, s: Self::State, _: EmitReason) -> String { s.join("+") }
    /// }
    ///
    /// let keyed = |k: &'static str, v| (Instant::ZERO, Envelope::new(v).with_key(Bytes::from_static(k.as_bytes())));
    /// let out = VecSink::new();
    /// let pipeline = Pipeline::from_source(TimedSource::new(vec![keyed("a", "a1"), keyed("b", "b1"), keyed("a", "a2")]))
    ///     .accumulate_with(Accumulate::new(Pair, Policy::default()).reemit_fragments())
    ///     .sink(out.clone());
    /// let plan = Planner::new().plan(pipeline.describe()).unwrap();
    /// let report = SyncEngine::new().run(&plan, pipeline).unwrap();
    /// assert_eq!(report.row("accumulate-1").unwrap().counts.released, 3);
    ///
    /// let got = out.payloads();
    /// assert_eq!(got[0], Emitted::Record("a1+a2".to_owned()));
    /// // "b" never found its pair: at end of input its fragment comes back as it was.
    /// assert_eq!(got[1], Emitted::Fragment { fragment: "b1", reason: EmitReason::EndOfStream });
    /// ```
    pub fn reemit_fragments(self) -> Accumulate<A, Fragments>
    where
        A::Fragment: Clone + Send,
    {
        Accumulate {
            acc: self.acc,
            policy: self.policy,
            strategy: self.strategy,
            id: self.id,
            stats: self.stats,
            force: self.force,
            _release: PhantomData,
        }
    }
}

impl<A: Accumulator, R> Accumulate<A, R> {
    /// Replaces the spill strategy (used only when the policy spills).
    #[must_use]
    pub fn spill_strategy(mut self, strategy: impl SpillStrategy + 'static) -> Self {
        self.strategy = Box::new(strategy);
        self
    }

    /// A handle on the stage's live figures: pending keys and bytes for
    /// backpressure, spills, restores, evictions.
    pub fn stats(&self) -> AccumulatorStats {
        self.stats.clone()
    }

    /// A handle that completes every open group on request
    /// ([`ForceComplete`]); each call hands out a clone of the same one.
    pub fn force_handle(&mut self) -> ForceComplete {
        self.force.get_or_insert_with(ForceComplete::default).clone()
    }

    /// The policy.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }
}

impl<A, R> fmt::Debug for Accumulate<A, R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Accumulate")
            .field("id", &self.id)
            .field("accumulator", &core::any::type_name::<A>())
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

impl<A, R> Layer<A::Fragment> for Accumulate<A, R>
where
    A: Accumulator,
    R: Release<A>,
{
    type Out = R::Out;
    type Node<D: Push<R::Out> + 'static> = AccumulateNode<A, D, R>;

    fn descriptor(&self) -> StageDescriptor {
        let per_key = core::mem::size_of::<A::State>() as u64 + 96;
        let memory = match (self.policy.spill, self.policy.key_limit) {
            (Some(spill), _) => spill.resident_bytes,
            (None, Some(limit)) => per_key.saturating_mul(limit.max_keys as u64),
            (None, None) => 0,
        };
        let window = self.policy.watermark.map(|w| w.window + w.out_of_orderness + w.allowed_lateness);
        let latency = [self.policy.latency_bound(), window].into_iter().flatten().min();
        StageDescriptor::new(self.id.as_str().to_owned(), StageKind::Accumulate, Purity::Stateful)
            .with_types(core::any::type_name::<A::Fragment>(), core::any::type_name::<R::Out>())
            .with_memory_hint(memory)
            .with_latency_hint_ns(latency.map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)))
    }

    fn set_id(&mut self, id: StageId) {
        self.id = id;
    }

    fn into_node<D: Push<R::Out> + 'static>(self, next: D) -> AccumulateNode<A, D, R> {
        let force = self.force.map(|handle| crate::force::ForceRequests::new(handle.shared()));
        AccumulateNode::new(self.acc, self.policy, self.strategy, self.id, self.stats, next).with_force(force)
    }
}

/// Adds `accumulate` to [`Pipeline`].
///
/// The stage's id is `accumulate-N` (N its position), renamed with
/// [`Pipeline::named`] like any other.
pub trait AccumulateExt<S: Source, C: Chain<S::Item>>: Sized {
    /// Merges keyed fragments with `acc` under `policy`; emits one record
    /// per finished group.
    fn accumulate<A>(self, acc: A, policy: Policy) -> Pipeline<S, Stack<C, Accumulate<A>>>
    where
        A: Accumulator<Fragment = C::Out>,
        A::Output: Send + 'static,
    {
        self.accumulate_with(Accumulate::new(acc, policy))
    }

    /// Adds a prepared [`Accumulate`] layer (a spill strategy, a stats
    /// handle, fragments re-emitted).
    fn accumulate_with<A, R>(self, layer: Accumulate<A, R>) -> Pipeline<S, Stack<C, Accumulate<A, R>>>
    where
        A: Accumulator<Fragment = C::Out>,
        R: Release<A>,
        R::Out: Send + 'static;
}

impl<S, C> AccumulateExt<S, C> for Pipeline<S, C>
where
    S: Source + 'static,
    S::Item: Send + 'static,
    C: Chain<S::Item>,
    C::Out: Send + 'static,
{
    fn accumulate_with<A, R>(self, mut layer: Accumulate<A, R>) -> Pipeline<S, Stack<C, Accumulate<A, R>>>
    where
        A: Accumulator<Fragment = C::Out>,
        R: Release<A>,
        R::Out: Send + 'static,
    {
        layer.set_id(StageId::new(format!("accumulate-{}", C::LEN + 1)));
        self.layer(layer)
    }
}
