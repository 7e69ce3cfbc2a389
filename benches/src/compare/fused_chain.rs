//! A fused chain of four pure stages on the sync engine against hand loops.
//!
//! The chain is `map(x * 3) -> filter(x % 5 != 0) -> map(x ^ (x >> 7)) ->
//! map(x + 1)` into a sink that folds the payloads. Five workloads
//! (`docs/BENCHMARKS.md` says why): data in DRAM (10 M values read once) and in L2 (64 Ki values
//! read 160 times), each folded two ways: a sum the compiler can vectorise
//! and an FNV-style fold it cannot; and one whose sink also reads each
//! envelope's sequence number (its hand loops count the sequence, the fair
//! baseline when the sink reads metadata). Every workload pushes 10,485,760
//! envelopes. The reference is the faster of two hand-loop variants.

use std::hint::black_box;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use flux_core::{
    Context, Envelope, Pipeline, Pull, Pulled, Push, Runnable, Sink, Source, SourceError, SourceOutput, WriteError,
};
use flux_engine_sync::SyncEngine;
use flux_plan::Planner;

use crate::{Comparison, Variant};
use flux_steps::Steps;

pub(crate) const TOTAL: usize = 10 * 1024 * 1024;
pub(crate) const L2_VALUES: usize = 64 * 1024;

#[inline(always)]
fn stage1(x: u64) -> u64 {
    x.wrapping_mul(3)
}
#[inline(always)]
fn keep(x: &u64) -> bool {
    !x.is_multiple_of(5)
}
#[inline(always)]
fn stage3(x: u64) -> u64 {
    x ^ (x >> 7)
}
#[inline(always)]
fn stage4(x: u64) -> u64 {
    x.wrapping_add(1)
}

/// Folds one value: `FNV` picks an FNV-style step each depending on the
/// last (serial) over a sum the compiler can vectorise. Both sides of every
/// comparison get the fold as a compile-time constant.
#[inline(always)]
fn fold<const FNV: bool>(acc: u64, x: u64) -> u64 {
    if FNV { (acc ^ x).wrapping_mul(0x0000_0100_0000_01b3) } else { acc.wrapping_add(x) }
}

/// What the sink folds: the payload, or (`META`) the payload mixed with the
/// envelope's sequence number, so that metadata must really flow through
/// the chain; the hand loops then count the sequence themselves.
#[inline(always)]
fn value<const META: bool>(x: u64, sequence: u64) -> u64 {
    if META { x ^ sequence } else { x }
}

/// Reads `passes` times over shared data, numbering envelopes as it goes.
struct RepeatSource {
    data: Arc<[u64]>,
    index: usize,
    passes_left: usize,
    sequence: u64,
}

impl Source for RepeatSource {
    type Item = u64;

    #[inline]
    fn pull(&mut self, _cx: &mut Context<'_>) -> Result<Pull<u64>, SourceError> {
        if self.index == self.data.len() {
            if self.passes_left <= 1 {
                return Ok(Pull::End);
            }
            self.passes_left -= 1;
            self.index = 0;
        }
        let value = self.data[self.index];
        self.index += 1;
        self.sequence += 1;
        Ok(Pull::Item(Envelope::new(value).with_sequence(self.sequence)))
    }

    /// Emits straight into the segment a block at a time, as a real
    /// block-reading source does: bounds are checked once per block and the
    /// cursor is written back once per step.
    ///
    /// The block is walked by index, so that the index is the loop's one
    /// counter: the compiler derives the sequence and the output's count
    /// of envelopes made from it. Walked as a slice iterator, the pointer,
    /// the sequence and that count were three counters, about one
    /// instruction more per envelope (callgrind, `docs/BENCHMARKS.md`).
    #[inline(always)]
    fn pull_into<D: Push<u64>>(
        &mut self,
        budget: usize,
        out: &mut SourceOutput<'_, '_, '_, D>,
    ) -> Result<Pulled, SourceError> {
        if self.index == self.data.len() {
            if self.passes_left <= 1 {
                return Ok(Pulled::End);
            }
            self.passes_left -= 1;
            self.index = 0;
        }
        let end = self.data.len().min(self.index + budget);
        let mut sequence = self.sequence;
        let data = &self.data[..end];
        #[allow(clippy::needless_range_loop, reason = "the index is the one counter; see above")]
        for index in self.index..end {
            sequence += 1;
            out.emit(Envelope::new(data[index]).with_sequence(sequence));
        }
        self.sequence = sequence;
        self.index = end;
        Ok(Pulled::More)
    }
}

/// Folds what reaches it; publishes the result when closed.
struct FoldSink<const FNV: bool, const META: bool> {
    acc: u64,
    result: Arc<AtomicU64>,
}

impl<const FNV: bool, const META: bool> Sink<u64> for FoldSink<FNV, META> {
    #[inline]
    fn write(&mut self, item: Envelope<u64>, _cx: &mut Context<'_>) -> Result<(), WriteError> {
        let sequence = item.meta().sequence;
        self.acc = fold::<FNV>(self.acc, value::<META>(item.into_payload(), sequence));
        Ok(())
    }

    fn close(&mut self, _cx: &mut Context<'_>) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        self.result.store(self.acc, Ordering::Relaxed);
        Ok(())
    }
}

