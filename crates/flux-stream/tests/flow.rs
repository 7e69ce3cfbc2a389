//! Flows on the engine's clock: retries back off, time out and spend a
//! budget to the nanosecond of virtual time on the sync engine, and at the
//! same instants of tokio's paused time.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use flux_core::{Instant, Pipeline, Runnable};
use flux_engine_async::AsyncEngine;
use flux_engine_sync::SyncEngine;
use flux_plan::Planner;
use flux_steps::Steps;
use flux_stream::AsyncSteps;
use flux_stream::flow::{Backoff, Elapsed, Env, GaveUp, Verdict};
use flux_test::{IterSource, VecSink};

/// Every attempt made, by input, at its engine time.
type Attempts = Arc<Mutex<Vec<(u64, Instant)>>>;

/// Input `n` fails its first `n * n` attempts (0, 1, 4 for 0..3), with a
/// transient error; a 30-second first wait, doubling, five attempts.
fn retrying(env: Env, attempts: &Attempts, out: &VecSink<Result<u64, GaveUp<&'static str>>>) -> impl Runnable + use<> {
    let attempts = attempts.clone();
    Pipeline::from_source(IterSource::new(0..3u64))
        .map_flow(4, env, move |n, env| {
            let (attempts, clock) = (attempts.clone(), env.clone());
            let mut failures_left = n * n;
            env.retry(
                Backoff::exponential(Duration::from_secs(30), 5),
                |_| Verdict::Transient,
                move || {
                    attempts.lock().unwrap().push((n, clock.now()));
                    let answer = match failures_left {
                        0 => Ok(n),
                        _ => Err("busy"),
                    };
                    failures_left = failures_left.saturating_sub(1);
                    async move { answer }
                },
            )
        })
        .sink(out.clone())
}

fn seconds(n: u64, at: &[u64]) -> Vec<(u64, Instant)> {
    at.iter().map(|s| (n, Instant::from_secs(*s))).collect()
}

/// Attempts, input by input.
fn by_input(attempts: &Attempts) -> Vec<(u64, Instant)> {
    let mut all = attempts.lock().unwrap().clone();
    all.sort();
    all
}

fn expected_attempts() -> Vec<(u64, Instant)> {
    // Input 1 fails once: again at 30 s. Input 2 fails four times: again
    // at 30, 90 (30 + 60), then every minute (the longest wait): 150, 210.
    [seconds(0, &[0]), seconds(1, &[0, 30]), seconds(2, &[0, 30, 90, 150, 210])].concat()
}

