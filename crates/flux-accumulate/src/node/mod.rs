//! The accumulating node: a [`Push`] with keyed state and timers.

mod deadline;
mod emit;
mod fast;
pub use emit::{COMPLETENESS_HEADER, FRAGMENTS_HEADER, REASON_HEADER};
mod fragment;
mod memory;
mod text;
mod timers;

use std::collections::{BTreeMap, VecDeque};

use flux_core::{Accumulator, BatchRest, Context, Envelope, Instant, LedgerVisitor, Push, StageId, StageLedger};

use crate::closed::ClosedSet;
use crate::force::ForceRequests;
use crate::group::GroupKey;
use crate::order::OrderQueue;
use crate::policy::{AtEnd, Eviction, Policy, TimerClock};
use crate::release::{Keep, Records, Release};
use crate::stats::EmitCounts;
use crate::table::GroupTable;
use crate::{AccumulatorStats, SpillStrategy};
use text::TextArena;

/// Why a merge or a restore failed, as the accumulator or spill strategy said.
type Cause = Box<dyn std::error::Error + Send + Sync>;

/// The node an [`Accumulate`](crate::Accumulate) layer becomes: it merges
/// each fragment into its key's group, emits groups as the policy says, and
/// fires their timers on the engine's clock.
///
/// Engines drive it through [`Push`]; users meet it only in type names.
/// `R` says what a finished group becomes ([`Records`] or
/// [`Fragments`](crate::Fragments)).
pub struct AccumulateNode<A: Accumulator, D, R: Keep<A::Fragment> = Records> {
    acc: A,
    policy: Policy,
    id: StageId,
    next: D,
    ledger: StageLedger,
    groups: GroupTable<A::State, R::Kept>,
    next_serial: u64,
    /// Group timers by (fire time, first-arrival serial): the deterministic
    /// order in which one tick emits.
    timers: BTreeMap<(Instant, u64), GroupKey>,
    /// Event-time windows by (due watermark, serial).
    windows: BTreeMap<(Instant, u64), GroupKey>,
    watermark: Option<Instant>,
    /// The event-time clock, under [`TimerClock::EventTime`]: the largest
    /// event time seen minus the lag.
    event_clock: Instant,
    /// Where a periodic TTL's ticks count from: time zero, then the latest
    /// size emission ([`TimerStart::Periodic`](crate::TimerStart::Periodic)).
    phase: Instant,
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
    /// Heap bytes of the open groups' stored keys.
    key_heap: u64,
    spilled_bytes: u64,
    spilled_groups: u64,
    scratch: Vec<u8>,
    text: TextArena,
    stats: AccumulatorStats,
    /// Records emitted, by reason, for `stats`.
    emitted: EmitCounts,
    /// Whether the policy lets every fragment take the short path.
    plain: bool,
    /// The lookup hashes of the batch being pushed (kept to reuse its memory).
    hashes: Vec<u64>,
    /// The table slots hinted for the batch being pushed, likewise.
    hints: Vec<usize>,
    /// The group (key, window) whose merge panicked, half-written: it is
    /// discarded at the stage's next call (see `MergeMark`).
    half_merged: Option<(bytes::Bytes, u64)>,
    /// The figures last published, so that `publish` writes only on a change.
    published: (u64, u64),
    /// Requests from the application's [`ForceComplete`](crate::ForceComplete) handle, if it took one.
    force: Option<ForceRequests>,
    _release: core::marker::PhantomData<fn() -> R>,
}

