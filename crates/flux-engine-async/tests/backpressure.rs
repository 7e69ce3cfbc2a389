//! Backpressure policies on tokio: the same records as on the sync engine
//! for policies that wait, the same instants for a rate under paused time,
//! and, for policies that shed, every envelope accounted for by sequence.

use std::sync::{Arc, Mutex};

use flux_backpressure::{
    AdaptiveBatch, Block, Circuit, Credit, EdgePolicies, Limit, ReactivePull, Shedding, TokenBucket,
};
use flux_core::{
    BackpressurePolicy, Context, Cost, Envelope, ExecutionPlan, Instant, LedgerRow, Pipeline, PlanError, Runnable,
    Sink, TurnedAway, WriteError,
};
use flux_engine_async::{AsyncEngine, RunErrorKind};
use flux_engine_sync::SyncEngine;
use flux_plan::Planner;
use flux_steps::Steps;
use flux_test::{IterSource, TimedSource};

/// Every envelope that reached the sink, and when; optionally slow.
#[derive(Clone, Default)]
struct Arrivals {
    seen: Arc<Mutex<Vec<(u64, Instant)>>>,
    /// Busy work per envelope, to make the sink slower than the source.
    spin: u32,
}

impl Arrivals {
    fn slow(spin: u32) -> Self {
        Arrivals { spin, ..Arrivals::default() }
    }

    fn sequences(&self) -> Vec<u64> {
        self.seen.lock().unwrap().iter().map(|(sequence, _)| *sequence).collect()
    }

    fn times(&self) -> Vec<Instant> {
        self.seen.lock().unwrap().iter().map(|(_, at)| *at).collect()
    }
}

impl Sink<u64> for Arrivals {
    fn write(&mut self, item: Envelope<u64>, cx: &mut Context<'_>) -> Result<(), WriteError> {
        let mut work = 0u64;
        for i in 0..self.spin {
            work = std::hint::black_box(work.wrapping_add(u64::from(i)));
        }
        self.seen.lock().unwrap().push((item.meta().sequence, cx.now()));
        Ok(())
    }
}

/// `0..count` through a stage named `gate` whose output boundary the
/// policy `make` makes governs, into `arrivals`.
fn gated<P: BackpressurePolicy + 'static>(
    count: u64,
    arrivals: &Arrivals,
    make: impl Fn() -> P + Send + Sync + 'static,
) -> (impl Runnable, ExecutionPlan, EdgePolicies) {
    let policies = EdgePolicies::new().after("gate", make);
    let pipeline = Pipeline::from_source(IterSource::new(0..count)).map(|n| n).named("gate").sink(arrivals.clone());
    let plan = Planner::new().with_pass(policies.clone()).plan(pipeline.describe()).unwrap();
    (pipeline, plan, policies)
}

/// What one engine did: the sequences that arrived, and its ledger.
type Outcome = (Vec<u64>, Vec<LedgerRow>);

/// A run of one policy on both engines.
type RunOnBoth = Box<dyn Fn() -> (Outcome, Outcome)>;

/// Runs the same gated pipeline on both engines: the sync engine's
/// outcome, then tokio's.
fn on_both<P: BackpressurePolicy + 'static>(
    count: u64,
    make: impl Fn() -> P + Send + Sync + Clone + 'static,
) -> (Outcome, Outcome) {
    let sync_arrivals = Arrivals::default();
    let (pipeline, plan, policies) = gated(count, &sync_arrivals, make.clone());
    let sync = SyncEngine::new().with_backpressure(policies).run(&plan, pipeline).unwrap();
    let async_arrivals = Arrivals::default();
    let (pipeline, plan, policies) = gated(count, &async_arrivals, make);
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let tokio = runtime.block_on(AsyncEngine::new().with_backpressure(policies).run(&plan, pipeline)).unwrap();
    ((sync_arrivals.sequences(), sync.ledger), (async_arrivals.sequences(), tokio.ledger))
}