fn flux_run<const FNV: bool, const META: bool>(data: &Arc<[u64]>, passes: usize) -> u64 {
    flux_run_observed::<FNV, META>(data, passes, None)
}

/// The Flux side, with `observer` told of the run when there is one (the
/// `observe` group's comparison).
pub(crate) fn flux_run_observed<const FNV: bool, const META: bool>(
    data: &Arc<[u64]>,
    passes: usize,
    observer: Option<Arc<dyn flux_core::Observer>>,
) -> u64 {
    let result = Arc::new(AtomicU64::new(0));
    let source = RepeatSource { data: data.clone(), index: 0, passes_left: passes, sequence: 0 };
    let pipeline = Pipeline::from_source(source).map(stage1).filter(keep).map(stage3).map(stage4).sink(FoldSink::<
        FNV,
        META,
    > {
        acc: 0,
        result: result.clone(),
    });
    let plan = Planner::new().plan(pipeline.describe()).expect("valid pipeline");
    let engine = SyncEngine::new().with_trace(false);
    let mut engine = match observer {
        Some(observer) => engine.with_observer(observer),
        None => engine,
    };
    let report = engine.run(&plan, pipeline).expect("run succeeds");
    assert!(report.dead_letters.is_empty(), "the bench's data has no bad input");
    result.load(Ordering::Relaxed)
}

/// The hand loop as most people would write it. The sequence counts every
/// value read, as the source numbers every envelope it makes.
fn hand_iter<const FNV: bool, const META: bool>(data: &[u64], passes: usize) -> u64 {
    let mut acc = 0;
    let mut sequence = 0;
    for _ in 0..passes {
        let numbered = data.iter().map(|&x| {
            sequence += 1;
            (sequence, stage1(x))
        });
        for (seq, y) in numbered.filter(|(_, y)| keep(y)).map(|(seq, y)| (seq, stage4(stage3(y)))) {
            acc = fold::<FNV>(acc, value::<META>(y, seq));
        }
    }
    acc
}

/// The same loop with explicit control flow, in case the layout of one is luckier.
fn hand_for<const FNV: bool, const META: bool>(data: &[u64], passes: usize) -> u64 {
    let mut acc = 0;
    let mut sequence = 0;
    for _ in 0..passes {
        for &x in data {
            sequence += 1;
            let y = stage1(x);
            if !keep(&y) {
                continue;
            }
            acc = fold::<FNV>(acc, value::<META>(stage4(stage3(y)), sequence));
        }
    }
    acc
}

pub(crate) fn data(len: usize) -> Arc<[u64]> {
    crate::data::xorshift(0x2545_F491_4F6C_DD1D).take(len).collect()
}

fn workload<const FNV: bool, const META: bool>(name: &'static str, values: usize) -> Comparison {
    let data = data(values);
    let passes = TOTAL / values;
    let (d1, d2, d3) = (data.clone(), data.clone(), data);
    Comparison {
        name,
        work: (values * passes) as u64,
        unit: "envelopes",
        flux: Variant { label: "flux", run: Box::new(move || flux_run::<FNV, META>(&d1, passes)) },
        baselines: vec![
            Variant { label: "hand-iter", run: Box::new(move || hand_iter::<FNV, META>(black_box(&d2), passes)) },
            Variant { label: "hand-for", run: Box::new(move || hand_for::<FNV, META>(black_box(&d3), passes)) },
        ],
        extra: Vec::new(),
    }
}

/// The Flux side of the `l2-sum` workload once: what `instructions
/// fused_chain` runs under callgrind.
pub fn flux_once() -> u64 {
    let data = data(L2_VALUES);
    flux_run::<false, false>(&data, TOTAL / L2_VALUES)
}

/// One workload once (`dram-sum`, `dram-fnv`, `l2-sum`, `l2-fnv`,
/// `l2-sum-meta`), on Flux or in the `hand_for` loop, for an instruction
/// count; `None` for a name that is not a workload.
pub fn workload_once(name: &str, hand: bool) -> Option<u64> {
    fn run<const FNV: bool, const META: bool>(values: usize, hand: bool) -> u64 {
        let data = data(values);
        let passes = TOTAL / values;
        if hand { hand_for::<FNV, META>(&data, passes) } else { flux_run::<FNV, META>(&data, passes) }
    }
    Some(match name {
        "dram-sum" => run::<false, false>(TOTAL, hand),
        "dram-fnv" => run::<true, false>(TOTAL, hand),
        "l2-sum" => run::<false, false>(L2_VALUES, hand),
        "l2-fnv" => run::<true, false>(L2_VALUES, hand),
        "l2-sum-meta" => run::<false, true>(L2_VALUES, hand),
        _ => return None,
    })
}

/// The workloads: DRAM and L2, sum and FNV folds, and one whose sink reads
/// each envelope's sequence number.
pub fn comparisons() -> Vec<Comparison> {
    vec![
        workload::<false, false>("fused_chain/dram-sum", TOTAL),
        workload::<true, false>("fused_chain/dram-fnv", TOTAL),
        workload::<false, false>("fused_chain/l2-sum", L2_VALUES),
        workload::<true, false>("fused_chain/l2-fnv", L2_VALUES),
        workload::<false, true>("fused_chain/l2-sum-meta", L2_VALUES),
    ]
}
