//! Stages whose work outweighs a hand-off get a segment of their own.

use flux_core::{EdgeSpec, EngineHint, ExecutionPlan, Junction, PlanError, PlannerPass};

/// Cuts a boundary on both sides of a stage hinted [`EngineHint::Isolate`]
/// or [`EngineHint::Blocking`], or whose CPU hint per item is at least
/// `min_cpu_ns`, after a source hinted so, and before a sink hinted so.
///
/// Measured on a 2-core machine (`cargo xtask bench engines`, figures in
/// `docs/BENCHMARKS.md`): two trivial maps cut into tasks of their own run
/// at 0.17 of their fused speed on the tokio engine, while two maps of about
/// 700 ns of work per item each run 1.85 times as fast cut as fused. The
/// default threshold of 500 ns sits where a boundary starts to pay.
#[derive(Clone, Copy, Debug)]
pub struct IsolateHeavy {
    /// CPU per item, in nanoseconds, from which a stage is isolated.
    pub min_cpu_ns: u32,
}

impl Default for IsolateHeavy {
    fn default() -> Self {
        IsolateHeavy { min_cpu_ns: 500 }
    }
}

impl PlannerPass for IsolateHeavy {
    fn name(&self) -> &'static str {
        "isolate-heavy"
    }

    fn run(&self, plan: &mut ExecutionPlan) -> Result<(), PlanError> {
        let last = plan.stages.len().saturating_sub(1);
        for i in 1..last {
            let stage = &plan.stages[i];
            let heavy = matches!(stage.engine_hint, EngineHint::Isolate | EngineHint::Blocking)
                || (stage.cpu_hint_ns > 0 && stage.cpu_hint_ns >= self.min_cpu_ns);
            if heavy {
                plan.junctions[i - 1] = Junction::Boundary(EdgeSpec::default());
                plan.junctions[i] = Junction::Boundary(EdgeSpec::default());
            }
        }
        // A source with heavy work of its own (decompressing) reads in a
        // segment of its own: the stages after it run beside it.
        let source_heavy = last > 0 && matches!(plan.stages[0].engine_hint, EngineHint::Isolate | EngineHint::Blocking);
        if source_heavy {
            plan.junctions[0] = Junction::Boundary(EdgeSpec::default());
        }
        // A sink that blocks its thread (a bounded hand-off to async code)
        // gets a segment of its own too: the stages before it keep going.
        let sink_blocks =
            last > 0 && matches!(plan.stages[last].engine_hint, EngineHint::Isolate | EngineHint::Blocking);
        if sink_blocks {
            plan.junctions[last - 1] = Junction::Boundary(EdgeSpec::default());
        }
        Ok(())
    }
}