impl<A: Accumulator, D, R: Keep<A::Fragment>> AccumulateNode<A, D, R> {
    pub(crate) fn new(
        acc: A,
        policy: Policy,
        strategy: Box<dyn SpillStrategy>,
        id: StageId,
        stats: AccumulatorStats,
        next: D,
    ) -> Self {
        let eviction = policy.key_limit.map(|k| k.eviction);
        let plain = fast::is_plain(&policy);
        AccumulateNode {
            plain,
            hashes: Vec::new(),
            hints: Vec::new(),
            arrival: (eviction == Some(Eviction::OldestFirst)).then(OrderQueue::default),
            lru_evict: (eviction == Some(Eviction::LeastRecentlyUsed)).then(OrderQueue::default),
            lru_spill: policy.spill.map(|_| OrderQueue::default()),
            closed: policy.closed_keys.map(ClosedSet::new),
            acc,
            policy,
            id,
            next,
            ledger: StageLedger::default(),
            groups: GroupTable::default(),
            next_serial: 0,
            timers: BTreeMap::new(),
            windows: BTreeMap::new(),
            watermark: None,
            event_clock: Instant::ZERO,
            phase: Instant::ZERO,
            touch: 0,
            strategy,
            spill_declined: false,
            resident_bytes: 0,
            key_heap: 0,
            spilled_bytes: 0,
            spilled_groups: 0,
            scratch: Vec::new(),
            text: TextArena::new(),
            stats,
            emitted: EmitCounts::default(),
            published: (0, 0),
            half_merged: None,
            force: None,
            _release: core::marker::PhantomData,
        }
    }

    pub(crate) fn with_force(mut self, force: Option<ForceRequests>) -> Self {
        self.force = force;
        self
    }

    /// Publishes the pending figures for backpressure and observers.
    #[inline]
    fn publish(&mut self) {
        let now = (self.groups.len() as u64, self.held_bytes());
        if now != self.published {
            self.published = now;
            self.stats.set_pending(now.0, now.1, self.state_bytes());
        }
        self.emitted.publish(&self.stats);
    }
}

impl<A: Accumulator, D, R: Keep<A::Fragment>> AccumulateNode<A, D, R> {
    /// The heap bytes the stage holds for its open groups, as an allocator
    /// would count them: the states (as the accumulator measures them, or
    /// their spilled blocks), plus each group's share of the table (its
    /// bucket, at the table's highest load), its bookkeeping box, a long
    /// key's copy, and its entries in the timer and window indexes.
    fn held_bytes(&self) -> u64 {
        use core::mem::size_of;
        let bucket = GroupTable::<A::State, R::Kept>::bytes_per_group();
        let info = size_of::<crate::group::GroupInfo<R::Kept>>();
        // A B-tree entry, with the room its nodes leave free.
        let indexed = (size_of::<((Instant, u64), GroupKey)>() * 3 / 2) * (self.timers.len() + self.windows.len());
        let queues: usize =
            [&self.arrival, &self.lru_evict, &self.lru_spill].into_iter().flatten().map(OrderQueue::heap_bytes).sum();
        let overhead = self.groups.len() * (bucket + info) + indexed + queues;
        self.state_bytes() + self.key_heap + overhead as u64
    }

    /// The states' bytes: resident as the accumulator measures them,
    /// spilled as the spill tier keeps them in the table.
    fn state_bytes(&self) -> u64 {
        self.resident_bytes + self.spilled_bytes
    }
}

impl<A, D, R> AccumulateNode<A, D, R>
where
    A: Accumulator,
    R: Release<A>,
    D: Push<R::Out>,
{
    /// Serves a request from the application's handle, if one came, before
    /// the stage does anything else: every open group is emitted as forced.
    #[inline(always)]
    fn serve_force(&mut self, cx: &mut Context<'_>) {
        if self.force.is_some() {
            self.serve_force_now(cx);
        }
    }

    #[cold]
    #[inline(never)]
    fn serve_force_now(&mut self, cx: &mut Context<'_>) {
        let Some(force) = &mut self.force else { return };
        force.register(cx.waker());
        if force.take() {
            self.complete_others(flux_core::EmitReason::Forced, cx);
        }
    }
}

