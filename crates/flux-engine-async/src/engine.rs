//! The engine: assembles a pipeline against its plan, runs each segment
//! as a task, and checks the ledger at stop.

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use flux_core::{ChoosePolicy, Clock, ExecutionPlan, LeakCheck, Observer, Runnable, StageId, StageLedger};
use tokio::sync::{oneshot, watch};

use crate::blocking_run::OwnRuntime;
use crate::channel::FlumeChannels;
use crate::clock::RunClock;
use crate::collect::Collected;
use crate::stop::raise;
use crate::task::{Ended, Task};
use crate::{RunError, RunErrorKind, RunReport, Stop, StopHandle};

/// Dead letters and side outputs kept whole in a report, by default.
pub const DEFAULT_KEPT: usize = 10_000;

/// The production engine: the plan's segments run as tokio tasks, joined
/// by bounded flume channels of batches.
///
/// It runs the same pipeline value as the sync engine (`flux-engine-sync`)
/// against the same plan, and checks the same ledger law at stop. What
/// differs is time and order: its clock is tokio's (real time, or tokio's
/// paused time in tests), and segments run at once, so the order in which
/// different segments' dead letters arrive is not fixed.
///
/// # Examples
///
/// ```
/// use flux_core::Runnable;
/// use flux_engine_async::AsyncEngine;
/// use flux_plan::Planner;
/// use flux_steps::Steps;
/// use flux_test::{IterSource, VecSink};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let out = VecSink::new();
/// let pipeline = flux_core::Pipeline::from_source(IterSource::new(1..=4u32))
///     .map(|n| n * 10)
///     .sink(out.clone());
/// let plan = Planner::new().plan(pipeline.describe())?;
/// let report = AsyncEngine::new().run(&plan, pipeline).await?;
/// assert_eq!(out.payloads(), [10, 20, 30, 40]);
/// assert_eq!(report.row("sink").unwrap().counts.consumed, 4);
/// # Ok(())
/// # }
/// ```
pub struct AsyncEngine {
    keep: usize,
    pools: Vec<Arc<dyn LeakCheck>>,
    stop: Option<StopHandle>,
    backpressure: Option<Box<dyn ChoosePolicy>>,
    observer: Option<Arc<dyn Observer>>,
    dead_letter_count: Option<u64>,
    dead_letter_share: Option<f64>,
    /// What blocking runs ([`Engine::run`](flux_core::Engine::run)) go on.
    pub(crate) runtime: Option<OwnRuntime>,
}

impl std::fmt::Debug for AsyncEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AsyncEngine")
            .field("keep", &self.keep)
            .field("pools", &self.pools.len())
            .field("stop", &self.stop)
            .field("backpressure", &self.backpressure.is_some())
            .field("observer", &self.observer.is_some())
            .field("runtime", &self.runtime)
            .finish()
    }
}

impl Default for AsyncEngine {
    fn default() -> Self {
        AsyncEngine {
            keep: DEFAULT_KEPT,
            pools: Vec::new(),
            stop: None,
            backpressure: None,
            observer: None,
            dead_letter_count: None,
            dead_letter_share: None,
            runtime: None,
        }
    }
}

impl AsyncEngine {
    /// An engine with the defaults: the first [`DEFAULT_KEPT`] dead letters
    /// and side outputs kept whole.
    pub fn new() -> Self {
        Self::default()
    }

    /// Keeps the first `count` dead letters (and side outputs) whole in the
    /// report; the ledger counts the rest.
    #[must_use]
    pub fn keep_dead_letters(mut self, count: usize) -> Self {
        self.keep = count;
        self
    }

    /// Checks `pool` for leaks at stop, and reports its figures.
    #[must_use]
    pub fn watch_pool(mut self, pool: Arc<dyn LeakCheck>) -> Self {
        self.pools.push(pool);
        self
    }

    /// Consults the policies `choose` picks at the plan's boundaries
    /// before every batch crosses one (`flux-backpressure`'s
    /// `EdgePolicies`): a batch a policy holds waits in its boundary, and
    /// the segment before it is suspended meanwhile.
    #[must_use]
    pub fn with_backpressure(mut self, choose: impl ChoosePolicy + 'static) -> Self {
        self.backpressure = Some(Box::new(choose));
        self
    }

