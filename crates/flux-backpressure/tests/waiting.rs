//! Policies that make the sender wait, on the sync engine: nothing is
//! lost, the bound holds, and the waits happen exactly where the policy
//! says (instants are virtual, and exact).

mod support;

use std::time::Duration;

use flux_backpressure::{AdaptiveBatch, Block, Circuit, CircuitCounts, Credit, Limit, ReactivePull, TokenBucket};
use flux_core::{Instant, Pipeline, Runnable};
use flux_engine_sync::{Decision, RunReport, SyncEngine, UpstreamFirst};
use flux_plan::Planner;
use flux_steps::Steps;
use flux_test::{IterSource, TimedSource};
use support::{Arrivals, gated};

const INPUT: u64 = 3_000;

/// Runs `0..INPUT` through a boundary `make` governs, the source stepped
/// whenever it can run (the receiver gets a turn only when the source
/// cannot): everything arrives, in order.
fn waited<P: flux_core::BackpressurePolicy + 'static>(
    make: impl Fn() -> P + Send + Sync + 'static,
) -> (Arrivals, RunReport) {
    let arrivals = Arrivals::default();
    let (pipeline, plan, policies) = gated(INPUT, &arrivals, make);
    let report = SyncEngine::new().with_hook(UpstreamFirst).with_backpressure(policies).run(&plan, pipeline).unwrap();
    assert_eq!(arrivals.sequences(), (0..INPUT).collect::<Vec<_>>(), "nothing lost, nothing reordered");
    (arrivals, report)
}

fn sent_sizes(report: &RunReport) -> Vec<usize> {
    let sizes = report.trace.iter().filter_map(|decision| match decision {
        Decision::Send { envelopes, .. } => Some(*envelopes),
        _ => None,
    });
    sizes.collect()
}

#[test]
fn block_holds_the_sender_at_the_limit_and_never_queues_past_it() {
    let (_, report) = waited(|| Block::at(Limit::batches(3).batch_size(16)));
    let edge = &report.edges[0];
    assert_eq!((edge.policy, edge.capacity, edge.max_depth), (Some("block"), 3, 3));
    assert!(edge.held_back > 0, "the source was held back: {edge:?}");
    assert_eq!((edge.dropped, edge.rejected), (0, 0));
}

#[test]
fn credit_bounds_the_envelopes_queued_whatever_the_batch_size() {
    let (_, report) = waited(|| Credit::envelopes(40));
    let edge = &report.edges[0];
    // Batches of 40 (the grant is smaller than a default batch): one at a time.
    assert_eq!((edge.policy, edge.batch_size, edge.capacity), (Some("credit"), 40, 1));
    assert_eq!(edge.max_depth * edge.batch_size, 40, "never more than the grant queued");
}

#[test]
fn reactive_pull_reads_the_source_only_after_the_last_batch_was_taken() {
    let (_, report) = waited(|| ReactivePull::demand(1).batch_size(100));
    let mut queued = 0i64;
    for decision in &report.trace {
        match decision {
            Decision::Pull { .. } => assert_eq!(queued, 0, "the source was pulled while downstream was full"),
            Decision::Send { .. } => queued += 1,
            Decision::Receive { .. } => queued -= 1,
            _ => {}
        }
    }
    let pulls = report.trace.iter().filter(|d| matches!(d, Decision::Pull { .. })).count();
    assert_eq!(pulls, 31, "one batch of 100 a pull, and the pull that found the end");
    assert_eq!(sent_sizes(&report), vec![100; 30]);
}

#[test]
fn a_token_bucket_spaces_batches_at_the_rate_in_virtual_time() {
    let (arrivals, report) = waited(|| TokenBucket::per_second(1_000, 100));
    // Batches of 100 at 1,000 a second: one every 100 ms, the first at once.
    let times = arrivals.times();
    for (sequence, at) in times.iter().enumerate() {
        assert_eq!(*at, Instant::from_millis(sequence as u64 / 100 * 100), "envelope {sequence}");
    }
    assert_eq!(report.end_time, Instant::from_millis(2_900));
    assert_eq!(report.edges[0].policy, Some("token-bucket"));
    // The source reads 800 envelopes (room for the channel's 8 batches of
    // 100), reserved to go at 0, 100, ... 700 ms. It is held back while a
    // batch waits for its instant, and reads again when the last one falls
    // due: 800 at 700 and at 1,400 ms, the 600 left at 2,100 ms, and the
    // end at 2,800 ms.
    let pulls: Vec<Instant> = report
        .trace
        .iter()
        .filter_map(|d| match d {
            Decision::Pull { at } => Some(*at),
            _ => None,
        })
        .collect();
    let expected: Vec<Instant> = [0, 700, 1_400, 2_100, 2_800].into_iter().map(Instant::from_millis).collect();
    assert_eq!(pulls, expected);
}

#[test]
fn adaptive_batching_doubles_while_the_receiver_is_behind_up_to_its_ceiling() {
    let (_, report) = waited(|| AdaptiveBatch::new(Limit::batches(4), 8, 256));
    // The source fills the channel before the receiver runs, so each send
    // finds it at least half full: 8, 16, ... 256, then 256s and the rest.
    let sizes = sent_sizes(&report);
    assert_eq!(&sizes[..7], [8, 8, 16, 32, 64, 128, 256]);
    assert!(sizes[7..sizes.len() - 1].iter().all(|size| *size == 256), "{sizes:?}");
    assert_eq!(sizes.iter().sum::<usize>(), INPUT as usize);
}

