//! `Metrics`: an observer that keeps every figure a run reports, live.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Mutex, PoisonError};

use flux_core::{
    EdgeFlow, ErrorEnvelope, ExecutionPlan, Instant, Junction, Observer, SideEnvelope, SideReason, StageId,
    StageLedger, TurnedAway,
};

use crate::snapshot::{DeadLetterCause, EdgeFigures, SegmentFigures, Snapshot, StageFigures};

/// Distinct dead-letter causes kept per stage; the rest are counted
/// together, so a cause that names each record (an offset, a value) cannot
/// grow the summary without bound.
const CAUSES_PER_STAGE: usize = 16;
/// Characters of a cause kept: its first line, up to this.
const CAUSE_TEXT: usize = 120;
/// What a stage sent aside, as the engine reported it.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Diverted {
    pub(crate) dead_letters: u64,
    pub(crate) side_outputs: u64,
    /// Of the side outputs, those for being late.
    pub(crate) late: u64,
}

/// What the causes past [`CAUSES_PER_STAGE`] are counted under.
pub(crate) const OTHER_CAUSES: &str = "(other causes)";

/// An [`Observer`] that keeps the figures of a run as the engine reports
/// them, for [`Metrics::snapshot`] to read at any time: each stage's
/// ledger (received, sent, dead letters, and what it counted itself), each
/// boundary's flow and what it holds now, and the dead letters by stage
/// and cause.
///
/// Engines report after each step, never per envelope, so a run observed
/// costs a few calls per batch. Share it between the engine and whoever
/// reads it (`Arc`); a new run starts it afresh.
///
/// # Examples
///
/// ```
/// use std::sync::Arc;
///
/// use flux_core::{Pipeline, Runnable};
/// use flux_engine_sync::SyncEngine;
/// use flux_observe::Metrics;
/// use flux_plan::Planner;
/// use flux_steps::Steps;
/// use flux_test::{IterSource, VecSink};
///
/// let metrics = Arc::new(Metrics::new());
/// let pipeline = Pipeline::from_source(IterSource::new(["1", "x", "3"]))
///     .try_map(|s: &str| s.parse::<u32>())
///     .sink(VecSink::new());
/// let plan = Planner::new().plan(pipeline.describe())?;
/// let _report = SyncEngine::new().with_observer(metrics.clone()).run(&plan, pipeline)?;
///
/// let snapshot = metrics.snapshot();
/// let parse = snapshot.stage("try_map-1").unwrap();
/// assert_eq!((parse.received, parse.sent, parse.dead_letters), (3, 2, 1));
/// assert_eq!(snapshot.dead_letters[0].cause, "invalid digit found in string");
/// assert!(snapshot.finished);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Default)]
pub struct Metrics {
    state: Mutex<State>,
}

/// Everything kept, under one lock: engines report from a step's end, a
/// few calls at a time, so the lock is short and rarely contended.
#[derive(Debug, Default)]
struct State {
    stages: Vec<StageId>,
    /// Where each stage is in `stages`.
    index: HashMap<StageId, usize>,
    /// The plan's boundaries: junction, and envelopes it can hold.
    boundaries: Vec<(usize, u64)>,
    counted: Vec<StageLedger>,
    /// What each stage sent aside.
    diverted: Vec<Diverted>,
    edges: BTreeMap<usize, EdgeFlow>,
    batches: BTreeMap<usize, u64>,
    causes: BTreeMap<(usize, String), u64>,
    /// Dead letters turned away by a boundary's policy, by junction: the
    /// ledger counts them under the boundary, not the stage.
    turned_away: BTreeMap<usize, u64>,
    timers: u64,
    now: Instant,
    finished: bool,
    /// Each segment's step times, by its first stage.
    steps: BTreeMap<usize, Steps>,
    /// Real time when the run started, and when it ended.
    started: Option<std::time::Instant>,
    ended: Option<std::time::Instant>,
}

