//! Batch buffers are recycled on tokio too: a running pipeline does not
//! allocate a batch per batch. Measured with a counting allocator.

use flux_core::{Context, EdgeSpec, Envelope, Junction, Pipeline, Runnable, Sink, WriteError};
use flux_engine_async::AsyncEngine;
use flux_plan::Planner;
use flux_steps::Steps;
use flux_test::{CountingAllocator, IterSource};

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator::new();

/// Counts what it is given and keeps nothing.
#[derive(Default)]
struct Discard(u64);

impl Sink<u64> for Discard {
    fn write(&mut self, _item: Envelope<u64>, _cx: &mut Context<'_>) -> Result<(), WriteError> {
        self.0 += 1;
        Ok(())
    }
}

/// Heap allocations of a run of `envelopes` through two boundaries of small
/// batches, and the batches that crossed them.
async fn allocations_of_a_run(envelopes: u64) -> (u64, u64) {
    let pipeline = Pipeline::from_source(IterSource::new(0..envelopes)).map(|n| n + 1).map(|n| n * 2).sink(Discard(0));
    let mut plan = Planner::new().plan(pipeline.describe()).unwrap();
    for junction in &mut plan.junctions {
        *junction = Junction::Boundary(EdgeSpec { capacity: 4, batch_size: 64 });
    }
    let before = ALLOCATOR.allocations();
    let report = AsyncEngine::new().run(&plan, pipeline).await.unwrap();
    let made = ALLOCATOR.allocations() - before;
    (made, report.edges.iter().map(|e| e.batches_sent).sum())
}

#[tokio::test(flavor = "current_thread")]
async fn a_running_pipeline_allocates_no_batch_per_batch_on_tokio() {
    let (small, _) = allocations_of_a_run(10_000).await;
    let (large, batches) = allocations_of_a_run(1_000_000).await;
    assert!(batches > 40_000, "{batches} batches crossed the boundaries");
    assert!(large < small + 64, "{small} allocations for 10k envelopes, {large} for 1M ({batches} batches)");
}

/// `count` envelopes of 1 KiB each, costed at their size.
struct Kilobytes {
    next: u64,
    count: u64,
}

impl flux_core::Source for Kilobytes {
    type Item = Vec<u8>;

    fn pull(&mut self, _cx: &mut Context<'_>) -> Result<flux_core::Pull<Vec<u8>>, flux_core::SourceError> {
        if self.next == self.count {
            return Ok(flux_core::Pull::End);
        }
        let n = self.next;
        self.next += 1;
        let envelope = Envelope::new(vec![n as u8; 1024]).with_sequence(n).with_cost(flux_core::Cost::bytes(1024));
        Ok(flux_core::Pull::Item(envelope))
    }
}

/// A sink slower than the source: busy work for each envelope.
struct Slow;

impl Sink<Vec<u8>> for Slow {
    fn write(&mut self, item: Envelope<Vec<u8>>, _cx: &mut Context<'_>) -> Result<(), WriteError> {
        let mut sum = 0u64;
        for byte in item.payload() {
            sum = std::hint::black_box(sum + u64::from(*byte));
        }
        Ok(())
    }
}

/// The most heap a run of 20 MB through a slow sink holds, behind a
/// boundary of 1,000 batches of 16 that is also limited to `bytes`.
fn peak_behind(bytes: Option<u64>) -> usize {
    let limit = flux_backpressure::Limit::batches(1_000).batch_size(16);
    let limit = bytes.map_or(limit, |bytes| limit.bytes(bytes));
    let policies = flux_backpressure::EdgePolicies::new().after("gate", move || flux_backpressure::Block::at(limit));
    let pipeline = Pipeline::from_source(Kilobytes { next: 0, count: 20_000 }).map(|kb| kb).named("gate").sink(Slow);
    let plan = Planner::new().with_pass(policies.clone()).plan(pipeline.describe()).unwrap();
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let engine = AsyncEngine::new().with_backpressure(policies);
    let (report, peak) = ALLOCATOR.peak_during(|| runtime.block_on(engine.run(&plan, pipeline)).unwrap());
    assert_eq!(report.row("sink").unwrap().counts.consumed, 20_000);
    peak
}

#[test]
fn a_slow_sink_holds_no_more_bytes_than_the_boundary_allows() {
    // 64 KiB in the channel; besides it, one batch (16 KiB) in each of the
    // source's step, the edge's waiting place and the sink's hands.
    let bounded = peak_behind(Some(64 << 10));
    assert!(bounded < 64 * 1024 + 4 * 16 * 1024 + (64 << 10), "{bounded} bytes held behind a 64 KiB limit");
    // Without the byte limit, 1,000 batches of 16 KiB may queue: the limit
    // is what holds the line.
    let unbounded = peak_behind(None);
    assert!(unbounded > 4 << 20, "{unbounded} bytes held with no byte limit");
}
