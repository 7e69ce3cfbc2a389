//! How segments move on tokio: a full channel suspends its sender, an
//! empty one its receiver, a waiting source its task, and none of them
//! blocks a runtime worker.

use std::time::Duration;

use flux_accumulate::{AccumulateExt, AtEnd, Policy, TimerStart, count};
use flux_core::{EdgeSpec, Envelope, ExecutionPlan, Instant, Junction, Pipeline, Runnable};
use flux_engine_async::AsyncEngine;
use flux_plan::Planner;
use flux_steps::Steps;
use flux_test::{IterSource, TimedSource, VecSink};

fn cut(mut plan: ExecutionPlan, after: usize, capacity: usize, batch_size: usize) -> ExecutionPlan {
    plan.junctions[after] = Junction::Boundary(EdgeSpec { capacity, batch_size });
    plan
}

#[tokio::test(flavor = "current_thread")]
async fn a_full_channel_suspends_the_segment_before_it_until_the_next_makes_room() {
    let out = VecSink::new();
    let pipeline = Pipeline::from_source(IterSource::new(0..5_000u32)).map(|n| n + 1).sink(out.clone());
    let plan = cut(Planner::new().plan(pipeline.describe()).unwrap(), 1, 1, 8);
    let report = AsyncEngine::new().run(&plan, pipeline).await.unwrap();

    assert_eq!(out.payloads(), (1..=5_000).collect::<Vec<_>>(), "every envelope, in order");
    let edge = report.edges[0];
    assert_eq!((edge.envelopes_sent, edge.envelopes_received, edge.batches_sent), (5_000, 5_000, 625));
    assert_eq!(edge.max_depth, 1, "never more than the capacity");
    // The source's task reads only what there is room for (one batch of
    // 8), and while the channel is full it waits for the sink's task to
    // take the batch before it reads again: no batch ever finds it full.
    assert_eq!(edge.full_sends, 0, "{edge:?}");
}

