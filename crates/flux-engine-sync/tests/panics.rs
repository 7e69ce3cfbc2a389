//! A panic in user code is caught at the stage that called it: the input
//! is a dead letter, the run stops naming the stage and the sequence, and
//! nothing is left unaccounted.

use std::error::Error;

use flux_core::{Context, Emit, Envelope, Panicked, Pipeline, Runnable, Stage};
use flux_engine_sync::{RunError, RunReport, SyncEngine};
use flux_plan::Planner;
use flux_steps::Steps;
use flux_test::{Conservation, PanicOnPull, PanicOnWrite, Tripwire};
use flux_test::{IterSource, VecSink};

fn run(pipeline: impl Runnable) -> RunError {
    let plan = Planner::new().plan(pipeline.describe()).unwrap();
    SyncEngine::new().run(&plan, pipeline).expect_err("a panic stops the run")
}

fn dead(report: &RunReport) -> Vec<u64> {
    report.dead_letters.iter().map(|l| l.meta.sequence).collect()
}

fn written(out: &VecSink<u64>) -> Vec<u64> {
    out.envelopes().iter().map(|e| e.meta().sequence).collect()
}

/// Checks what every panic test checks: the message names the stage and
/// the input, the cause is the panic, and every input the source made
/// ended exactly once.
fn assert_caught(error: &RunError, stage: &str, sequence: u64, out: &VecSink<u64>) {
    assert_eq!(error.to_string(), format!("stage `{stage}` stopped the run at sequence {sequence}"));
    let cause = Error::source(error).unwrap();
    assert!(cause.is::<Panicked>(), "{cause}");
    let report = error.report().unwrap();
    assert_eq!(dead(report), [sequence]);
    let made = report.row("source").unwrap().emitted;
    assert_eq!(made, sequence + 1, "the source is not pulled past the panic");
    Conservation::of(0..made).output(written(out)).dead_letters(dead(report)).assert();
    assert!(report.problems.is_empty(), "{:?}", report.problems);
}

#[test]
fn a_panic_in_each_builder_closure_stops_the_run_at_its_input() {
    let out = VecSink::new();
    let mut trip = Tripwire::at(4);
    let p = Pipeline::from_source(IterSource::new(0..10u64))
        .map(move |n| {
            trip.check();
            n
        })
        .named("m")
        .sink(out.clone());
    assert_caught(&run(p), "m", 4, &out);

    let out = VecSink::new();
    let mut trip = Tripwire::at(5);
    let p = Pipeline::from_source(IterSource::new(0..10u64))
        .filter(move |_| {
            trip.check();
            true
        })
        .named("f")
        .sink(out.clone());
    assert_caught(&run(p), "f", 5, &out);

    let out = VecSink::new();
    let mut trip = Tripwire::at(6);
    let p = Pipeline::from_source(IterSource::new(0..10u64))
        .try_map(move |n| {
            trip.check();
            Ok::<_, std::io::Error>(n)
        })
        .named("t")
        .sink(out.clone());
    assert_caught(&run(p), "t", 6, &out);

    let out = VecSink::new();
    let mut trip = Tripwire::at(7);
    let p =
        Pipeline::from_source(IterSource::new(0..10u64)).inspect(move |_| trip.check()).named("i").sink(out.clone());
    assert_caught(&run(p), "i", 7, &out);

    let out = VecSink::new();
    let mut trip = Tripwire::at(3);
    let p = Pipeline::from_source(IterSource::new(0..10u64))
        .flat_map(move |n| {
            trip.check();
            Some(n)
        })
        .named("fm")
        .sink(out.clone());
    assert_caught(&run(p), "fm", 3, &out);
}

#[test]
fn a_flat_map_iterator_that_panics_after_its_first_output_keeps_what_it_made() {
    let out = VecSink::new();
    let p = Pipeline::from_source(IterSource::new(0..4u64))
        .flat_map(|n| (0..3).map(move |i| if n == 2 && i == 1 { panic!("half way") } else { n * 10 + i }))
        .named("split")
        .sink(out.clone());
    let error = run(p);
    assert_eq!(error.to_string(), "stage `split` stopped the run at sequence 2");
    // 20 was made, but it is held until the next output is known (the
    // last output takes the metadata): the input is a dead letter.
    assert_eq!(out.payloads(), [0, 1, 2, 10, 11, 12]);
    let report = error.report().unwrap();
    assert_eq!(dead(report), [2]);
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    // Past its first output, an input is accounted for by the outputs.
    let out = VecSink::new();
    let p = Pipeline::from_source(IterSource::new(0..4u64))
        .flat_map(|n| (0..4).map(move |i| if n == 1 && i == 3 { panic!("late") } else { n * 10 + i }))
        .named("split")
        .sink(out.clone());
    let error = run(p);
    assert_eq!(out.payloads(), [0, 1, 2, 3, 10, 11]);
    let report = error.report().unwrap();
    assert!(report.dead_letters.is_empty());
    assert!(report.problems.is_empty(), "{:?}", report.problems);
}

