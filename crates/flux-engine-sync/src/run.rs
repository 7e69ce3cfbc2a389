//! One run: the loop that steps segments, moves time, and stops cleanly.

use std::collections::HashMap;
use std::task::Poll;

use flux_core::{
    Clock, Context, ExecutionPlan, Instant, LeakCheck, Lifecycle, Position, Segment, StageError, StageId, StageLedger,
    Step, catch_panic, catch_step, earliest,
};

use crate::EdgeStats;
use crate::channel::{SharedJournal, SyncChannels, lock};
use crate::collector::Collector;
use crate::report::{DeadLetterLimits, PoolFigures, RunErrorKind};
use crate::{Decision, RunError, RunReport, ScheduleHook, VirtualClock};

/// Where a segment is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Phase {
    /// Its input is open: it can be stepped.
    Live,
    /// Its input ended; it is waiting for the deadlines its stages asked to
    /// wait for at the end (`next_deadline(true)`), then it finishes.
    Draining,
    /// It finished and closed its output (or panicked, and is left alone).
    Done,
}

/// The state of one run.
pub(crate) struct Run<'h> {
    pub(crate) segments: Vec<Box<dyn Segment>>,
    pub(crate) phases: Vec<Phase>,
    /// Segments that panicked where no node settles it: not called again.
    pub(crate) poisoned: Vec<bool>,
    /// The junction each segment sends into; `None` for the last.
    pub(crate) outputs: Vec<Option<usize>>,
    /// The id of each segment's first stage, to name a segment that panics.
    pub(crate) names: Vec<StageId>,
    /// The source asked to be pulled again no earlier than this.
    pub(crate) waiting_until: Option<Instant>,
    /// The source returned `Pull::Pending`: it is not pulled again until
    /// its waker is woken.
    pub(crate) source_pending: bool,
    /// Segments whose nodes hold work in flight (their last
    /// `Lifecycle::Settle` was pending): polled again when the waker is
    /// woken, stepped only once they accept input, finished only once
    /// settled.
    pub(crate) busy: Vec<bool>,
    /// The waker every step's context carries, and its flag.
    pub(crate) wake: std::sync::Arc<crate::wake::ThreadWake>,
    pub(crate) waker: std::task::Waker,
    /// Source steps in a row that asked to wait until an instant already come.
    pub(crate) stalled_waits: u32,
    pub(crate) clock: VirtualClock,
    pub(crate) collector: Collector,
    pub(crate) channels: SyncChannels,
    pub(crate) journal: SharedJournal,
    /// The journal's other buffer (see `flush_journal`).
    pub(crate) journal_scratch: Vec<Decision>,
    /// Rejected envelopes on their way from a channel to the collector.
    pub(crate) turned_away: Vec<flux_core::ErrorEnvelope>,
    pub(crate) hook: &'h mut dyn ScheduleHook,
    pub(crate) trace: Vec<Decision>,
    pub(crate) keep_trace: bool,
    /// Set once the run must stop: the source is not pulled again, and
    /// what is inside the pipeline drains to the sinks.
    pub(crate) stopping: bool,
    /// Why the run stops: the first failure.
    pub(crate) error: Option<RunErrorKind>,
    /// Told of counts and boundaries after each step.
    pub(crate) observer: Option<std::sync::Arc<dyn flux_core::Observer>>,
    /// Envelopes each boundary had delivered when last observed.
    pub(crate) received: HashMap<usize, u64>,
    /// The run stops once it has made more dead letters than this.
    pub(crate) dead_letter_limit: Option<u64>,
    /// The source's steps hold each envelope until the clock reaches its
    /// event time (`SyncEngine::clock_follows_event_time`).
    pub(crate) follows_event_time: bool,
}

