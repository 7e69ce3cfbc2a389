//! The tokio engine (`AsyncEngine` on a runtime of two worker threads, or
//! one beside a segment on a thread of its own: see `runtime_for`)
//! against the sync engine, against a hand-written tokio pipeline with one
//! task per stage, and against a `futures` stream chain.
//!
//! Every job is the numbers `0..N`, one envelope each, through maps into a
//! sink that folds the payloads into a wrapping sum, which every side
//! returns as its checksum. The Flux sink folds into a local and publishes
//! the sum into an `AtomicU64` when it is closed: an atomic add per
//! envelope (a locked instruction) would cost more than a trivial stage.
//! Each side has a runtime of its own, built once, outside the timing.
//!
//! `async/trivial_4_stages`: four trivial maps (a multiply, a shift-xor,
//! an add, a rotate), planned by the default `Planner`, which fuses them
//! with the source and the sink into one segment; the same pipeline value
//! and plan on the tokio engine against the sync engine (trace off), over
//! 10 Mi envelopes. With one segment, the ratio is what running it as a
//! task costs (spawning and joining it, the task's work between steps and
//! its yields to the runtime, the report).
//!
//! `async/trivial_4_stages_vs_mpsc`: the same job against the naive
//! task-per-stage design: a source task, a task per map and a sink task,
//! joined by bounded `tokio::sync::mpsc` channels of 1024 items, one item
//! per send. It is a comparison of its own rather than a second baseline
//! of the one above because the harness compares with the fastest baseline
//! only, which would hide this ratio. 1 Mi items, not 10 Mi: the channel
//! pipeline takes about 0.4 µs an item on an idle machine (1.5 µs on a
//! loaded one), so 10 Mi would make a round take 4 to 16 s.
//!
//! `async/work_25ns`: the same shape, each map also doing about 25 ns of
//! serial work per item (10 rounds of xorshift), against the task-per-stage
//! pipeline doing the same work; 1 Mi items. Each map says it costs 25 ns
//! (`cpu_hint_ns`), and the default planner's `SplitByCost` cuts the four
//! into two segments of two maps each (50 hinted ns apiece), which the
//! tokio engine runs beside each other, as the task-per-stage pipeline
//! spreads its tasks over both cores. Without the hints the plan is one
//! segment on one worker (1.8e7 items/s against 2.9-3.2e7 cut, on
//! 2026-12-03). Calibrated loosely, with a stand-alone loop over 10 M items
//! (200 k for 200 rounds; best of five, idle machine): 10 rounds took 27 ns an item when each
//! item's rounds waited for the last item's result, and 15 ns when the
//! CPU could overlap consecutive items, as it can in a fused loop; the
//! Flux side of this comparison runs at about 100 ns an item, four maps.
//!
//! `async/work_1us_two_segments`: about 1 µs of serial work per record in
//! two maps of 200 rounds each (485 ns each, calibrated as above; the sync
//! engine runs the job at about 0.96 µs a record), cut into two segments by
//! an explicit plan (source and first map | second map and sink, a boundary
//! of 8 batches of 512); the same plan on the tokio engine against the sync
//! engine, over 512 Ki records. On two cores the tokio engine can run the
//! two segments at once where the sync engine runs them one after the
//! other: 2 is the ceiling.
//!
//! `async/work_1us_two_segments_isolated`: the same plan with both maps
//! hinted `EngineHint::Isolate`, so the tokio engine runs each segment on
//! a thread of its own rather than as a task on the runtime's workers.
//!
//! `async/work_1us_isolated_vs_two_threads`: the isolated run above
//! against the best a two-thread design can do on this machine: two
//! `std::thread`s by hand, the first making the numbers and running the
//! first map, the second running the second map and summing, handing
//! batches of 512 over a bounded `flume` channel of 8 batches (the plan's
//! boundary) and the emptied batches back over another, so neither
//! allocates in steady state. Together with the line above it prints the
//! machine's own ceiling for the 1.9 bar: `two_segments_isolated`'s ratio
//! over this one's is the hand-written threads' speed-up over the sync
//! engine, measured in the same run.
//!
//! `async/futures_stream_reference`: the trivial job as
//! `futures_util::stream::iter(..).map(..)` four times and a `fold`,
//! polled as one task on a runtime like the engine's, over 10 Mi items: a
//! reference line for what an async iterator chain with no envelopes, no
//! ledger and no boundaries does.
//!
//! The LZ4 job's four comparisons (`async/lz4_keyed_count` and the lines
//! after it) are in `lz4.rs`, beside the job.

