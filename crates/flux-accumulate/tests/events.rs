//! The stage's events for a subscriber: each spill, each eviction and each
//! partial flush, naming the stage, as many as its figures count.

mod support;

use std::io::Write;
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use flux_accumulate::{Accumulate, AccumulateExt, Policy};
use flux_core::{Envelope, Instant, Pipeline, Runnable};
use flux_engine_sync::SyncEngine;
use flux_plan::Planner;
use flux_test::{TimedSource, VecSink};
use support::Parts;

/// Where the subscriber writes: a buffer the test reads.
#[derive(Clone, Default)]
struct Buffer(Arc<Mutex<Vec<u8>>>);

impl Write for Buffer {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Buffer {
    type Writer = Buffer;
    fn make_writer(&'a self) -> Buffer {
        self.clone()
    }
}

#[test]
fn spills_evictions_and_partial_flushes_are_events_naming_the_stage() {
    let buffer = Buffer::default();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(buffer.clone())
        .with_max_level(tracing::Level::DEBUG)
        .without_time()
        .finish();
    // Three keys, at most two open (the third evicts the first), every
    // resident byte past one spills; `b` completes, `c` is open at the end.
    let acc = Parts { required: 0b11, spillable: true, ..Parts::default() };
    let layer = Accumulate::new(acc, Policy::builder().max_live_keys(2).spill_above(1).build().unwrap());
    let stats = layer.stats();
    let input = [("a", 0), ("b", 0), ("c", 0), ("b", 1)].into_iter().enumerate().map(|(i, (key, part))| {
        let fragment = Envelope::new((part, 1u32)).with_key(Bytes::from_static(key.as_bytes())).with_sequence(i as u64);
        (Instant::from_secs(i as u64), fragment)
    });
    let out = VecSink::new();
    let pipeline = Pipeline::from_source(TimedSource::new(input.collect()))
        .accumulate_with(layer)
        .named("orders")
        .sink(out.clone());
    let report = tracing::subscriber::with_default(subscriber, || {
        let plan = Planner::new().plan(pipeline.describe()).unwrap();
        SyncEngine::new().run(&plan, pipeline).unwrap()
    });
    assert!(report.problems.is_empty());
    let text = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
    let lines = |target: &str| text.lines().filter(|line| line.contains(target)).collect::<Vec<_>>();

    let figures = stats.snapshot();
    assert!(figures.spills > 0, "{figures:?}");
    let spills = lines("flux::spill: a group spills");
    assert_eq!(spills.len() as u64, figures.spills, "{text}");
    assert!(spills.iter().all(|line| line.contains("stage=orders")), "{text}");
    let evictions = lines("flux::eviction");
    assert_eq!(evictions.len(), 1, "{text}");
    assert!(evictions[0].contains("stage=orders"), "{text}");
    let flushes = lines("flux::flush");
    assert_eq!(flushes.len(), 2, "a evicted, c at the end; b is complete: {text}");
    assert!(flushes[0].ends_with("stage=orders reason=\"evicted\" fragments=1"), "{text}");
    assert!(flushes[1].ends_with("stage=orders reason=\"end-of-stream\" fragments=1"), "{text}");
    assert_eq!(out.payloads().len(), 3);
}
