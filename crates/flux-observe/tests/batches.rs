//! An accumulating stage fused with its source takes each step of the
//! source as one batch (`Push::takes_source_batches`); timed or spanned,
//! it still does: the observing node says what the node inside it says. A
//! stage that cannot use a batch (the general path) is fed one fragment at
//! a time. Calls and span entries count which way a stage was fed.

use bytes::Bytes;
use flux_accumulate::{AccumulateExt, Keyed, Policy, count};
use flux_core::{Envelope, Instant, Junction, Pipeline, Runnable};
use flux_engine_sync::SyncEngine;
use flux_observe::{SpanSteps, StageTimes, TimeSteps};
use flux_plan::Planner;
use flux_test::{TimedSource, VecSink};

/// 3,000 fragments over 17 keys, keyed by the source, all at time zero:
/// three steps of the source (1,024 a step at most).
fn keyed() -> TimedSource<u64> {
    let fragments = (0..3_000u64).map(|n| {
        let envelope = Envelope::new(n).with_key(Bytes::from((n % 17).to_string())).with_sequence(n);
        (Instant::ZERO, envelope)
    });
    TimedSource::new(fragments.collect())
}

/// Runs `pipeline` with every junction fused.
fn run_fused(pipeline: impl Runnable) {
    let mut plan = Planner::new().plan(pipeline.describe()).unwrap();
    plan.junctions.iter_mut().for_each(|junction| *junction = Junction::Fused);
    let report = SyncEngine::new().run(&plan, pipeline).unwrap();
    assert!(report.problems.is_empty(), "{:?}", report.problems);
}

#[test]
fn a_timed_accumulator_fused_with_its_source_is_called_once_a_batch() {
    let (times, out) = (StageTimes::new(), VecSink::<Keyed<u64>>::new());
    let pipeline = Pipeline::from_source(keyed())
        .accumulate(count(), Policy::default())
        .named("count")
        .timed(&times)
        .sink(out.clone());
    run_fused(pipeline);
    assert_eq!(out.payloads().iter().map(|record| record.value).sum::<u64>(), 3_000);
    // Fed one envelope at a time, it would have been called 3,000 times.
    assert_eq!(times.figures().calls, 3, "one call a step of the source");
}

#[test]
fn an_accumulator_that_cannot_use_a_batch_is_fed_one_fragment_at_a_time() {
    // A latency bound takes the general path, which merges one fragment at
    // a time anyway: gathering a batch for it would only cost.
    let (times, out) = (StageTimes::new(), VecSink::<Keyed<u64>>::new());
    let policy = Policy::builder().max_latency(std::time::Duration::from_secs(60)).build().unwrap();
    let pipeline =
        Pipeline::from_source(keyed()).accumulate(count(), policy).named("count").timed(&times).sink(out.clone());
    run_fused(pipeline);
    assert_eq!(out.payloads().iter().map(|record| record.value).sum::<u64>(), 3_000);
    assert_eq!(times.figures().calls, 3_000, "one call a fragment");
}

/// How many times the stage `count`, spanned and fused with its source,
/// entered its span in a run under `policy`.
fn span_entries(policy: Policy) -> usize {
    let buffer = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let writer = {
        let buffer = buffer.clone();
        move || Sink(buffer.clone())
    };
    let subscriber = tracing_subscriber::fmt()
        .with_writer(writer)
        .with_max_level(tracing::Level::TRACE)
        .with_span_events(tracing_subscriber::fmt::format::FmtSpan::ENTER)
        .without_time()
        .finish();
    let out = VecSink::<Keyed<u64>>::new();
    tracing::subscriber::with_default(subscriber, || {
        let pipeline =
            Pipeline::from_source(keyed()).accumulate(count(), policy).named("count").spanned().sink(out.clone());
        run_fused(pipeline);
    });
    assert_eq!(out.payloads().iter().map(|record| record.value).sum::<u64>(), 3_000);
    let text = String::from_utf8(buffer.lock().unwrap().clone()).unwrap();
    text.lines().filter(|line| line.contains("stage=count") && line.contains("enter")).count()
}

#[test]
fn a_spanned_accumulator_fused_with_its_source_enters_its_span_once_a_batch() {
    // Three batches, then the calls that come once a run (timers, finish,
    // open and close): nowhere near one a fragment.
    let entries = span_entries(Policy::default());
    assert!((3..20).contains(&entries), "{entries} entries");
    // On the general path, once a fragment and the same few besides.
    let general = span_entries(Policy::builder().max_latency(std::time::Duration::from_secs(60)).build().unwrap());
    assert_eq!(general - entries, 3_000 - 3, "{general} entries against {entries}");
}

/// Where the subscriber writes: a buffer the test reads.
struct Sink(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Sink {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}