use std::hint::black_box;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use flux_core::{
    Context, EdgeSpec, EngineHint, Envelope, ExecutionPlan, Junction, Pipeline, Pull, Runnable, Sink, Source,
};
use flux_core::{SourceError, WriteError};
use flux_engine_async::AsyncEngine;
use flux_engine_sync::SyncEngine;
use flux_plan::Planner;
use flux_steps::{HintSteps, Steps};
use futures_util::StreamExt;
use tokio::runtime::Runtime;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::{Comparison, Variant};

mod lz4;

pub use lz4::{
    lz4_async_runs, lz4_data_once, lz4_envelope_two_thread_hand_once, lz4_hand_once, lz4_records, lz4_sync_once,
    lz4_two_thread_hand_once,
};

/// Envelopes of the trivial jobs.
const TRIVIAL_ITEMS: u64 = 10 * 1024 * 1024;
/// Items of the comparisons with the task-per-stage pipeline.
const CHANNEL_ITEMS: u64 = 1024 * 1024;
/// Records of the two-segment comparison.
const HEAVY_ITEMS: u64 = 512 * 1024;
/// Xorshift rounds for about 25 ns of work.
const ROUNDS_25NS: u32 = 10;
/// Xorshift rounds for about 500 ns of work.
const ROUNDS_HALF_US: u32 = 200;
/// Items each channel of the task-per-stage pipeline holds: a common
/// choice. From 16 to 8192 it did not change the pipeline's pace beyond
/// noise (docs/BENCHMARKS.md), so the baseline is not starved by it.
const MPSC_CAPACITY: usize = 1024;
/// The boundary of the two-segment plan, as `engines/cut_heavy` has it.
const BOUNDARY: EdgeSpec = EdgeSpec { capacity: 8, batch_size: 512 };

/// Every comparison of the group.
pub fn comparisons() -> Vec<Comparison> {
    vec![
        trivial_vs_sync(),
        trivial_vs_mpsc(),
        work_vs_mpsc(),
        two_segments(),
        two_segments_isolated(),
        isolated_vs_two_threads(),
        futures_reference(),
        lz4::lz4_vs_sync(),
        lz4::lz4_vs_hand_loop(),
        lz4::lz4_as_tasks_vs_sync(),
        lz4::lz4_as_tasks_vs_hand_loop(),
    ]
}

/// Map `I` of a job (0 to 3): a different cheap step each, so no two can
/// be merged into one, then `ROUNDS` rounds of xorshift (none for the
/// trivial jobs).
#[inline(always)]
fn stage<const I: u32, const ROUNDS: u32>(x: u64) -> u64 {
    let x = match I {
        0 => x.wrapping_mul(3),
        1 => x ^ (x >> 7),
        2 => x.wrapping_add(1),
        _ => x.rotate_left(5),
    };
    spin::<ROUNDS>(x)
}

/// `ROUNDS` rounds of xorshift, each depending on the last: serial work
/// the compiler can neither vectorise nor fold away.
#[inline(always)]
fn spin<const ROUNDS: u32>(x: u64) -> u64 {
    if ROUNDS == 0 {
        return x;
    }
    // A zero would stay zero; black_box keeps the rounds from being
    // computed ahead of the data.
    let mut v = black_box(x) | 1;
    for _ in 0..ROUNDS {
        v ^= v << 13;
        v ^= v >> 7;
        v ^= v << 17;
    }
    v
}

/// The numbers `next..end`, numbered.
struct Numbers {
    next: u64,
    end: u64,
}

impl Numbers {
    fn upto(end: u64) -> Self {
        Numbers { next: 0, end }
    }
}

impl Source for Numbers {
    type Item = u64;

    #[inline]
    fn pull(&mut self, _cx: &mut Context<'_>) -> Result<Pull<u64>, SourceError> {
        if self.next == self.end {
            return Ok(Pull::End);
        }
        self.next += 1;
        Ok(Pull::Item(Envelope::new(self.next - 1).with_sequence(self.next - 1)))
    }
}

