//! One pipeline value, two engines: the same pipeline, built by the same
//! function and run against the same plan on the sync engine and on
//! tokio, gives the same records and the same ledger.

use std::time::Duration;

use flux_accumulate::{AccumulateExt, Keyed, Policy, REASON_HEADER, TimerStart, fold};
use flux_core::{EdgeSpec, Engine, Envelope, ExecutionPlan, Instant, Junction, Pipeline, Runnable};
use flux_engine_async::{AsyncEngine, RunErrorKind};
use flux_engine_sync::SyncEngine;
use flux_plan::Planner;
use flux_steps::Steps;
use flux_test::{IterSource, TimedSource, VecSink};

/// Cuts `plan` after each stage in `after`, with small batches and room for
/// only `capacity` of them, so that batches queue and senders wait.
fn cut(mut plan: ExecutionPlan, after: &[usize], capacity: usize, batch_size: usize) -> ExecutionPlan {
    for &i in after {
        plan.junctions[i] = Junction::Boundary(EdgeSpec { capacity, batch_size });
    }
    plan
}

/// Parses, drops odd numbers, and scales: a dead letter every 7th input.
fn numbers(out: &VecSink<u64>) -> impl Runnable {
    let input = (0..2_000u64).map(|n| if n % 7 == 3 { "x".to_owned() } else { n.to_string() });
    Pipeline::from_source(IterSource::new(input.collect::<Vec<_>>()))
        .try_map(|s: String| s.parse::<u64>())
        .named("parse")
        .filter(|n| n % 2 == 0)
        .named("even")
        .map(|n| n * 3)
        .named("triple")
        .sink(out.clone())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_linear_pipeline_cut_into_three_segments_gives_the_same_records_and_ledger_on_both_engines() {
    let (sync_out, async_out) = (VecSink::new(), VecSink::new());
    let plan = Planner::new().plan(numbers(&sync_out).describe()).unwrap();
    let plan = cut(plan, &[1, 2], 2, 16);
    let sync = SyncEngine::new().run(&plan, numbers(&sync_out)).unwrap();
    let tokio = AsyncEngine::new().run(&plan, numbers(&async_out)).await.unwrap();

    assert_eq!(async_out.payloads(), sync_out.payloads());
    assert_eq!(async_out.payloads().len(), 857, "2,000 inputs, 286 bad, half of the rest even");
    assert_eq!(tokio.ledger, sync.ledger);
    let dead = |letters: &[flux_core::ErrorEnvelope]| letters.iter().map(|l| l.meta.sequence).collect::<Vec<_>>();
    assert_eq!(dead(&tokio.dead_letters), dead(&sync.dead_letters));
    assert!(tokio.dead_letters.iter().all(|l| l.error.stage().as_str() == "parse"));
    assert_eq!(tokio.edges.len(), 2);
    for (a, s) in tokio.edges.iter().zip(&sync.edges) {
        assert_eq!(
            (a.junction, a.envelopes_sent, a.envelopes_received),
            (s.junction, s.envelopes_sent, s.envelopes_received)
        );
        assert!(a.max_depth <= 2, "a channel never holds more than its capacity: {a:?}");
    }
    assert!(tokio.problems.is_empty());
}

/// Sums amounts per user with a one-minute lifetime per group, from
/// events released at their own engine time.
fn sums(out: &VecSink<Keyed<u64>>) -> impl Runnable {
    let events = [(0, "ann", 1), (10, "bob", 2), (30, "ann", 3), (70, "ann", 4), (75, "bob", 5), (200, "ann", 6)];
    let timed = events
        .iter()
        .enumerate()
        .map(|(i, &(at, user, amount))| (Instant::from_secs(at), Envelope::new((user, amount)).with_sequence(i as u64)))
        .collect();
    let policy = Policy::builder().ttl(Duration::from_secs(60), TimerStart::FirstFragment).build().unwrap();
    Pipeline::from_source(TimedSource::new(timed))
        .key_by(|(user, _)| *user)
        .map(|(_, amount)| amount)
        .accumulate(fold(0u64, |sum, amount| *sum += amount), policy)
        .named("sum")
        .sink(out.clone())
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn timers_fire_at_the_same_instants_and_emit_the_same_records_on_both_engines() {
    let (sync_out, async_out) = (VecSink::new(), VecSink::new());
    let plan = Planner::new().plan(sums(&sync_out).describe()).unwrap();
    // One boundary before the accumulator, one after it.
    let plan = cut(plan, &[2, 3], 1, 1);
    let sync = SyncEngine::new().run(&plan, sums(&sync_out)).unwrap();
    let tokio = AsyncEngine::new().run(&plan, sums(&async_out)).await.unwrap();

    let records = |sink: &VecSink<Keyed<u64>>| {
        let take = sink.take();
        let reason =
            |e: &Envelope<Keyed<u64>>| String::from_utf8(e.meta().headers.get(REASON_HEADER).unwrap().to_vec());
        take.iter().map(|e| (e.payload().clone(), reason(e).unwrap())).collect::<Vec<_>>()
    };
    let expected = records(&sync_out);
    assert_eq!(records(&async_out), expected);
    // ann {1, 3} and bob {2} expire after a minute; ann {4} and bob {5}
    // too; ann {6} is still open at the end of input.
    let values: Vec<u64> = expected.iter().map(|(k, _)| k.value).collect();
    assert_eq!(values, [4, 2, 4, 5, 6]);
    assert_eq!(tokio.ledger, sync.ledger);
    assert_eq!(tokio.elapsed, Duration::from_secs(200), "paused time: the run took exactly the input's span");
}

/// Counts keyed fragments in groups of three, keys set by the source: the
/// accumulator is the first node after the source, and its policy plain.
fn counts(out: &VecSink<Keyed<u64>>) -> impl Runnable {
    let keyed = (0..3_000u64).map(|n| {
        let key = bytes::Bytes::from((n * 7 % 17).to_string());
        (Instant::ZERO, Envelope::new(n).with_key(key).with_sequence(n))
    });
    let policy = Policy::builder().max_items(3).build().unwrap();
    Pipeline::from_source(TimedSource::new(keyed.collect()))
        .accumulate(fold(0u64, |sum, n| *sum += n), policy)
        .named("sum")
        .sink(out.clone())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_accumulator_fused_with_its_source_takes_its_steps_as_batches_with_the_same_records_on_both_engines() {
    // Fused, the source's steps reach the accumulator as batches of up to
    // 1,024; cut, as the boundary's batches. Every run gives the same
    // records, in the same order, and the same ledger.
    let planned = Planner::new().plan(counts(&VecSink::new()).describe()).unwrap();
    let mut fused = planned.clone();
    fused.junctions.iter_mut().for_each(|junction| *junction = Junction::Fused);
    let mut runs = Vec::new();
    for plan in [&planned, &fused] {
        let (sync_out, async_out) = (VecSink::new(), VecSink::new());
        let sync = SyncEngine::new().run(plan, counts(&sync_out)).unwrap();
        let tokio = AsyncEngine::new().run(plan, counts(&async_out)).await.unwrap();
        assert_eq!(tokio.ledger, sync.ledger);
        runs.push((sync_out.payloads(), sync.ledger));
        runs.push((async_out.payloads(), tokio.ledger));
    }
    let (records, ledger) = &runs[0];
    assert!(runs.iter().all(|run| run == &runs[0]), "four runs, one outcome");
    // 3,000 fragments over 17 keys, 176 or 177 a key: 59 records a key
    // (58 of three and one of two, or 59 of three).
    assert_eq!(records.len(), 17 * 59);
    assert_eq!(records.iter().map(|r| r.value).sum::<u64>(), (0..3_000).sum::<u64>());
    let sum = ledger.iter().find(|row| row.stage.as_str() == "sum").unwrap();
    assert_eq!((sum.counts.merged, sum.emitted), (3_000, records.len() as u64));
}

/// Code written against the kernel's `Engine` trait, for either engine:
/// runs `numbers` as `plan` says, and returns its records and its report.
fn run_with<E: Engine>(engine: &mut E, plan: &ExecutionPlan) -> (Vec<u64>, E::Report) {
    let out = VecSink::new();
    let report = engine.run(plan, numbers(&out)).unwrap();
    (out.payloads(), report)
}

#[test]
fn the_same_generic_function_runs_a_pipeline_on_either_engine_with_the_same_records_and_ledger() {
    let plan = cut(Planner::new().plan(numbers(&VecSink::new()).describe()).unwrap(), &[1, 2], 2, 16);
    let (sync_out, sync) = run_with(&mut SyncEngine::new(), &plan);
    let mut engine = AsyncEngine::new();
    let (async_out, tokio) = run_with(&mut engine, &plan);

    assert_eq!(async_out, sync_out);
    assert_eq!(async_out.len(), 857, "2,000 inputs, 286 bad, half of the rest even");
    assert_eq!(tokio.ledger, sync.ledger);
    let row = |stage: &str| tokio.row(stage).unwrap().counts;
    assert_eq!((row("source").created, row("sink").consumed), (2_000, 857));
    let dead = |letters: &[flux_core::ErrorEnvelope]| letters.iter().map(|l| l.meta.sequence).collect::<Vec<_>>();
    assert_eq!(dead(&tokio.dead_letters), dead(&sync.dead_letters));
    assert_eq!(dead(&tokio.dead_letters), (0..2_000).filter(|n| n % 7 == 3).collect::<Vec<_>>());
    assert_eq!(tokio.edges.len(), 2);
    for (a, s) in tokio.edges.iter().zip(&sync.edges) {
        assert_eq!(
            (a.junction, a.envelopes_sent, a.envelopes_received),
            (s.junction, s.envelopes_sent, s.envelopes_received)
        );
    }
    // The engine keeps the runtime it built for its next blocking run.
    let (again, report) = run_with(&mut engine, &plan);
    assert_eq!((again, report.ledger), (sync_out, sync.ledger));
}

#[test]
fn a_blocking_run_on_a_runtime_given_to_the_engine_keeps_its_paused_time() {
    let (sync_out, async_out) = (VecSink::new(), VecSink::new());
    let plan = cut(Planner::new().plan(sums(&sync_out).describe()).unwrap(), &[2, 3], 1, 1);
    let sync = Engine::run(&mut SyncEngine::new(), &plan, sums(&sync_out)).unwrap();
    let paused = tokio::runtime::Builder::new_current_thread().enable_time().start_paused(true).build().unwrap();
    let tokio = Engine::run(&mut AsyncEngine::new().with_runtime(paused), &plan, sums(&async_out)).unwrap();

    let values = |sink: &VecSink<Keyed<u64>>| sink.payloads().into_iter().map(|k| k.value).collect::<Vec<_>>();
    assert_eq!(values(&async_out), [4, 2, 4, 5, 6]);
    assert_eq!(values(&async_out), values(&sync_out));
    assert_eq!(tokio.ledger, sync.ledger);
    assert_eq!(tokio.elapsed, Duration::from_secs(200), "the given runtime's paused time, not real time");
}

#[test]
fn an_engine_holding_its_runtime_can_be_dropped_inside_async_code() {
    let plan = Planner::new().plan(numbers(&VecSink::new()).describe()).unwrap();
    let mut engine = AsyncEngine::new();
    assert!(format!("{engine:?}").contains("runtime: None"), "{engine:?}");
    let (records, _) = run_with(&mut engine, &plan);
    assert_eq!(records.len(), 857);
    assert!(format!("{engine:?}").contains("runtime: Some(OwnRuntime(Some(MultiThread)))"), "{engine:?}");
    // A runtime dropped the plain way inside async code panics ("cannot
    // drop a runtime in a context where blocking is not allowed").
    let outer = tokio::runtime::Builder::new_current_thread().build().unwrap();
    outer.block_on(async move { drop(engine) });
}

/// A blocking run of `numbers` on a fresh engine, from this thread: the
/// kind of its error, and how many records it wrote.
fn refused_here() -> (String, usize) {
    let out = VecSink::new();
    let plan = Planner::new().plan(numbers(&out).describe()).unwrap();
    let error = Engine::run(&mut AsyncEngine::new(), &plan, numbers(&out)).unwrap_err();
    assert!(error.report().is_none(), "nothing ran");
    (format!("{:?}", error.kind()), out.payloads().len())
}

#[tokio::test(flavor = "current_thread")]
async fn a_blocking_run_inside_a_current_thread_runtime_is_refused_with_a_typed_error() {
    let out = VecSink::new();
    let plan = Planner::new().plan(numbers(&out).describe()).unwrap();
    let mut engine = AsyncEngine::new();
    let error = Engine::run(&mut engine, &plan, numbers(&out)).unwrap_err();
    assert!(matches!(error.kind(), RunErrorKind::InsideRuntime), "{error:?}");
    assert_eq!(
        error.to_string(),
        "the blocking `Engine::run` was called inside a tokio runtime: await `AsyncEngine::run` there"
    );
    assert!(out.payloads().is_empty(), "nothing was pulled");
    // The same engine runs here by awaiting its async `run`.
    let report = engine.run(&plan, numbers(&out)).await.unwrap();
    assert_eq!((out.payloads().len(), report.row("sink").unwrap().counts.consumed), (857, 857));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 1)]
async fn a_blocking_run_on_any_thread_of_a_multi_thread_runtime_is_refused_with_a_typed_error() {
    let refused = ("InsideRuntime".to_owned(), 0);
    assert_eq!(refused_here(), refused, "in the runtime's block_on");
    assert_eq!(tokio::spawn(async { refused_here() }).await.unwrap(), refused, "on a worker");
    assert_eq!(tokio::task::spawn_blocking(refused_here).await.unwrap(), refused, "in its blocking pool");
    let outside = std::thread::spawn(|| {
        let out = VecSink::new();
        let plan = Planner::new().plan(numbers(&out).describe()).unwrap();
        Engine::run(&mut AsyncEngine::new(), &plan, numbers(&out))
            .map(|report| (out.payloads().len(), report.problems.is_empty()))
    });
    assert_eq!(outside.join().unwrap().unwrap(), (857, true), "a thread of its own blocks as it likes");
}
