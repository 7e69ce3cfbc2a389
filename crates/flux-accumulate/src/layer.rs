//! The builder step: `Pipeline::accumulate(..)` and the layer behind it.

use core::fmt;

use flux_core::{
    Accumulator, Chain, Layer, Pipeline, Purity, Push, Source, Stack, StageDescriptor, StageId, StageKind,
};

use crate::{AccumulateNode, AccumulatorStats, Lz4Spill, Policy, SpillStrategy};

/// The [`Layer`] of an accumulating stage: an [`Accumulator`], a [`Policy`]
/// and a spill strategy ([`Lz4Spill`] unless replaced).
///
/// Build one to set a spill strategy or keep a [`AccumulatorStats`] handle,
/// then add it with [`AccumulateExt::accumulate_with`]; for the common case
/// [`AccumulateExt::accumulate`] builds it for you.
pub struct Accumulate<A> {
    acc: A,
    policy: Policy,
    strategy: Box<dyn SpillStrategy>,
    id: StageId,
    stats: AccumulatorStats,
}

impl<A: Accumulator> Accumulate<A> {
    /// A stage merging with `acc` under `policy`.
    pub fn new(acc: A, policy: Policy) -> Self {
        Accumulate {
            acc,
            policy,
            strategy: Box::new(Lz4Spill::new()),
            id: StageId::from_static("accumulate"),
            stats: AccumulatorStats::default(),
        }
    }

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

    /// The policy.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }
}

impl<A> fmt::Debug for Accumulate<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Accumulate")
            .field("id", &self.id)
            .field("accumulator", &core::any::type_name::<A>())
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

impl<A> Layer<A::Fragment> for Accumulate<A>
where
    A: Accumulator,
{
    type Out = A::Output;
    type Node<D: Push<A::Output> + 'static> = AccumulateNode<A, D>;

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
            .with_types(core::any::type_name::<A::Fragment>(), core::any::type_name::<A::Output>())
            .with_memory_hint(memory)
            .with_latency_hint_ns(latency.map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)))
    }

    fn set_id(&mut self, id: StageId) {
        self.id = id;
    }

    fn into_node<D: Push<A::Output> + 'static>(self, next: D) -> AccumulateNode<A, D> {
        AccumulateNode::new(self.acc, self.policy, self.strategy, self.id, self.stats, next)
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

    /// Adds a prepared [`Accumulate`] layer (a spill strategy, a stats handle).
    fn accumulate_with<A>(self, layer: Accumulate<A>) -> Pipeline<S, Stack<C, Accumulate<A>>>
    where
        A: Accumulator<Fragment = C::Out>,
        A::Output: Send + 'static;
}

impl<S, C> AccumulateExt<S, C> for Pipeline<S, C>
where
    S: Source + 'static,
    S::Item: Send + 'static,
    C: Chain<S::Item>,
    C::Out: Send + 'static,
{
    fn accumulate_with<A>(self, mut layer: Accumulate<A>) -> Pipeline<S, Stack<C, Accumulate<A>>>
    where
        A: Accumulator<Fragment = C::Out>,
        A::Output: Send + 'static,
    {
        layer.set_id(StageId::new(format!("accumulate-{}", C::LEN + 1)));
        self.layer(layer)
    }
}