#[test]
fn a_panic_after_a_flat_map_on_one_of_its_middle_outputs_keeps_the_ledger_whole() {
    let out = VecSink::new();
    let p = Pipeline::from_source(IterSource::new(0..4u64))
        .flat_map(|n| (0..4).map(move |i| n * 10 + i))
        .named("split")
        .map(|x| if x == 22 { panic!("not 22") } else { x })
        .named("check")
        .sink(out.clone());
    let error = run(p);
    assert_eq!(error.to_string(), "stage `check` stopped the run at sequence 2");
    // 20 and 21 went out; 22 is a dead letter; 23 was never made.
    assert_eq!(out.payloads(), [0, 1, 2, 3, 10, 11, 12, 13, 20, 21]);
    let report = error.report().unwrap();
    assert_eq!(dead(report), [2]);
    assert_eq!(report.row("split").unwrap().counts.created, 3 + 3 + 2);
    assert!(report.problems.is_empty(), "{:?}", report.problems);
}

/// A stateful stage that sums its inputs and panics where it is told.
struct Summing {
    sum: u64,
    held: u64,
    panic_on: Option<u64>,
    panic_in_finish: bool,
}

impl Stage<u64> for Summing {
    type Out = u64;
    fn purity(&self) -> flux_core::Purity {
        flux_core::Purity::Stateful
    }
    fn process(&mut self, input: Envelope<u64>, _out: &mut impl Emit<u64>) {
        if Some(input.meta().sequence) == self.panic_on {
            panic!("cannot add {}", input.payload());
        }
        self.sum += input.payload();
        self.held += 1;
    }
    fn finish(&mut self, out: &mut impl Emit<u64>) {
        if self.panic_in_finish {
            panic!("cannot finish");
        }
        out.emit(Envelope::new(self.sum));
        self.held = 0;
    }
    fn held(&self) -> u64 {
        self.held
    }
}

#[test]
fn a_panicking_stage_is_named_and_what_it_holds_is_still_flushed() {
    let out = VecSink::new();
    let stage = Summing { sum: 0, held: 0, panic_on: Some(5), panic_in_finish: false };
    let p = Pipeline::from_source(IterSource::new(0..10u64)).stage(stage).named("sum").sink(out.clone());
    let error = run(p);
    assert_eq!(error.to_string(), "stage `sum` stopped the run at sequence 5");
    // 0..10 but 5, all in one source step: the stop drains them, then finishes.
    assert_eq!(out.payloads(), [40]);
    let report = error.report().unwrap();
    assert_eq!(dead(report), [5]);
    assert_eq!(report.row("sum").unwrap().counts.released, 9);
    assert!(report.problems.is_empty(), "{:?}", report.problems);
}

#[test]
fn a_stage_that_panics_in_finish_has_what_it_held_counted_as_discarded() {
    let stage = Summing { sum: 0, held: 0, panic_on: None, panic_in_finish: true };
    let p = Pipeline::from_source(IterSource::new(0..10u64)).stage(stage).named("sum").sink(VecSink::new());
    let error = run(p);
    assert_eq!(error.to_string(), "stage `sum` stopped the run");
    let report = error.report().unwrap();
    assert_eq!(report.row("sum").unwrap().counts.discarded, 10);
    assert!(report.problems.is_empty(), "{:?}", report.problems);
}

/// Holds every input, with a timer one second after the first; panics on
/// its timer, or in `process` after taking the input in.
struct PanicsHolding {
    held: Vec<u64>,
    in_timer: bool,
    after_taking: Option<u64>,
}

impl Stage<u64> for PanicsHolding {
    type Out = u64;
    fn purity(&self) -> flux_core::Purity {
        flux_core::Purity::Stateful
    }
    fn process(&mut self, input: Envelope<u64>, _out: &mut impl Emit<u64>) {
        self.held.push(*input.payload());
        if Some(input.meta().sequence) == self.after_taking {
            panic!("took {} in, then failed", input.payload());
        }
    }
    fn next_deadline(&self, _at_end: bool) -> Option<flux_core::Instant> {
        (self.in_timer && !self.held.is_empty()).then(|| flux_core::Instant::from_secs(1))
    }
    fn on_time(&mut self, out: &mut impl Emit<u64>) {
        if out.now() >= flux_core::Instant::from_secs(1) {
            panic!("timer failed");
        }
    }
    fn finish(&mut self, out: &mut impl Emit<u64>) {
        for value in self.held.drain(..) {
            out.emit(Envelope::new(value));
        }
    }
    fn held(&self) -> u64 {
        self.held.len() as u64
    }
}

