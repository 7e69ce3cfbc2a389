//! Stopping a run from outside: the source stops, the pipeline drains,
//! and the stop setting says whether open groups wait for their timers.

use std::time::Duration;

use flux_accumulate::{AccumulateExt, AtEnd, Keyed, Policy, REASON_HEADER, TimerStart, count};
use flux_core::{EdgeSpec, Envelope, Instant, Junction, Pipeline, Runnable};
use flux_engine_async::{AsyncEngine, Stop, StopHandle};
use flux_plan::Planner;
use flux_steps::Steps;
use flux_test::{TimedSource, VecSink};

/// An event every second for an hour, counted per key (three keys) with a
/// one-minute lifetime per group that end timers wait for.
fn counts(out: &VecSink<Keyed<u64>>) -> impl Runnable {
    let events = (0..3_600u64)
        .map(|i| (Instant::from_secs(i), Envelope::new(["a", "b", "c"][(i % 3) as usize]).with_sequence(i)));
    let policy = Policy::builder()
        .ttl(Duration::from_secs(60), TimerStart::FirstFragment)
        .at_end(AtEnd::WaitForTimers)
        .build()
        .unwrap();
    Pipeline::from_source(TimedSource::new(events.collect()))
        .key_by(|key| *key)
        .accumulate(count(), policy)
        .named("count")
        .sink(out.clone())
}

/// Runs `counts` and stops it `how` at 90.5 s; returns the records
/// (value, reason) and the report.
async fn stopped(how: Stop) -> (Vec<(u64, String)>, flux_engine_async::RunReport) {
    let out = VecSink::new();
    let mut plan = Planner::new().plan(counts(&out).describe()).unwrap();
    plan.junctions[1] = Junction::Boundary(EdgeSpec { capacity: 4, batch_size: 4 });
    let handle = StopHandle::new();
    let stopper = handle.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(90_500)).await;
        stopper.stop(how);
    });
    let report = AsyncEngine::new().stop_with(handle).run(&plan, counts(&out)).await.unwrap();
    let records = out
        .take()
        .into_iter()
        .map(|e| {
            let reason = String::from_utf8(e.meta().headers.get(REASON_HEADER).unwrap().to_vec()).unwrap();
            (e.into_payload().value, reason)
        })
        .collect();
    (records, report)
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn a_graceful_stop_drains_and_lets_open_groups_wait_for_their_timers() {
    let (records, report) = stopped(Stop::Drain).await;
    assert_eq!(report.stopped, Some(Stop::Drain));
    // Events 0..=90 went in (the 91st second's event came before the stop).
    let pulled = report.row("source").unwrap().counts.created;
    assert_eq!(pulled, 91);
    // First minute: 20 per key, by their TTL; the groups opened at 60, 61
    // and 62 s waited for theirs, at 120 s and after.
    assert_eq!(records.iter().map(|r| r.0).sum::<u64>(), pulled, "every event counted once");
    assert!(records.iter().all(|(_, reason)| reason == "lifetime"), "{records:?}");
    assert_eq!(report.elapsed, Duration::from_secs(122), "the last group's timer, at 62 + 60 s");
    let count = report.row("count").unwrap().counts;
    assert_eq!((count.merged, count.released, count.pending), (pulled, pulled, 0));
}

#[tokio::test(flavor = "current_thread", start_paused = true)]
async fn a_stop_now_flushes_open_groups_at_once() {
    let (records, report) = stopped(Stop::Now).await;
    assert_eq!(report.stopped, Some(Stop::Now));
    let pulled = report.row("source").unwrap().counts.created;
    assert_eq!(pulled, 91);
    assert_eq!(records.iter().map(|r| r.0).sum::<u64>(), pulled);
    // The first minute's three groups by their TTL, then the three open
    // ones at the stop, in deadline order (with their timer's reason, as
    // `AtEnd::WaitForTimers` says of a stage finished before its timers).
    let counts: Vec<u64> = records.iter().map(|r| r.0).collect();
    assert_eq!(counts, [20, 20, 20, 11, 10, 10]);
    assert_eq!(report.elapsed, Duration::from_millis(90_500), "nothing waited for the open groups' timers");
    assert!(report.problems.is_empty());
}
