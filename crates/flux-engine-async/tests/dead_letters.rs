//! A run can be told to fail on dead letters: past a count (it stops at
//! once) or past a share of its input (at the end). Either way nothing is
//! lost: outputs and dead letters are what the source read, by sequence.

use flux_core::{Pipeline, Runnable};
use flux_engine_async::AsyncEngine;
use flux_engine_sync::SyncEngine;
use flux_plan::Planner;
use flux_steps::Steps;
use flux_test::{IterSource, VecSink};

const COUNT: u64 = 100_000;

/// Every tenth input fails to parse.
fn job(out: &VecSink<u64>) -> impl Runnable + use<> {
    Pipeline::from_source(IterSource::new(0..COUNT))
        .try_map(|n| if n % 10 == 7 { Err("not a number") } else { Ok(n) })
        .sink(out.clone())
}

/// What a run did, whichever engine ran it: the error's text and its
/// figures, or none; what the source read; outputs and dead letters by
/// sequence.
struct Outcome {
    error: Option<(String, u64, Option<u64>)>,
    read: u64,
    outputs: Vec<u64>,
    letters: Vec<u64>,
    balanced: bool,
}

impl Outcome {
    fn of(
        error: Option<(String, u64, Option<u64>)>,
        read: u64,
        out: &VecSink<u64>,
        letters: &[flux_core::ErrorEnvelope],
        problems: &[flux_core::Imbalance],
    ) -> Self {
        Outcome {
            error,
            read,
            outputs: out.envelopes().iter().map(|e| e.meta().sequence).collect(),
            letters: letters.iter().map(|l| l.meta.sequence).collect(),
            balanced: problems.is_empty(),
        }
    }
}

enum Limit {
    Count(u64),
    Share(f64),
}

fn on_sync(limit: Limit) -> Outcome {
    let out = VecSink::new();
    let pipeline = job(&out);
    let plan = Planner::new().plan(pipeline.describe()).unwrap();
    let engine = SyncEngine::new().keep_dead_letters(usize::MAX);
    let mut engine = match limit {
        Limit::Count(count) => engine.fail_past_dead_letters(count),
        Limit::Share(share) => engine.fail_past_dead_letter_share(share),
    };
    let (error, report) = match engine.run(&plan, pipeline) {
        Ok(report) => (None, report),
        Err(error) => {
            let figures = match error.kind() {
                flux_engine_sync::RunErrorKind::TooManyDeadLetters { made, inputs } => (*made, *inputs),
                other => panic!("another failure: {other:?}"),
            };
            (Some((error.to_string(), figures.0, figures.1)), error.into_report().unwrap())
        }
    };
    Outcome::of(error, report.row("source").unwrap().counts.created, &out, &report.dead_letters, &report.problems)
}

fn on_tokio(limit: Limit) -> Outcome {
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let out = VecSink::new();
    let pipeline = job(&out);
    let plan = Planner::new().plan(pipeline.describe()).unwrap();
    let engine = AsyncEngine::new().keep_dead_letters(usize::MAX);
    let engine = match limit {
        Limit::Count(count) => engine.fail_past_dead_letters(count),
        Limit::Share(share) => engine.fail_past_dead_letter_share(share),
    };
    let (error, report) = match runtime.block_on(engine.run(&plan, pipeline)) {
        Ok(report) => (None, report),
        Err(error) => {
            let figures = match error.kind() {
                flux_engine_async::RunErrorKind::TooManyDeadLetters { made, inputs } => (*made, *inputs),
                other => panic!("another failure: {other:?}"),
            };
            (Some((error.to_string(), figures.0, figures.1)), error.into_report().unwrap())
        }
    };
    Outcome::of(error, report.row("source").unwrap().counts.created, &out, &report.dead_letters, &report.problems)
}

/// Outputs and dead letters are exactly what was read, by sequence, and
/// the dead letters are the failing inputs among them.
fn check_conservation(engine: &str, outcome: &Outcome) {
    let mut seen: Vec<u64> = outcome.outputs.iter().chain(&outcome.letters).copied().collect();
    seen.sort_unstable();
    assert_eq!(seen, (0..outcome.read).collect::<Vec<_>>(), "{engine}: what was read, once");
    let failing: Vec<u64> = (0..outcome.read).filter(|n| n % 10 == 7).collect();
    let mut letters = outcome.letters.clone();
    letters.sort_unstable();
    assert_eq!(letters, failing, "{engine}: the dead letters are the failing inputs");
    assert!(outcome.balanced, "{engine}: the ledger balances");
}

#[test]
fn past_a_count_the_run_stops_and_fails_with_everything_read_accounted_for() {
    for (engine, outcome) in [("sync", on_sync(Limit::Count(50))), ("tokio", on_tokio(Limit::Count(50)))] {
        let (text, made, inputs) = outcome.error.clone().expect("the run fails");
        assert!(made > 50, "{engine}: failed only past the count ({made})");
        assert_eq!(inputs, None);
        assert!(text.contains("more than it allows, and stopped"), "{engine}: {text}");
        assert!(outcome.read < COUNT, "{engine}: the source stopped early ({} read)", outcome.read);
        assert!(made <= 50 + 103, "{engine}: seen within one step of 1,024 reads (103 failures) past the count");
        assert_eq!(outcome.letters.len() as u64, made, "{engine}: the error counts every dead letter made");
        check_conservation(engine, &outcome);
    }
}

#[test]
fn past_a_share_the_run_fails_at_the_end_and_within_it_the_run_is_ok() {
    for (engine, failed, passed) in [
        ("sync", on_sync(Limit::Share(0.05)), on_sync(Limit::Share(0.2))),
        ("tokio", on_tokio(Limit::Share(0.05)), on_tokio(Limit::Share(0.2))),
    ] {
        let (text, made, inputs) = failed.error.clone().expect("ten percent is past five");
        assert_eq!((made, inputs), (COUNT / 10, Some(COUNT)), "{engine}");
        assert_eq!(text, "the run made 10000 dead letters of 100000 inputs, a larger share than it allows");
        assert_eq!(failed.read, COUNT, "{engine}: a share is judged at the end: everything was read");
        check_conservation(engine, &failed);
        assert!(passed.error.is_none(), "{engine}: ten percent is within twenty");
        check_conservation(engine, &passed);
    }
}

#[test]
fn a_run_with_no_dead_letters_passes_a_limit_of_zero() {
    let out = VecSink::new();
    let pipeline = Pipeline::from_source(IterSource::new(0..1_000u64)).map(|n| n + 1).sink(out.clone());
    let plan = Planner::new().plan(pipeline.describe()).unwrap();
    let report = SyncEngine::new().fail_past_dead_letters(0).run(&plan, pipeline).unwrap();
    assert!(report.dead_letters.is_empty());
    assert_eq!(out.payloads().len(), 1_000);
}
