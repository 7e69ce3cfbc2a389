//! A fused chain of four pure stages on the sync engine against hand loops.
//!
//! The chain is `map(x * 3) -> filter(x % 5 != 0) -> map(x ^ (x >> 7)) ->
//! map(x + 1)` into a sink that folds the payloads. Four workloads (BRIEF
//! section 5): data in DRAM (10 M values read once) and in L2 (64 Ki values
//! read 160 times), each folded two ways: a sum the compiler can vectorise
//! and an FNV-style fold it cannot. Every workload pushes 10,485,760
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

const TOTAL: usize = 10 * 1024 * 1024;
const L2_VALUES: usize = 64 * 1024;

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

/// How the sink folds the payloads.
#[derive(Clone, Copy)]
enum Fold {
    /// `acc + x`: vectorisable.
    Sum,
    /// `(acc ^ x) * prime`: each step depends on the last.
    Fnv,
}

impl Fold {
    #[inline(always)]
    fn step(self, acc: u64, x: u64) -> u64 {
        match self {
            Fold::Sum => acc.wrapping_add(x),
            Fold::Fnv => (acc ^ x).wrapping_mul(0x0000_0100_0000_01b3),
        }
    }
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
        for &value in &self.data[self.index..end] {
            sequence += 1;
            out.emit(Envelope::new(value).with_sequence(sequence));
        }
        self.sequence = sequence;
        self.index = end;
        Ok(Pulled::More)
    }
}

/// Folds payloads with `FNV` chosen at compile time (as the hand loops'
/// fold is, once inlined); publishes the result when closed.
struct FoldSink<const FNV: bool> {
    acc: u64,
    result: Arc<AtomicU64>,
}

impl<const FNV: bool> Sink<u64> for FoldSink<FNV> {
    #[inline]
    fn write(&mut self, item: Envelope<u64>, _cx: &mut Context<'_>) -> Result<(), WriteError> {
        let fold = if FNV { Fold::Fnv } else { Fold::Sum };
        self.acc = fold.step(self.acc, item.into_payload());
        Ok(())
    }

    fn close(&mut self, _cx: &mut Context<'_>) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        self.result.store(self.acc, Ordering::Relaxed);
        Ok(())
    }
}

fn flux_run(data: &Arc<[u64]>, passes: usize, fold: Fold) -> u64 {
    match fold {
        Fold::Sum => flux_run_with::<false>(data, passes),
        Fold::Fnv => flux_run_with::<true>(data, passes),
    }
}

fn flux_run_with<const FNV: bool>(data: &Arc<[u64]>, passes: usize) -> u64 {
    let result = Arc::new(AtomicU64::new(0));
    let source = RepeatSource { data: data.clone(), index: 0, passes_left: passes, sequence: 0 };
    let pipeline = Pipeline::from_source(source)
        .map(stage1)
        .filter(keep)
        .map(stage3)
        .map(stage4)
        .sink(FoldSink::<FNV> { acc: 0, result: result.clone() });
    let plan = Planner::new().plan(pipeline.describe()).expect("valid pipeline");
    SyncEngine::new().with_trace(false).run(&plan, pipeline).expect("run succeeds");
    result.load(Ordering::Relaxed)
}

/// The hand loop as most people would write it.
fn hand_iter(data: &[u64], passes: usize, fold: Fold) -> u64 {
    let mut acc = 0;
    for _ in 0..passes {
        for x in data.iter().map(|&x| stage1(x)).filter(keep).map(stage3).map(stage4) {
            acc = fold.step(acc, x);
        }
    }
    acc
}

/// The same loop with explicit control flow, in case the layout of one is luckier.
fn hand_for(data: &[u64], passes: usize, fold: Fold) -> u64 {
    let mut acc = 0;
    for _ in 0..passes {
        for &x in data {
            let y = stage1(x);
            if !keep(&y) {
                continue;
            }
            acc = fold.step(acc, stage4(stage3(y)));
        }
    }
    acc
}

fn data(len: usize) -> Arc<[u64]> {
    // A fixed xorshift sequence: same data every run, no pattern to exploit.
    let mut state = 0x2545_F491_4F6C_DD1D_u64;
    (0..len)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        })
        .collect()
}

fn workload(name: &'static str, values: usize, fold: Fold) -> Comparison {
    let data = data(values);
    let passes = TOTAL / values;
    let (d1, d2, d3) = (data.clone(), data.clone(), data);
    Comparison {
        name,
        work: (values * passes) as u64,
        unit: "envelopes",
        flux: Variant { label: "flux", run: Box::new(move || flux_run(&d1, passes, fold)) },
        baselines: vec![
            Variant { label: "hand-iter", run: Box::new(move || hand_iter(black_box(&d2), passes, fold)) },
            Variant { label: "hand-for", run: Box::new(move || hand_for(black_box(&d3), passes, fold)) },
        ],
        extra: Vec::new(),
    }
}

/// The four workloads.
pub fn comparisons() -> Vec<Comparison> {
    vec![
        workload("fused_chain/dram-sum", TOTAL, Fold::Sum),
        workload("fused_chain/dram-fnv", TOTAL, Fold::Fnv),
        workload("fused_chain/l2-sum", L2_VALUES, Fold::Sum),
        workload("fused_chain/l2-fnv", L2_VALUES, Fold::Fnv),
    ]
}