#[test]
fn a_retry_backs_off_on_the_virtual_clock_to_the_nanosecond() {
    let (attempts, out) = (Attempts::default(), VecSink::new());
    let pipeline = retrying(Env::seeded(1), &attempts, &out);
    let plan = Planner::new().plan(pipeline.describe()).unwrap();
    let report = SyncEngine::new().run(&plan, pipeline).unwrap();
    assert_eq!(by_input(&attempts), expected_attempts());
    assert_eq!(out.payloads(), [Ok(0), Ok(1), Ok(2)]);
    assert_eq!(report.end_time, Instant::from_secs(210), "the run ends with the last retry, not before");
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn a_retry_backs_off_at_the_same_instants_of_tokio_time() {
    let (attempts, out) = (Attempts::default(), VecSink::new());
    let pipeline = retrying(Env::seeded(1), &attempts, &out);
    let plan = Planner::new().plan(pipeline.describe()).unwrap();
    let report = AsyncEngine::new().run(&plan, pipeline).await.unwrap();
    assert_eq!(by_input(&attempts), expected_attempts());
    assert_eq!(out.payloads(), [Ok(0), Ok(1), Ok(2)]);
    assert_eq!(report.elapsed, Duration::from_secs(210));
}

#[test]
fn a_permanent_error_is_not_retried_and_exhausted_attempts_give_up_with_the_last_error() {
    let out = VecSink::new();
    let pipeline = Pipeline::from_source(IterSource::new(0..2u64))
        .map_flow(2, Env::seeded(1), |n, env| {
            env.retry(
                Backoff::exponential(Duration::from_millis(10), 3),
                |error: &&str| if error.starts_with("bad") { Verdict::Permanent } else { Verdict::Transient },
                move || async move { if n == 0 { Err::<u64, _>("bad input") } else { Err("busy") } },
            )
        })
        .sink(out.clone());
    let plan = Planner::new().plan(pipeline.describe()).unwrap();
    let report = SyncEngine::new().run(&plan, pipeline).unwrap();
    assert_eq!(
        out.payloads(),
        [
            Err(GaveUp::Permanent { attempts: 1, error: "bad input" }),
            Err(GaveUp::Exhausted { attempts: 3, error: "busy" })
        ]
    );
    assert_eq!(report.end_time, Instant::from_millis(30), "waits of 10 and 20 ms, then the third attempt");
    let text = GaveUp::Exhausted { attempts: 3, error: "busy" }.to_string();
    assert_eq!(text, "gave up after 3 attempts (every attempt failed): busy");
}

#[test]
fn the_retry_budget_is_shared_by_every_input_of_the_stage() {
    let out = VecSink::new();
    let pipeline = Pipeline::from_source(IterSource::new(0..5u64))
        .map_flow(5, Env::with_retry_budget(1, 2), |_, env| {
            env.retry(
                Backoff::exponential(Duration::from_secs(1), 3),
                |_| Verdict::Transient,
                || async { Err::<u64, _>("down") },
            )
        })
        .sink(out.clone());
    let plan = Planner::new().plan(pipeline.describe()).unwrap();
    let _report = SyncEngine::new().run(&plan, pipeline).unwrap();
    let gave_up: Vec<_> = out.payloads().into_iter().map(|r| r.unwrap_err()).collect();
    // The first two inputs to fail took the two retries; nobody else retried.
    let spent = |attempts| GaveUp::BudgetSpent { attempts, error: "down" };
    assert_eq!(gave_up, [spent(2), spent(2), spent(1), spent(1), spent(1)]);
}

#[test]
fn a_timeout_fires_at_its_instant_and_a_quick_future_beats_it() {
    let out = VecSink::new();
    let pipeline = Pipeline::from_source(IterSource::new(0..2u64))
        .map_flow(2, Env::seeded(1), |n, env| {
            let (clock, after) = (env.clone(), Duration::from_secs(5));
            env.timeout(after, async move {
                // Input 1 takes a minute.
                clock.sleep(Duration::from_secs(60 * n)).await;
                n
            })
        })
        .sink(out.clone());
    let plan = Planner::new().plan(pipeline.describe()).unwrap();
    let report = SyncEngine::new().run(&plan, pipeline).unwrap();
    assert_eq!(out.payloads(), [Ok(0), Err(Elapsed { after: Duration::from_secs(5) })]);
    assert_eq!(report.end_time, Instant::from_secs(5), "the minute's sleep was dropped with its timer");
}

#[test]
fn jittered_waits_replay_exactly_from_the_same_seed_and_stay_within_half_and_all() {
    let run = |seed| {
        let (attempts, out) = (Attempts::default(), VecSink::new());
        let attempts_in = attempts.clone();
        let pipeline = Pipeline::from_source(IterSource::new(0..4u64))
            .map_flow(4, Env::seeded(seed), move |n, env| {
                let (attempts, clock) = (attempts_in.clone(), env.clone());
                let backoff = Backoff::exponential(Duration::from_secs(8), 4).with_jitter();
                env.retry(
                    backoff,
                    |_| Verdict::Transient,
                    move || {
                        attempts.lock().unwrap().push((n, clock.now()));
                        async { Err::<u64, _>("busy") }
                    },
                )
            })
            .sink(out.clone());
        let plan = Planner::new().plan(pipeline.describe()).unwrap();
        let _report = SyncEngine::new().run(&plan, pipeline).unwrap();
        by_input(&attempts)
    };
    let (first, again, other) = (run(9), run(9), run(10));
    assert_eq!(first, again, "the same seed, the same waits");
    assert_ne!(first, other, "another seed, other waits");
    for n in 0..4 {
        let times: Vec<Instant> = first.iter().filter(|(i, _)| *i == n).map(|(_, at)| *at).collect();
        assert_eq!(times.len(), 4);
        for (k, pair) in times.windows(2).enumerate() {
            let wait = pair[1].as_nanos() - pair[0].as_nanos();
            let full = Duration::from_secs(8 << k).as_nanos() as u64;
            assert!((full / 2..=full).contains(&wait), "input {n}, wait {k}: {wait} ns of {full}");
        }
    }
}

/// Input 1 retries every 30 s, then 60 s, and never succeeds; input 0
/// takes 45 s, and what comes after it stops the run then (`stop` is what
/// input 0's output does to the run).
fn cancelled_at_45_s<F: Fn() + Send + Sync + 'static>(
    attempts: &Attempts,
    out: &VecSink<u64>,
    stop: F,
) -> impl Runnable + use<F> {
    let attempts = attempts.clone();
    Pipeline::from_source(IterSource::new(0..2u64))
        .map_flow(4, Env::seeded(1), move |n, env| {
            let (attempts, clock, wait) = (attempts.clone(), env.clone(), env.clone());
            let retried = env.retry(
                Backoff::exponential(Duration::from_secs(30), 5),
                |_| Verdict::Transient,
                move || {
                    attempts.lock().unwrap().push((n, clock.now()));
                    async move { if n == 1 { Err("down") } else { Ok(n) } }
                },
            );
            async move {
                if n == 0 {
                    wait.sleep(Duration::from_secs(45)).await;
                }
                retried.await.unwrap_or(u64::MAX)
            }
        })
        .named("flow")
        .map(move |n| {
            stop();
            n
        })
        .sink(out.clone())
}