impl Run<'_> {
    /// Steps segments until every one is done. Time moves only when nothing
    /// can run, and only to the next event (a timer, an end-of-input
    /// deadline, the source's next item); after each move the loop goes
    /// back to stepping, so what a timer emits reaches the next segment at
    /// the instant it was emitted.
    ///
    /// A failure does not end the loop: it stops the run, and the loop goes
    /// on until what is inside the pipeline has drained and every segment
    /// has finished (closing the sinks), with time standing still.
    pub(crate) fn drive(&mut self) {
        let mut runnable = Vec::with_capacity(self.segments.len());
        let mut flushed_since_step = false;
        let mut fired_since_step: Option<Instant> = None;
        loop {
            if let Some(error) = self.collector.failure.take() {
                self.stop(RunErrorKind::Stage(error));
            }
            if self.dead_letter_limit.is_some_and(|limit| self.collector.made > limit) && !self.stopping {
                self.stop(RunErrorKind::TooManyDeadLetters { made: self.collector.made, inputs: None });
            }
            self.runnable(&mut runnable);
            if !runnable.is_empty() {
                flushed_since_step = false;
                fired_since_step = None;
                // A stopping run drains downstream first, asking no hook.
                let chosen = match self.stopping {
                    true => runnable[runnable.len() - 1],
                    false => self.hook.choose(&runnable, self.clock.now()),
                };
                if runnable.contains(&chosen) {
                    self.step(chosen);
                } else {
                    self.stop(RunErrorKind::InvalidChoice { chosen, runnable: runnable.clone() });
                }
                continue;
            }
            // Before time moves, half-full batches go downstream: what a
            // segment produced at this instant must arrive at this instant.
            if !flushed_since_step {
                flushed_since_step = true;
                self.flush_idle();
                continue;
            }
            if self.finish_drained() || (self.stopping && self.finish_stranded()) {
                flushed_since_step = false;
                continue;
            }
            if self.stopping {
                return;
            }
            // Nothing can run but a source or a stage's work in flight
            // waiting on the outside world: block until it is woken, with
            // time standing still; then what the wake let through is sent on.
            // Work in flight with a timer of its own (a flow's backoff)
            // waits on the engine's clock instead: time moves to it.
            if (self.source_pending && self.phases[0] == Phase::Live) || self.busy_without_timer() {
                self.wake.park_until_woken();
                flushed_since_step = false;
                continue;
            }
            let Some((next, timer)) = self.next_event() else {
                return;
            };
            // Firing twice at one instant with nothing run in between means
            // a stage reports a deadline its `on_time` does not clear.
            if fired_since_step == Some(next) {
                self.stop(RunErrorKind::StuckTimer { at: next });
                continue;
            }
            fired_since_step = Some(next);
            self.clock.advance_to(next);
            if self.waiting_until.is_some_and(|until| until <= next) {
                self.waiting_until = None;
            }
            self.decide(if timer { Decision::Timer { at: next } } else { Decision::Wake { at: next } });
            if let (true, Some(observer)) = (timer, &self.observer) {
                observer.on_timer(next);
            }
            self.call_on_time(next);
            flushed_since_step = false;
        }
    }

    /// Stops the run for `why`, unless it is already stopping (then a
    /// stage's failure is kept as a later one): the source is not pulled
    /// again.
    fn stop(&mut self, why: RunErrorKind) {
        if self.error.is_some() {
            if let RunErrorKind::Stage(error) = why {
                self.collector.later(error);
            }
            return;
        }
        self.error = Some(why);
        self.stopping = true;
        self.waiting_until = None;
        if self.phases[0] == Phase::Live {
            self.phases[0] = Phase::Draining;
        }
        self.decide(Decision::Stop { at: self.clock.now() });
    }

    /// Polls every segment through `phase`, the sink's first and the
    /// source's last (a sink connects before anything is read; a source
    /// acknowledges what it read once what it fed is written). A segment
    /// that is pending blocks the thread until its waker is woken, with
    /// time standing still, as a pending source does. A failure stops the
    /// run; no segment opens after one failed to.
    pub(crate) fn lifecycle(&mut self, phase: Lifecycle) {
        let mut order: Vec<usize> = (0..self.segments.len()).collect();
        order.sort_by_key(|&i| std::cmp::Reverse(self.segments[i].first_stage()));
        for i in order {
            if self.poisoned[i] || (phase == Lifecycle::Open && self.stopping) {
                continue;
            }
            loop {
                self.wake.take();
                let polled = {
                    let mut cx = Context::with_waker(self.clock.now(), &mut self.collector, &self.waker);
                    let segment = &mut self.segments[i];
                    catch_panic(|| segment.poll_lifecycle(phase, &mut cx))
                };
                match polled {
                    Ok(Poll::Ready(Ok(()))) => break,
                    Ok(Poll::Pending) => self.wake.park_until_woken(),
                    Ok(Poll::Ready(Err(error))) => {
                        self.stop(RunErrorKind::Stage(error));
                        break;
                    }
                    Err(panic) => {
                        self.poison(i, panic);
                        break;
                    }
                }
            }
        }
        self.flush_journal();
    }

    /// A segment panicked outside the nodes that catch their own panics (a
    /// `Push` node of a user's that does not): it is left alone from now
    /// on, and the run stops naming its first stage.
    fn poison(&mut self, segment: usize, panic: flux_core::Panicked) {
        self.phases[segment] = Phase::Done;
        self.poisoned[segment] = true;
        let error = StageError::new(self.names[segment].clone(), Position::None, panic);
        self.stop(RunErrorKind::Stage(error));
    }

    fn step(&mut self, chosen: usize) {
        let now = self.clock.now();
        self.decide(match self.segments[chosen].first_stage() {
            0 => Decision::Pull { at: now },
            first => Decision::Receive { junction: first - 1, at: now },
        });
        // A source reads no more than its output boundary has room for.
        let budget =
            self.outputs[chosen].map_or(flux_core::STEP_BUDGET, |junction| self.channels.probes[&junction].room());
        // Real time, for the observer only: it never steers the run.
        let started = self.observer.is_some().then(wall_clock);
        let step = {
            let mut cx = Context::with_waker(now, &mut self.collector, &self.waker).with_budget(budget);
            if self.follows_event_time {
                cx = cx.following_event_time();
            }
            catch_step(&mut *self.segments[chosen], &mut cx)
        };
        if let (Some(started), Some(observer)) = (started, &self.observer) {
            observer.on_step(self.segments[chosen].first_stage(), started.elapsed());
        }
        match step {
            Ok(Step::Progress) => self.stalled_waits = 0,
            Ok(Step::Pending) => {
                self.stalled_waits = 0;
                self.source_pending = true;
            }
            Ok(Step::Starved) => {}
            Ok(Step::Wait(until)) if until <= now => {
                // A source that asks to wait until now, twice running,
                // would be pulled again and again at this instant.
                self.stalled_waits += 1;
                self.waiting_until = Some(until);
                if self.stalled_waits >= 2 {
                    self.stop(RunErrorKind::StuckSource { stage: self.names[chosen].clone(), at: now });
                }
            }
            Ok(Step::Wait(until)) => {
                self.stalled_waits = 0;
                self.waiting_until = Some(until);
            }
            Ok(Step::Exhausted) => {
                if chosen == 0 {
                    self.waiting_until = None;
                }
                self.phases[chosen] = Phase::Draining;
            }
            Ok(Step::Failed(error)) => {
                self.stop(RunErrorKind::Stage(error));
                self.phases[chosen] = Phase::Draining;
            }
            // The source's own panic: its segment is whole, and drains.
            Err(payload) if chosen == 0 => {
                let panic = flux_core::Panicked::from_payload(&*payload);
                self.stop(RunErrorKind::Stage(StageError::new(self.names[0].clone(), Position::None, panic)));
            }
            Err(payload) => self.poison(chosen, flux_core::Panicked::from_payload(&*payload)),
        }
        self.poll_work(chosen, Lifecycle::Settle);
        self.flush_journal();
        if self.observer.is_some() {
            self.observe(chosen);
        }
    }

    /// Tells the observer what segment `i`'s stages counted and where the
    /// boundaries on either side of it stand; a batch it took since the
    /// last look is reported as one.
    fn observe(&mut self, i: usize) {
        let Some(observer) = &self.observer else { return };
        let now = self.clock.now();
        self.segments[i].visit(&mut |stage: &StageId, counted: &StageLedger| observer.on_counts(stage, counted, now));
        let input = self.segments[i].first_stage().checked_sub(1);
        for junction in input.into_iter().chain(self.outputs[i]) {
            let flow = self.channels.probes[&junction].stats().flow();
            let seen = self.received.entry(junction).or_default();
            if Some(junction) == input && flow.received > *seen {
                observer.on_batch(junction, usize::try_from(flow.received - *seen).unwrap_or(usize::MAX), now);
                *seen = flow.received;
            }
            observer.on_edge(&flow, now);
        }
    }

    /// Tells the observer every figure once more, then that the run ended.
    pub(crate) fn observe_stop(&mut self) {
        if self.observer.is_none() {
            return;
        }
        for i in 0..self.segments.len() {
            self.observe(i);
        }
        if let Some(observer) = &self.observer {
            observer.on_stop(self.clock.now());
        }
    }

    /// A segment holds work in flight and no timer: what it waits for is
    /// outside the engine.
    fn busy_without_timer(&self) -> bool {
        (0..self.segments.len())
            .any(|i| self.busy[i] && self.phases[i] != Phase::Done && self.segments[i].next_deadline(false).is_none())
    }

    fn any_busy(&self) -> bool {
        self.busy.iter().zip(&self.phases).any(|(busy, phase)| *busy && *phase != Phase::Done)
    }

    /// Polls segment `i`'s work in flight through `phase` (`Accept` or
    /// `Settle`), which moves it on; true when ready. A settle records
    /// whether work is left; a failure stops the run, a panic poisons the
    /// segment.
    fn poll_work(&mut self, i: usize, phase: Lifecycle) -> bool {
        if self.phases[i] == Phase::Done {
            return true;
        }
        let polled = {
            let mut cx = Context::with_waker(self.clock.now(), &mut self.collector, &self.waker);
            let segment = &mut self.segments[i];
            catch_panic(|| segment.poll_lifecycle(phase, &mut cx))
        };
        let ready = match polled {
            Ok(Poll::Ready(Ok(()))) => true,
            Ok(Poll::Pending) => false,
            Ok(Poll::Ready(Err(error))) => {
                self.stop(RunErrorKind::Stage(error));
                true
            }
            Err(panic) => {
                self.poison(i, panic);
                true
            }
        };
        if phase == Lifecycle::Settle {
            self.busy[i] = !ready;
        }
        ready
    }

    /// Live segments that can make progress now, in pipeline order: input
    /// ready, and room in the channel they send into.
    fn runnable(&mut self, out: &mut Vec<usize>) {
        out.clear();
        if (self.source_pending || self.any_busy()) && self.wake.take() {
            self.source_pending = false;
            // Whatever woke, the work in flight it may be is moved on.
            for i in 0..self.segments.len() {
                if self.busy[i] {
                    self.poll_work(i, Lifecycle::Settle);
                }
            }
            self.flush_journal();
        }
        for i in 0..self.segments.len() {
            if self.phases[i] != Phase::Live {
                continue;
            }
            let now = self.clock.now();
            let ready = match self.segments[i].first_stage() {
                0 => !self.source_pending && self.waiting_until.is_none_or(|until| until <= now),
                first => self.channels.probes[&(first - 1)].ready(now),
            };
            let held_back = self.outputs[i].is_some_and(|junction| self.channels.probes[&junction].hold_back(now));
            // A segment with work in flight takes input only once it has room.
            if ready && !held_back && (!self.busy[i] || self.poll_work(i, Lifecycle::Accept)) {
                out.push(i);
            }
        }
    }

    /// Finishes every draining segment with no end-of-input deadline left
    /// (or every one, when the run is stopping), which closes its channel
    /// and lets the next segment drain. True when one finished.
    fn finish_drained(&mut self) -> bool {
        let mut finished = false;
        for i in 0..self.segments.len() {
            let due = self.stopping || (!self.busy[i] && self.segments[i].next_deadline(true).is_none());
            if self.phases[i] == Phase::Draining && due {
                self.finish_segment(i);
                finished = true;
            }
        }
        self.flush_journal();
        finished
    }

    /// A stopping run where nothing can run and nothing drains: the first
    /// unfinished segment waits for an input that will never close (the
    /// segment before it panicked). It is finished as it stands. True when
    /// one was.
    fn finish_stranded(&mut self) -> bool {
        let Some(i) = self.phases.iter().position(|phase| *phase != Phase::Done) else {
            return false;
        };
        self.finish_segment(i);
        self.flush_journal();
        true
    }

    fn finish_segment(&mut self, i: usize) {
        self.phases[i] = Phase::Done;
        let mut cx = Context::with_waker(self.clock.now(), &mut self.collector, &self.waker);
        let segment = &mut self.segments[i];
        if let Err(panic) = catch_panic(|| segment.finish(&mut cx)) {
            self.poison(i, panic);
        }
    }

    /// The next instant anything happens: a live segment's timer, a
    /// draining segment's end-of-input deadline, the source's next item, or
    /// a batch a policy held falling due; and whether a timer is due then.
    fn next_event(&self) -> Option<(Instant, bool)> {
        let deadlines = self.segments.iter().zip(&self.phases).filter_map(|(segment, phase)| match phase {
            Phase::Live => segment.next_deadline(false),
            Phase::Draining => earliest(segment.next_deadline(false), segment.next_deadline(true)),
            Phase::Done => None,
        });
        let timer = deadlines.min();
        let now = self.clock.now();
        let held = self.channels.probes.values().filter_map(|probe| probe.next_due(now)).min();
        let next = earliest(earliest(timer, self.waiting_until), held)?;
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
        for i in 0..self.segments.len() {
            if self.phases[i] == Phase::Done {
                continue;
            }
            let mut cx = Context::with_waker(now, &mut self.collector, &self.waker);
            let segment = &mut self.segments[i];
            if let Err(panic) = catch_panic(|| segment.on_time(&mut cx)) {
                self.poison(i, panic);
            }
            // What a timer emitted may have started work in flight.
            self.poll_work(i, Lifecycle::Settle);
        }
        self.flush_journal();
    }

    fn decide(&mut self, decision: Decision) {
        self.hook.observe(&decision);
        if self.keep_trace {
            self.trace.push(decision);
        }
    }

    /// Hands the sends recorded inside channels to the hook and the trace,
    /// and the envelopes their policies rejected to the dead-letter output.
    fn flush_journal(&mut self) {
        // Only channels journal sends or turn envelopes away: a run with
        // none (one fused segment) skips the lock after every step.
        if self.channels.probes.is_empty() {
            return;
        }
        for probe in self.channels.probes.values() {
            probe.take_turned_away(&mut self.turned_away);
        }
        for letter in self.turned_away.drain(..) {
            self.collector.turned_away(letter);
        }
        // Swapped with a kept buffer, not taken: taking left the journal a
        // new `Vec` to grow on the next send, an allocation per step.
        let mut sends = std::mem::take(&mut self.journal_scratch);
        core::mem::swap(&mut sends, &mut lock(&self.journal).decisions);
        for decision in sends.drain(..) {
            self.decide(decision);
        }
        self.journal_scratch = sends;
    }

    /// The run's report, and its outcome: the first failure, an imbalance,
    /// or a leak, in that order; the report either way.
    pub(crate) fn finish(
        mut self,
        plan: &ExecutionPlan,
        pools: &[std::sync::Arc<dyn LeakCheck>],
        dead_letter_share: Option<f64>,
    ) -> Result<RunReport, RunError> {
        if let Some(error) = self.collector.failure.take() {
            self.stop(RunErrorKind::Stage(error));
        }
        let mut counted: HashMap<StageId, StageLedger> = HashMap::new();
        for segment in &self.segments {
            segment.visit(&mut |id: &StageId, ledger: &StageLedger| {
                counted.entry(id.clone()).or_default().absorb(ledger);
            });
        }
        let edges: Vec<_> = self.channels.probes.values().map(|p| p.stats()).collect();
        let flows: Vec<_> = edges.iter().map(EdgeStats::flow).collect();
        let (ledger, problems) = flux_core::balance(plan, &counted, &self.collector.per_stage, &flows);
        let figures = pools
            .iter()
            .filter_map(|pool| pool.figures().map(|(name, stats)| PoolFigures { name: name.to_owned(), stats }))
            .collect();
        let leak = pools.iter().find_map(|pool| pool.check().err());
        let collector = &mut self.collector;
        let report = RunReport {
            ledger,
            dead_letters: std::mem::take(&mut collector.dead_letters),
            side_outputs: std::mem::take(&mut collector.side_outputs),
            not_kept: std::mem::take(&mut collector.not_kept),
            edges,
            pools: figures,
            trace: std::mem::take(&mut self.trace),
            end_time: self.clock.now(),
            later_failures: std::mem::take(&mut collector.later_failures),
            problems,
        };
        let (made, inputs) = (self.collector.made, report.ledger.first().map_or(0, |row| row.counts.created));
        let kind = match (self.error, leak) {
            (Some(kind), _) => kind,
            (None, _) if !report.problems.is_empty() => RunErrorKind::Unbalanced(report.problems.clone()),
            (None, Some(leak)) => RunErrorKind::Leak(leak),
            (None, None) if DeadLetterLimits::past_share(dead_letter_share, made, inputs) => {
                RunErrorKind::TooManyDeadLetters { made, inputs: Some(inputs) }
            }
            (None, None) => return Ok(report),
        };
        Err(RunError::new(kind, Some(report)))
    }
}

/// Real time, to tell an observer how long a step took; the run itself
/// reads only its virtual clock.
#[allow(clippy::disallowed_methods, reason = "the observer's step time, not a stage's time")]
fn wall_clock() -> std::time::Instant {
    std::time::Instant::now()
}