/// One segment's step times.
#[derive(Debug)]
struct Steps {
    /// Nanoseconds a step took, to 3 significant figures.
    histogram: hdrhistogram::Histogram<u64>,
    busy_nanos: u64,
}

impl Steps {
    fn new() -> Self {
        let histogram = hdrhistogram::Histogram::new(3).expect("3 significant figures is in range");
        Steps { histogram, busy_nanos: 0 }
    }
}

impl Metrics {
    /// Metrics with nothing observed yet.
    pub fn new() -> Self {
        Self::default()
    }

    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        // A panicking reader leaves figures that are still figures.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The figures as they stand: exact once the run ended
    /// ([`Snapshot::finished`]); during a run, as of each segment's last
    /// step (segments on other threads may be a step apart).
    pub fn snapshot(&self) -> Snapshot {
        self.state().snapshot()
    }
}

impl State {
    fn snapshot(&self) -> Snapshot {
        let mut stages = Vec::with_capacity(self.stages.len());
        let mut flow = 0u64;
        for (i, id) in self.stages.iter().enumerate() {
            let counted = self.counted[i];
            let diverted = self.diverted[i];
            let received = flow;
            let accounted =
                counted.dropped + counted.merged + counted.consumed + diverted.dead_letters + diverted.side_outputs;
            let sent = (received + counted.created).saturating_sub(accounted);
            // Past a boundary, the next stage has received what the
            // boundary delivered; the rest waits in it or was dropped.
            flow = self.edges.get(&i).map_or(sent, |edge| edge.received);
            stages.push(StageFigures::new(id.as_str(), received, sent, diverted, &counted));
        }
        let edges = self
            .boundaries
            .iter()
            .map(|&(junction, holds)| {
                let flow = self.edges.get(&junction).copied().unwrap_or(EdgeFlow { junction, ..EdgeFlow::default() });
                EdgeFigures {
                    junction,
                    after: self.stages[junction].as_str().to_owned(),
                    sent: flow.sent,
                    received: flow.received,
                    dropped_by_policy: flow.dropped,
                    queued: flow.sent.saturating_sub(flow.received + flow.dropped),
                    holds,
                    batches: self.batches.get(&junction).copied().unwrap_or(0),
                    turned_away: self.turned_away.get(&junction).copied().unwrap_or(0),
                }
            })
            .collect();
        let dead_letters = self
            .causes
            .iter()
            .map(|((stage, cause), count)| DeadLetterCause {
                stage: self.stages[*stage].as_str().to_owned(),
                cause: cause.clone(),
                count: *count,
            })
            .collect();
        let wall = self.started.map(|started| self.ended.unwrap_or_else(wall_clock).duration_since(started));
        let wall_nanos = wall.map_or(0, |wall| u64::try_from(wall.as_nanos()).unwrap_or(u64::MAX));
        let segments = self
            .steps
            .iter()
            .map(|(&first, steps)| {
                let at = |q| steps.histogram.value_at_quantile(q);
                SegmentFigures {
                    first_stage: self.stages.get(first).map_or_else(String::new, |id| id.as_str().to_owned()),
                    steps: steps.histogram.len(),
                    busy_nanos: steps.busy_nanos,
                    wall_nanos,
                    step_p50_nanos: at(0.5),
                    step_p90_nanos: at(0.9),
                    step_p99_nanos: at(0.99),
                    step_p999_nanos: at(0.999),
                    step_max_nanos: steps.histogram.max(),
                }
            })
            .collect();
        Snapshot {
            at_nanos: self.now.as_nanos(),
            finished: self.finished,
            timers: self.timers,
            stages,
            edges,
            dead_letters,
            segments,
            wall_nanos,
        }
    }

    fn tick(&mut self, now: Instant) {
        self.now = self.now.max(now);
    }

