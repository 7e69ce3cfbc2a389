//! The numbers a planner reports about its plan.

use flux_core::{ExecutionPlan, Junction, PlanError, PlannerPass, Purity, StageKind};

/// Bytes assumed per envelope waiting in a boundary channel, for the memory
/// estimate (an envelope's inline size with a small payload).
pub const ENVELOPE_BYTES_ESTIMATE: u64 = 128;

/// Computes [`PlanDiagnostics`](flux_core::PlanDiagnostics) from the plan as
/// it stands. The [`Planner`](crate::Planner) runs it after every other pass.
#[derive(Clone, Copy, Debug, Default)]
pub struct Diagnose;

impl PlannerPass for Diagnose {
    fn name(&self) -> &'static str {
        "diagnose"
    }

    fn run(&self, plan: &mut ExecutionPlan) -> Result<(), PlanError> {
        let is_pure = |i: usize| {
            let s = &plan.stages[i];
            s.purity == Purity::Pure && !matches!(s.kind, StageKind::Source | StageKind::Sink)
        };
        let mut fused_runs = Vec::new();
        let mut fusion_count = 0;
        let mut run_start: Option<usize> = None;
        for i in 0..plan.stages.len() {
            let joins_next =
                i + 1 < plan.stages.len() && is_pure(i) && is_pure(i + 1) && plan.junctions[i] == Junction::Fused;
            if joins_next {
                fusion_count += 1;
                run_start.get_or_insert(i);
            } else if let Some(start) = run_start.take() {
                fused_runs.push((start, i));
            }
        }
        let channel_bytes: u64 = plan
            .junctions
            .iter()
            .map(|j| match j {
                Junction::Boundary(edge) => (edge.capacity * edge.batch_size) as u64 * ENVELOPE_BYTES_ESTIMATE,
                Junction::Fused => 0,
            })
            .sum();
        let d = &mut plan.diagnostics;
        d.fused_runs = fused_runs;
        d.fusion_count = fusion_count;
        d.segment_count = plan.junctions.iter().filter(|j| matches!(j, Junction::Boundary(_))).count() + 1;
        d.accumulator_indexes =
            plan.stages.iter().enumerate().filter(|(_, s)| s.kind == StageKind::Accumulate).map(|(i, _)| i).collect();
        d.estimated_memory_bytes = plan.stages.iter().map(|s| s.memory_hint_bytes).sum::<u64>() + channel_bytes;
        d.max_latency_window_ns = plan.stages.iter().map(|s| s.latency_hint_ns).sum();
        Ok(())
    }
}