#[test]
fn adaptive_batching_shrinks_when_batches_fill_slowly_and_nobody_waits() {
    // One envelope every 4 ms: a batch of 8 takes 32 ms to fill, past the
    // 10 ms wait, while the receiver idles.
    let arrivals = Arrivals::default();
    let paced = (0..200u64).map(|n| (Instant::from_millis(n * 4), flux_core::Envelope::new(n).with_sequence(n)));
    let source = TimedSource::new(paced.collect());
    let policies = flux_backpressure::EdgePolicies::new()
        .after("gate", || AdaptiveBatch::new(Limit::batches(4), 2, 64).max_wait(Duration::from_millis(10)));
    let pipeline = Pipeline::from_source(source).map(|n| n).named("gate").sink(arrivals.clone());
    let plan = Planner::new().with_pass(policies.clone()).plan(pipeline.describe()).unwrap();
    let report = SyncEngine::new().with_backpressure(policies).run(&plan, pipeline).unwrap();
    assert_eq!(arrivals.sequences(), (0..200).collect::<Vec<_>>());
    let sizes = sent_sizes(&report);
    assert!(sizes.iter().all(|size| *size <= 2), "it stays at the floor: {sizes:?}");
}

#[test]
fn a_circuit_counts_each_time_the_boundary_stays_full_and_each_recovery() {
    let counts = CircuitCounts::default();
    let shared = counts.clone();
    let arrivals = Arrivals::default();
    // Three envelopes out of each input: a step overshoots its budget, and
    // offers find the boundary full.
    let policies = flux_backpressure::EdgePolicies::new()
        .after("gate", move || Circuit::new(Limit::batches(2).batch_size(4), 2).counting_into(&shared));
    let pipeline =
        Pipeline::from_source(IterSource::new(0..64u64)).flat_map(|n| [n, n, n]).named("gate").sink(arrivals.clone());
    let plan = Planner::new().with_pass(policies.clone()).plan(pipeline.describe()).unwrap();
    let report = SyncEngine::new().with_hook(UpstreamFirst).with_backpressure(policies).run(&plan, pipeline).unwrap();
    assert_eq!(arrivals.sequences().len(), 192, "a circuit placeholder blocks, it does not shed");
    // The first step reads 8 inputs (room for two batches of 4) and makes
    // six batches: the third and fourth offers find two queued, which
    // opens the circuit. Each later step reads 4 inputs (one batch of
    // room) into three batches: the first finds room (it closes), the
    // second and third find the limit (they open it). 8 + 14 x 4 = 64.
    assert_eq!((counts.opened(), counts.closed()), (15, 14), "{:?}", report.edges[0]);
}

/// `count` envelopes of `bytes` each, costed at their size.
struct Weighed {
    next: u64,
    count: u64,
    bytes: u32,
}

impl flux_core::Source for Weighed {
    type Item = u64;

    fn pull(&mut self, _cx: &mut flux_core::Context<'_>) -> Result<flux_core::Pull<u64>, flux_core::SourceError> {
        if self.next == self.count {
            return Ok(flux_core::Pull::End);
        }
        let n = self.next;
        self.next += 1;
        let envelope = flux_core::Envelope::new(n).with_sequence(n).with_cost(flux_core::Cost::bytes(self.bytes));
        Ok(flux_core::Pull::Item(envelope))
    }
}

#[test]
fn a_byte_limit_holds_within_one_step_of_the_source() {
    // 100 batches of 4 would let a step read 400 envelopes; 1 KiB each
    // against an 8 KiB limit, the source reads no more than fits.
    let arrivals = Arrivals::default();
    let policies = flux_backpressure::EdgePolicies::new()
        .after("gate", || Block::at(Limit::batches(100).batch_size(4).bytes(8 * 1024)));
    let source = Weighed { next: 0, count: 2_000, bytes: 1024 };
    let pipeline = Pipeline::from_source(source).map(|n| n).named("gate").sink(arrivals.clone());
    let plan = Planner::new().with_pass(policies.clone()).plan(pipeline.describe()).unwrap();
    let report = SyncEngine::new().with_hook(UpstreamFirst).with_backpressure(policies).run(&plan, pipeline).unwrap();
    assert_eq!(arrivals.sequences(), (0..2_000).collect::<Vec<_>>());
    let edge = &report.edges[0];
    // Before the first batch is weighed a step reads one batch; after, at
    // most 8 KiB: two batches of four 1 KiB envelopes.
    assert_eq!((edge.max_depth, edge.max_queued_bytes), (2, 8 * 1024), "{edge:?}");
}

#[test]
fn an_envelope_limit_holds_within_one_step_of_the_source() {
    let (_, report) = waited(|| Block::at(Limit::batches(10).batch_size(4).envelopes(8)));
    let edge = &report.edges[0];
    // Ten batches of room, but eight envelopes: two batches of four.
    assert_eq!((edge.max_depth, edge.max_queued_envelopes), (2, 8), "{edge:?}");
}

#[test]
fn a_policys_when_room_holds_the_sender_until_the_receiver_takes_a_batch() {
    let (_, report) = waited(flux_test::WaitWhenQueued::default);
    let edge = &report.edges[0];
    assert_eq!(edge.capacity, 1_000);
    // Each source step sends batches that find others queued: the sender
    // waits, far below the channel's capacity, until the receiver takes
    // one, so two pulls always have a receive between them.
    let mut received_since_pull = true;
    for decision in &report.trace {
        match decision {
            Decision::Pull { .. } => {
                assert!(received_since_pull, "pulled again before the receiver took a batch: {edge:?}");
                received_since_pull = false;
            }
            Decision::Receive { .. } => received_since_pull = true,
            _ => {}
        }
    }
    assert!(edge.held_back > 0 && edge.max_depth < 1_000, "{edge:?}");
}