/// Folds the payloads into a local sum and publishes it when closed.
struct FoldSink {
    sum: u64,
    out: Arc<AtomicU64>,
}

impl FoldSink {
    fn publishing_to(out: &Arc<AtomicU64>) -> Self {
        FoldSink { sum: 0, out: out.clone() }
    }
}

impl Sink<u64> for FoldSink {
    #[inline]
    fn write(&mut self, item: Envelope<u64>, _cx: &mut Context<'_>) -> Result<(), WriteError> {
        self.sum = self.sum.wrapping_add(item.into_payload());
        Ok(())
    }

    fn close(&mut self, _cx: &mut Context<'_>) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
        self.out.store(self.sum, Ordering::Relaxed);
        Ok(())
    }
}

/// The four-map job over `items` envelopes. Maps with work say what it
/// costs (`cpu_hint_ns`), as a user who measured them would; trivial maps
/// give a hint of 0, which is none.
fn four_maps<const ROUNDS: u32>(items: u64, out: &Arc<AtomicU64>) -> impl Runnable + use<ROUNDS> {
    let hint = if ROUNDS == 0 { 0 } else { 25 };
    Pipeline::from_source(Numbers::upto(items))
        .map(stage::<0, ROUNDS>)
        .named("first")
        .cpu_hint_ns(hint)
        .map(stage::<1, ROUNDS>)
        .named("second")
        .cpu_hint_ns(hint)
        .map(stage::<2, ROUNDS>)
        .named("third")
        .cpu_hint_ns(hint)
        .map(stage::<3, ROUNDS>)
        .named("fourth")
        .cpu_hint_ns(hint)
        .sink(FoldSink::publishing_to(out))
}

/// The two-map job of the two-segment comparison.
fn two_maps(out: &Arc<AtomicU64>) -> impl Runnable + use<> {
    Pipeline::from_source(Numbers::upto(HEAVY_ITEMS))
        .map(stage::<0, ROUNDS_HALF_US>)
        .named("first")
        .map(stage::<1, ROUNDS_HALF_US>)
        .named("second")
        .sink(FoldSink::publishing_to(out))
}

/// The cores the bars are set for: this machine's two.
const CORES: usize = 2;

/// The runtime of the baselines' tasks: a worker per core.
fn runtime() -> Runtime {
    runtime_of(CORES)
}

/// The runtime a plan runs on: a worker for each core the plan's threads
/// of their own leave (`AsyncEngine::own_threads`), at least one, as that
/// method's docs advise. A plan with no heavy segment gets a worker per
/// core; the LZ4 job with its source on a thread of its own gets one
/// (`docs/BENCHMARKS.md` compares it with two).
fn runtime_for(plan: &ExecutionPlan) -> Runtime {
    runtime_of(CORES.saturating_sub(AsyncEngine::own_threads(plan)).max(1))
}

fn runtime_of(workers: usize) -> Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(workers).build().expect("a tokio runtime")
}

/// Runs a pipeline on the tokio engine and returns what its sink
/// published. `job` builds the pipeline around the sink's output.
fn on_async<P: Runnable>(rt: &Runtime, plan: &ExecutionPlan, job: impl FnOnce(&Arc<AtomicU64>) -> P) -> u64 {
    let out = Arc::new(AtomicU64::new(0));
    let report = rt.block_on(AsyncEngine::new().run(plan, job(&out))).expect("runs");
    assert!(report.problems.is_empty(), "the ledger balances: {:?}", report.problems);
    out.load(Ordering::Relaxed)
}

/// The same on the sync engine, trace off.
fn on_sync<P: Runnable>(plan: &ExecutionPlan, job: impl FnOnce(&Arc<AtomicU64>) -> P) -> u64 {
    let out = Arc::new(AtomicU64::new(0));
    let report = SyncEngine::new().with_trace(false).run(plan, job(&out)).expect("runs");
    assert!(report.problems.is_empty(), "the ledger balances: {:?}", report.problems);
    out.load(Ordering::Relaxed)
}

/// What the default planner makes of the four-map job, as the `segments=`
/// figure on the output line shows: one segment for the trivial maps, two
/// for the hinted ones.
fn default_plan<const ROUNDS: u32>() -> ExecutionPlan {
    let describe = four_maps::<ROUNDS>(0, &Arc::default()).describe();
    Planner::new().plan(describe).expect("plans")
}