    /// Fails the run once it has made more than `count` dead letters
    /// (0: the first one fails it), seen at the end of the step that
    /// passed it (a step reads at most 1,024 envelopes, or takes one
    /// batch): the source stops and what is inside
    /// the pipeline drains, as on any failure, and the run ends with
    /// [`RunErrorKind::TooManyDeadLetters`]. Without it, a run with
    /// dead letters ends `Ok`, and its report holds them.
    #[must_use]
    pub fn fail_past_dead_letters(mut self, count: u64) -> Self {
        self.dead_letter_count = Some(count);
        self
    }

    /// Fails the run, once it has ended, when its dead letters are more
    /// than `share` (0.0 to 1.0) of what its source read.
    #[must_use]
    pub fn fail_past_dead_letter_share(mut self, share: f64) -> Self {
        self.dead_letter_share = Some(share);
        self
    }

    /// Reports each run to `observer` as it goes: the plan at the start,
    /// after each step the counts of the stages that ran and the flow of
    /// their boundaries, every dead letter and side output as it is made,
    /// and at stop every figure once more (see [`Observer`]).
    #[must_use]
    pub fn with_observer(mut self, observer: Arc<dyn Observer>) -> Self {
        self.observer = Some(observer);
        self
    }

    /// Lets `handle` stop the runs of this engine from outside: on a
    /// signal the source is not pulled again and the pipeline drains, as
    /// [`Stop`] says. A run stopped so ends with `Ok`.
    #[must_use]
    pub fn stop_with(mut self, handle: StopHandle) -> Self {
        self.stop = Some(handle);
        self
    }

