//! The accumulating node: a [`Push`] with keyed state and timers.

pub(crate) mod deadline;
mod emit;
mod fast;
pub use emit::{COMPLETENESS_HEADER, FRAGMENTS_HEADER, REASON_HEADER};
mod fragment;
mod memory;
mod merge;
mod parts;
mod text;
mod timers;

use std::collections::VecDeque;

use flux_core::{Accumulator, BatchRest, Context, Envelope, Instant, LedgerVisitor, Push, StageId, StageLedger};

use crate::force::ForceRequests;
use crate::policy::{AtEnd, Policy};
use crate::release::{Keep, Records, Release};
use crate::stats::EmitCounts;
use crate::table::GroupTable;
use crate::{AccumulatorStats, SpillStrategy};
use parts::{EvictionOrder, GroupTimers, KeyClosing, SpillTier, Windows};
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
///
/// What the policy switches on or off lives in components chosen once,
/// when the stage is built (see `parts`): timers, windows, the eviction
/// order, closed keys and the spill tier; `R` is the re-emission
/// component. The node holds the groups, the ledger and the figures
/// derived from them.
pub struct AccumulateNode<A: Accumulator, D, R: Keep<A::Fragment> = Records> {
    acc: A,
    policy: Policy,
    id: StageId,
    next: D,
    ledger: StageLedger,
    groups: GroupTable<A::State, R::Kept>,
    /// Serials handed out to groups, in first-arrival order.
    next_serial: u64,
    /// Latest-use stamps handed out, for the components that order groups by use.
    touch: u64,
    timers: GroupTimers,
    windows: Windows,
    eviction: EvictionOrder,
    closing: KeyClosing,
    spill: SpillTier,
    /// Resident state bytes, as the accumulator measures them.
    resident_bytes: u64,
    /// Heap bytes of the open groups' stored keys.
    key_heap: u64,
    text: TextArena,
    stats: AccumulatorStats,
    /// Records emitted, by reason, for `stats`.
    emitted: EmitCounts,
    /// Whether the policy lets every fragment take the short path.
    plain: bool,
    /// The batch being pushed, hashed and hinted (kept to reuse its memory).
    batch: fast::BatchLookups,
    /// The group (key, window) whose merge panicked, half-written: it is
    /// discarded at the stage's next call (see `MergeMark`).
    half_merged: Option<(bytes::Bytes, u64)>,
    /// The figures last published, so that `publish` writes only on a change.
    published: Published,
    /// Under a plain policy, what the figures last published were derived from.
    published_inputs: PlainInputs,
    /// Requests from the application's [`ForceComplete`](crate::ForceComplete) handle, if it took one.
    force: Option<ForceRequests>,
    _release: core::marker::PhantomData<fn() -> R>,
}

/// The stats' figures derived from the node and its components.
#[derive(Clone, Copy, Default, PartialEq, Eq)]
struct Published {
    groups: u64,
    held_bytes: u64,
    spilled: (u64, u64),
    forgotten_closed_keys: u64,
}

/// What a plain stage's figures are derived from: with windows, eviction,
/// closed keys and spill off for the stage's whole life, `held_bytes` and
/// the other figures change only with these (the group timers can still be
/// set, by an accumulator's `ttl_for` or `linger_for`). Every publish
/// records them, so equal inputs mean the figures last published stand.
#[derive(Clone, Copy, PartialEq, Eq)]
struct PlainInputs {
    groups: usize,
    resident_bytes: u64,
    key_heap: u64,
    timer_bytes: usize,
}

