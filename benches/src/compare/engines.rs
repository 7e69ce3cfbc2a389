//! The tokio engine against the sync engine, and flume against tokio's
//! channel for the hand-off between segments.
//!
//! `engines/async_handoff`: the same two-segment pipeline (a map, a
//! boundary of 8 batches of 512, a sink folding the payloads) over 4 Mi
//! values, on the async engine (two worker threads) against the sync
//! engine. The ratio is what the hand-off between tasks costs.
//!
//! `engines/cut_trivial` and `engines/cut_heavy`: whether a boundary pays.
//! The same pipeline on the async engine (two worker threads) cut around
//! its stages (each its own task) against fused into one segment: with two
//! trivial maps, and with two maps of about 500 ns of work per item each
//! (what `IsolateHeavy`'s default threshold is). A ratio above 1 means the
//! cut pays.
//!
//! `engines/flume_vs_mpsc`: the channel alone. One task sends batches of
//! 512 `u64` through a bounded channel of 8 batches to another that sums
//! them; flume (the engine's choice) against `tokio::sync::mpsc`. A ratio
//! above 1 means flume is faster.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use flux_core::{Context, EdgeSpec, Envelope, Junction, Pipeline, Runnable, Sink, WriteError};
use flux_engine_async::AsyncEngine;
use flux_engine_sync::SyncEngine;
use flux_plan::Planner;
use flux_steps::Steps;

use crate::{Comparison, Variant};

const VALUES: u64 = 4 * 1024 * 1024;
const BATCH: usize = 512;

/// Folds every payload into a shared sum.
#[derive(Clone, Default)]
struct SumSink(Arc<AtomicU64>);

impl Sink<u64> for SumSink {
    #[inline]
    fn write(&mut self, item: Envelope<u64>, _cx: &mut Context<'_>) -> Result<(), WriteError> {
        self.0.fetch_add(item.into_payload(), Ordering::Relaxed);
        Ok(())
    }
}

fn pipeline(sum: &SumSink) -> impl Runnable {
    Pipeline::from_source(Numbers { next: 0, end: VALUES }).map(|n| n.wrapping_mul(3)).named("triple").sink(sum.clone())
}

/// The numbers `next..end`, numbered.
struct Numbers {
    next: u64,
    end: u64,
}

impl flux_core::Source for Numbers {
    type Item = u64;

    #[inline]
    fn pull(&mut self, _cx: &mut Context<'_>) -> Result<flux_core::Pull<u64>, flux_core::SourceError> {
        if self.next == self.end {
            return Ok(flux_core::Pull::End);
        }
        self.next += 1;
        Ok(flux_core::Pull::Item(Envelope::new(self.next - 1).with_sequence(self.next - 1)))
    }
}

fn cut_plan() -> flux_core::ExecutionPlan {
    let mut plan = Planner::new().plan(pipeline(&SumSink::default()).describe()).expect("plans");
    plan.junctions[1] = Junction::Boundary(EdgeSpec { capacity: 8, batch_size: BATCH });
    plan
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).build().expect("a tokio runtime")
}

/// Every comparison of the group.
pub fn comparisons() -> Vec<Comparison> {
    vec![async_handoff(), cut(false), cut(true), flume_vs_mpsc()]
}

/// Items of the cut comparisons (fewer when the stages are heavy).
fn cut_items(heavy: bool) -> u64 {
    if heavy { 200_000 } else { VALUES }
}

/// About 500 ns of serial work on this machine (330 xorshift rounds), or
/// none.
#[inline]
fn work(x: u64, heavy: bool) -> u64 {
    if !heavy {
        return x.wrapping_mul(3);
    }
    let mut v = std::hint::black_box(x) | 1;
    for _ in 0..330 {
        v ^= v << 13;
        v ^= v >> 7;
        v ^= v << 17;
    }
    v
}

fn two_stages(sum: &SumSink, heavy: bool) -> impl Runnable {
    Pipeline::from_source(Numbers { next: 0, end: cut_items(heavy) })
        .map(move |n| work(n, heavy))
        .named("first")
        .map(move |n| work(n, heavy))
        .named("second")
        .sink(sum.clone())
}

