//! A run that fails still closes every sink, drains what is inside the
//! pipeline, and reports where every envelope went.

mod support;

use std::error::Error;
use std::sync::{Arc, Mutex};

use flux_core::{
    Context, Envelope, Instant, Pipeline, Position, Pull, Runnable, Sink, Source, SourceError, WriteError,
};
use flux_engine_sync::{Decision, RunErrorKind, RunReport, Seeded, SyncEngine, UpstreamFirst};
use flux_plan::Planner;
use flux_steps::Steps;
use flux_test::{Conservation, Tripwire};
use flux_test::{IterSource, VecSink};

/// Numbers from zero, failing at `fail_at`.
struct FailsAt {
    next: u64,
    fail_at: u64,
}

impl Source for FailsAt {
    type Item = u64;
    fn pull(&mut self, _cx: &mut Context<'_>) -> Result<Pull<u64>, SourceError> {
        if self.next == self.fail_at {
            return Err(SourceError { position: Position::ByteOffset(self.next * 10), cause: "device gone".into() });
        }
        self.next += 1;
        Ok(Pull::Item(Envelope::new(self.next - 1).with_sequence(self.next - 1)))
    }
}

/// A sink that holds what it is given until it is closed, and says so.
#[derive(Clone, Default)]
struct Holding {
    held: Arc<Mutex<Vec<u64>>>,
    closed: Arc<Mutex<Vec<u64>>>,
}

impl Sink<u64> for Holding {
    fn write(&mut self, item: Envelope<u64>, _cx: &mut Context<'_>) -> Result<(), WriteError> {
        self.held.lock().unwrap().push(item.meta().sequence);
        Ok(())
    }
    fn close(&mut self, _cx: &mut Context<'_>) -> Result<(), Box<dyn Error + Send + Sync>> {
        let held = std::mem::take(&mut *self.held.lock().unwrap());
        self.closed.lock().unwrap().extend(held);
        Ok(())
    }
    fn held(&self) -> u64 {
        self.held.lock().unwrap().len() as u64
    }
}

fn sequences(report: &RunReport) -> Vec<u64> {
    report.dead_letters.iter().map(|l| l.meta.sequence).collect()
}

#[test]
fn a_source_error_closes_the_sink_and_the_report_says_every_line_it_read_was_written() {
    let sink = Holding::default();
    let pipeline = Pipeline::from_source(FailsAt { next: 0, fail_at: 1_000 }).map(|n| n).sink(sink.clone());
    let plan = Planner::new().with_pass(support::small_edges()).plan(pipeline.describe()).unwrap();
    let error = SyncEngine::new().run(&plan, pipeline).unwrap_err();

    assert_eq!(error.to_string(), "stage `source` stopped the run at byte 10000");
    assert_eq!(error.stage().unwrap().as_str(), "source");
    assert_eq!(Error::source(&error).unwrap().to_string(), "device gone");
    let closed = sink.closed.lock().unwrap().clone();
    assert_eq!(closed.len(), 1_000, "the sink was closed, so what it held is written");
    let report = error.report().expect("a failed run keeps its report");
    Conservation::of(0..1_000).output(closed).dead_letters(sequences(report)).assert();
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    assert_eq!(report.row("sink").unwrap().counts.consumed, 1_000);
    assert_eq!(report.row("source").unwrap().emitted, 1_000);
    assert!(report.trace.iter().any(|d| matches!(d, Decision::Stop { .. })));
}

#[test]
fn a_failure_downstream_of_a_boundary_drains_what_is_queued_under_every_schedule() {
    for seed in [None, Some(1), Some(7), Some(99)] {
        let out = VecSink::new();
        let mut trip = Tripwire::at(300);
        let pipeline = Pipeline::from_source(IterSource::new(0..5_000u64))
            .map(|n| n + 1)
            .map(move |n| {
                trip.check();
                n
            })
            .named("check")
            .sink(out.clone());
        let plan = Planner::new().with_pass(support::small_edges()).plan(pipeline.describe()).unwrap();
        let engine = SyncEngine::new();
        let engine = match seed {
            Some(seed) => engine.with_hook(Seeded::new(seed)),
            None => engine.with_hook(UpstreamFirst),
        };
        let error = { engine }.run(&plan, pipeline).unwrap_err();
        assert_eq!(error.to_string(), "stage `check` stopped the run at sequence 300", "seed {seed:?}");
        let report = error.report().unwrap();
        let pulled = report.row("source").unwrap().emitted;
        assert!(pulled < 5_000, "the source was not pulled to its end ({pulled}), seed {seed:?}");
        let written: Vec<u64> = out.envelopes().iter().map(|e| e.meta().sequence).collect();
        Conservation::of(0..pulled).output(written).dead_letters(sequences(report)).assert();
        assert_eq!(sequences(report), [300], "seed {seed:?}");
        assert!(report.problems.is_empty(), "seed {seed:?}: {:?}", report.problems);
    }
}