#[test]
fn policies_that_wait_deliver_the_same_records_and_ledger_on_both_engines() {
    let everything: Vec<u64> = (0..20_000).collect();
    let checks: [(&str, RunOnBoth); 6] = [
        ("block", Box::new(|| on_both(20_000, || Block::at(Limit::batches(2).batch_size(64))))),
        ("credit", Box::new(|| on_both(20_000, || Credit::envelopes(100)))),
        ("reactive pull", Box::new(|| on_both(20_000, || ReactivePull::demand(1).batch_size(32)))),
        ("adaptive", Box::new(|| on_both(20_000, || AdaptiveBatch::new(Limit::batches(4), 8, 512)))),
        ("token bucket", Box::new(|| on_both(20_000, || TokenBucket::per_second(10_000_000, 1_000)))),
        ("circuit", Box::new(|| on_both(20_000, || Circuit::new(Limit::batches(2).batch_size(16), 2)))),
    ];
    for (name, check) in checks {
        let ((sync, sync_ledger), (tokio, tokio_ledger)) = check();
        assert_eq!(sync, everything, "{name}: everything, in order, on the sync engine");
        assert_eq!(tokio, everything, "{name}: everything, in order, on tokio");
        assert_eq!(sync_ledger, tokio_ledger, "{name}: the same ledger");
    }
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn a_token_bucket_holds_batches_to_the_same_instants_on_tokio_time() {
    let arrivals = Arrivals::default();
    let (pipeline, plan, policies) = gated(1_000, &arrivals, || TokenBucket::per_second(1_000, 100));
    let report = AsyncEngine::new().with_backpressure(policies).run(&plan, pipeline).await.unwrap();
    assert_eq!(arrivals.sequences(), (0..1_000).collect::<Vec<_>>());
    // Batches of 100 at 1,000 a second: one every 100 ms, the first at once.
    for (sequence, at) in arrivals.times().iter().enumerate() {
        assert_eq!(*at, Instant::from_millis(sequence as u64 / 100 * 100), "envelope {sequence}");
    }
    assert_eq!(report.elapsed, std::time::Duration::from_millis(900));
    assert!(report.edges[0].full_sends >= 9, "each held batch waited in the edge: {:?}", report.edges[0]);
}

/// The sequences of `0..count` that did not arrive.
fn missing(count: u64, seen: &[u64]) -> Vec<u64> {
    let seen: std::collections::BTreeSet<_> = seen.iter().copied().collect();
    (0..count).filter(|n| !seen.contains(n)).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_sink_behind_a_shedding_boundary_loses_only_what_the_policy_counts() {
    const INPUT: u64 = 50_000;
    for make in [
        (|| Shedding::drop_newest(Limit::batches(2).batch_size(16))) as fn() -> Shedding,
        || Shedding::drop_oldest(Limit::batches(2).batch_size(16)),
        || Shedding::reject(Limit::batches(2).batch_size(16)),
    ] {
        let arrivals = Arrivals::slow(2_000);
        let (pipeline, plan, policies) = gated(INPUT, &arrivals, make);
        let engine = AsyncEngine::new().keep_dead_letters(usize::MAX).with_backpressure(policies);
        let report = engine.run(&plan, pipeline).await.unwrap();
        let edge = report.edges[0];
        let arrived = arrivals.sequences();
        assert!(arrived.windows(2).all(|pair| pair[0] < pair[1]), "{:?}: in order", edge.policy);
        let lost = missing(INPUT, &arrived);
        assert!(!lost.is_empty(), "{:?}: a sink this slow makes the boundary shed", edge.policy);
        assert_eq!(lost.len() as u64, edge.dropped + edge.rejected, "{:?}: every loss counted", edge.policy);
        let shown = report.to_string();
        let boundary = shown.lines().find(|line| line.trim_start().starts_with("boundary")).expect("a boundary line");
        let says = format!(", {} dropped", lost.len());
        assert!(boundary.ends_with(&says), "{:?}: the report's text counts every loss: {boundary}", edge.policy);
        let rejected: Vec<u64> = report.dead_letters.iter().map(|letter| letter.meta.sequence).collect();
        match edge.policy {
            Some("reject") => {
                assert!(rejected == lost, "every rejected envelope is a dead letter, by sequence");
                let cause = report.dead_letters[0].error.cause().downcast_ref::<TurnedAway>().copied();
                assert_eq!(cause, Some(TurnedAway { junction: 1, policy: "reject" }));
            }
            _ => assert!(rejected.is_empty() && edge.rejected == 0),
        }
        assert_eq!(report.row("sink").unwrap().counts.consumed, arrived.len() as u64);
    }
}

#[tokio::test(flavor = "current_thread")]
async fn a_policy_for_a_junction_the_plan_fused_is_refused_before_anything_runs() {
    let arrivals = Arrivals::default();
    let pipeline = Pipeline::from_source(IterSource::new(0..10u64)).map(|n| n).named("gate").sink(arrivals.clone());
    let plan = Planner::new().plan(pipeline.describe()).unwrap(); // no policy pass: the gate is fused
    let policies = EdgePolicies::new().after("gate", || Block::at(Limit::batches(2)));
    let error = AsyncEngine::new().with_backpressure(policies).run(&plan, pipeline).await.unwrap_err();
    let RunErrorKind::PlanMismatch(refused @ PlanError::Pass { pass, stage, cause }) = error.kind() else {
        panic!("{error:?}");
    };
    assert_eq!((*pass, stage.as_ref().map(|id| id.as_str())), ("backpressure", Some("gate")));
    assert!(cause.to_string().contains("fused"), "{cause}");
    let source = std::error::Error::source(&error).map(ToString::to_string);
    assert_eq!(source, Some(refused.to_string()), "the plan's error is the source");
    assert!(arrivals.sequences().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_envelope_limit_bounds_what_the_channel_holds_behind_a_slow_sink() {
    let arrivals = Arrivals::slow(2_000);
    let (pipeline, plan, policies) =
        gated(20_000, &arrivals, || Block::at(Limit::batches(100).batch_size(4).envelopes(8)));
    let report = AsyncEngine::new().with_backpressure(policies).run(&plan, pipeline).await.unwrap();
    assert_eq!(arrivals.sequences(), (0..20_000).collect::<Vec<_>>());
    let edge = report.edges[0];
    // Room for 100 batches, but 8 envelopes: the slow sink keeps it full.
    assert_eq!((edge.max_queued_envelopes, edge.max_depth), (8, 2), "{edge:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_byte_limit_bounds_the_bytes_the_channel_holds_behind_a_slow_sink() {
    let arrivals = Arrivals::slow(2_000);
    // 100 bytes an envelope, batches of 4 (400 bytes), 1,200 bytes allowed.
    let weighed = (0..5_000u64).map(|n| (Instant::ZERO, Envelope::new(n).with_sequence(n).with_cost(Cost::bytes(100))));
    let policies = EdgePolicies::new().after("gate", || Block::at(Limit::batches(100).batch_size(4).bytes(1_200)));
    let pipeline =
        Pipeline::from_source(TimedSource::new(weighed.collect())).map(|n| n).named("gate").sink(arrivals.clone());
    let plan = Planner::new().with_pass(policies.clone()).plan(pipeline.describe()).unwrap();
    let report = AsyncEngine::new().with_backpressure(policies).run(&plan, pipeline).await.unwrap();
    assert_eq!(arrivals.sequences(), (0..5_000).collect::<Vec<_>>());
    let edge = report.edges[0];
    // Room for 100 batches, but 1,200 bytes: the slow sink keeps three
    // batches queued. (A limit that is not a multiple of a batch's bytes
    // is passed by less than a batch: the policy lets a batch in while
    // the channel is below it.)
    assert_eq!((edge.max_queued_bytes, edge.max_depth), (1_200, 3), "{edge:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_told_to_wait_for_room_goes_in_only_after_the_receiver_took_one() {
    let arrivals = Arrivals::slow(2_000);
    let (pipeline, plan, policies) = gated(20_000, &arrivals, flux_test::WaitWhenQueued::default);
    let report = AsyncEngine::new().with_backpressure(policies).run(&plan, pipeline).await.unwrap();
    assert_eq!(arrivals.sequences(), (0..20_000).collect::<Vec<_>>());
    let edge = report.edges[0];
    // The boundary is shaped and named by its policy.
    assert_eq!((edge.policy, edge.capacity, edge.batch_size), (Some("wait-when-queued"), 1_000, 4));
    // A batch goes in at once only into an empty channel; one that found
    // another queued goes in after a take: the channel, with room for a
    // thousand, never holds more than one.
    assert_eq!(edge.max_depth, 1, "{edge:?}");
    assert!(edge.full_sends > 0, "batches waited in the edge: {edge:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn adaptive_batches_grow_on_tokio_while_a_slow_sink_falls_behind() {
    let arrivals = Arrivals::slow(2_000);
    let (pipeline, plan, policies) = gated(20_000, &arrivals, || AdaptiveBatch::new(Limit::batches(4), 8, 256));
    let report = AsyncEngine::new().with_backpressure(policies).run(&plan, pipeline).await.unwrap();
    assert_eq!(arrivals.sequences(), (0..20_000).collect::<Vec<_>>());
    let edge = report.edges[0];
    // At the floor all along it would take 2,500 batches.
    assert!(edge.batches_sent < 2_500 / 2, "the batch size grew: {edge:?}");
}