#[test]
fn a_stage_that_panics_on_its_timer_is_not_called_again_and_what_it_held_is_discarded() {
    // Two inputs before the timer at 1 s, one after: the timer panics, the
    // two held are counted as discarded (not also emitted by `finish`),
    // and the source, stopped, is not read for the third.
    let input =
        [(0, 10u64), (0, 11), (2, 12)].map(|(at, n)| (flux_core::Instant::from_secs(at), Envelope::new(n))).to_vec();
    let out = VecSink::new();
    let stage = PanicsHolding { held: Vec::new(), in_timer: true, after_taking: None };
    let p = Pipeline::from_source(flux_test::TimedSource::new(input)).stage(stage).named("hold").sink(out.clone());
    let error = run(p);
    assert_eq!(error.to_string(), "stage `hold` stopped the run");
    assert_eq!(out.payloads(), [] as [u64; 0], "finish is not called on a stage that panicked");
    let report = error.report().unwrap();
    let counts = report.row("hold").unwrap().counts;
    assert_eq!((counts.merged, counts.discarded, counts.pending), (2, 2, 0));
    assert_eq!(report.row("source").unwrap().emitted, 2);
    assert!(report.problems.is_empty(), "{:?}", report.problems);
}

#[test]
fn an_input_taken_in_before_a_panic_is_held_not_a_dead_letter() {
    let out = VecSink::new();
    let stage = PanicsHolding { held: Vec::new(), in_timer: false, after_taking: Some(2) };
    let p = Pipeline::from_source(IterSource::new(0..5u64)).stage(stage).named("hold").sink(out.clone());
    let error = run(p);
    assert_eq!(error.to_string(), "stage `hold` stopped the run at sequence 2");
    let report = error.report().unwrap();
    assert!(dead(report).is_empty(), "input 2 is in the stage's state");
    // The stop drains the rest of the batch, then `finish` emits them all.
    assert_eq!(out.payloads(), [0, 1, 2, 3, 4]);
    assert!(report.problems.is_empty(), "{:?}", report.problems);
}

/// Holds what it is given until it is closed; `closed` is `None` until then.
#[derive(Clone, Default)]
struct Holding {
    held: std::sync::Arc<std::sync::Mutex<Vec<u64>>>,
    closed: std::sync::Arc<std::sync::Mutex<Option<Vec<u64>>>>,
}

impl flux_core::Sink<u64> for Holding {
    fn write(&mut self, item: Envelope<u64>, _cx: &mut Context<'_>) -> Result<(), flux_core::WriteError> {
        self.held.lock().unwrap().push(item.meta().sequence);
        Ok(())
    }
    fn close(&mut self, _cx: &mut Context<'_>) -> Result<(), Box<dyn Error + Send + Sync>> {
        let held = std::mem::take(&mut *self.held.lock().unwrap());
        self.closed.lock().unwrap().get_or_insert_default().extend(held);
        Ok(())
    }
    fn held(&self) -> u64 {
        self.held.lock().unwrap().len() as u64
    }
}

#[test]
fn a_panicking_source_is_named_and_what_it_made_before_is_written() {
    let sink = Holding::default();
    let p = Pipeline::from_source(PanicOnPull::new(IterSource::new(0..10u64), 6)).sink(sink.clone());
    let error = run(p);
    assert_eq!(error.to_string(), "stage `source` stopped the run");
    // The source's segment is whole after its panic: it finishes, and the
    // sink in it is closed.
    assert_eq!(*sink.closed.lock().unwrap(), Some(vec![0, 1, 2, 3, 4, 5]));
    assert!(error.report().unwrap().problems.is_empty());
}

#[test]
fn a_panicking_sink_dead_letters_its_input_and_is_still_closed() {
    let out = VecSink::new();
    let p = Pipeline::from_source(IterSource::new(0..10u64)).sink(PanicOnWrite::new(out.clone(), 2)).named("db");
    let error = run(p);
    assert_caught(&error, "db", 2, &out);
    assert_eq!(error.report().unwrap().row("db").unwrap().counts.consumed, 2);
}

#[test]
fn a_panic_that_escapes_a_node_stops_the_run_naming_its_segment_and_the_report_shows_the_loss() {
    let sink = Holding::default();
    // A user `Push` node that does not catch its own panics, on its third push.
    let p = Pipeline::from_source(IterSource::new(0..10u64)).layer(flux_test::PanicInNode::at(2)).sink(sink.clone());
    let error = run(p);
    // The sink's segment waits for an input the panic will never close (the
    // two envelopes that passed sat in the careless segment's half-full
    // batch): it is finished as it stands, so the sink is still closed.
    assert_eq!(*sink.closed.lock().unwrap(), Some(Vec::new()));
    // A stateful user stage runs in a segment of its own, which it starts.
    assert_eq!(error.to_string(), "stage `careless` stopped the run");
    assert_eq!(error.report().unwrap().row("careless").unwrap().received, 10);
    let report = error.report().unwrap();
    assert!(!report.problems.is_empty(), "a node that loses its input is caught by the ledger");
    assert_eq!(report.later_failures.len(), 0);
}
