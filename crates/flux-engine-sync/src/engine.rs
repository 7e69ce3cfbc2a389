//! The run loop.

use std::sync::Arc;

use flux_core::{ChoosePolicy, Engine, ErrorEnvelope, ExecutionPlan, LeakCheck, Lifecycle, Observer, Runnable};

use crate::channel::{SharedJournal, SyncChannels};
use crate::collector::{Collector, DeadLetterSink};
use crate::report::RunErrorKind;
use crate::run::{Phase, Run};
use crate::{DownstreamFirst, RunError, RunReport, ScheduleHook, VirtualClock};

/// Dead letters (and side outputs) a report keeps whole by default.
pub const DEFAULT_KEPT: usize = 10_000;

/// Runs a planned pipeline on the calling thread, deterministically.
///
/// No threads, no tasks, no wall clock: segments are stepped one at a time
/// in an order the [`ScheduleHook`] chooses, boundaries are in-thread
/// queues that count the backpressure a threaded engine would have felt,
/// and time is a [`VirtualClock`] that jumps to the next source item or
/// timer (or follows the source's event times:
/// [`SyncEngine::clock_follows_event_time`]). The same pipeline, plan and hook give the same output and the
/// same [`Decision`](crate::Decision) trace on every run.
///
/// At stop the engine checks the ledger (every envelope accounted for) and
/// every watched buffer pool (every buffer back); either failing fails the run.
///
/// # Bounded, whatever the schedule
///
/// A segment whose output channel is full is not stepped until the next
/// segment has taken a batch, so no schedule can grow a queue past its
/// capacity by more than one step's output. The report keeps the first
/// [`DEFAULT_KEPT`] dead letters and side outputs whole and counts the rest
/// by stage and cause ([`SyncEngine::keep_dead_letters`],
/// [`SyncEngine::on_dead_letter`]).
///
/// # When a run fails
///
/// A source error, a stage or sink that cannot go on, or a panic in user
/// code (caught at the stage that called it) stops the run:
///
/// 1. the source is not pulled again, and time stands still;
/// 2. what is already inside the pipeline drains: each segment takes what
///    is queued for it, then finishes, so accumulators apply their `AtEnd`
///    policy (without waiting for timers) and every sink is closed;
/// 3. the run returns a [`RunError`] naming the stage, carrying the report
///    as it then stood ([`RunError::report`]): ledger, dead letters,
///    channels, pools.
///
/// Nothing is left unaccounted: the report's ledger balances after a
/// failed run too, and [`RunReport::problems`] says so when it does not.
///
/// # Examples
///
/// ```
/// use flux_core::{Pipeline, Runnable};
/// use flux_steps::Steps;
/// use flux_test::{IterSource, VecSink};
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
    keep: usize,
    dead_letter_sink: Option<DeadLetterSink>,
    backpressure: Option<Box<dyn ChoosePolicy>>,
    observer: Option<Arc<dyn Observer>>,
    dead_letters: crate::report::DeadLetterLimits,
    follows_event_time: bool,
}

impl core::fmt::Debug for SyncEngine {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SyncEngine")
            .field("watched_pools", &self.pools.len())
            .field("trace", &self.trace)
            .field("keep", &self.keep)
            .field("dead_letter_sink", &self.dead_letter_sink.is_some())
            .field("backpressure", &self.backpressure.is_some())
            .field("observer", &self.observer.is_some())
            .field("follows_event_time", &self.follows_event_time)
            .finish_non_exhaustive()
    }
}

impl Default for SyncEngine {
    fn default() -> Self {
        Self::new()
    }
}

impl SyncEngine {
    /// An engine that steps downstream segments first and records its trace.
    pub fn new() -> Self {
        SyncEngine {
            hook: Box::new(DownstreamFirst),
            pools: Vec::new(),
            trace: true,
            keep: DEFAULT_KEPT,
            dead_letter_sink: None,
            backpressure: None,
            observer: None,
            dead_letters: crate::report::DeadLetterLimits::default(),
            follows_event_time: false,
        }
    }

