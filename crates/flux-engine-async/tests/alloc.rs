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
