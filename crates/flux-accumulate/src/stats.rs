//! A shared handle on what an accumulating stage holds and has done.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

use flux_core::{EmitReason, Pressure};

/// Live figures of one accumulating stage, readable from any thread while
/// the engine runs it (clone the handle before the pipeline is moved).
///
/// The stage updates them with relaxed atomic stores: each figure is exact
/// once the run has stopped, and recent while it runs.
///
/// # Examples
///
/// ```
/// use flux_accumulate::AccumulatorStats;
///
/// let stats = AccumulatorStats::default();
/// let pressure = stats.pressure();
/// assert_eq!(pressure.pending_keys, 0);
/// assert_eq!(pressure.pending_bytes, 0);
/// ```
#[derive(Clone, Debug, Default)]
pub struct AccumulatorStats {
    inner: Arc<Counters>,
}

#[derive(Debug, Default)]
struct Counters {
    pending_keys: AtomicU64,
    pending_bytes: AtomicU64,
    state_bytes: AtomicU64,
    peak_keys: AtomicU64,
    peak_bytes: AtomicU64,
    spilled_groups: AtomicU64,
    spilled_bytes: AtomicU64,
    spills: AtomicU64,
    spill_failures: AtomicU64,
    restores: AtomicU64,
    evictions: AtomicU64,
    forgotten_closed_keys: AtomicU64,
    dropped_no_key: AtomicU64,
    signals: AtomicU64,
    emitted: [AtomicU64; REASONS.len()],
    discarded: [AtomicU64; REASONS.len()],
}

/// A copy of the figures at one moment.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StatsSnapshot {
    /// Open groups, resident or spilled.
    pub pending_keys: u64,
    /// Heap bytes held for the open groups, as an allocator counts them
    /// (within a factor of two): their states, plus each group's share of
    /// the table, its bookkeeping, a long key's copy and its timer entries.
    pub pending_bytes: u64,
    /// Of which the groups' states: resident as the accumulator measures
    /// them ([`Accumulator::state_bytes`](flux_core::Accumulator::state_bytes)),
    /// spilled as the spill tier keeps them in the table.
    pub state_bytes: u64,
    /// The most open groups at once.
    pub peak_keys: u64,
    /// The most state bytes held at once.
    pub peak_bytes: u64,
    /// Groups currently in the spill tier.
    pub spilled_groups: u64,
    /// Bytes currently in the spill tier.
    pub spilled_bytes: u64,
    /// Groups moved into the spill tier, in total.
    pub spills: u64,
    /// Spills the tier could not take (its disk full, say): the group
    /// stayed in memory, and the stage stopped spilling.
    pub spill_failures: u64,
    /// Groups brought back from it, in total.
    pub restores: u64,
    /// Groups flushed to keep live keys under their soft limit.
    pub evictions: u64,
    /// Closed keys forgotten (past their time or the set's capacity).
    pub forgotten_closed_keys: u64,
    /// Fragments with no key dropped on purpose
    /// ([`NoKey::Drop`](crate::NoKey::Drop)); the ledger counts them as
    /// `dropped`.
    pub dropped_no_key: u64,
    /// Control signals taken and not merged
    /// ([`CompleteAll::Exclusive`](flux_core::CompleteAll::Exclusive)); the
    /// ledger counts them as `dropped`.
    pub signals: u64,
    /// Records emitted, by why: in the order of [`REASONS`] (read it with
    /// [`StatsSnapshot::emitted`]). Every record but a whole one
    /// ([`EmitReason::is_whole`]) is a partial flush, so this is how complete the output was, and why.
    pub emitted_by_reason: [u64; REASONS.len()],
    /// Groups dropped by policy instead of being emitted, by the reason
    /// they would have been emitted for, in the order of [`REASONS`] (read
    /// it with [`StatsSnapshot::discarded`]): on expiry under
    /// [`OnExpiry::Discard`](crate::OnExpiry::Discard), and at the end of
    /// input under [`AtEnd::Drop`](crate::AtEnd::Drop) (as `end-of-stream`).
    /// Their fragments are the ledger's `discarded`.
    pub discarded_by_reason: [u64; REASONS.len()],
}