    /// Makes the clock follow the event time of what the source reads, so
    /// that a replayed file meets its timers (TTLs, latencies, timeouts on
    /// `cx.now()`) where a live feed would have. Without it, a source that
    /// never waits leaves the clock at zero while it is read, and every
    /// timer fires only at the end.
    ///
    /// The source's envelopes go on in its order, each once the clock has
    /// reached its [`event_time`](flux_core::Meta::event_time): the first
    /// one still to come is held (with everything after it) and the
    /// source waits for it, as with [`Pull::Wait`](flux_core::Pull::Wait).
    /// So:
    ///
    /// - every timer due before an envelope's event time, or at it, fires
    ///   first, in deadline order, and what it emits goes downstream
    ///   first; then the clock moves to the event time, and every stage
    ///   the envelope reaches sees `cx.now()` equal to it. Two envelopes
    ///   of one pull (a framer's block) with a deadline between them meet
    ///   it between them;
    /// - the clock never goes back: an envelope whose event time is
    ///   earlier than the clock goes on at once, at the clock, as does one
    ///   with no event time;
    /// - the clock starts at [`Instant::ZERO`](flux_core::Instant::ZERO)
    ///   and jumps to the first event time (event times are instants since
    ///   whatever origin the source counts from; nothing waits for real);
    /// - at the end of input, timers a stage waits for run on the clock as
    ///   without the setting, and [`RunReport::end_time`] is the last event
    ///   time (or the last such timer);
    /// - a source that waits ([`Pull::Wait`](flux_core::Pull::Wait)) or is
    ///   pending still does: a live feed whose arrival times are its event
    ///   times runs the same with the setting or without it.
    ///
    /// Envelopes of one instant go through in one step; a new instant
    /// ends the step, so a replay takes a step per distinct event time,
    /// as a live run would, rather than one per 1,024 envelopes. A run
    /// that stops hands on what was held at once. The event time is what
    /// the source sets: an `event_time` stage after it comes too late.
    ///
    /// # Examples
    ///
    /// A session closes after thirty seconds without a click. Read from a
    /// file, all three clicks come at once; on event time the session
    /// closes between the second and the third, as it did live:
    ///
    /// ```
    /// use std::time::Duration;
    /// use flux_accumulate::{AccumulateExt, Policy, TimerStart, collect};
    /// use flux_core::{Envelope, Instant, Pipeline, Runnable};
    /// use flux_steps::Steps;
    /// use flux_test::{TimedSource, VecSink};
    /// use flux_engine_sync::SyncEngine;
    ///
    /// // Every click is ready at once (a file); each carries the second it happened.
    /// let click = |s: u64| (Instant::ZERO, Envelope::new(s).with_event_time(Instant::from_secs(s)));
    /// let out = VecSink::new();
    /// let pipeline = Pipeline::from_source(TimedSource::new(vec![click(0), click(10), click(100)]))
    ///     .key_by(|_| "user-1")
    ///     .accumulate(collect(), Policy::builder().ttl(Duration::from_secs(30), TimerStart::LastFragment).build()?)
    ///     .sink(out.clone());
    /// let plan = flux_plan::Planner::new().plan(pipeline.describe())?;
    /// let report = SyncEngine::new().clock_follows_event_time().run(&plan, pipeline)?;
    ///
    /// let sessions: Vec<Vec<u64>> = out.payloads().into_iter().map(|session| session.value).collect();
    /// assert_eq!(sessions, [vec![0, 10], vec![100]], "without the setting: one session of three");
    /// assert_eq!(report.end_time, Instant::from_secs(100));
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn clock_follows_event_time(mut self) -> Self {
        self.follows_event_time = true;
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
        self.dead_letters.count = Some(count);
        self
    }

    /// Fails the run, once it has ended, when its dead letters are more
    /// than `share` (0.0 to 1.0) of what its source read.
    #[must_use]
    pub fn fail_past_dead_letter_share(mut self, share: f64) -> Self {
        self.dead_letters.share = Some(share);
        self
    }

    /// Reports each run to `observer` as it goes: the plan at the start,
    /// after each step the counts of the stages that ran and the flow of
    /// their boundaries, each batch a segment takes, each move of the
    /// clock to a timer, every dead letter and side output as it is made,
    /// and at stop every figure once more (see [`Observer`]).
    #[must_use]
    pub fn with_observer(mut self, observer: Arc<dyn Observer>) -> Self {
        self.observer = Some(observer);
        self
    }

    /// Consults the policies `choose` picks at the plan's boundaries
    /// before every batch crosses one (`flux-backpressure`'s
    /// `EdgePolicies`). Time a policy holds a batch for is virtual: a
    /// rate-shaped run takes no real time, and its instants are exact.
    #[must_use]
    pub fn with_backpressure(mut self, choose: impl ChoosePolicy + 'static) -> Self {
        self.backpressure = Some(Box::new(choose));
        self
    }

