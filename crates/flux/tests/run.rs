//! `flux::run`: the default plan on the sync engine, and its errors.

use std::error::Error as _;

use flux::prelude::*;

#[test]
fn a_pipeline_with_two_stages_of_one_name_is_a_plan_error() {
    let pipeline = Pipeline::from_source(IterSource::new(1..=3u32))
        .map(|n| n + 1)
        .named("step")
        .map(|n| n * 2)
        .named("step")
        .sink(VecSink::new());
    let error = flux::run(pipeline).unwrap_err();
    assert!(matches!(error, flux::Error::Plan(flux::PlanError::DuplicateId { .. })), "{error:?}");
    assert_eq!(error.to_string(), "the pipeline could not be planned: stage id `step` is used by stage 1 and stage 2");
    assert!(error.source().is_some_and(|s| s.is::<flux::PlanError>()));
    assert!(error.report().is_none());
}

#[test]
fn a_failed_run_names_the_stage_and_carries_the_report() {
    let out = VecSink::new();
    let pipeline = Pipeline::from_source(IterSource::new(1..=5u32))
        .map(|n| if n == 4 { panic!("no fours") } else { n })
        .named("check")
        .sink(out.clone());
    let error = flux::run(pipeline).unwrap_err();
    assert_eq!(error.to_string(), "stage `check` stopped the run at sequence 3");
    assert!(error.source().is_some_and(|s| s.is::<flux::Panicked>()), "the run error's cause, not the run error");
    let report = error.report().expect("a run that started has a report");
    assert_eq!(report.dead_letters.iter().map(|l| l.meta.sequence).collect::<Vec<_>>(), [3]);
    assert_eq!(out.payloads(), [1, 2, 3]);
}

/// A pipeline built by a function from borrowed arguments: the signature
/// says `impl Runnable` and nothing more, and the pipeline borrows nothing
/// (a `Runnable` is `'static`), so what it was built from can go first.
fn doubled(numbers: &[u64], out: &VecSink<u64>) -> impl flux::Runnable {
    Pipeline::from_source(IterSource::new(numbers.to_vec())).map(|n| n * 2).sink(out.clone())
}

#[test]
fn a_function_returning_a_pipeline_writes_impl_runnable_and_the_pipeline_outlives_its_arguments() {
    let numbers = vec![1, 2, 3];
    let out = VecSink::new();
    let pipeline = doubled(&numbers, &out);
    let kept = out.clone();
    drop((numbers, out));
    let report = flux::run(pipeline).unwrap();
    assert_eq!(kept.payloads(), [2, 4, 6]);
    assert!(report.dead_letters.is_empty());
}