/// A source that waits a minute between items, on tokio's clock.
fn slow(out: &VecSink<u32>) -> impl Runnable {
    let timed = (0..3u32).map(|i| (Instant::from_secs(60 * u64::from(i)), Envelope::new(i).with_sequence(i.into())));
    Pipeline::from_source(TimedSource::new(timed.collect())).map(|n| n * 2).sink(out.clone())
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn a_waiting_source_sleeps_without_holding_the_thread_so_another_run_goes_on() {
    let (slow_out, fast_out) = (VecSink::new(), VecSink::new());
    let slow_plan = Planner::new().plan(slow(&slow_out).describe()).unwrap();
    let fast = Pipeline::from_source(IterSource::new(0..100u32)).map(|n| n + 1).sink(fast_out.clone());
    let fast_plan = cut(Planner::new().plan(fast.describe()).unwrap(), 1, 1, 4);
    let engine = AsyncEngine::new();
    let started = tokio::time::Instant::now();
    let (slow_report, fast_report) =
        tokio::join!(engine.run(&slow_plan, slow(&slow_out)), engine.run(&fast_plan, fast));

    assert_eq!(slow_out.payloads(), [0, 2, 4]);
    assert_eq!(fast_out.payloads().len(), 100, "the other run went on while the source waited");
    assert_eq!(slow_report.unwrap().elapsed, Duration::from_secs(120));
    assert!(fast_report.unwrap().elapsed < Duration::from_secs(60), "the fast run did not wait for the slow one");
    assert_eq!(started.elapsed(), Duration::from_secs(120));
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn at_the_end_of_input_a_stage_that_waits_for_its_timers_gets_them_on_tokio_time() {
    for (at_end, expected_elapsed, reason) in
        [(AtEnd::Flush, 10, "end-of-stream"), (AtEnd::WaitForTimers, 40, "lifetime")]
    {
        let out = VecSink::new();
        let timed =
            vec![(Instant::ZERO, Envelope::new("a")), (Instant::from_secs(10), Envelope::new("a").with_sequence(1))];
        let policy =
            Policy::builder().ttl(Duration::from_secs(40), TimerStart::FirstFragment).at_end(at_end).build().unwrap();
        let pipeline = Pipeline::from_source(TimedSource::new(timed))
            .key_by(|key| *key)
            .accumulate(count(), policy)
            .sink(out.clone());
        let plan = cut(Planner::new().plan(pipeline.describe()).unwrap(), 1, 4, 4);
        let report = AsyncEngine::new().run(&plan, pipeline).await.unwrap();
        let records = out.take();
        assert_eq!(records.len(), 1);
        assert_eq!(records[0].payload().value, 2);
        let header = records[0].meta().headers.get(flux_accumulate::REASON_HEADER).unwrap();
        assert_eq!(header, reason.as_bytes(), "{at_end:?}");
        assert_eq!(report.elapsed, Duration::from_secs(expected_elapsed), "{at_end:?}");
    }
}

/// A stage that blocks its thread until told to go (on its first input),
/// and records the threads it ran on.
struct Blocking {
    go: std::sync::mpsc::Receiver<()>,
    started: bool,
    threads: std::sync::Arc<std::sync::Mutex<Vec<std::thread::ThreadId>>>,
}

impl flux_core::Stage<u32> for Blocking {
    type Out = u32;

    fn process(&mut self, input: Envelope<u32>, out: &mut impl flux_core::Emit<u32>) {
        if !self.started {
            self.started = true;
            self.go.recv_timeout(Duration::from_secs(20)).expect("told to go: the runtime's thread was free");
        }
        self.threads.lock().unwrap().push(std::thread::current().id());
        out.emit(input);
    }

    fn describe(&self, descriptor: flux_core::StageDescriptor) -> flux_core::StageDescriptor {
        descriptor.with_engine_hint(flux_core::EngineHint::Blocking)
    }
}

#[tokio::test(flavor = "current_thread")]
async fn a_stage_hinted_blocking_runs_off_the_runtime_thread_so_its_tasks_go_on() {
    let (go, told) = std::sync::mpsc::channel();
    let threads = std::sync::Arc::default();
    let out = VecSink::new();
    let stage = Blocking { go: told, started: false, threads: std::sync::Arc::clone(&threads) };
    let pipeline = Pipeline::from_source(IterSource::new(0..100u32)).stage(stage).named("heavy").sink(out.clone());
    let plan = Planner::new().plan(pipeline.describe()).unwrap();
    assert_eq!(plan.segments().len(), 3, "the planner gives the blocking stage a segment of its own");
    // Only a task on this one-thread runtime can tell the stage to go: it
    // runs only if the stage is not holding the runtime's thread.
    let teller = tokio::spawn(async move {
        tokio::task::yield_now().await;
        go.send(()).unwrap();
    });
    let report = AsyncEngine::new().run(&plan, pipeline).await.unwrap();
    teller.await.unwrap();

    assert_eq!(out.payloads(), (0..100).collect::<Vec<_>>());
    let threads = threads.lock().unwrap();
    assert_eq!(threads.len(), 100);
    assert!(threads.iter().all(|id| *id != std::thread::current().id()), "not on the runtime's thread");
    assert!(report.problems.is_empty());
}

/// Passes inputs on, hinted blocking (so it runs on a thread of its own).
struct Hinted;

impl flux_core::Stage<u32> for Hinted {
    type Out = u32;

    fn process(&mut self, input: Envelope<u32>, out: &mut impl flux_core::Emit<u32>) {
        out.emit(input);
    }

    fn describe(&self, descriptor: flux_core::StageDescriptor) -> flux_core::StageDescriptor {
        descriptor.with_engine_hint(flux_core::EngineHint::Blocking)
    }
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn paused_time_still_moves_while_a_segment_runs_on_a_thread_of_its_own() {
    let out = VecSink::new();
    let timed = (0..3u32).map(|i| (Instant::from_secs(10 * u64::from(i)), Envelope::new(i).with_sequence(i.into())));
    let pipeline = Pipeline::from_source(TimedSource::new(timed.collect())).stage(Hinted).sink(out.clone());
    let plan = Planner::new().plan(pipeline.describe()).unwrap();
    let report = AsyncEngine::new().run(&plan, pipeline).await.unwrap();
    assert_eq!(out.payloads(), [0, 1, 2]);
    assert_eq!(report.elapsed, Duration::from_secs(20));
}

/// Makes one envelope a step (its `pull_into` stops after one), counting
/// them, each step `pause` long, up to `limit`.
struct OnePerStep {
    made: std::sync::Arc<std::sync::atomic::AtomicU64>,
    limit: u64,
    pause: Duration,
}

impl flux_core::Source for OnePerStep {
    type Item = u64;

    fn pull(&mut self, _cx: &mut flux_core::Context<'_>) -> Result<flux_core::Pull<u64>, flux_core::SourceError> {
        Ok(self.next().map_or(flux_core::Pull::End, flux_core::Pull::Item))
    }

    fn pull_into<D: flux_core::Push<u64>>(
        &mut self,
        _budget: usize,
        out: &mut flux_core::SourceOutput<'_, '_, '_, D>,
    ) -> Result<flux_core::Pulled, flux_core::SourceError> {
        Ok(match self.next() {
            Some(item) => {
                out.emit(item);
                flux_core::Pulled::More
            }
            None => flux_core::Pulled::End,
        })
    }
}

impl OnePerStep {
    #[allow(clippy::disallowed_methods, reason = "the test makes a step slow in real time")]
    fn next(&mut self) -> Option<Envelope<u64>> {
        use std::sync::atomic::Ordering::Relaxed;
        let made = self.made.load(Relaxed);
        if made == self.limit {
            return None;
        }
        std::thread::sleep(self.pause);
        self.made.store(made + 1, Relaxed);
        Some(Envelope::new(made).with_sequence(made + 1))
    }
}

/// Runs `source` into a sink on this one-thread runtime beside a task that
/// waits for the source's first envelope, then notes how many it has made
/// when it next gets the thread: the steps the busy segment took before
/// it yielded (plus the one it had started).
async fn steps_before_a_yield(limit: u64, pause: Duration) -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
    let made = std::sync::Arc::new(AtomicU64::new(0));
    let source = OnePerStep { made: made.clone(), limit, pause };
    let out = VecSink::new();
    let pipeline = Pipeline::from_source(source).map(|n| n + 1).sink(out.clone());
    let plan = Planner::new().plan(pipeline.describe()).unwrap();
    assert_eq!(plan.segments().len(), 1, "one busy segment, nothing to wait on");
    let watcher = tokio::spawn(async move {
        while made.load(Relaxed) == 0 {
            tokio::task::yield_now().await;
        }
        made.load(Relaxed)
    });
    let report = AsyncEngine::new().run(&plan, pipeline).await.unwrap();
    assert_eq!(out.payloads().len() as u64, limit, "every envelope reached the sink");
    assert!(report.problems.is_empty());
    watcher.await.unwrap()
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn while_time_stands_still_a_busy_segment_yields_after_its_steps() {
    // Engine time does not move while the segment runs (paused), so the
    // segment yields by its count of steps: 4,096 (`YIELD_STEPS`). Tokio
    // wakes yielded tasks last-in first, so the segment may take a second
    // turn before the other task gets the thread.
    let seen = steps_before_a_yield(4 * 4096, Duration::ZERO).await;
    assert!(seen <= 2 * 4096 + 1, "the other task waited for {seen} steps");
    assert!(seen >= 4096, "yielded after {seen} steps, before its count");
}

#[tokio::test(flavor = "current_thread")]
async fn a_busy_segment_yields_after_half_a_millisecond_of_its_steps() {
    // Steps of at least 200 µs: half a millisecond passes within three,
    // far fewer than the count that makes a segment yield on a clock that
    // stands still (two turns of three, as above, and the step under way).
    // A slow machine only makes the steps longer.
    let seen = steps_before_a_yield(400, Duration::from_micros(200)).await;
    assert!((1..=16).contains(&seen), "the other task waited for {seen} steps");
}
