//! The zero-copy bar: a file -> frame -> transform -> sink pipeline makes at
//! most 0.01 heap allocations per envelope in steady state.
//!
//! A counting global allocator counts every allocation in this test binary,
//! which holds this one test so that no other test's allocations are counted.
//! With the `tokio` feature it measures `AsyncWriteSink` too.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use flux_core::{Pipeline, Runnable, Sink};
use flux_engine_sync::SyncEngine;
use flux_memory::{FramedSource, NewlineDelimited, PoolConfig, SlabPool, WriteSink, assert_no_leaks};
use flux_steps::Steps;
use flux_test::CountingAllocator;

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator::new();

const LINES: u64 = 200_000;
/// Envelopes before measuring: the pool, the buffers and the engine's
/// collections reach their working size here.
const WARM_UP: u64 = 20_000;
/// The last envelope measured: before end-of-input work (reports, flushes).
const MEASURED_TO: u64 = LINES - 1_000;

#[test]
fn steady_state_allocations_per_envelope_are_at_most_one_hundredth() {
    let per_envelope = allocations_per_envelope("write", WriteSink::new(std::io::sink()));
    assert!(per_envelope <= 0.01, "WriteSink: {per_envelope} allocations per envelope");
    // The async sink's flushes keep their waker: it allocates no more.
    #[cfg(feature = "tokio")]
    {
        let per_envelope = allocations_per_envelope("async", flux_memory::AsyncWriteSink::new(tokio::io::sink()));
        assert!(per_envelope <= 0.01, "AsyncWriteSink: {per_envelope} allocations per envelope");
    }
}

/// Allocations per envelope, between the warm-up and the end of input, of
/// file -> frame -> transform -> `sink` on the sync engine.
fn allocations_per_envelope(name: &str, sink: impl Sink<Bytes> + 'static) -> f64 {
    let path = std::env::temp_dir().join(format!("flux-memory-alloc-{name}-{}", std::process::id()));
    let text: String =
        (0..LINES).map(|i| format!("{i:08} level=info user={} message=request served\n", i % 97)).collect();
    std::fs::write(&path, &text).unwrap();

    let pool = SlabPool::new("alloc", PoolConfig::default().slab_size(256 * 1024).max_slabs(4));
    let source = FramedSource::file(&path, pool.clone(), NewlineDelimited::new(4096)).unwrap();
    let marks = Arc::new([AtomicU64::new(0), AtomicU64::new(0)]);
    let marker = Arc::clone(&marks);
    let pipeline = Pipeline::from_source(source)
        .inspect(move |envelope| match envelope.meta().sequence {
            WARM_UP => marker[0].store(ALLOCATOR.allocations(), Ordering::Relaxed),
            MEASURED_TO => marker[1].store(ALLOCATOR.allocations(), Ordering::Relaxed),
            _ => {}
        })
        .map(|line: Bytes| {
            // The transform: keep what follows the user field.
            let at = memchr::memmem::find(&line, b"message=").unwrap_or(0);
            line.slice(at..)
        })
        .sink(sink);

    // Planned for the sync engine's one thread, as `flux::run` plans: the
    // figure is the fused pipeline's (docs/memory.md).
    let plan = flux_plan::Planner::for_one_thread().plan(pipeline.describe()).unwrap();
    let mut engine = SyncEngine::new().with_trace(false).watch_pool(Arc::new(pool.clone()));
    let report = engine.run(&plan, pipeline).unwrap();
    assert!(report.dead_letters.is_empty());
    assert_no_leaks(&pool);
    std::fs::remove_file(&path).unwrap();

    let allocations = marks[1].load(Ordering::Relaxed) - marks[0].load(Ordering::Relaxed);
    let per_envelope = allocations as f64 / (MEASURED_TO - WARM_UP) as f64;
    eprintln!(
        "{name} sink, steady state: {allocations} allocations over {} envelopes = {per_envelope:.5} per envelope",
        MEASURED_TO - WARM_UP
    );
    per_envelope
}