fn segments(plan: &ExecutionPlan) -> Vec<(String, String)> {
    vec![("segments".to_owned(), plan.segments().len().to_string())]
}

/// The Flux side of the four-map comparisons: the default plan on the
/// tokio engine.
fn flux_four_maps<const ROUNDS: u32>(items: u64, plan: ExecutionPlan) -> Variant {
    let rt = runtime_for(&plan);
    Variant {
        label: "async engine",
        run: Box::new(move || on_async(&rt, &plan, |out| four_maps::<ROUNDS>(items, out))),
    }
}

fn trivial_vs_sync() -> Comparison {
    let plan = default_plan::<0>();
    let on_sync_plan = plan.clone();
    Comparison {
        name: "async/trivial_4_stages",
        work: TRIVIAL_ITEMS,
        unit: "items",
        extra: segments(&plan),
        flux: flux_four_maps::<0>(TRIVIAL_ITEMS, plan),
        baselines: vec![Variant {
            label: "sync engine",
            run: Box::new(move || on_sync(&on_sync_plan, |out| four_maps::<0>(TRIVIAL_ITEMS, out))),
        }],
    }
}

fn trivial_vs_mpsc() -> Comparison {
    let plan = default_plan::<0>();
    let rt = runtime();
    Comparison {
        name: "async/trivial_4_stages_vs_mpsc",
        work: CHANNEL_ITEMS,
        unit: "items",
        extra: segments(&plan),
        flux: flux_four_maps::<0>(CHANNEL_ITEMS, plan),
        baselines: vec![Variant {
            label: "tokio task per stage, mpsc per item",
            run: Box::new(move || task_per_stage::<0>(&rt, CHANNEL_ITEMS)),
        }],
    }
}

fn work_vs_mpsc() -> Comparison {
    let plan = default_plan::<ROUNDS_25NS>();
    let rt = runtime();
    Comparison {
        name: "async/work_25ns",
        work: CHANNEL_ITEMS,
        unit: "items",
        extra: segments(&plan),
        flux: flux_four_maps::<ROUNDS_25NS>(CHANNEL_ITEMS, plan),
        baselines: vec![Variant {
            label: "tokio task per stage, mpsc per item",
            run: Box::new(move || task_per_stage::<ROUNDS_25NS>(&rt, CHANNEL_ITEMS)),
        }],
    }
}

fn two_segments() -> Comparison {
    two_segments_as("async/work_1us_two_segments", false)
}

/// The same, with both maps hinted `EngineHint::Isolate`, as a user marks
/// a heavy stage: the tokio engine runs each segment on a thread of its
/// own instead of as a task on the runtime's two workers.
fn two_segments_isolated() -> Comparison {
    two_segments_as("async/work_1us_two_segments_isolated", true)
}

/// The isolated two-segment run against two hand-written threads.
fn isolated_vs_two_threads() -> Comparison {
    let mut comparison = two_segments_as("async/work_1us_isolated_vs_two_threads", true);
    comparison.baselines =
        vec![Variant { label: "two threads by hand, batches over flume", run: Box::new(two_threads_by_hand) }];
    comparison
}

/// The two-map job as two threads joined by a bounded channel of batches,
/// the way a user who knows where to cut would write it: the first thread
/// makes the numbers and runs the first map, the second runs the second
/// map and sums. Emptied batches go back to the first thread, so the run
/// allocates its batches once.
fn two_threads_by_hand() -> u64 {
    let batch_size = BOUNDARY.batch_size;
    let (full_tx, full_rx) = flume::bounded::<Vec<u64>>(BOUNDARY.capacity);
    let (empty_tx, empty_rx) = flume::unbounded::<Vec<u64>>();
    std::thread::scope(|scope| {
        scope.spawn(move || {
            let mut batch = Vec::with_capacity(batch_size);
            for x in 0..HEAVY_ITEMS {
                batch.push(stage::<0, ROUNDS_HALF_US>(x));
                if batch.len() == batch_size {
                    let next = empty_rx.try_recv().unwrap_or_else(|_| Vec::with_capacity(batch_size));
                    full_tx.send(std::mem::replace(&mut batch, next)).expect("the second thread receives");
                }
            }
            if !batch.is_empty() {
                full_tx.send(batch).expect("the second thread receives");
            }
        });
        let mut sum = 0u64;
        for mut batch in full_rx.iter() {
            for x in batch.drain(..) {
                sum = sum.wrapping_add(stage::<1, ROUNDS_HALF_US>(x));
            }
            // The first thread may have finished and dropped its end.
            let _ = empty_tx.send(batch);
        }
        sum
    })
}

