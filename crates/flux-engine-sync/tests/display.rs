//! The report as a person reads it after a run: the golden table.

use flux_core::{EdgeSpec, Junction, Pipeline, Runnable};
use flux_engine_sync::SyncEngine;
use flux_plan::Planner;
use flux_steps::Steps;
use flux_test::{IterSource, VecSink};

#[test]
fn a_report_prints_what_was_read_and_written_its_ledger_and_its_first_dead_letters() {
    // Every seventh of 50 does not parse (sequences 3, 10, ..., 45: seven
    // dead letters), odd numbers are dropped, a boundary after the filter.
    let input: Vec<String> = (0..50u64).map(|n| if n % 7 == 3 { format!("{n}x") } else { n.to_string() }).collect();
    let out = VecSink::new();
    let pipeline = Pipeline::from_source(IterSource::new(input))
        .try_map(|s: String| s.parse::<u64>())
        .named("parse")
        .filter(|n| n % 2 == 0)
        .named("evens")
        .sink(out.clone());
    let mut plan = Planner::new().plan(pipeline.describe()).unwrap();
    plan.junctions[2] = Junction::Boundary(EdgeSpec { capacity: 4, batch_size: 8 });
    let report = SyncEngine::new().run(&plan, pipeline).unwrap();
    let expected = "\
run ended at t+0ns: 50 read, 22 written, 7 dead letters
  stage   received      sent      dead      side   dropped    merged  released discarded   written
  source         0        50         0         0         0         0         0         0         0
  parse         50        43         7         0         0         0         0         0         0
  evens         43        22         0         0        21         0         0         0         0
  sink          22         0         0         0         0         0         0         0        22
  dead letter sequence 3: stage `parse` failed at sequence 3: invalid digit found in string
  dead letter sequence 10: stage `parse` failed at sequence 10: invalid digit found in string
  dead letter sequence 17: stage `parse` failed at sequence 17: invalid digit found in string
  dead letter sequence 24: stage `parse` failed at sequence 24: invalid digit found in string
  dead letter sequence 31: stage `parse` failed at sequence 31: invalid digit found in string
  and 2 more dead letters
  boundary 2: 22 sent, 22 received, at most 1 of 4 batches queued, 0 dropped
";
    assert_eq!(report.to_string(), expected, "\n{report}");
    assert_eq!(out.payloads().len(), 22);
}