impl<A, D, R> Push<A::Fragment> for AccumulateNode<A, D, R>
where
    A: Accumulator,
    R: Release<A>,
    D: Push<R::Out>,
{
    #[inline(always)]
    fn push(&mut self, item: Envelope<A::Fragment>, cx: &mut Context<'_>) {
        self.discard_half_merged(cx);
        self.serve_force(cx);
        if self.plain {
            self.accept_plain(item, None, cx);
        } else {
            self.accept(item, cx);
        }
        self.publish();
    }

    /// Under a plain policy, hashes every key of the batch and finds its
    /// table slot from the tags first, then merges the fragments in order,
    /// each group's entry prefetched a few fragments ahead; otherwise
    /// pushes them one by one.
    /// The figures are published once, after the batch.
    fn push_batch(&mut self, batch: &mut VecDeque<Envelope<A::Fragment>>, cx: &mut Context<'_>) {
        self.discard_half_merged(cx);
        self.serve_force(cx);
        if self.plain {
            let (mut hashes, mut hints) = (core::mem::take(&mut self.hashes), core::mem::take(&mut self.hints));
            let mut rest = BatchRest::take(batch);
            self.plain_hashes(rest.as_slice().iter(), &mut hashes);
            let slots = self.groups.slots();
            let known = self.slot_hints(rest.as_slice().iter(), &hashes, &mut hints);
            self.groups.reserve(rest.as_slice().len() - known);
            if self.groups.slots() != slots {
                // Grown: every group moved.
                self.slot_hints(rest.as_slice().iter(), &hashes, &mut hints);
            }
            hints.iter().take(fast::AHEAD).for_each(|&hint| self.groups.prefetch(hint));
            for (merging, (&hash, &hint)) in hashes.iter().zip(&hints).enumerate() {
                let Some(item) = rest.next() else { break };
                self.prefetch_ahead(&hints, merging);
                self.accept_plain(item, Some((hash, hint)), cx);
            }
            (self.hashes, self.hints) = (hashes, hints);
        } else {
            for item in BatchRest::take(batch) {
                self.accept(item, cx);
            }
        }
        self.publish();
    }

    fn on_time(&mut self, cx: &mut Context<'_>) {
        self.discard_half_merged(cx);
        self.serve_force(cx);
        self.fire_due(cx);
        self.publish();
        self.next.on_time(cx);
    }

    fn next_deadline(&self, at_end: bool) -> Option<Instant> {
        // Event-time timers fire as the data moves its clock: the engine's
        // clock never reaches them.
        let engine_timers = self.policy.timer_clock == TimerClock::Engine;
        let waits = engine_timers && (!at_end || self.policy.at_end == AtEnd::WaitForTimers);
        let own = if waits { self.timers.first_key_value().map(|(&(at, _), _)| at) } else { None };
        // A request from the handle is due at once: the engine calls
        // `on_time`, which serves it.
        let forced = self.force.as_ref().filter(|force| force.pending()).map(|_| Instant::ZERO);
        let own = flux_core::earliest(own, forced);
        flux_core::earliest(own, self.next.next_deadline(at_end))
    }

    fn finish(&mut self, cx: &mut Context<'_>) {
        self.discard_half_merged(cx);
        self.serve_force(cx);
        self.flush_at_end(cx);
        self.publish();
        self.next.finish(cx);
    }

    fn visit(&self, visitor: &mut dyn LedgerVisitor) {
        visitor.stage(&self.id, &self.ledger);
        self.next.visit(visitor);
    }
    fn poll_lifecycle(
        &mut self,
        phase: flux_core::Lifecycle,
        cx: &mut Context<'_>,
    ) -> core::task::Poll<Result<(), flux_core::StageError>> {
        self.next.poll_lifecycle(phase, cx)
    }
}

impl<A: Accumulator, D, R: Keep<A::Fragment>> core::fmt::Debug for AccumulateNode<A, D, R> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("AccumulateNode")
            .field("id", &self.id)
            .field("open_groups", &self.groups.len())
            .field("ledger", &self.ledger)
            .finish_non_exhaustive()
    }
}
