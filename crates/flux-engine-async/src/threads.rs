//! Which segments of a plan the tokio engine runs on a thread of their
//! own, rather than as a task on the runtime's workers: the rule the
//! engine follows, and the count a user sizes the runtime by.

use flux_core::{EngineHint, ExecutionPlan, StageDescriptor};

use crate::AsyncEngine;

/// Whether a segment holding `stages` runs on a thread of its own: it
/// holds a stage hinted heavy ([`EngineHint::Isolate`]) or blocking
/// ([`EngineHint::Blocking`]).
pub(crate) fn on_own_thread(stages: &[StageDescriptor]) -> bool {
    stages.iter().any(|stage| matches!(stage.engine_hint, EngineHint::Isolate | EngineHint::Blocking))
}

impl AsyncEngine {
    /// How many threads of its own a run of `plan` starts: one for each
    /// segment holding a stage hinted [`EngineHint::Isolate`] or
    /// [`EngineHint::Blocking`]. The other segments run as tasks on the
    /// runtime's workers.
    ///
    /// Those threads and the workers share the machine's cores: a runtime
    /// for a plan with heavy segments can be given that many workers fewer
    /// than the cores (at least one), so that the busy threads do not
    /// outnumber the cores, and a task a segment's thread wakes does not
    /// land on either worker in turn.
    ///
    /// # Examples
    ///
    /// ```
    /// use flux_core::{EngineHint, Pipeline, Runnable};
    /// use flux_engine_async::AsyncEngine;
    /// use flux_plan::Planner;
    /// use flux_steps::Steps;
    /// use flux_test::{IterSource, VecSink};
    ///
    /// # fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let out = VecSink::new();
    /// let pipeline = Pipeline::from_source(IterSource::new(1..=3u64)).map(|n| n * 2).sink(out.clone());
    /// let mut plan = Planner::new().plan(pipeline.describe())?;
    /// assert_eq!(AsyncEngine::own_threads(&plan), 0, "every segment is a task");
    ///
    /// // The source marked heavy: its segment gets a thread, and the
    /// // runtime one worker fewer than the cores.
    /// plan.stages[0].engine_hint = EngineHint::Isolate;
    /// assert_eq!(AsyncEngine::own_threads(&plan), 1);
    /// let cores = std::thread::available_parallelism()?.get();
    /// let workers = cores.saturating_sub(AsyncEngine::own_threads(&plan)).max(1);
    /// let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(workers).build()?;
    /// let report = runtime.block_on(AsyncEngine::new().run(&plan, pipeline))?;
    /// assert!(report.problems.is_empty(), "the ledger balances");
    /// assert_eq!(out.payloads(), [2, 4, 6]);
    /// # Ok(())
    /// # }
    /// ```
    #[must_use]
    pub fn own_threads(plan: &ExecutionPlan) -> usize {
        plan.segments().into_iter().filter(|&(first, last)| on_own_thread(&plan.stages[first..=last])).count()
    }
}

#[cfg(test)]
mod tests {
    use flux_core::{EngineHint, Junction, Pipeline, Runnable};
    use flux_plan::Planner;
    use flux_steps::Steps;
    use flux_test::{IterSource, VecSink};

    use crate::AsyncEngine;

    /// A segment counts once however many hinted stages it holds, and a
    /// cut between two hinted stages makes two threads.
    #[test]
    fn a_thread_per_segment_holding_a_heavy_or_blocking_stage() {
        let pipeline = Pipeline::from_source(IterSource::new(1..=3u64)).map(|n| n + 1).sink(VecSink::new());
        let mut plan = Planner::new().plan(pipeline.describe()).unwrap();
        plan.junctions.iter_mut().for_each(|junction| *junction = Junction::Fused);
        assert_eq!(AsyncEngine::own_threads(&plan), 0);
        plan.stages[1].engine_hint = EngineHint::Isolate;
        let last = plan.stages.len() - 1;
        plan.stages[last].engine_hint = EngineHint::Blocking;
        assert_eq!(AsyncEngine::own_threads(&plan), 1, "one segment, one thread");
        let before_sink = plan.junctions.len() - 1;
        plan.junctions[before_sink] = Junction::Boundary(flux_core::EdgeSpec::default());
        assert_eq!(AsyncEngine::own_threads(&plan), 2, "the sink cut off: a thread each");
        plan.stages[1].engine_hint = EngineHint::Any;
        assert_eq!(AsyncEngine::own_threads(&plan), 1, "only the sink's");
    }
}