/// Asks to wait until now, for ever.
struct Stalls;

impl Source for Stalls {
    type Item = u64;
    fn pull(&mut self, cx: &mut Context<'_>) -> Result<Pull<u64>, SourceError> {
        Ok(Pull::Wait(cx.now()))
    }
}

/// Asks once to wait until now, then yields three numbers and ends.
struct HesitatesOnce(u64);

impl Source for HesitatesOnce {
    type Item = u64;
    fn pull(&mut self, cx: &mut Context<'_>) -> Result<Pull<u64>, SourceError> {
        self.0 += 1;
        Ok(match self.0 {
            1 => Pull::Wait(cx.now()),
            n @ 2..=4 => Pull::Item(Envelope::new(n - 2).with_sequence(n - 2)),
            _ => Pull::End,
        })
    }
}

#[test]
fn a_source_that_waits_until_now_once_is_pulled_again_and_ends_cleanly() {
    let out = VecSink::new();
    let pipeline = Pipeline::from_source(HesitatesOnce(0)).sink(out.clone());
    let plan = Planner::new().plan(pipeline.describe()).unwrap();
    let report = SyncEngine::new().run(&plan, pipeline).unwrap();
    assert_eq!(out.payloads(), [0, 1, 2]);
    assert_eq!(report.end_time, Instant::ZERO);
    assert!(!report.trace.iter().any(|d| matches!(d, Decision::Wake { .. })), "no time passed");
}

#[test]
fn a_source_that_keeps_waiting_at_the_current_instant_is_an_error_not_a_spin() {
    let pipeline = Pipeline::from_source(Stalls).named("clock").sink(VecSink::new());
    let plan = Planner::new().plan(pipeline.describe()).unwrap();
    let error = SyncEngine::new().run(&plan, pipeline).unwrap_err();
    assert!(matches!(error.kind(), RunErrorKind::StuckSource { at, .. } if *at == Instant::ZERO), "{error}");
    assert_eq!(error.stage().unwrap().as_str(), "clock");
    assert_eq!(error.to_string(), "source `clock` keeps asking to wait until t+0ns, which has already come");
    assert!(error.report().unwrap().problems.is_empty());
}

#[test]
fn a_failed_close_and_a_failed_write_are_both_in_the_report() {
    /// Refuses sequence 2 and stops; then cannot close.
    struct Broken;
    impl Sink<u64> for Broken {
        fn write(&mut self, item: Envelope<u64>, _cx: &mut Context<'_>) -> Result<(), WriteError> {
            match item.meta().sequence {
                2 => Err(WriteError::new(item.into_parts().1, "bad row").stop_run("connection lost")),
                _ => Ok(()),
            }
        }
        fn close(&mut self, _cx: &mut Context<'_>) -> Result<(), Box<dyn Error + Send + Sync>> {
            Err("cannot commit".into())
        }
    }
    let pipeline = Pipeline::from_source(IterSource::new(0..5u64)).sink(Broken).named("db");
    let plan = Planner::new().plan(pipeline.describe()).unwrap();
    let error = SyncEngine::new().run(&plan, pipeline).unwrap_err();
    assert_eq!(error.to_string(), "stage `db` stopped the run at sequence 2");
    assert_eq!(Error::source(&error).unwrap().to_string(), "connection lost");
    let report = error.report().unwrap();
    assert_eq!(report.dead_letters[0].error.cause().to_string(), "bad row");
    let later: Vec<String> = report.later_failures.iter().map(|f| f.cause().to_string()).collect();
    assert_eq!(later, ["cannot commit"]);
    // The source step had pulled all five before the stop was seen.
    assert_eq!(report.row("db").unwrap().counts.consumed, 4);
}

