//! The run loop.

use std::collections::HashMap;
use std::sync::Arc;

use flux_core::{
    Clock, Context, Engine, ExecutionPlan, Instant, LeakCheck, Runnable, Segment, StageId, StageLedger, Step, earliest,
};

use crate::channel::{SharedJournal, SyncChannels, lock};
use crate::collector::Collector;
use crate::ledger::balance;
use crate::{Decision, DownstreamFirst, RunError, RunReport, ScheduleHook, VirtualClock};

/// Runs a planned pipeline on the calling thread, deterministically.
///
/// No threads, no tasks, no wall clock: segments are stepped one at a time
/// in an order the [`ScheduleHook`] chooses, boundaries are in-thread
/// queues that count the backpressure a threaded engine would have felt,
/// and time is a [`VirtualClock`] that jumps to the next source item or
/// timer. The same pipeline, plan and hook give the same output and the
/// same [`Decision`] trace on every run.
///
/// At stop the engine checks the ledger (every envelope accounted for) and
/// every watched buffer pool (every buffer back); either failing fails the run.
///
/// # Examples
///
/// ```
/// use flux_core::{IterSource, Pipeline, Runnable, VecSink};
/// use flux_engine_sync::SyncEngine;
/// use flux_plan::Planner;
///
/// let out = VecSink::new();
/// let pipeline = Pipeline::from_source(IterSource::new(["4", "x", "6"]))
///     .try_map(|s: &str| s.parse::<u32>())
///     .named("parse")
///     .map(|n| n * 10)
///     .sink(out.clone());
///
/// let plan = Planner::new().plan(pipeline.describe()).unwrap();
/// let report = SyncEngine::new().run(&plan, pipeline).unwrap();
///
/// assert_eq!(out.payloads(), vec![40, 60]);
/// assert_eq!(report.dead_letters.len(), 1);
/// assert_eq!(report.row("parse").unwrap().dead_letters, 1);
/// ```
pub struct SyncEngine {
    hook: Box<dyn ScheduleHook>,
    pools: Vec<Arc<dyn LeakCheck>>,
    trace: bool,
}

impl Default for SyncEngine {
    fn default() -> Self {
        Self::new()
    }
}

impl SyncEngine {
    /// An engine that steps downstream segments first and records its trace.
    pub fn new() -> Self {
        SyncEngine { hook: Box::new(DownstreamFirst), pools: Vec::new(), trace: true }
    }

    /// Uses `hook` to choose between runnable segments.
    #[must_use]
    pub fn with_hook(mut self, hook: impl ScheduleHook + 'static) -> Self {
        self.hook = Box::new(hook);
        self
    }

    /// Checks `pool` for leaks when each run stops.
    #[must_use]
    pub fn watch_pool(mut self, pool: Arc<dyn LeakCheck>) -> Self {
        self.pools.push(pool);
        self
    }

    /// Whether to keep the decision trace in the report (the hook sees
    /// every decision either way).
    #[must_use]
    pub fn with_trace(mut self, on: bool) -> Self {
        self.trace = on;
        self
    }

    /// Runs `pipeline` as `plan` says.
    ///
    /// # Errors
    ///
    /// See [`RunError`].
    pub fn run<P: Runnable>(&mut self, plan: &ExecutionPlan, pipeline: P) -> Result<RunReport, RunError> {
        let journal: SharedJournal = Arc::default();
        let mut channels = SyncChannels::new(journal.clone());
        let segments = pipeline.assemble(plan, &mut channels).map_err(RunError::Assembly)?;
        let phases = vec![Phase::Live; segments.len()];
        let mut run = Run {
            segments,
            phases,
            waiting_until: None,
            clock: VirtualClock::new(),
            collector: Collector::default(),
            channels,
            journal,
            hook: &mut *self.hook,
            trace: Vec::new(),
            keep_trace: self.trace,
        };
        run.drive()?;
        let report = run.finish(plan)?;
        for pool in &self.pools {
            pool.check().map_err(RunError::Leak)?;
        }
        Ok(report)
    }
}

impl Engine for SyncEngine {
    type Report = RunReport;
    type Error = RunError;

    fn run<P: Runnable>(&mut self, plan: &ExecutionPlan, pipeline: P) -> Result<RunReport, RunError> {
        SyncEngine::run(self, plan, pipeline)
    }
}

/// Where a segment is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    /// Its input is open: it can be stepped.
    Live,
    /// Its input ended; it is waiting for the deadlines its stages asked to
    /// wait for at the end (`next_deadline(true)`), then it finishes.
    Draining,
    /// It finished and closed its output.
    Done,
}

/// The state of one run.
struct Run<'h> {
    segments: Vec<Box<dyn Segment>>,
    phases: Vec<Phase>,
    /// The source asked to be pulled again no earlier than this.
    waiting_until: Option<Instant>,
    clock: VirtualClock,
    collector: Collector,
    channels: SyncChannels,
    journal: SharedJournal,
    hook: &'h mut dyn ScheduleHook,
    trace: Vec<Decision>,
    keep_trace: bool,
}