    /// Runs `pipeline` as `plan` says, on the tokio runtime this is called
    /// from, and reports where every envelope went.
    ///
    /// # Errors
    ///
    /// The plan does not fit the pipeline, a stage stopped the run, the
    /// ledger does not balance, or a watched pool leaked. Every error but
    /// the first carries the report as it stood at stop.
    ///
    /// # Panics
    ///
    /// When called outside a tokio runtime.
    pub async fn run<P: Runnable>(&self, plan: &ExecutionPlan, pipeline: P) -> Result<RunReport, RunError> {
        let mismatch = |error| RunError::new(RunErrorKind::PlanMismatch(error), None);
        let policies =
            self.backpressure.as_deref().map(|choose| choose.choose_all(plan)).transpose().map_err(mismatch)?;
        let stages = plan.stages.iter().map(|stage| stage.id.clone()).collect();
        let clock = RunClock::start();
        let mut channels = FlumeChannels::new(clock, policies.unwrap_or_default(), stages);
        let segments = pipeline.assemble(plan, &mut channels).map_err(mismatch)?;
        // Starting from what the handle asked so far: a stop asked before
        // the run is in force before the source is first pulled.
        let (stop, _) = watch::channel(self.stop.as_ref().map_or(Stop::Running, StopHandle::requested));
        // A run has its own signal (a failure in it must not stop other
        // runs of the handle); the handle's is forwarded into it.
        let forward = self.stop.as_ref().map(|handle| {
            let (mut requested, run) = (handle.subscribe(), stop.clone());
            tokio::spawn(async move {
                loop {
                    raise(&run, *requested.borrow_and_update());
                    if requested.changed().await.is_err() {
                        return;
                    }
                }
            })
        });
        let order = Arc::new(AtomicU64::new(0));
        let made = Arc::new(AtomicU64::new(0));
        if let Some(observer) = &self.observer {
            observer.on_start(plan);
        }
        let ranges = plan.segments();
        let mut cancel = CancelOnDrop { stop: stop.clone(), aborts: Vec::new(), armed: true };
        let mut tasks = Vec::with_capacity(segments.len());
        for segment in segments {
            let first = segment.first_stage();
            let last = ranges.iter().find(|(start, _)| *start == first).map_or(first, |(_, end)| *end);
            let name = plan.stages[first].id.clone();
            let task = Task {
                name: name.clone(),
                is_source: first == 0,
                inlet: first.checked_sub(1).and_then(|junction| channels.inlets.get(&junction).cloned()),
                outlet: channels.outlets.get(&last).cloned(),
                clock,
                stop: stop.clone(),
                collected: Collected::new(self.keep, order.clone(), self.observer.clone()).counting(made.clone()),
                stopped_for: None,
                timers_stuck: false,
                stopped_early: false,
                wake: Arc::default(),
                busy: false,
                work_poisoned: false,
                observer: self.observer.clone(),
                received: 0,
                dead_letter_limit: self.dead_letter_count,
                own_thread: crate::threads::on_own_thread(&plan.stages[first..=last]),
            };
            // A segment holding a stage hinted heavy or blocking runs on a
            // thread of its own, where it can take its time without holding
            // a runtime worker; its waits still go through the runtime
            // (`block_on` of the same task). Not tokio's blocking pool: a
            // task there holds back paused time for as long as it runs.
            let joining = if task.own_thread {
                let (done, joined) = oneshot::channel();
                let runtime = tokio::runtime::Handle::current();
                let thread = std::thread::Builder::new().name(format!("flux-{name}"));
                // A thread that cannot start drops its task: the run stops
                // with the segment lost.
                let _ = thread.spawn(move || {
                    let ended = runtime.block_on(task.run(segment));
                    // The thread stays to close the segment too (its sink's
                    // commit blocks as its writes did), when the engine says
                    // it is its turn; a run that does not close it (poisoned,
                    // or dropped) drops the sender, and the thread ends.
                    let (close, turn) = oneshot::channel();
                    if done.send((ended, CloseOnThread(close))).is_ok()
                        && let Ok((mut end, back)) = turn.blocking_recv()
                    {
                        runtime.block_on(end.close());
                        let _ = back.send(end);
                    }
                });
                Joining::Thread(joined)
            } else {
                let handle = tokio::spawn(task.run(segment));
                cancel.aborts.push(handle.abort_handle());
                Joining::Task(handle)
            };
            tasks.push((name, joining));
        }
        let mut finished = Vec::with_capacity(tasks.len());
        let mut lost = Vec::new();
        let lose = |lost: &mut Vec<_>, stage| {
            raise(&stop, Stop::Now);
            lost.push((order.fetch_add(1, std::sync::atomic::Ordering::Relaxed), RunErrorKind::Lost { stage }));
        };
        for (name, joining) in tasks {
            let joined = match joining {
                Joining::Task(handle) => handle.await.ok().map(|end| (end, None)),
                Joining::Thread(joined) => joined.await.ok().map(|(end, thread)| (end, Some(thread))),
            };
            match joined {
                Some(done) => finished.push(done),
                None => lose(&mut lost, name),
            }
        }
        // Every segment has finished: each closes, the sink's first and the
        // source's last, so a source acknowledges what it read only once
        // what it fed has been written. A segment that ran on a thread of
        // its own closes there, not on a runtime worker: its close may
        // block (a commit) as its writes did.
        finished.sort_by_key(|(end, _)| std::cmp::Reverse(end.segment.first_stage()));
        let mut ended = Vec::with_capacity(finished.len());
        for (mut end, thread) in finished {
            match thread {
                _ if end.poisoned => {}
                None => end.close().await,
                Some(thread) => match thread.close(end).await {
                    Ok(closed) => end = closed,
                    Err(stage) => {
                        lose(&mut lost, stage);
                        continue;
                    }
                },
            }
            ended.push(end);
        }
        cancel.armed = false;
        if let Some(forward) = forward {
            forward.abort();
        }
        if let Some(observer) = &self.observer {
            for end in &ended {
                end.task.observe(&*end.segment, clock.now());
            }
            observer.on_stop(clock.now());
        }
        let elapsed = std::time::Duration::from_nanos(clock.now().as_nanos());
        let stopped_early = ended.iter().any(|end| end.task.stopped_early);
        let requested =
            self.stop.as_ref().map(StopHandle::requested).filter(|how| stopped_early && *how != Stop::Running);
        let made = made.load(std::sync::atomic::Ordering::Relaxed);
        self.report(plan, &channels, ended, lost, Ending { elapsed, stopped: requested, made })
    }

