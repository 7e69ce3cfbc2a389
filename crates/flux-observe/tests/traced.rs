//! `Traced` on a run: the plan and what the planner fused, each dead
//! letter with its identity, the batches and the end, as `tracing` events
//! a subscriber writes out.

use std::io::Write;
use std::sync::{Arc, Mutex};

use flux_core::{EdgeSpec, Junction, Meta, Pipeline, Runnable};
use flux_engine_sync::SyncEngine;
use flux_observe::{Traced, envelope_span};
use flux_plan::Planner;
use flux_steps::Steps;
use flux_test::{IterSource, VecSink};

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

/// Runs `f` with a subscriber that writes every event, TRACE and up,
/// without time stamps, and returns what it wrote.
fn logged(f: impl FnOnce()) -> String {
    let buffer = Buffer::default();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(buffer.clone())
        .with_max_level(tracing::Level::TRACE)
        .without_time()
        .finish();
    tracing::subscriber::with_default(subscriber, f);
    String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap()
}

#[test]
fn a_run_logs_its_plan_each_dead_letter_with_its_identity_its_batches_and_its_end() {
    let text = logged(|| {
        let pipeline = Pipeline::from_source(IterSource::new(["1", "x", "3", "y"]))
            .key_by(|s: &&str| s.as_bytes().to_vec())
            .try_map(|s: &str| s.parse::<u32>())
            .sink(VecSink::new());
        let mut plan = Planner::new().plan(pipeline.describe()).unwrap();
        plan.junctions[2] = Junction::Boundary(EdgeSpec { capacity: 2, batch_size: 2 });
        let _report = SyncEngine::new().with_observer(Arc::new(Traced)).run(&plan, pipeline).unwrap();
    });
    let warnings: Vec<&str> = text.lines().filter(|line| line.contains("WARN")).collect();
    let zeros = "0".repeat(32);
    let expected = [1, 3].map(|sequence| {
        let key = if sequence == 1 { "x" } else { "y" };
        format!(
            "WARN flux::dead_letter: dead letter stage=try_map-2 sequence={sequence} key={key} trace_id={zeros} cause=invalid digit found in string"
        )
    });
    assert_eq!(warnings.len(), 2, "{text}");
    for (line, expected) in warnings.iter().zip(&expected) {
        assert!(line.contains(expected.as_str()), "{line}\n{expected}");
    }
    assert!(text.contains("INFO flux::run: run starts"), "{text}");
    assert!(text.contains("stages=4 boundaries=1"), "{text}");
    let fused = "DEBUG flux::fusion: stages fused into one call path first=key_by-1 last=try_map-2 stages=2";
    assert_eq!(text.lines().filter(|line| line.contains("flux::fusion")).count(), 1, "{text}");
    assert!(text.contains(fused), "{text}");
    assert!(text.contains("INFO flux::run: run ends at_nanos=0"), "{text}");
    let batches = text.lines().filter(|line| line.contains("TRACE flux::batch: batch junction=2")).count();
    assert_eq!(batches, 1, "two envelopes passed, in one batch of two: {text}");
}

#[test]
fn an_envelope_span_gives_every_event_inside_it_the_envelopes_identity() {
    let text = logged(|| {
        let meta = Meta { sequence: 7, key: Some("alice".into()), ..Meta::default() };
        let span = envelope_span("parse", &meta);
        let _inside = span.enter();
        tracing::info!("odd field");
    });
    assert!(text.contains("envelope{stage=\"parse\" sequence=7 key=alice trace_id="), "{text}");
    assert!(text.contains("odd field"), "{text}");
}

#[test]
fn a_spanned_stage_runs_inside_its_span_and_its_neighbours_do_not() {
    use flux_observe::SpanSteps;
    let text = logged(|| {
        let pipeline = Pipeline::from_source(IterSource::new(["1", "22"]))
            .map(|s: &str| {
                tracing::info!(length = s.len(), "parsing");
                s.len()
            })
            .named("parse")
            .spanned()
            .map(|n| {
                tracing::info!(n, "scaling");
                n * 10
            })
            .named("scale")
            .sink(VecSink::new());
        let mut plan = Planner::new().plan(pipeline.describe()).unwrap();
        // A boundary after `parse`, so that `scale` is not called from
        // inside `parse`'s push.
        plan.junctions[1] = Junction::Boundary(EdgeSpec { capacity: 2, batch_size: 1 });
        let _report = SyncEngine::new().run(&plan, pipeline).unwrap();
    });
    let parsing: Vec<&str> = text.lines().filter(|line| line.contains("parsing")).collect();
    assert_eq!(parsing.len(), 2, "{text}");
    for (line, length) in parsing.iter().zip([1, 2]) {
        assert!(line.contains(&format!("flux.stage{{stage=parse}}: traced: parsing length={length}")), "{line}");
    }
    let scaling: Vec<&str> = text.lines().filter(|line| line.contains("scaling")).collect();
    assert_eq!(scaling.len(), 2, "{text}");
    assert!(scaling.iter().all(|line| !line.contains("flux.stage")), "{text}");
}
