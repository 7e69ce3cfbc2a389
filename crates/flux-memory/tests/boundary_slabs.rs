//! A segment boundary after a framed source: its batches hold frames, and
//! the frames hold their slabs, so the source hands each slab's frames on
//! before it rents the next. A batch then holds frames of one slab, and
//! the pool needs room for the boundary's batches, not for a batch's
//! frames (512 lines of 10 KB are 5 MB, more than the default pool).

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use flux_core::{BufferPool, EdgeSpec, Engine, EngineHint, Junction, Pipeline, Runnable, Source};
use flux_engine_async::{AsyncEngine, RunReport};
use flux_engine_sync::SyncEngine;
use flux_memory::{Exhaustion, FramedSource, NewlineDelimited, PoolConfig, SlabPool, assert_no_leaks};
use flux_steps::Steps;
use flux_test::VecSink;

/// 100 lines of 19 bytes through 64-byte slabs (three lines a slab), with a
/// boundary of the default 512-frame batches after the source: each slab's
/// three frames cross as a batch of their own, and the stage after the
/// boundary has let them go before the reader rents the next, so one slab
/// is out at a time (gathered into one batch, all 34 would be).
#[test]
fn the_sync_engine_sends_each_slabs_frames_on_before_the_source_rents_the_next() {
    let input: &'static str = (0..100).map(|i| format!("line {i:03} of a file\n")).collect::<String>().leak();
    let pool = SlabPool::new("cut", PoolConfig::default().slab_size(64).max_slabs(64));
    let source = FramedSource::new(input.as_bytes(), pool.clone(), NewlineDelimited::new(32)).unwrap();
    let out = VecSink::new();
    let pipeline = Pipeline::from_source(source).map(|line: Bytes| line.len()).sink(out.clone());
    let mut plan = flux_plan::Planner::for_one_thread().plan(pipeline.describe()).unwrap();
    plan.junctions[0] = Junction::Boundary(EdgeSpec::default());

    let report = SyncEngine::new().watch_pool(Arc::new(pool.clone())).run(&plan, pipeline).unwrap();

    assert_eq!(out.payloads(), vec![18; 100], "every line, in order");
    let edge = &report.edges[0];
    assert_eq!((edge.batches_sent, edge.envelopes_sent), (34, 100), "a batch per slab: 33 of three lines, one of one");
    assert_eq!(pool.stats().high_water, 1, "one slab out at a time");
    assert_no_leaks(&pool);
}

/// A line of 10 KB, newline included.
const LINE: usize = 10 * 1024;

/// `count` lines of 10 KB read from `pool` on the tokio engine, the source
/// on a thread of its own (as a source over a `Read` asks by default), then
/// a stage that takes `stage` a line, slower than the reader, so that the
/// boundary's channel fills: the run's report and each line's length.
#[allow(clippy::disallowed_methods, reason = "a stage slower than the reader on a real runtime, so the channel fills")]
fn long_lines_behind_a_slow_stage(pool: &SlabPool, count: usize, stage: Duration) -> (RunReport, Vec<usize>) {
    let line = "x".repeat(LINE - 1) + "\n";
    let input: &'static [u8] = line.repeat(count).leak().as_bytes();
    let source = FramedSource::new(input, pool.clone(), NewlineDelimited::new(16 * 1024)).unwrap();
    assert_eq!(source.engine_hint(), EngineHint::Blocking, "a `Read` blocks: a thread of its own by default");
    let out = VecSink::new();
    let pipeline = Pipeline::from_source(source)
        .map(move |line: Bytes| {
            std::thread::sleep(stage);
            line.len()
        })
        .sink(out.clone());
    let plan = flux_plan::Planner::new().plan(pipeline.describe()).unwrap();
    assert!(matches!(plan.junctions[0], Junction::Boundary(_)), "cut after the source");
    let report = Engine::run(&mut AsyncEngine::new(), &plan, pipeline).unwrap();
    (report, out.payloads())
}

/// Through the default pool (16 slabs of 256 KiB, 25 lines a slab): the
/// slabs the channel holds stay within its capacity (8 batches) and the
/// two being read and worked on, far from the pool's bound. Before the
/// source handed each slab's frames on, the batch being filled took every
/// slab and the run stopped with the pool exhausted.
#[test]
fn long_lines_behind_a_slow_stage_on_tokio_hold_a_slab_per_batch_in_the_channel() {
    let pool = SlabPool::new("long-lines", PoolConfig::default());

    let (report, lengths) = long_lines_behind_a_slow_stage(&pool, 1000, Duration::from_micros(50));

    assert_eq!(lengths, vec![LINE - 1; 1000], "every line, in order");
    let edge = &report.edges[0];
    assert_eq!(edge.envelopes_sent, 1000);
    assert!(edge.batches_sent >= 40, "at most a slab's 25 lines a batch: {}", edge.batches_sent);
    let high_water = pool.stats().high_water;
    assert!(high_water <= EdgeSpec::default().capacity as u64 + 2, "{high_water} slabs at most");
    assert_no_leaks(&pool);
}

/// Through a pool of three slabs, fewer than the channel's eight batches
/// could hold: with `Exhaustion::Wait`, the source's own thread waits for
/// the stage after the boundary to give a slab back, and every line
/// arrives (with `Exhaustion::Fail` the run stops once the stage falls
/// behind).
#[test]
fn a_pool_smaller_than_the_channel_waits_on_the_sources_own_thread() {
    let config = PoolConfig::default().max_slabs(3).exhaustion(Exhaustion::Wait { timeout: Duration::from_secs(30) });
    let pool = SlabPool::new("small", config);

    let (report, lengths) = long_lines_behind_a_slow_stage(&pool, 200, Duration::from_micros(100));

    assert_eq!(lengths, vec![LINE - 1; 200], "every line, in order");
    assert_eq!(report.edges[0].envelopes_sent, 200);
    assert_eq!(pool.stats().high_water, 3, "the pool ran dry, and the source waited");
    assert_no_leaks(&pool);
}