#[test]
fn dead_letters_past_the_kept_ones_are_counted_by_stage_and_cause() {
    let pipeline = Pipeline::from_source(IterSource::new(0..10_000u32))
        .try_map(|n| if n % 2 == 0 { Err(format!("even: {}", n % 4)) } else { Ok(n) })
        .named("odd")
        .sink(VecSink::new());
    let plan = Planner::new().plan(pipeline.describe()).unwrap();
    let report = SyncEngine::new().keep_dead_letters(100).run(&plan, pipeline).unwrap();
    assert_eq!(report.dead_letters.len(), 100);
    assert_eq!(report.row("odd").unwrap().dead_letters, 5_000);
    let tallies: Vec<(&str, &str, u64)> =
        report.not_kept.iter().map(|t| (t.stage.as_str(), t.cause.as_str(), t.count)).collect();
    assert_eq!(tallies, [("odd", "even: 0", 2_450), ("odd", "even: 2", 2_450)]);
}

#[test]
fn a_timer_is_not_waited_for_when_the_run_stops() {
    let mut stage = support::WindowSum::new(std::time::Duration::from_secs(3_600));
    stage.wait_at_end = true;
    let out = VecSink::new();
    let pipeline = Pipeline::from_source(FailsAt { next: 0, fail_at: 10 }).stage(stage).sink(out.clone());
    let plan = Planner::new().plan(pipeline.describe()).unwrap();
    let error = SyncEngine::new().run(&plan, pipeline).unwrap_err();
    let report = error.report().unwrap();
    assert_eq!(report.end_time, Instant::ZERO, "time stands still while a run stops");
    assert_eq!(out.payloads(), [45], "the open window was flushed at the stop");
    assert!(report.problems.is_empty());
}

/// Routes inputs aside or to the dead-letter output by their number.
struct Router;

impl flux_core::Stage<u64> for Router {
    type Out = u64;
    fn process(&mut self, input: Envelope<u64>, out: &mut impl flux_core::Emit<u64>) {
        let n = *input.payload();
        let meta = input.meta().clone();
        if n.is_multiple_of(3) {
            out.side_output(meta, flux_core::SideReason::Late);
        } else if n.is_multiple_of(5) {
            out.side_output(meta, flux_core::SideReason::Other("odd size"));
        } else if n.is_multiple_of(7) {
            out.dead_letter(meta, Position::Sequence(n), "sevens are refused".into());
        } else {
            out.emit(input);
        }
    }
}

#[test]
fn side_outputs_past_the_kept_ones_are_counted_by_stage_and_reason_apart_from_dead_letters() {
    let out = VecSink::new();
    let pipeline = Pipeline::from_source(IterSource::new(0..1_000u64)).stage(Router).named("router").sink(out.clone());
    let plan = Planner::new().plan(pipeline.describe()).unwrap();
    let report = SyncEngine::new().keep_dead_letters(10).run(&plan, pipeline).unwrap();
    let late = (0..1_000).filter(|n| n % 3 == 0).count() as u64;
    let odd = (0..1_000).filter(|n| n % 3 != 0 && n % 5 == 0).count() as u64;
    let sevens = (0..1_000).filter(|n| n % 3 != 0 && n % 5 != 0 && n % 7 == 0).count() as u64;
    let row = report.row("router").unwrap();
    assert_eq!((row.side_outputs, row.dead_letters), (late + odd, sevens));
    assert_eq!(row.emitted, 1_000 - late - odd - sevens);
    assert_eq!((report.side_outputs.len(), report.dead_letters.len()), (10, 10));
    let kept_late = report.side_outputs.iter().filter(|s| s.reason == flux_core::SideReason::Late).count() as u64;
    let tallies: Vec<(&str, &str, u64)> = report.not_kept.iter().map(|t| (t.kind, t.cause.as_str(), t.count)).collect();
    assert_eq!(
        tallies,
        [
            ("side output", "late", late - kept_late),
            ("side output", "odd size", odd - (10 - kept_late)),
            ("dead letter", "sevens are refused", sevens - 10),
        ]
    );
}