fn cut(heavy: bool) -> Comparison {
    let fused = Planner::new().plan(two_stages(&SumSink::default(), heavy).describe()).expect("plans");
    let mut cut_plan = fused.clone();
    // Each map its own segment: source | first | second, sink.
    for junction in [0, 1] {
        cut_plan.junctions[junction] = Junction::Boundary(EdgeSpec { capacity: 8, batch_size: BATCH });
    }
    let (rt_cut, rt_fused) = (runtime(), runtime());
    let run = move |rt: &tokio::runtime::Runtime, plan: &flux_core::ExecutionPlan| {
        let sum = SumSink::default();
        let report = rt.block_on(AsyncEngine::new().run(plan, two_stages(&sum, heavy))).expect("runs");
        assert!(report.problems.is_empty());
        sum.0.load(Ordering::Relaxed)
    };
    Comparison {
        name: if heavy { "engines/cut_heavy" } else { "engines/cut_trivial" },
        work: cut_items(heavy),
        unit: "items",
        flux: Variant { label: "cut around each map", run: Box::new(move || run(&rt_cut, &cut_plan)) },
        baselines: vec![Variant { label: "fused", run: Box::new(move || run(&rt_fused, &fused)) }],
        extra: Vec::new(),
    }
}

fn async_handoff() -> Comparison {
    let plan = cut_plan();
    let on_sync = plan.clone();
    let rt = runtime();
    Comparison {
        name: "engines/async_handoff",
        work: VALUES,
        unit: "items",
        flux: Variant {
            label: "async engine",
            run: Box::new(move || {
                let sum = SumSink::default();
                let report = rt.block_on(AsyncEngine::new().run(&plan, pipeline(&sum))).expect("runs");
                assert!(report.problems.is_empty());
                sum.0.load(Ordering::Relaxed)
            }),
        },
        baselines: vec![Variant {
            label: "sync engine",
            run: Box::new(move || {
                let sum = SumSink::default();
                let report = SyncEngine::new().with_trace(false).run(&on_sync, pipeline(&sum)).expect("runs");
                assert!(report.problems.is_empty());
                sum.0.load(Ordering::Relaxed)
            }),
        }],
        extra: Vec::new(),
    }
}

fn batches() -> impl Iterator<Item = Vec<u64>> {
    (0..VALUES).step_by(BATCH).map(|start| (start..start + BATCH as u64).collect())
}

fn flume_vs_mpsc() -> Comparison {
    let (rt_flume, rt_mpsc) = (runtime(), runtime());
    Comparison {
        name: "engines/flume_vs_mpsc",
        work: VALUES,
        unit: "items",
        flux: Variant {
            label: "flume",
            run: Box::new(move || {
                rt_flume.block_on(async {
                    let (tx, rx) = flume::bounded::<Vec<u64>>(8);
                    let consumer = tokio::spawn(async move {
                        let mut sum = 0u64;
                        while let Ok(batch) = rx.recv_async().await {
                            sum = batch.iter().fold(sum, |acc, x| acc.wrapping_add(*x));
                        }
                        sum
                    });
                    for batch in batches() {
                        tx.send_async(batch).await.expect("the consumer runs");
                    }
                    drop(tx);
                    consumer.await.expect("the consumer ends")
                })
            }),
        },
        baselines: vec![Variant {
            label: "tokio mpsc",
            run: Box::new(move || {
                rt_mpsc.block_on(async {
                    let (tx, mut rx) = tokio::sync::mpsc::channel::<Vec<u64>>(8);
                    let consumer = tokio::spawn(async move {
                        let mut sum = 0u64;
                        while let Some(batch) = rx.recv().await {
                            sum = batch.iter().fold(sum, |acc, x| acc.wrapping_add(*x));
                        }
                        sum
                    });
                    for batch in batches() {
                        tx.send(batch).await.expect("the consumer runs");
                    }
                    drop(tx);
                    consumer.await.expect("the consumer ends")
                })
            }),
        }],
        extra: Vec::new(),
    }
}
