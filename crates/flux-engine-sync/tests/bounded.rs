//! Memory stays bounded whatever the schedule: channels honour their
//! capacity, and dead letters past the kept ones are counted, not kept.
//! Measured with a counting allocator.

mod support;

use std::sync::Mutex;

use flux_core::{EdgeSpec, Envelope, Pipeline, Runnable, Sink};
use flux_engine_sync::{DownstreamFirst, ScheduleHook, Seeded, SyncEngine, UpstreamFirst};
use flux_plan::Planner;
use flux_steps::Steps;
use flux_test::CountingAllocator;
use flux_test::IterSource;

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator::new();

/// One measurement at a time: the counters are global.
static MEASURING: Mutex<()> = Mutex::new(());

/// Counts what it is given and keeps nothing.
#[derive(Default)]
struct Discard(u64);

impl Sink<u64> for Discard {
    fn write(&mut self, _item: Envelope<u64>, _cx: &mut flux_core::Context<'_>) -> Result<(), flux_core::WriteError> {
        self.0 += 1;
        Ok(())
    }
}

fn queued_peak(envelopes: u64, hook: impl ScheduleHook + 'static) -> usize {
    let pipeline = Pipeline::from_source(IterSource::new(0..envelopes)).map(|n| n + 1).map(|n| n * 2).sink(Discard(0));
    let plan = Planner::new().with_pass(support::CutAll(EdgeSpec::default())).plan(pipeline.describe()).unwrap();
    let mut engine = SyncEngine::new().with_trace(false).with_hook(hook);
    let (report, peak) = ALLOCATOR.peak_during(|| engine.run(&plan, pipeline).unwrap());
    for edge in &report.edges {
        // One source step (1,024 envelopes, two batches) past the capacity at most.
        assert!(edge.max_depth <= edge.capacity + 2, "{edge:?}");
    }
    peak
}

#[test]
fn queues_stay_within_their_capacity_under_every_schedule_hook() {
    let _one = MEASURING.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    // 20 times the input must not take more memory under any schedule.
    let hooks: [(&str, MakeHook); 4] = [
        ("downstream first", || Box::new(DownstreamFirst)),
        ("upstream first", || Box::new(UpstreamFirst)),
        ("seeded 3", || Box::new(Seeded::new(3))),
        ("seeded 11", || Box::new(Seeded::new(11))),
    ];
    for (name, hook) in hooks {
        let small = queued_peak(50_000, BoxedHook(hook()));
        let large = queued_peak(1_000_000, BoxedHook(hook()));
        // An envelope of u64 is 128 bytes: a million queued would be 128 MB.
        assert!(large < 4 << 20, "{name}: peak {large} bytes for a million envelopes");
        assert!(large < small * 2 + (256 << 10), "{name}: {small} bytes for 50k, {large} for 1M");
    }
}

/// Makes a fresh hook for each run.
type MakeHook = fn() -> Box<dyn ScheduleHook>;

/// A boxed hook, so the hooks can be listed together.
struct BoxedHook(Box<dyn ScheduleHook>);

impl ScheduleHook for BoxedHook {
    fn choose(&mut self, runnable: &[usize], now: flux_core::Instant) -> usize {
        self.0.choose(runnable, now)
    }
}

#[test]
fn a_million_failures_keep_only_the_first_dead_letters_and_count_the_rest() {
    let _one = MEASURING.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let run = |count: u32| {
        let pipeline = Pipeline::from_source(IterSource::new(0..count))
            .try_map(|n| Err::<u32, _>(format!("bad input {}", n % 3)))
            .named("parse")
            .sink(flux_test::VecSink::new());
        let plan = Planner::new().plan(pipeline.describe()).unwrap();
        ALLOCATOR
            .peak_during(|| SyncEngine::new().with_trace(false).keep_dead_letters(1_000).run(&plan, pipeline).unwrap())
    };
    let (report, peak) = run(1_000_000);
    assert_eq!(report.dead_letters.len(), 1_000);
    assert_eq!(report.row("parse").unwrap().dead_letters, 1_000_000);
    let counted: u64 = report.not_kept.iter().map(|t| t.count).sum();
    assert_eq!(counted, 999_000);
    assert_eq!(report.not_kept.len(), 3, "one line per cause");
    // A dead letter kept whole is about 200 bytes with its cause: a million
    // would be 200 MB.
    let (_, small_peak) = run(10_000);
    assert!(peak < small_peak * 2 + (1 << 20), "peak {peak} bytes for a million, {small_peak} for ten thousand");
}

/// Heap allocations a run of `envelopes` makes through two boundaries of
/// small batches.
fn allocations_of_a_run(envelopes: u64) -> (u64, u64) {
    let pipeline = Pipeline::from_source(IterSource::new(0..envelopes)).map(|n| n + 1).map(|n| n * 2).sink(Discard(0));
    let edge = EdgeSpec { capacity: 4, batch_size: 64 };
    let plan = Planner::new().with_pass(support::CutAll(edge)).plan(pipeline.describe()).unwrap();
    let mut engine = SyncEngine::new().with_trace(false);
    let before = ALLOCATOR.allocations();
    let report = engine.run(&plan, pipeline).unwrap();
    let made = ALLOCATOR.allocations() - before;
    (made, report.edges.iter().map(|e| e.batches_sent).sum())
}

#[test]
fn a_running_pipeline_allocates_nothing_per_batch() {
    let _one = MEASURING.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let (small, _) = allocations_of_a_run(10_000);
    let (large, batches) = allocations_of_a_run(1_000_000);
    assert!(batches > 30_000, "{batches} batches crossed the boundaries");
    // Batch buffers go back to their sender: a hundred times the input
    // takes a handful more allocations (growing buffers), not one a batch.
    assert!(large < small + 64, "{small} allocations for 10k envelopes, {large} for 1M ({batches} batches)");
}