impl Run<'_> {
    /// Steps segments until every one is done. Time moves only when nothing
    /// can run, and only to the next event (a timer, an end-of-input
    /// deadline, the source's next item); after each move the loop goes
    /// back to stepping, so what a timer emits reaches the next segment at
    /// the instant it was emitted.
    fn drive(&mut self) -> Result<(), RunError> {
        let mut runnable = Vec::with_capacity(self.segments.len());
        let mut flushed_since_step = false;
        let mut fired_since_step: Option<Instant> = None;
        loop {
            if let Some(error) = self.collector.failure.take() {
                return Err(RunError::Stage(error));
            }
            self.runnable(&mut runnable);
            if !runnable.is_empty() {
                flushed_since_step = false;
                fired_since_step = None;
                let chosen = self.hook.choose(&runnable, self.clock.now());
                if !runnable.contains(&chosen) {
                    return Err(RunError::InvalidChoice { chosen, runnable: runnable.clone() });
                }
                self.step(chosen)?;
                continue;
            }
            // Before time moves, half-full batches go downstream: what a
            // segment produced at this instant must arrive at this instant.
            if !flushed_since_step {
                flushed_since_step = true;
                self.flush_idle();
                continue;
            }
            if self.finish_drained() {
                flushed_since_step = false;
                continue;
            }
            let Some((next, timer)) = self.next_event() else {
                return Ok(());
            };
            // Firing twice at one instant with nothing run in between means
            // a stage reports a deadline its `on_time` does not clear.
            if fired_since_step == Some(next) {
                return Err(RunError::StuckTimer { at: next });
            }
            fired_since_step = Some(next);
            self.clock.advance_to(next);
            if self.waiting_until.is_some_and(|until| until <= next) {
                self.waiting_until = None;
            }
            self.decide(if timer { Decision::Timer { at: next } } else { Decision::Wake { at: next } });
            self.call_on_time(next);
            flushed_since_step = false;
        }
    }

    fn step(&mut self, chosen: usize) -> Result<(), RunError> {
        let now = self.clock.now();
        self.decide(match self.segments[chosen].first_stage() {
            0 => Decision::Pull { at: now },
            first => Decision::Receive { junction: first - 1, at: now },
        });
        let step = {
            let mut cx = Context::new(now, &mut self.collector);
            self.segments[chosen].step(&mut cx)
        };
        match step {
            Step::Progress | Step::Starved => {}
            Step::Wait(until) => self.waiting_until = Some(until),
            Step::Exhausted => {
                if chosen == 0 {
                    self.waiting_until = None;
                }
                self.phases[chosen] = Phase::Draining;
            }
            Step::Failed(error) => return Err(RunError::Stage(error)),
        }
        self.flush_journal();
        Ok(())
    }

    /// Live segments that can make progress now, in pipeline order.
    fn runnable(&self, out: &mut Vec<usize>) {
        out.clear();
        for (i, segment) in self.segments.iter().enumerate() {
            if self.phases[i] != Phase::Live {
                continue;
            }
            let ready = match segment.first_stage() {
                0 => self.waiting_until.is_none_or(|until| until <= self.clock.now()),
                first => self.channels.probes[&(first - 1)].ready(),
            };
            if ready {
                out.push(i);
            }
        }
    }

    /// Finishes every draining segment with no end-of-input deadline left,
    /// which closes its channel and lets the next segment drain. True when
    /// one finished.
    fn finish_drained(&mut self) -> bool {
        let mut finished = false;
        for i in 0..self.segments.len() {
            if self.phases[i] == Phase::Draining && self.segments[i].next_deadline(true).is_none() {
                let mut cx = Context::new(self.clock.now(), &mut self.collector);
                self.segments[i].finish(&mut cx);
                self.phases[i] = Phase::Done;
                finished = true;
            }
        }
        self.flush_journal();
        finished
    }

    /// The next instant anything happens: a live segment's timer, a
    /// draining segment's end-of-input deadline, or the source's next item;
    /// and whether a timer is due then.
    fn next_event(&self) -> Option<(Instant, bool)> {
        let deadlines = self.segments.iter().zip(&self.phases).filter_map(|(segment, phase)| match phase {
            Phase::Live => segment.next_deadline(false),
            Phase::Draining => earliest(segment.next_deadline(false), segment.next_deadline(true)),
            Phase::Done => None,
        });
        let timer = deadlines.min();
        let next = earliest(timer, self.waiting_until)?;
        Some((next, timer == Some(next)))
    }

    /// Nothing can run at this instant: let every segment fire what is due
    /// now and send its half-full batches on.
    fn flush_idle(&mut self) {
        let now = self.clock.now();
        self.decide(Decision::Idle { at: now });
        self.call_on_time(now);
    }

    fn call_on_time(&mut self, now: Instant) {
        lock(&self.journal).now = now;
        let mut cx = Context::new(now, &mut self.collector);
        for (segment, phase) in self.segments.iter_mut().zip(&self.phases) {
            if *phase != Phase::Done {
                segment.on_time(&mut cx);
            }
        }
        self.flush_journal();
    }

    fn decide(&mut self, decision: Decision) {
        self.hook.observe(&decision);
        if self.keep_trace {
            self.trace.push(decision);
        }
    }

    /// Hands the sends recorded inside channels to the hook and the trace.
    fn flush_journal(&mut self) {
        let sends = std::mem::take(&mut lock(&self.journal).decisions);
        for decision in sends {
            self.decide(decision);
        }
    }

    fn finish(mut self, plan: &ExecutionPlan) -> Result<RunReport, RunError> {
        let mut counted: HashMap<StageId, StageLedger> = HashMap::new();
        for segment in &self.segments {
            segment.visit(&mut |id: &StageId, ledger: &StageLedger| {
                counted.entry(id.clone()).or_default().absorb(ledger);
            });
        }
        let edges: Vec<_> = self.channels.probes.values().map(|p| p.stats()).collect();
        let (ledger, problems) = balance(plan, &counted, &self.collector.per_stage, &edges);
        if !problems.is_empty() {
            return Err(RunError::Unbalanced(problems));
        }
        let collector = std::mem::take(&mut self.collector);
        Ok(RunReport {
            ledger,
            dead_letters: collector.dead_letters,
            side_outputs: collector.side_outputs,
            edges,
            trace: self.trace,
            end_time: self.clock.now(),
        })
    }
}
