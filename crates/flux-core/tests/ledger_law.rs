//! The ledger law with a boundary whose backpressure policy dropped some
//! of what it was sent: the drops never reach the next stage, and a
//! boundary that cannot account for what it was sent is a loss.

use std::collections::HashMap;

use flux_core::{
    EdgeFlow, ExecutionPlan, Imbalance, Junction, Purity, StageDescriptor, StageId, StageKind, StageLedger, balance,
};

/// source -> gate | boundary | sink, the source making `made`, the sink
/// writing `written`.
fn plan_and_counts(made: u64, written: u64) -> (ExecutionPlan, HashMap<StageId, StageLedger>) {
    let mut plan = ExecutionPlan::draft(vec![
        StageDescriptor::new("source", StageKind::Source, Purity::Stateful),
        StageDescriptor::new("gate", StageKind::Transform, Purity::Pure),
        StageDescriptor::new("sink", StageKind::Sink, Purity::Stateful),
    ]);
    plan.junctions[1] = Junction::Boundary(flux_core::EdgeSpec::default());
    let mut counted = HashMap::new();
    counted.insert(StageId::from_static("source"), StageLedger { created: made, ..StageLedger::default() });
    counted.insert(StageId::from_static("sink"), StageLedger { consumed: written, ..StageLedger::default() });
    (plan, counted)
}

#[test]
fn what_a_boundary_dropped_by_policy_never_reaches_the_next_stage() {
    let (plan, counted) = plan_and_counts(100, 70);
    let edge = EdgeFlow { junction: 1, sent: 100, received: 70, dropped: 30 };
    let (rows, problems) = balance(&plan, &counted, &HashMap::new(), &[edge]);
    assert_eq!(problems, []);
    assert_eq!((rows[1].received, rows[1].emitted), (100, 100), "the gate passed everything on");
    assert_eq!((rows[2].received, rows[2].emitted), (70, 0), "the sink got what the boundary kept");
}

#[test]
fn a_boundary_whose_drops_and_deliveries_do_not_add_up_to_what_it_was_sent_is_a_loss() {
    let (plan, counted) = plan_and_counts(100, 60);
    let edge = EdgeFlow { junction: 1, sent: 100, received: 60, dropped: 30 };
    let (rows, problems) = balance(&plan, &counted, &HashMap::new(), &[edge]);
    let sink = StageId::from_static("sink");
    let loss = Imbalance::ChannelLoss { junction: 1, sent: 100, received: 60, dropped: 30 };
    assert_eq!(problems, [loss, Imbalance::Vanished { stage: sink, count: 10 }]);
    assert_eq!(rows[2].received, 70, "the next stage is owed what was sent less what was dropped");
    let text = problems[0].to_string();
    assert_eq!(text, "boundary after stage 1 delivered 60 and its policy dropped 30 of 100 envelopes");
}

#[test]
fn drops_at_one_boundary_do_not_touch_the_stages_behind_another() {
    let mut plan = ExecutionPlan::draft(vec![
        StageDescriptor::new("source", StageKind::Source, Purity::Stateful),
        StageDescriptor::new("a", StageKind::Transform, Purity::Pure),
        StageDescriptor::new("b", StageKind::Transform, Purity::Pure),
        StageDescriptor::new("sink", StageKind::Sink, Purity::Stateful),
    ]);
    plan.junctions[1] = Junction::Boundary(flux_core::EdgeSpec::default());
    plan.junctions[2] = Junction::Boundary(flux_core::EdgeSpec::default());
    let mut counted = HashMap::new();
    counted.insert(StageId::from_static("source"), StageLedger { created: 10, ..StageLedger::default() });
    counted.insert(StageId::from_static("sink"), StageLedger { consumed: 6, ..StageLedger::default() });
    let edges = [
        EdgeFlow { junction: 1, sent: 10, received: 10, dropped: 0 },
        EdgeFlow { junction: 2, sent: 10, received: 6, dropped: 4 },
    ];
    let (rows, problems) = balance(&plan, &counted, &HashMap::new(), &edges);
    assert_eq!(problems, []);
    let received: Vec<u64> = rows.iter().map(|row| row.received).collect();
    assert_eq!(received, [0, 10, 10, 6]);
}