#[test]
fn past_thirty_two_causes_a_stage_s_dead_letters_share_one_line_and_long_causes_are_cut_on_a_character() {
    let long = format!("x{}", "é".repeat(100));
    let cause = long.clone();
    let pipeline = Pipeline::from_source(IterSource::new(0..4_000u64))
        .try_map(move |n| match n % 41 {
            40 => Err(cause.clone()),
            k => Err(format!("cause {k}")),
        })
        .named("parse")
        .sink(VecSink::<u64>::new());
    let plan = Planner::new().plan(pipeline.describe()).unwrap();
    let report = SyncEngine::new().keep_dead_letters(0).run(&plan, pipeline).unwrap();
    assert_eq!(report.not_kept.len(), 33, "thirty-two causes and the rest");
    let per_cause = |k: u64| (0..4_000u64).filter(|n| n % 41 == k).count() as u64;
    assert_eq!(report.not_kept[0].cause, "cause 0");
    assert_eq!(report.not_kept[0].count, per_cause(0));
    let other = report.not_kept.iter().find(|t| t.cause == "(other causes)").unwrap();
    assert_eq!(other.count, (32..41).map(per_cause).sum::<u64>());
    let counted: u64 = report.not_kept.iter().map(|t| t.count).sum();
    assert_eq!(counted, 4_000);
    // The long cause (201 bytes) was met after 32 others: it is in the
    // rest. Alone, it is cut at 160 bytes, back to a character's start.
    let pipeline = Pipeline::from_source(IterSource::new(0..3u64))
        .try_map(move |_| Err::<u64, _>(long.clone()))
        .sink(VecSink::new());
    let plan = Planner::new().plan(pipeline.describe()).unwrap();
    let report = SyncEngine::new().keep_dead_letters(0).run(&plan, pipeline).unwrap();
    assert_eq!(report.not_kept[0].cause, format!("x{}", "é".repeat(79)));
    assert_eq!(report.not_kept[0].count, 3);
}

#[test]
fn later_failures_are_kept_up_to_sixteen() {
    /// Refuses everything, each time saying the run must stop.
    struct Refusing;
    impl Sink<u64> for Refusing {
        fn write(&mut self, item: Envelope<u64>, _cx: &mut Context<'_>) -> Result<(), WriteError> {
            Err(WriteError::new(item.into_parts().1, "no").stop_run("gone"))
        }
    }
    let pipeline = Pipeline::from_source(IterSource::new(0..40u64)).sink(Refusing);
    let plan = Planner::new().plan(pipeline.describe()).unwrap();
    let error = SyncEngine::new().run(&plan, pipeline).unwrap_err();
    let report = error.report().unwrap();
    assert_eq!(report.dead_letters.len(), 40);
    assert_eq!(report.later_failures.len(), 16);
}

/// Refuses every input with one of forty causes, and routes every
/// forty-first aside.
struct ManyCauses;

impl flux_core::Stage<u64> for ManyCauses {
    type Out = u64;
    fn process(&mut self, input: Envelope<u64>, out: &mut impl flux_core::Emit<u64>) {
        let n = *input.payload();
        let meta = input.meta().clone();
        match n % 41 {
            40 => out.side_output(meta, flux_core::SideReason::Other("aside")),
            k => out.dead_letter(meta, Position::Sequence(n), format!("cause {k}").into()),
        }
    }
}

#[test]
fn the_thirty_two_cause_cap_counts_dead_letters_and_side_outputs_apart() {
    let pipeline =
        Pipeline::from_source(IterSource::new(0..820u64)).stage(ManyCauses).named("many").sink(VecSink::new());
    let plan = Planner::new().plan(pipeline.describe()).unwrap();
    let report = SyncEngine::new().keep_dead_letters(0).run(&plan, pipeline).unwrap();
    let aside = report.not_kept.iter().find(|t| t.kind == "side output").unwrap();
    assert_eq!((aside.cause.as_str(), aside.count), ("aside", 20), "thirty-two dead-letter causes do not crowd it out");
    let dead_lines = report.not_kept.iter().filter(|t| t.kind == "dead letter").count();
    assert_eq!(dead_lines, 33);
}