    /// The run's report, and its outcome: the first failure, an imbalance,
    /// or a leak, in that order; the report either way.
    fn report(
        &self,
        plan: &ExecutionPlan,
        channels: &FlumeChannels,
        ended: Vec<Ended>,
        lost: Vec<(u64, RunErrorKind)>,
        ending: Ending,
    ) -> Result<RunReport, RunError> {
        let Ending { elapsed, stopped, made } = ending;
        let mut counted: HashMap<StageId, StageLedger> = HashMap::new();
        let mut collected = Collected::new(self.keep, Arc::default(), None);
        let mut reasons = lost;
        for Ended { segment, task, .. } in ended {
            segment
                .visit(&mut |id: &StageId, ledger: &StageLedger| counted.entry(id.clone()).or_default().absorb(ledger));
            collected.absorb(task.collected);
            reasons.extend(task.stopped_for);
        }
        let mut edges: Vec<_> = channels.outlets.values().map(|outlet| outlet.stats()).collect();
        edges.sort_by_key(|edge| edge.junction);
        let flows: Vec<_> = edges.iter().map(|edge| edge.flow()).collect();
        let (ledger, problems) = flux_core::balance(plan, &counted, &collected.per_stage, &flows);
        let pools = self.pools.iter().filter_map(|pool| pool.figures().map(|(name, stats)| (name.to_owned(), stats)));
        let pools = pools.collect();
        let leak = self.pools.iter().find_map(|pool| pool.check().err());
        collected.failures.sort_by_key(|(order, _)| *order);
        reasons.sort_by_key(|(order, _)| *order);
        let mut failures = collected.failures.into_iter().peekable();
        // The run's cause is its first reason to stop, a stage's failure or
        // the engine's own (a stuck timer, a lost task), by stamp.
        let first_failure = failures.peek().map(|(order, _)| *order);
        let first_reason = reasons.first().map(|(order, _)| *order);
        let engine_first = first_reason.is_some_and(|reason| first_failure.is_none_or(|failure| reason < failure));
        let cause = match engine_first {
            true => reasons.into_iter().next().map(|(_, kind)| kind),
            false => failures.next().map(|(_, error)| RunErrorKind::Stage(error)),
        };
        let failures = failures.map(|(_, error)| error);
        let report = RunReport {
            ledger,
            dead_letters: collected.dead_letters,
            side_outputs: collected.side_outputs,
            not_kept: collected.not_kept,
            edges,
            pools,
            elapsed,
            stopped,
            later_failures: failures.take(16).collect(),
            problems,
        };
        let inputs = report.ledger.first().map_or(0, |row| row.counts.created);
        let past_share = self.dead_letter_share.is_some_and(|share| made as f64 > share * inputs as f64);
        let kind = match (cause, leak) {
            (Some(kind), _) => kind,
            (None, _) if !report.problems.is_empty() => RunErrorKind::Unbalanced(report.problems.clone()),
            (None, Some(leak)) => RunErrorKind::Leak(leak),
            (None, None) if past_share => RunErrorKind::TooManyDeadLetters { made, inputs: Some(inputs) },
            (None, None) => return Ok(report),
        };
        Err(RunError::new(kind, Some(report)))
    }
}

/// How a run ended, as its report says: how long it took, the stop that
/// cut it short, and the dead letters it made.
struct Ending {
    elapsed: std::time::Duration,
    stopped: Option<Stop>,
    made: u64,
}

/// How the engine waits for one segment: a tokio task, or a thread of its
/// own (which then waits to close it).
enum Joining {
    Task(tokio::task::JoinHandle<Ended>),
    Thread(oneshot::Receiver<(Ended, CloseOnThread)>),
}

/// The thread a finished segment ran on, waiting for its turn to close it:
/// it is handed the segment, and hands it back closed.
struct CloseOnThread(oneshot::Sender<(Ended, oneshot::Sender<Ended>)>);

impl CloseOnThread {
    /// Closes `end` on its thread, and waits for it there without holding
    /// the runtime worker. `Err` names the segment when the thread went
    /// away without handing it back (it cannot, but for a panic outside
    /// every catch): the segment is lost.
    async fn close(self, end: Ended) -> Result<Ended, StageId> {
        let name = end.task.name.clone();
        let (back, closed) = oneshot::channel();
        self.0.send((end, back)).map_err(|_| name.clone())?;
        closed.await.map_err(|_| name)
    }
}

/// Stops the run if its future is dropped before the tasks are joined (a
/// `select!` or a timeout around `run`): the run's signal is raised to
/// `Stop::Now` and the tasks are aborted (a segment on a thread of its own
/// sees the stop, or its input closing, and ends).
struct CancelOnDrop {
    stop: watch::Sender<Stop>,
    aborts: Vec<tokio::task::AbortHandle>,
    armed: bool,
}

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        if self.armed {
            raise(&self.stop, Stop::Now);
            self.aborts.iter().for_each(tokio::task::AbortHandle::abort);
        }
    }
}