impl AccumulatorStats {
    /// The stage's contribution to backpressure: its open keys and bytes.
    pub fn pressure(&self) -> Pressure {
        Pressure {
            pending_keys: self.inner.pending_keys.load(Relaxed),
            pending_bytes: self.inner.pending_bytes.load(Relaxed),
            ..Pressure::default()
        }
    }

    /// All figures.
    pub fn snapshot(&self) -> StatsSnapshot {
        let c = &self.inner;
        StatsSnapshot {
            pending_keys: c.pending_keys.load(Relaxed),
            pending_bytes: c.pending_bytes.load(Relaxed),
            state_bytes: c.state_bytes.load(Relaxed),
            peak_keys: c.peak_keys.load(Relaxed),
            peak_bytes: c.peak_bytes.load(Relaxed),
            spilled_groups: c.spilled_groups.load(Relaxed),
            spilled_bytes: c.spilled_bytes.load(Relaxed),
            spills: c.spills.load(Relaxed),
            spill_failures: c.spill_failures.load(Relaxed),
            restores: c.restores.load(Relaxed),
            evictions: c.evictions.load(Relaxed),
            forgotten_closed_keys: c.forgotten_closed_keys.load(Relaxed),
            dropped_no_key: c.dropped_no_key.load(Relaxed),
            signals: c.signals.load(Relaxed),
            emitted_by_reason: c.emitted.each_ref().map(|count| count.load(Relaxed)),
            discarded_by_reason: c.discarded.each_ref().map(|count| count.load(Relaxed)),
        }
    }

    pub(crate) fn set_pending(&self, keys: u64, bytes: u64, state_bytes: u64) {
        let c = &self.inner;
        c.pending_keys.store(keys, Relaxed);
        c.pending_bytes.store(bytes, Relaxed);
        c.state_bytes.store(state_bytes, Relaxed);
        if keys > c.peak_keys.load(Relaxed) {
            c.peak_keys.store(keys, Relaxed);
        }
        if bytes > c.peak_bytes.load(Relaxed) {
            c.peak_bytes.store(bytes, Relaxed);
        }
    }

    pub(crate) fn set_spilled(&self, groups: u64, bytes: u64) {
        self.inner.spilled_groups.store(groups, Relaxed);
        self.inner.spilled_bytes.store(bytes, Relaxed);
    }

    pub(crate) fn count_spill(&self) {
        self.inner.spills.fetch_add(1, Relaxed);
    }

    pub(crate) fn count_spill_failure(&self) {
        self.inner.spill_failures.fetch_add(1, Relaxed);
    }

    pub(crate) fn count_restore(&self) {
        self.inner.restores.fetch_add(1, Relaxed);
    }

    pub(crate) fn count_dropped_no_key(&self) {
        self.inner.dropped_no_key.fetch_add(1, Relaxed);
    }

    pub(crate) fn count_signal(&self) {
        self.inner.signals.fetch_add(1, Relaxed);
    }

    /// Counts a group dropped instead of being emitted for `reason` (a
    /// cold path: no batching as for emissions).
    pub(crate) fn count_discarded_group(&self, reason: EmitReason) {
        if let Some(i) = place_of(reason) {
            self.inner.discarded[i].fetch_add(1, Relaxed);
        }
    }

    pub(crate) fn count_eviction(&self) {
        self.inner.evictions.fetch_add(1, Relaxed);
    }

    /// Publishes the records emitted so far, by reason.
    pub(crate) fn set_emitted(&self, emitted: &EmitCounts) {
        for (published, count) in self.inner.emitted.iter().zip(emitted.counts) {
            published.store(count, Relaxed);
        }
    }

    pub(crate) fn set_forgotten_closed_keys(&self, forgotten: u64) {
        self.inner.forgotten_closed_keys.store(forgotten, Relaxed);
    }
}

