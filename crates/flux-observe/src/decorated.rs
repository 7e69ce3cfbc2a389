//! `Decorated`: the observers a `StageDecorator` attaches to stages,
//! called for what concerns their stage.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use flux_core::{
    EdgeFlow, ErrorEnvelope, ExecutionPlan, Instant, Observer, SideEnvelope, StageDecorator, StageId, StageLedger,
};

/// An [`Observer`] that asks a [`StageDecorator`] at the start of a run
/// which stages to watch and with what, then hands each of those observers
/// what concerns its stage: the stage's counts, the dead letters and side
/// outputs that name it, the batches and flow of the boundary after it
/// and the step times of the segment it starts, besides every run-wide
/// call (start, timers, stop). Give it to an engine with `with_observer`.
///
/// # Examples
///
/// ```
/// use std::sync::atomic::{AtomicU64, Ordering};
/// use std::sync::Arc;
///
/// use flux_core::{ErrorEnvelope, ExecutionPlan, Observer, Pipeline, Runnable, StageDecorator};
/// use flux_engine_sync::SyncEngine;
/// use flux_observe::Decorated;
/// use flux_plan::Planner;
/// use flux_steps::Steps;
/// use flux_test::{IterSource, VecSink};
///
/// /// Counts the dead letters of the one stage it watches.
/// struct Count(Arc<AtomicU64>);
/// impl Observer for Count {
///     fn on_dead_letter(&self, _: &ErrorEnvelope) {
///         self.0.fetch_add(1, Ordering::Relaxed);
///     }
/// }
///
/// /// Watches the stages whose id starts with `parse`.
/// struct Parsers(Arc<AtomicU64>);
/// impl StageDecorator for Parsers {
///     fn decorate(&self, plan: &ExecutionPlan, stage: usize) -> Option<Box<dyn Observer>> {
///         plan.stages[stage].id.as_str().starts_with("parse").then(|| Box::new(Count(self.0.clone())) as _)
///     }
/// }
///
/// let failed = Arc::new(AtomicU64::new(0));
/// let pipeline = Pipeline::from_source(IterSource::new(["1", "x", "y"]))
///     .try_map(|s: &str| s.parse::<u32>())
///     .named("parse")
///     .sink(VecSink::new());
/// let plan = Planner::new().plan(pipeline.describe())?;
/// let observer = Arc::new(Decorated::new(Parsers(failed.clone())));
/// let _report = SyncEngine::new().with_observer(observer).run(&plan, pipeline)?;
/// assert_eq!(failed.load(Ordering::Relaxed), 2);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct Decorated<D> {
    decorator: D,
    /// Set at the start of the run: each watched stage's observer.
    watched: OnceLock<Watched>,
}

/// The observers of a run, by stage.
#[derive(Default)]
struct Watched {
    by_id: HashMap<StageId, Arc<dyn Observer>>,
    by_index: HashMap<usize, Arc<dyn Observer>>,
}

impl<D> core::fmt::Debug for Decorated<D> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let watched = self.watched.get().map_or(0, |w| w.by_index.len());
        f.debug_struct("Decorated").field("watched_stages", &watched).finish_non_exhaustive()
    }
}

impl<D: StageDecorator> Decorated<D> {
    /// Watches the stages `decorator` picks, with the observers it makes.
    /// One run: the decorator is asked at that run's start.
    pub fn new(decorator: D) -> Self {
        Decorated { decorator, watched: OnceLock::new() }
    }

    fn each(&self, mut f: impl FnMut(&dyn Observer)) {
        if let Some(watched) = self.watched.get() {
            watched.by_index.values().for_each(|observer| f(&**observer));
        }
    }

    fn stage(&self, id: &StageId) -> Option<&dyn Observer> {
        self.watched.get()?.by_id.get(id).map(|observer| &**observer)
    }

    fn index(&self, stage: usize) -> Option<&dyn Observer> {
        self.watched.get()?.by_index.get(&stage).map(|observer| &**observer)
    }
}

impl<D: StageDecorator> Observer for Decorated<D> {
    fn on_start(&self, plan: &ExecutionPlan) {
        let mut watched = Watched::default();
        for (i, stage) in plan.stages.iter().enumerate() {
            if let Some(observer) = self.decorator.decorate(plan, i) {
                let observer: Arc<dyn Observer> = Arc::from(observer);
                watched.by_id.insert(stage.id.clone(), observer.clone());
                watched.by_index.insert(i, observer);
            }
        }
        // A second run of the same value keeps the first run's observers.
        let _ = self.watched.set(watched);
        self.each(|observer| observer.on_start(plan));
    }

    fn on_counts(&self, stage: &StageId, counted: &StageLedger, now: Instant) {
        if let Some(observer) = self.stage(stage) {
            observer.on_counts(stage, counted, now);
        }
    }

    fn on_edge(&self, flow: &EdgeFlow, now: Instant) {
        if let Some(observer) = self.index(flow.junction) {
            observer.on_edge(flow, now);
        }
    }

    fn on_batch(&self, junction: usize, envelopes: usize, now: Instant) {
        if let Some(observer) = self.index(junction) {
            observer.on_batch(junction, envelopes, now);
        }
    }

    fn on_step(&self, first_stage: usize, took: core::time::Duration) {
        if let Some(observer) = self.index(first_stage) {
            observer.on_step(first_stage, took);
        }
    }

    fn on_timer(&self, now: Instant) {
        self.each(|observer| observer.on_timer(now));
    }

    fn on_dead_letter(&self, letter: &ErrorEnvelope) {
        if let Some(observer) = self.stage(letter.error.stage()) {
            observer.on_dead_letter(letter);
        }
    }

    fn on_side_output(&self, side: &SideEnvelope) {
        if let Some(observer) = self.stage(&side.stage) {
            observer.on_side_output(side);
        }
    }

    fn on_stop(&self, now: Instant) {
        self.each(|observer| observer.on_stop(now));
    }
}