    /// Keeps the first `count` dead letters and side outputs whole in the
    /// report (default [`DEFAULT_KEPT`]); the rest are counted by stage
    /// and cause in [`RunReport::not_kept`], so memory stays bounded however
    /// many inputs fail.
    #[must_use]
    pub fn keep_dead_letters(mut self, count: usize) -> Self {
        self.keep = count;
        self
    }

    /// Hands every dead letter to `sink` as it happens, instead of keeping
    /// any in the report (the ledger still counts each one). For a run that
    /// writes its dead letters somewhere of its own.
    ///
    /// ```
    /// use std::sync::{Arc, Mutex};
    /// use flux_steps::Steps;
    /// use flux_core::{Pipeline, Runnable};
    /// use flux_test::{IterSource, VecSink};
    /// use flux_engine_sync::SyncEngine;
    ///
    /// let failed = Arc::new(Mutex::new(Vec::new()));
    /// let seen = failed.clone();
    /// let pipeline = Pipeline::from_source(IterSource::new(["1", "x", "3", "y"]))
    ///     .try_map(|s: &str| s.parse::<u32>())
    ///     .sink(VecSink::new());
    /// let plan = flux_plan::Planner::new().plan(pipeline.describe()).unwrap();
    /// let report = SyncEngine::new()
    ///     .on_dead_letter(move |letter| seen.lock().unwrap().push(letter.meta.sequence))
    ///     .run(&plan, pipeline)
    ///     .unwrap();
    /// assert_eq!(*failed.lock().unwrap(), [1, 3]);
    /// assert!(report.dead_letters.is_empty());
    /// assert_eq!(report.row("try_map-1").unwrap().dead_letters, 2);
    /// ```
    #[must_use]
    pub fn on_dead_letter(mut self, sink: impl FnMut(ErrorEnvelope) + Send + 'static) -> Self {
        self.dead_letter_sink = Some(Box::new(sink));
        self
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
        let policies = match self.backpressure.as_deref().map(|choose| choose.choose_all(plan)).transpose() {
            Ok(policies) => policies.unwrap_or_default(),
            Err(error) => return Err(RunError::new(RunErrorKind::PlanMismatch(error), None)),
        };
        let stages = plan.stages.iter().map(|stage| stage.id.clone()).collect();
        let mut channels = SyncChannels::new(journal.clone(), policies, stages);
        let segments = match pipeline.assemble(plan, &mut channels) {
            Ok(segments) => segments,
            Err(error) => return Err(RunError::new(RunErrorKind::PlanMismatch(error), None)),
        };
        let spans = plan.segments();
        let outputs = (0..segments.len()).map(|i| (i + 1 < spans.len()).then(|| spans[i].1)).collect();
        let names = segments.iter().map(|s| plan.stages[s.first_stage()].id.clone()).collect();
        let (wake, waker) = crate::wake::ThreadWake::with_waker();
        let mut collector = Collector::new(self.keep, self.dead_letter_sink.take());
        collector.observer = self.observer.clone();
        if let Some(observer) = &self.observer {
            observer.on_start(plan);
        }
        let mut run = Run {
            phases: vec![Phase::Live; segments.len()],
            poisoned: vec![false; segments.len()],
            busy: vec![false; segments.len()],
            segments,
            outputs,
            names,
            waiting_until: None,
            source_pending: false,
            wake,
            waker,
            stalled_waits: 0,
            clock: VirtualClock::new(),
            collector,
            observer: self.observer.clone(),
            received: Default::default(),
            dead_letter_limit: self.dead_letters.count,
            channels,
            journal,
            journal_scratch: Vec::new(),
            turned_away: Vec::new(),
            hook: &mut *self.hook,
            trace: Vec::new(),
            keep_trace: self.trace,
            stopping: false,
            error: None,
            follows_event_time: self.follows_event_time,
        };
        run.lifecycle(Lifecycle::Open);
        run.drive();
        run.lifecycle(Lifecycle::Close);
        run.observe_stop();
        // Every dead letter has been made: the sink goes back for the next run.
        self.dead_letter_sink = run.collector.sink.take();
        run.finish(plan, &self.pools, self.dead_letters.share)
    }
}

impl Engine for SyncEngine {
    type Report = RunReport;
    type Error = RunError;

    fn run<P: Runnable>(&mut self, plan: &ExecutionPlan, pipeline: P) -> Result<RunReport, RunError> {
        SyncEngine::run(self, plan, pipeline)
    }
}