/// What a cancelled flow leaves: input 1 tried at 0 and 30 s, no more;
/// its input a dead letter of the flow's stage, saying why.
fn assert_cancelled_at_45_s(attempts: &Attempts, letters: &[flux_core::ErrorEnvelope]) {
    let tried: Vec<(u64, Instant)> = by_input(attempts).into_iter().filter(|(n, _)| *n == 1).collect();
    assert_eq!(tried, seconds(1, &[0, 30]), "the retry was cancelled while it waited for 90 s");
    let abandoned: Vec<_> = letters.iter().filter(|l| l.error.stage().as_str() == "flow").collect();
    assert_eq!(abandoned.len(), 1, "{letters:?}");
    assert_eq!(abandoned[0].meta.sequence, 1);
    assert_eq!(abandoned[0].error.cause().to_string(), "the run stopped before this input's future completed");
}

#[test]
fn a_run_that_stops_cancels_its_flows_at_that_instant_of_virtual_time() {
    let (attempts, out) = (Attempts::default(), VecSink::new());
    let pipeline = cancelled_at_45_s(&attempts, &out, || panic!("the first output stops the run"));
    let plan = Planner::new().plan(pipeline.describe()).unwrap();
    let error = SyncEngine::new().run(&plan, pipeline).unwrap_err();
    assert_eq!(error.to_string(), "stage `map-2` stopped the run at sequence 0", "the stage that panicked, named");
    let report = error.report().unwrap();
    assert_eq!(report.end_time, Instant::from_secs(45), "no wait for the retry's next attempt at 90 s");
    assert!(out.payloads().is_empty());
    assert_cancelled_at_45_s(&attempts, &report.dead_letters);
    assert_eq!(report.dead_letters.len(), 2, "input 0 where the map panicked, input 1 in the flow");
    assert!(report.problems.is_empty(), "every input accounted for");
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn a_stop_handle_cancels_flows_at_that_instant_of_tokio_time() {
    let (attempts, out) = (Attempts::default(), VecSink::new());
    let handle = flux_engine_async::StopHandle::new();
    let stopper = handle.clone();
    let pipeline = cancelled_at_45_s(&attempts, &out, move || stopper.stop(flux_engine_async::Stop::Now));
    let plan = Planner::new().plan(pipeline.describe()).unwrap();
    let report = AsyncEngine::new().stop_with(handle).run(&plan, pipeline).await.unwrap();
    assert_eq!(report.elapsed, Duration::from_secs(45));
    assert_eq!(out.payloads(), [0]);
    assert_cancelled_at_45_s(&attempts, &report.dead_letters);
    assert!(report.problems.is_empty(), "every input accounted for");
}