impl PlainInputs {
    /// Before the first publish: matches no stage's inputs.
    const NONE: PlainInputs = PlainInputs { groups: usize::MAX, resident_bytes: 0, key_heap: 0, timer_bytes: 0 };
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
        let (timers, windows, eviction, closing, spill) = (
            GroupTimers::new(&policy),
            Windows::new(&policy),
            EvictionOrder::new(&policy),
            KeyClosing::new(&policy),
            SpillTier::new(&policy, strategy),
        );
        AccumulateNode {
            plain: fast::is_plain(&policy, (&timers, &windows, &eviction, &closing, &spill)),
            batch: fast::BatchLookups::default(),
            timers,
            windows,
            eviction,
            closing,
            spill,
            acc,
            policy,
            id,
            next,
            ledger: StageLedger::default(),
            groups: GroupTable::default(),
            next_serial: 0,
            touch: 0,
            resident_bytes: 0,
            key_heap: 0,
            text: TextArena::new(),
            stats,
            emitted: EmitCounts::default(),
            published: Published::default(),
            published_inputs: PlainInputs::NONE,
            half_merged: None,
            force: None,
            _release: core::marker::PhantomData,
        }
    }

    pub(crate) fn with_force(mut self, force: Option<ForceRequests>) -> Self {
        self.force = force;
        self
    }

    /// Publishes the figures for backpressure and observers, derived from
    /// the node and its components, writing only those that changed.
    ///
    /// Under a plain policy the figures follow from four inputs alone (see
    /// [`PlainInputs`]), so an unchanged set of them skips the derivation:
    /// a stage fed one fragment at a time (after a fused `key_by`, say)
    /// publishes after every fragment, and deriving the figures each time
    /// cost the LZ4 job of `cargo xtask bench async` 21 instructions a
    /// record of its 752 (callgrind over `instructions lz4_sync`).
    #[inline(always)]
    fn publish(&mut self) {
        if self.plain && self.plain_inputs() == self.published_inputs {
            self.emitted.publish(&self.stats);
            return;
        }
        self.publish_derived();
    }

    /// Under a plain policy, what the figures are derived from.
    #[inline(always)]
    fn plain_inputs(&self) -> PlainInputs {
        PlainInputs {
            groups: self.groups.len(),
            resident_bytes: self.resident_bytes,
            key_heap: self.key_heap,
            timer_bytes: self.timers.heap_bytes(),
        }
    }

    /// Derives the figures and publishes those that changed. Out of line:
    /// inlined, it kept `publish` from being inlined into the
    /// per-fragment path, which then paid a call for every fragment.
    #[inline(never)]
    fn publish_derived(&mut self) {
        if self.plain {
            self.published_inputs = self.plain_inputs();
        }
        let now = Published {
            groups: self.groups.len() as u64,
            held_bytes: self.held_bytes(),
            spilled: self.spill.figures(),
            forgotten_closed_keys: self.closing.forgotten(),
        };
        if now != self.published {
            self.publish_changed(now);
        }
        self.emitted.publish(&self.stats);
    }

    #[inline(never)]
    fn publish_changed(&mut self, now: Published) {
        let was = core::mem::replace(&mut self.published, now);
        if (now.groups, now.held_bytes) != (was.groups, was.held_bytes) {
            self.stats.set_pending(now.groups, now.held_bytes, self.state_bytes());
        }
        if now.spilled != was.spilled {
            self.stats.set_spilled(now.spilled.0, now.spilled.1);
        }
        if now.forgotten_closed_keys != was.forgotten_closed_keys {
            self.stats.set_forgotten_closed_keys(now.forgotten_closed_keys);
        }
    }
}

impl<A: Accumulator, D, R: Keep<A::Fragment>> AccumulateNode<A, D, R> {
    /// The heap bytes the stage holds for its open groups, as an allocator
    /// would count them: the states (as the accumulator measures them, or
    /// their spilled blocks), plus each group's share of the table (its
    /// bucket, at the table's highest load), its place in the bookkeeping
    /// arena, a long key's copy, and what the components index them by.
    fn held_bytes(&self) -> u64 {
        use core::mem::size_of;
        let bucket = GroupTable::<A::State, R::Kept>::bytes_per_group();
        let info = size_of::<crate::group::GroupInfo<R::Kept>>();
        let components =
            self.timers.heap_bytes() + self.windows.heap_bytes() + self.eviction.heap_bytes() + self.spill.heap_bytes();
        let overhead = self.groups.len() * (bucket + info) + components;
        self.state_bytes() + self.key_heap + overhead as u64
    }

    /// The states' bytes: resident as the accumulator measures them,
    /// spilled as the spill tier keeps them.
    fn state_bytes(&self) -> u64 {
        self.resident_bytes + self.spill.figures().1
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
            // A fragment's push that follows may not publish (see `Figures`).
            self.publish();
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
            // `discard_half_merged` and `serve_force` publish what they change.
            if self.accept_plain(item, None, cx) == fast::Figures::Unmoved {
                return;
            }
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
            self.push_plain_batch(BatchRest::take(batch), cx);
        } else {
            for item in BatchRest::take(batch) {
                self.accept(item, cx);
            }
        }
        self.publish();
    }

    /// Under a plain policy: a batch is looked up ahead of its merges.
    fn takes_source_batches(&self) -> bool {
        self.plain
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
        let waits = self.timers.on_engine_clock() && (!at_end || self.policy.at_end == AtEnd::WaitForTimers);
        let own = if waits { self.timers.next_deadline() } else { None };
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