/// Every reason a group is emitted for, in the order of
/// [`StatsSnapshot::emitted_by_reason`].
pub const REASONS: [EmitReason; EmitReason::ALL.len()] = EmitReason::ALL;

/// Where `reason` is in [`REASONS`] (`EmitReason` is non-exhaustive: a
/// reason added later is not counted until it is listed).
fn place_of(reason: EmitReason) -> Option<usize> {
    REASONS.iter().position(|listed| *listed == reason)
}

impl StatsSnapshot {
    /// Records emitted for `reason`.
    ///
    /// ```
    /// use flux_accumulate::StatsSnapshot;
    /// use flux_core::EmitReason;
    ///
    /// let mut figures = StatsSnapshot::default();
    /// figures.emitted_by_reason[7] = 2;
    /// assert_eq!(figures.emitted(EmitReason::Inactivity), 2);
    /// assert_eq!(figures.emitted(EmitReason::Complete), 0);
    /// ```
    pub fn emitted(&self, reason: EmitReason) -> u64 {
        place_of(reason).map_or(0, |i| self.emitted_by_reason[i])
    }

    /// Groups dropped instead of being emitted for `reason`.
    ///
    /// ```
    /// use flux_accumulate::StatsSnapshot;
    /// use flux_core::EmitReason;
    ///
    /// let mut figures = StatsSnapshot::default();
    /// figures.discarded_by_reason[5] = 1;
    /// assert_eq!(figures.discarded(EmitReason::Latency), 1);
    /// assert_eq!(figures.emitted(EmitReason::Latency), 0);
    /// ```
    pub fn discarded(&self, reason: EmitReason) -> u64 {
        place_of(reason).map_or(0, |i| self.discarded_by_reason[i])
    }

    /// The figures by name, for a report: open groups and bytes, peaks,
    /// spill and restore counts, evictions, key-less fragments dropped
    /// (`dropped no key`), control signals taken (`signals`), records
    /// emitted by reason (`emitted complete`, `emitted inactivity`, ...) and
    /// groups discarded by the reason they would have been emitted for
    /// (`discarded inactivity`, ...). A reason appears once it has counted
    /// something: of fourteen, a stage meets two or three.
    pub fn figures(&self) -> Vec<(String, u64)> {
        let mut figures: Vec<(String, u64)> = [
            ("open groups", self.pending_keys),
            ("held bytes", self.pending_bytes),
            ("peak groups", self.peak_keys),
            ("peak bytes", self.peak_bytes),
            ("spilled groups", self.spilled_groups),
            ("spills", self.spills),
            ("spill failures", self.spill_failures),
            ("restores", self.restores),
            ("evictions", self.evictions),
            ("dropped no key", self.dropped_no_key),
            ("signals", self.signals),
        ]
        .into_iter()
        .map(|(name, value)| (name.to_owned(), value))
        .collect();
        let emitted = REASONS.iter().zip(self.emitted_by_reason).filter(|(_, count)| *count > 0);
        figures.extend(emitted.map(|(reason, count)| (format!("emitted {reason}"), count)));
        let discarded = REASONS.iter().zip(self.discarded_by_reason).filter(|(_, count)| *count > 0);
        figures.extend(discarded.map(|(reason, count)| (format!("discarded {reason}"), count)));
        figures
    }
}

/// Records a stage emitted, by reason, counted in plain integers on the
/// stage's thread and published with its other figures.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct EmitCounts {
    counts: [u64; REASONS.len()],
    /// Counted since last published.
    changed: bool,
}

impl EmitCounts {
    pub(crate) fn count(&mut self, reason: EmitReason) {
        if let Some(i) = place_of(reason) {
            self.counts[i] += 1;
            self.changed = true;
        }
    }

    /// Publishes the counts to `stats` if they changed since last time.
    pub(crate) fn publish(&mut self, stats: &AccumulatorStats) {
        if core::mem::take(&mut self.changed) {
            stats.set_emitted(self);
        }
    }
}