    fn count_cause(&mut self, stage: usize, letter: &ErrorEnvelope) {
        let text = letter.error.cause().to_string();
        let mut cause: String = text.lines().next().unwrap_or_default().chars().take(CAUSE_TEXT).collect();
        let known = self.causes.range((stage, String::new())..).take_while(|((s, _), _)| *s == stage).count();
        if !self.causes.contains_key(&(stage, cause.clone())) && known >= CAUSES_PER_STAGE {
            cause = OTHER_CAUSES.to_owned();
        }
        *self.causes.entry((stage, cause)).or_default() += 1;
    }
}

impl Observer for Metrics {
    /// Starts afresh, laid out as `plan` is.
    fn on_start(&self, plan: &ExecutionPlan) {
        let stages: Vec<StageId> = plan.stages.iter().map(|stage| stage.id.clone()).collect();
        let boundaries = plan
            .junctions
            .iter()
            .enumerate()
            .filter_map(|(junction, kind)| match kind {
                Junction::Boundary(edge) => Some((junction, (edge.capacity * edge.batch_size) as u64)),
                Junction::Fused => None,
            })
            .collect();
        let mut state = self.state();
        *state = State {
            index: stages.iter().enumerate().map(|(i, id)| (id.clone(), i)).collect(),
            counted: vec![StageLedger::default(); stages.len()],
            diverted: vec![Diverted::default(); stages.len()],
            stages,
            boundaries,
            started: Some(wall_clock()),
            ..State::default()
        };
    }

    fn on_step(&self, first_stage: usize, took: core::time::Duration) {
        let nanos = u64::try_from(took.as_nanos()).unwrap_or(u64::MAX);
        let mut state = self.state();
        let steps = state.steps.entry(first_stage).or_insert_with(Steps::new);
        // `record` grows the auto-resizing histogram to fit; only a value
        // it cannot grow to (past `u64::MAX / 2`) is clamped.
        if steps.histogram.record(nanos).is_err() {
            steps.histogram.saturating_record(nanos);
        }
        steps.busy_nanos = steps.busy_nanos.saturating_add(nanos);
    }

    fn on_counts(&self, stage: &StageId, counted: &StageLedger, now: Instant) {
        let mut state = self.state();
        state.tick(now);
        if let Some(&i) = state.index.get(stage) {
            state.counted[i] = *counted;
        }
    }

    fn on_edge(&self, flow: &EdgeFlow, now: Instant) {
        let mut state = self.state();
        state.tick(now);
        state.edges.insert(flow.junction, *flow);
    }

    fn on_batch(&self, junction: usize, _envelopes: usize, now: Instant) {
        let mut state = self.state();
        state.tick(now);
        *state.batches.entry(junction).or_default() += 1;
    }

    fn on_timer(&self, now: Instant) {
        let mut state = self.state();
        state.tick(now);
        state.timers += 1;
    }

    fn on_dead_letter(&self, letter: &ErrorEnvelope) {
        let mut state = self.state();
        let Some(&stage) = state.index.get(letter.error.stage()) else { return };
        match letter.error.cause().downcast_ref::<TurnedAway>() {
            Some(turned) => *state.turned_away.entry(turned.junction).or_default() += 1,
            None => state.diverted[stage].dead_letters += 1,
        }
        state.count_cause(stage, letter);
    }

    fn on_side_output(&self, side: &SideEnvelope) {
        let mut state = self.state();
        if let Some(&stage) = state.index.get(&side.stage) {
            let diverted = &mut state.diverted[stage];
            diverted.side_outputs += 1;
            diverted.late += u64::from(side.reason == SideReason::Late);
        }
    }

    fn on_stop(&self, now: Instant) {
        let mut state = self.state();
        state.tick(now);
        state.finished = true;
        state.ended = Some(wall_clock());
    }
}

/// Real time, for how busy each segment was: never a stage's time.
#[allow(clippy::disallowed_methods, reason = "an observer's real time, not a stage's")]
fn wall_clock() -> std::time::Instant {
    std::time::Instant::now()
}