/// The two-map job cut after the first map, so that each map has a
/// segment of its own; with `isolated`, each on a thread of its own.
fn two_segments_as(name: &'static str, isolated: bool) -> Comparison {
    let mut plan = Planner::new().plan(two_maps(&Arc::default()).describe()).expect("plans");
    // Stages: source 0, first 1, second 2, sink 3.
    plan.junctions[1] = Junction::Boundary(BOUNDARY);
    if isolated {
        for stage in [1, 2] {
            plan.stages[stage].engine_hint = EngineHint::Isolate;
        }
    }
    assert_eq!(plan.segments().len(), 2, "the planner fused the rest");
    let on_sync_plan = plan.clone();
    let rt = runtime_for(&plan);
    Comparison {
        name,
        work: HEAVY_ITEMS,
        unit: "items",
        extra: segments(&plan),
        flux: Variant { label: "async engine", run: Box::new(move || on_async(&rt, &plan, two_maps)) },
        baselines: vec![Variant { label: "sync engine", run: Box::new(move || on_sync(&on_sync_plan, two_maps)) }],
    }
}

fn futures_reference() -> Comparison {
    let plan = default_plan::<0>();
    let rt = runtime();
    Comparison {
        name: "async/futures_stream_reference",
        work: TRIVIAL_ITEMS,
        unit: "items",
        extra: segments(&plan),
        flux: flux_four_maps::<0>(TRIVIAL_ITEMS, plan),
        baselines: vec![Variant {
            label: "futures stream chain, one task",
            run: Box::new(move || stream_chain(&rt, TRIVIAL_ITEMS)),
        }],
    }
}

/// The naive tokio design: a task per stage (source, each map, sink),
/// joined by bounded mpsc channels carrying one item per send.
fn task_per_stage<const ROUNDS: u32>(rt: &Runtime, items: u64) -> u64 {
    rt.block_on(async {
        let mut tasks = Vec::new();
        let (tx, numbers) = mpsc::channel(MPSC_CAPACITY);
        tasks.push(tokio::spawn(async move {
            for n in 0..items {
                if tx.send(n).await.is_err() {
                    return;
                }
            }
        }));
        let first = relay(numbers, stage::<0, ROUNDS>, &mut tasks);
        let second = relay(first, stage::<1, ROUNDS>, &mut tasks);
        let third = relay(second, stage::<2, ROUNDS>, &mut tasks);
        let mut fourth = relay(third, stage::<3, ROUNDS>, &mut tasks);
        let sink = tokio::spawn(async move {
            let mut sum = 0u64;
            while let Some(x) = fourth.recv().await {
                sum = sum.wrapping_add(x);
            }
            sum
        });
        let sum = sink.await.expect("the sink task ends");
        // Every other task has ended or is ending; wait for them, so that
        // none runs into the next timed run.
        for task in tasks {
            task.await.expect("a stage task ends");
        }
        sum
    })
}

/// Spawns a task applying `f` to each item of `input`, sending each result
/// on its own; returns the channel it sends on.
fn relay(
    mut input: mpsc::Receiver<u64>,
    f: impl Fn(u64) -> u64 + Send + 'static,
    tasks: &mut Vec<JoinHandle<()>>,
) -> mpsc::Receiver<u64> {
    let (tx, output) = mpsc::channel(MPSC_CAPACITY);
    tasks.push(tokio::spawn(async move {
        while let Some(x) = input.recv().await {
            if tx.send(f(x)).await.is_err() {
                return;
            }
        }
    }));
    output
}

/// The trivial job as a `futures` stream chain, spawned as one task.
fn stream_chain(rt: &Runtime, items: u64) -> u64 {
    let job = futures_util::stream::iter(0..items)
        .map(stage::<0, 0>)
        .map(stage::<1, 0>)
        .map(stage::<2, 0>)
        .map(stage::<3, 0>)
        .fold(0u64, |sum, x| futures_util::future::ready(sum.wrapping_add(x)));
    rt.block_on(rt.spawn(job)).expect("the stream task ends")
}
