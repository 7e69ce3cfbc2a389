//! The accumulating node: a [`Push`] with keyed state and timers.

mod emit;
pub use emit::{COMPLETENESS_HEADER, FRAGMENTS_HEADER, REASON_HEADER};
mod fragment;
mod memory;
mod timers;

use std::collections::BTreeMap;

use flux_core::{Accumulator, Context, Envelope, Instant, LedgerVisitor, Push, StageId, StageLedger};
use hashbrown::HashMap;
use rustc_hash::FxBuildHasher;

use crate::closed::ClosedSet;
use crate::group::{Group, GroupKey};
use crate::order::OrderQueue;
use crate::policy::{AtEnd, Eviction, Policy};
use crate::{AccumulatorStats, SpillStrategy};

/// The node an [`Accumulate`](crate::Accumulate) layer becomes: it merges
/// each fragment into its key's group, emits groups as the policy says, and
/// fires their timers on the engine's clock.
///
/// Engines drive it through [`Push`]; users meet it only in type names.
pub struct AccumulateNode<A: Accumulator, D> {
    acc: A,
    policy: Policy,
    id: StageId,
    next: D,
    ledger: StageLedger,
    groups: HashMap<GroupKey, Group<A::State>, FxBuildHasher>,
    next_serial: u64,
    /// Group timers by (fire time, first-arrival serial): the deterministic
    /// order in which one tick emits.
    timers: BTreeMap<(Instant, u64), GroupKey>,
    /// Event-time windows by (due watermark, serial).
    windows: BTreeMap<(Instant, u64), GroupKey>,
    watermark: Option<Instant>,
    /// Groups in first-arrival order, kept for oldest-first eviction.
    arrival: Option<OrderQueue>,
    /// Groups in latest-use order, kept for least-recently-used eviction.
    lru_evict: Option<OrderQueue>,
    /// Groups in latest-use order, kept for choosing cold groups to spill.
    lru_spill: Option<OrderQueue>,
    touch: u64,
    closed: Option<ClosedSet>,
    strategy: Box<dyn SpillStrategy>,
    /// Set once the accumulator declines to encode a state: spilling stops.
    spill_declined: bool,
    resident_bytes: u64,
    spilled_bytes: u64,
    spilled_groups: u64,
    scratch: Vec<u8>,
    stats: AccumulatorStats,
}

impl<A: Accumulator, D> AccumulateNode<A, D> {
    pub(crate) fn new(
        acc: A,
        policy: Policy,
        strategy: Box<dyn SpillStrategy>,
        id: StageId,
        stats: AccumulatorStats,
        next: D,
    ) -> Self {
        let eviction = policy.key_limit.map(|k| k.eviction);
        AccumulateNode {
            arrival: (eviction == Some(Eviction::OldestFirst)).then(OrderQueue::default),
            lru_evict: (eviction == Some(Eviction::LeastRecentlyUsed)).then(OrderQueue::default),
            lru_spill: policy.spill.map(|_| OrderQueue::default()),
            closed: policy.closed_keys.map(ClosedSet::new),
            acc,
            policy,
            id,
            next,
            ledger: StageLedger::default(),
            groups: HashMap::default(),
            next_serial: 0,
            timers: BTreeMap::new(),
            windows: BTreeMap::new(),
            watermark: None,
            touch: 0,
            strategy,
            spill_declined: false,
            resident_bytes: 0,
            spilled_bytes: 0,
            spilled_groups: 0,
            scratch: Vec::new(),
            stats,
        }
    }

    /// Publishes the pending figures for backpressure and observers.
    fn publish(&self) {
        self.stats.set_pending(self.groups.len() as u64, self.resident_bytes + self.spilled_bytes);
    }
}

impl<A, D> Push<A::Fragment> for AccumulateNode<A, D>
where
    A: Accumulator,
    D: Push<A::Output>,
{
    fn push(&mut self, item: Envelope<A::Fragment>, cx: &mut Context<'_>) {
        self.accept(item, cx);
        self.publish();
    }

    fn on_time(&mut self, cx: &mut Context<'_>) {
        self.fire_due(cx);
        self.publish();
        self.next.on_time(cx);
    }

    fn next_deadline(&self, at_end: bool) -> Option<Instant> {
        let waits = !at_end || self.policy.at_end == AtEnd::WaitForTimers;
        let own = if waits { self.timers.first_key_value().map(|(&(at, _), _)| at) } else { None };
        flux_core::earliest(own, self.next.next_deadline(at_end))
    }

    fn finish(&mut self, cx: &mut Context<'_>) {
        self.flush_at_end(cx);
        self.publish();
        self.next.finish(cx);
    }

    fn visit(&self, visitor: &mut dyn LedgerVisitor) {
        visitor.stage(&self.id, &self.ledger);
        self.next.visit(visitor);
    }
}
