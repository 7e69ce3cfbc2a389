//! An accumulating stage fused with its source takes each step of the
//! source as one batch (`Push::takes_source_batches`); timed or spanned,
//! it still does: the observing node says what the node inside it says.

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
fn a_spanned_accumulator_fused_with_its_source_enters_its_span_once_a_batch() {
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
        let pipeline = Pipeline::from_source(keyed())
            .accumulate(count(), Policy::default())
            .named("count")
            .spanned()
            .sink(out.clone());
        run_fused(pipeline);
    });
    assert_eq!(out.payloads().iter().map(|record| record.value).sum::<u64>(), 3_000);
    let text = String::from_utf8(buffer.lock().unwrap().clone()).unwrap();
    let enters = text.lines().filter(|line| line.contains("stage=count") && line.contains("enter")).count();
    // Three batches, then the calls that come once a run (timers, finish,
    // open and close): nowhere near one a fragment.
    assert!((3..20).contains(&enters), "{enters} entries:\n{text}");
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
