//! One segment as one tokio task: step it while it can go, suspend it
//! while it cannot, finish it once its input has ended.

use std::sync::Arc;

use std::task::Poll;

use flux_core::{
    Clock, Context, Instant, Lifecycle, Observer, Panicked, Position, Segment, StageError, StageId, StageLedger, Step,
    catch_panic, catch_step, earliest,
};
use tokio::sync::watch;

use crate::channel::{Blocked, Inlet, Outlet};
use crate::clock::RunClock;
use crate::collect::Collected;
use crate::stop::raise;
use crate::yielding::YieldTimer;
use crate::{RunErrorKind, Stop};

/// The waker a source's context carries: waking it lets the source's
/// task go on (a permit is kept if the task is not waiting yet, so no wake
/// is lost between the pull and the wait).
#[derive(Debug, Default)]
pub(crate) struct NotifyWake(tokio::sync::Notify);

impl std::task::Wake for NotifyWake {
    fn wake(self: Arc<Self>) {
        self.0.notify_one();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.0.notify_one();
    }
}

/// What a task needs besides its segment.
pub(crate) struct Task {
    /// The segment's first stage, to name the segment.
    pub(crate) name: StageId,
    /// Whether the segment starts at the source.
    pub(crate) is_source: bool,
    pub(crate) inlet: Option<Arc<dyn Inlet>>,
    pub(crate) outlet: Option<Arc<dyn Outlet>>,
    pub(crate) clock: RunClock,
    /// Raised once the run must stop: the source is not pulled again, and
    /// what is inside the pipeline drains to the sinks (waiting for end
    /// timers under `Drain`, not under `Now`).
    pub(crate) stop: watch::Sender<Stop>,
    pub(crate) collected: Collected,
    /// Why this task stopped the run, when it did for a reason of its own
    /// (stage failures are in `collected`), stamped from the run's one
    /// counter as failures are, so the run's first reason is its cause.
    pub(crate) stopped_for: Option<(u64, RunErrorKind)>,
    /// A timer of the segment would not clear: it is not fired again.
    pub(crate) timers_stuck: bool,
    /// The source stopped pulling before its input ended.
    pub(crate) stopped_early: bool,
    /// What the waker every step's context carries wakes: a pending
    /// source, or a stage's work in flight.
    pub(crate) wake: Arc<NotifyWake>,
    /// The segment's nodes hold work in flight (its last
    /// `Lifecycle::Settle` was pending): it is polled again whenever the
    /// waker is woken, also while the task waits for input or for room.
    pub(crate) busy: bool,
    /// Polling the work panicked where no node settles it (in a wait, where
    /// the step loop cannot be told at once): the segment is not stepped
    /// again.
    pub(crate) work_poisoned: bool,
    /// Told of the segment's counts and boundaries after each step.
    pub(crate) observer: Option<Arc<dyn Observer>>,
    /// Envelopes taken off the input boundary when last observed.
    pub(crate) received: u64,
    /// The run stops once it has made more dead letters than this.
    pub(crate) dead_letter_limit: Option<u64>,
    /// The segment runs on a thread of its own (see `threads.rs`): it may
    /// spin a while for room before it parks, holding no runtime worker.
    pub(crate) own_thread: bool,
}

/// Ends a task's part in the run when the task ends, however it ends: its
/// output channel closes, and its input is abandoned (what the segment
/// before it sends from then on is dropped, and the ledger reports it), so
/// no other task waits for it for ever. If the task did not get to finish
/// (a panic outside the nodes that settle their own, or the run dropped),
/// the run stops at once too.
struct Hangup {
    inlet: Option<Arc<dyn Inlet>>,
    outlet: Option<Arc<dyn Outlet>>,
    stop: watch::Sender<Stop>,
    finished: bool,
}

impl Drop for Hangup {
    fn drop(&mut self) {
        if let Some(outlet) = &self.outlet {
            outlet.close();
        }
        if let Some(inlet) = &self.inlet {
            inlet.abandon();
        }
        if !self.finished {
            raise(&self.stop, Stop::Now);
        }
    }
}

/// A segment panicked outside the nodes that settle their own panics: it
/// is not called again.
#[derive(Debug)]
struct Poisoned;

/// How opening a segment ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Opened {
    Ready,
    /// It failed, or the run stopped while it waited: it is not stepped.
    Failed,
    /// It panicked outside the nodes that settle their own panics: it is
    /// not called again.
    Panicked,
}

/// What a finished task hands back: its segment, to read the ledger from
/// and close, and what it collected.
pub(crate) struct Ended {
    pub(crate) segment: Box<dyn Segment>,
    pub(crate) task: Task,
    /// The segment panicked where no node settles it: it is not closed.
    pub(crate) poisoned: bool,
}

impl Ended {
    /// Polls the segment's `Close` until it is ready (what its sink's close
    /// started, a flush or a commit), waiting for its waker; a failure or a
    /// panic is the task's failure, naming the segment.
    pub(crate) async fn close(&mut self) {
        let (clock, name) = (self.task.clock, self.task.name.clone());
        let (segment, collected) = (&mut self.segment, &mut self.task.collected);
        let failed = std::future::poll_fn(|task_cx| {
            let mut cx = Context::with_waker(clock.now(), collected, task_cx.waker());
            match catch_panic(|| segment.poll_lifecycle(Lifecycle::Close, &mut cx)) {
                Ok(polled) => polled.map(Result::err),
                Err(panic) => Poll::Ready(Some(StageError::new(name.clone(), Position::None, panic))),
            }
        })
        .await;
        if let Some(error) = failed {
            flux_core::Diversions::fail(&mut self.task.collected, error);
        }
    }
}

impl Task {
    /// Runs the segment to its end. A failure does not end the task: it
    /// stops the run, and the task goes on draining until its input has
    /// closed, then finishes (accumulators flush, sinks close), as on the
    /// sync engine.
    pub(crate) async fn run(mut self, mut segment: Box<dyn Segment>) -> Ended {
        let mut hangup =
            Hangup { inlet: self.inlet.clone(), outlet: self.outlet.clone(), stop: self.stop.clone(), finished: false };
        // A segment that did not open is not stepped: it finishes at once
        // (its sink is closed, as in any stopped run).
        let opened = self.open(&mut *segment).await;
        let mut poisoned = opened == Opened::Panicked;
        if opened == Opened::Ready {
            poisoned = self.step_until_exhausted(&mut *segment).await;
            if !poisoned {
                poisoned = self.drain_timers(&mut *segment).await;
            }
        }
        // A poisoned segment is not whole: it is not called again. What
        // still comes for it is dropped (its input is abandoned below), so
        // the segment before it can finish; the ledger reports the loss.
        if !poisoned {
            let now = self.clock.now();
            let mut cx = Context::new(now, &mut self.collected);
            if let Err(panic) = catch_panic(|| segment.finish(&mut cx)) {
                self.fail(StageError::new(self.name.clone(), Position::None, panic));
            }
        }
        self.raise_failures();
        self.flush(None).await;
        // Closes the output; whatever still comes (for a poisoned segment,
        // or one whose timers stuck) is dropped, not waited on.
        hangup.finished = true;
        drop(hangup);
        Ended { segment, task: self, poisoned }
    }

    /// Polls the segment's `Open` until it is ready, waiting for its waker
    /// (a connection on its way) or a stop meanwhile.
    async fn open(&mut self, segment: &mut dyn Segment) -> Opened {
        let mut stop = self.stop.subscribe();
        let waker = std::task::Waker::from(self.wake.clone());
        loop {
            let polled = {
                let mut cx = Context::with_waker(self.clock.now(), &mut self.collected, &waker);
                catch_panic(|| segment.poll_lifecycle(Lifecycle::Open, &mut cx))
            };
            let failed = match polled {
                Ok(Poll::Ready(Ok(()))) => return Opened::Ready,
                Ok(Poll::Pending) => {
                    tokio::select! {
                        () = self.wake.0.notified() => continue,
                        _ = stop.wait_for(|how| *how == Stop::Now) => return Opened::Failed,
                    }
                }
                Ok(Poll::Ready(Err(error))) => (error, Opened::Failed),
                Err(panic) => (StageError::new(self.name.clone(), Position::None, panic), Opened::Panicked),
            };
            self.fail(failed.0);
            self.raise_failures();
            return failed.1;
        }
    }

    /// Steps until the input is exhausted (or, for the source, until the
    /// run stops). True when the segment panicked outside a node that
    /// settles its own panics and must not be called again.
    async fn step_until_exhausted(&mut self, segment: &mut dyn Segment) -> bool {
        let mut stop = self.stop.subscribe();
        let mut yielding = YieldTimer::new(self.clock.now());
        // Whether the last step made progress: the segment is busy, and
        // may have to give its worker back before the next.
        let mut progressed = false;
        let mut stalled_waits = 0u32;
        let waker = std::task::Waker::from(self.wake.clone());
        loop {
            if self.work_poisoned {
                return true;
            }
            if self.is_source && *stop.borrow() != Stop::Running {
                self.stopped_early = true;
                return false;
            }
            let mut now = self.clock.now();
            if core::mem::take(&mut progressed) && yielding.due(now) {
                tokio::task::yield_now().await;
                now = self.clock.now();
                yielding.restart(now);
            }
            if segment.next_deadline(false).is_some_and(|due| due <= now) && self.on_time(segment, now) {
                return true;
            }
            // A source reads no more than its output boundary has room for,
            // and nothing while it is full: it waits for room first.
            let budget = match (&self.outlet, self.is_source) {
                (Some(outlet), true) => outlet.budget(),
                _ => flux_core::STEP_BUDGET,
            };
            if budget == 0 {
                let outlet = self.outlet.clone().expect("only a segment with an output has a budget");
                // On a thread of its own, with no work in flight to poll,
                // the source watches for room a few microseconds first: a
                // receiver that must wake a parked thread pays a system
                // call for each batch it takes from a full channel.
                if self.own_thread && !self.busy && outlet.room_soon(crate::channel::ROOM_SPINS) {
                    continue;
                }
                // Work in flight keeps moving while the source waits for
                // room, as it does in `flush`: a stage's futures woken
                // meanwhile are polled now, not once the consumer takes
                // something (the `buffered` trap); their timers fire at the
                // loop's top.
                let (wake, working) = (self.wake.clone(), self.busy);
                let timer = segment.next_deadline(false).filter(|_| working).map(|due| self.clock.deadline(due));
                tokio::select! {
                    () = outlet.room().notified() => {}
                    _ = stop.changed() => {}
                    () = wake.0.notified(), if working => {
                        if self.settle(segment).is_err() {
                            return true;
                        }
                    }
                    () = sleep_until_some(timer), if timer.is_some() => {}
                }
                continue;
            }
            // Work in flight with no room for more: nothing is pushed until
            // it has moved on (a hurried stop gives up on it: `finish`
            // makes what it holds dead letters).
            if self.busy {
                match self.poll_work(segment, Lifecycle::Accept) {
                    Err(Poisoned) => return true,
                    Ok(true) => {}
                    Ok(false) if *stop.borrow() == Stop::Now => {
                        self.stopped_early = self.is_source;
                        return false;
                    }
                    Ok(false) => {
                        self.flush(Some(segment)).await;
                        let wake = self.wake.clone();
                        let timer = segment.next_deadline(false).map(|due| self.clock.deadline(due));
                        tokio::select! {
                            () = wake.0.notified() => {}
                            () = sleep_until_some(timer) => {}
                            _ = stop.changed() => {}
                        }
                        continue;
                    }
                }
            }
            let started = self.observer.is_some().then(wall_clock);
            let step = {
                let mut cx = Context::with_waker(now, &mut self.collected, &waker).with_budget(budget);
                catch_step(segment, &mut cx)
            };
            if let (Some(started), Some(observer)) = (started, &self.observer) {
                observer.on_step(segment.first_stage(), started.elapsed());
            }
            self.raise_failures();
            // What the step started is polled at once, and the segment
            // learns whether it holds work in flight. At the step's own
            // instant, as on the sync engine, whose clock does not move
            // between a step and its settle: no clock read of its own
            // (about 37 ns here, a fortieth of a step of trivial stages).
            if !matches!(step, Err(_) | Ok(Step::Failed(_)))
                && self.poll_work_at(segment, Lifecycle::Settle, now).is_err()
            {
                return true;
            }
            if self.observer.is_some() && step.is_ok() {
                self.observe_step(segment, now);
            }
            if let Some(limit) = self.dead_letter_limit {
                let made = self.collected.made();
                if made > limit {
                    self.stop_for(RunErrorKind::TooManyDeadLetters { made, inputs: None });
                }
            }
            match step {
                Ok(Step::Progress) => {
                    stalled_waits = 0;
                    self.flush(Some(segment)).await;
                    progressed = true;
                }
                Ok(Step::Starved) => {
                    // Half-full batches go on before the segment waits.
                    if self.on_time(segment, now) {
                        return true;
                    }
                    self.flush(Some(segment)).await;
                    let inlet = self.inlet.clone().expect("only a segment with an input starves");
                    if !inlet.ready() {
                        let timer = segment.next_deadline(false).map(|due| self.clock.deadline(due));
                        let wake = self.wake.clone();
                        // The segment's waker also wakes it for a stage
                        // whose deadline came forward (an accumulator asked
                        // to complete its groups): the loop looks again.
                        tokio::select! {
                            () = inlet.arrived().notified() => {}
                            () = sleep_until_some(timer) => {}
                            () = wake.0.notified() => {
                                if self.busy && self.settle(segment).is_err() {
                                    return true;
                                }
                            }
                        }
                    }
                }
                Ok(Step::Wait(until)) => {
                    stalled_waits = if until <= now { stalled_waits + 1 } else { 0 };
                    if stalled_waits >= 2 {
                        self.stop_for(RunErrorKind::StuckSource { stage: self.name.clone(), at: now });
                        return false;
                    }
                    if self.on_time(segment, now) {
                        return true;
                    }
                    self.flush(Some(segment)).await;
                    let wake = earliest(Some(until), segment.next_deadline(false)).unwrap_or(until);
                    let work = self.wake.clone();
                    tokio::select! {
                        () = tokio::time::sleep_until(self.clock.deadline(wake)) => {}
                        _ = stop.changed() => {}
                        () = work.0.notified() => {
                            if self.busy && self.settle(segment).is_err() {
                                return true;
                            }
                        }
                    }
                }
                Ok(Step::Pending) => {
                    stalled_waits = 0;
                    if self.on_time(segment, now) {
                        return true;
                    }
                    self.flush(Some(segment)).await;
                    let wake = self.wake.clone();
                    let timer = segment.next_deadline(false).map(|due| self.clock.deadline(due));
                    tokio::select! {
                        () = wake.0.notified() => {
                            if self.busy && self.settle(segment).is_err() {
                                return true;
                            }
                        }
                        () = sleep_until_some(timer) => {}
                        _ = stop.changed() => {}
                    }
                    // A resource out of its cooperative budget wakes its
                    // waker at once; under `block_on` (a segment on its own
                    // thread) nothing would reset the budget but this.
                    tokio::task::coop::consume_budget().await;
                }
                Ok(Step::Exhausted) => return false,
                Ok(Step::Failed(error)) => {
                    self.fail(error);
                    self.raise_failures();
                    return false;
                }
                // The source's own panic: its segment is whole, and drains.
                Err(payload) if self.is_source => {
                    let panic = Panicked::from_payload(&*payload);
                    self.fail(StageError::new(self.name.clone(), Position::None, panic));
                    self.raise_failures();
                    return false;
                }
                Err(payload) => {
                    let panic = Panicked::from_payload(&*payload);
                    self.fail(StageError::new(self.name.clone(), Position::None, panic));
                    self.raise_failures();
                    return true;
                }
            }
        }
    }

    /// After its input ended, waits for the deadlines the segment's stages
    /// wait for at the end (`next_deadline(true)`), firing each, and for
    /// its work in flight to settle, unless the run is stopping at once.
    /// True when a timer or a stage's work panicked outside the nodes that
    /// settle their own panics.
    async fn drain_timers(&mut self, segment: &mut dyn Segment) -> bool {
        // Subscribed before the first look, so no hurried stop is missed.
        let mut stop = self.stop.subscribe();
        loop {
            if *stop.borrow_and_update() == Stop::Now || self.timers_stuck {
                return false;
            }
            if self.work_poisoned {
                return true;
            }
            if self.busy && self.settle(segment).is_err() {
                return true;
            }
            self.flush(Some(segment)).await;
            // Only a stage that asked to wait at the end, or work in
            // flight, keeps the segment open; meanwhile its other timers
            // fire as they come.
            let end = segment.next_deadline(true);
            if end.is_none() && !self.busy {
                return false;
            }
            let due = earliest(segment.next_deadline(false), end);
            let wake = self.wake.clone();
            // A stop that hurries the drain ends the wait; a graceful one
            // leaves it.
            tokio::select! {
                () = sleep_until_some(due.map(|due| self.clock.deadline(due))) => {}
                () = wake.0.notified(), if self.busy => continue,
                _ = stop.wait_for(|how| *how == Stop::Now) => return false,
            }
            let due = due.expect("the sleep ends only at a deadline");
            let fired = self.clock.now().max(due);
            if self.on_time(segment, fired) {
                return true;
            }
            if let Some(at) = segment.next_deadline(true).filter(|end| *end <= fired) {
                self.timers_stuck = true;
                self.stop_for(RunErrorKind::StuckTimer { stage: self.name.clone(), at });
            }
        }
    }

    /// Fires the segment's timers due at `now` (and sends half-full
    /// batches on). True when it panicked outside the nodes that settle
    /// their own panics: the segment is poisoned, as on the sync engine. A
    /// timer still due after firing would fire for ever: the run stops,
    /// naming the segment, and its timers are not fired again.
    fn on_time(&mut self, segment: &mut dyn Segment, now: Instant) -> bool {
        if self.timers_stuck {
            return false;
        }
        if let Some(observer) = &self.observer {
            observer.on_timer(now);
        }
        // With the segment's waker: a stage may keep it, to wake the
        // segment when its deadline comes forward.
        let waker = std::task::Waker::from(self.wake.clone());
        let mut cx = Context::with_waker(now, &mut self.collected, &waker);
        if let Err(panic) = catch_panic(|| segment.on_time(&mut cx)) {
            self.fail(StageError::new(self.name.clone(), Position::None, panic));
            self.raise_failures();
            return true;
        }
        // What a timer emitted may have started work in flight.
        if self.settle(segment).is_err() {
            return true;
        }
        if let Some(at) = segment.next_deadline(false).filter(|due| *due <= now) {
            self.timers_stuck = true;
            self.stop_for(RunErrorKind::StuckTimer { stage: self.name.clone(), at });
        }
        false
    }

    /// Sends what waits downstream, suspending the segment until the
    /// receiver makes room or the instant the boundary's policy set; and
    /// collects what the policy rejected as dead letters.
    ///
    /// Meanwhile the segment's work in flight keeps moving: each time its
    /// waker is woken, it is polled (what completes joins what waits to be
    /// sent, at most what the work held). A finished segment passes `None`.
    async fn flush(&mut self, mut segment: Option<&mut dyn Segment>) {
        let Some(outlet) = self.outlet.clone() else { return };
        self.collect_turned_away(&*outlet);
        if !outlet.has_pending() {
            return;
        }
        let wake = self.wake.clone();
        // A notification between the failed try and the wait is kept as a
        // permit: no wake is lost.
        while let Some(blocked) = outlet.push_pending() {
            self.collect_turned_away(&*outlet);
            let working = self.busy && segment.is_some();
            // Work in flight may wait on the engine's clock (a retry's
            // backoff): its timers fire meanwhile too.
            let timer = segment.as_deref().and_then(|s| s.next_deadline(false)).filter(|_| working);
            let room = async {
                match blocked {
                    Blocked::Room => outlet.room().notified().await,
                    Blocked::Until(at) => tokio::time::sleep_until(self.clock.deadline(at)).await,
                }
            };
            tokio::select! {
                () = room => {}
                () = wake.0.notified(), if working => {
                    let segment = segment.as_deref_mut().expect("working only with a segment");
                    // A panic poisons the segment: the step loop sees it
                    // in the failures and the segment is not stepped again.
                    let _ = self.settle(segment);
                }
                () = sleep_until_some(timer.map(|due| self.clock.deadline(due))), if timer.is_some() => {
                    let segment = segment.as_deref_mut().expect("a timer only with a segment");
                    let now = self.clock.now();
                    // `on_time` settles the work after firing; a panic
                    // poisons the segment, and the step loop sees it.
                    if self.on_time(segment, now) {
                        self.work_poisoned = true;
                    }
                }
            }
        }
        self.collect_turned_away(&*outlet);
    }

    /// Polls the segment's work in flight through `phase` (`Accept` or
    /// `Settle`), which moves it on: true when ready. A settle records
    /// whether work is left; a failure stops the run. `Err` when it
    /// panicked outside the nodes that settle their own panics: the
    /// segment is poisoned.
    fn poll_work(&mut self, segment: &mut dyn Segment, phase: Lifecycle) -> Result<bool, Poisoned> {
        let now = self.clock.now();
        self.poll_work_at(segment, phase, now)
    }

    /// [`Task::poll_work`] at engine time `now`, read by the caller.
    fn poll_work_at(&mut self, segment: &mut dyn Segment, phase: Lifecycle, now: Instant) -> Result<bool, Poisoned> {
        let waker = std::task::Waker::from(self.wake.clone());
        let polled = {
            let mut cx = Context::with_waker(now, &mut self.collected, &waker);
            catch_panic(|| segment.poll_lifecycle(phase, &mut cx))
        };
        let ready = match polled {
            Ok(Poll::Ready(Ok(()))) => true,
            Ok(Poll::Pending) => false,
            Ok(Poll::Ready(Err(error))) => {
                self.fail(error);
                true
            }
            Err(panic) => {
                self.work_poisoned = true;
                self.fail(StageError::new(self.name.clone(), Position::None, panic));
                self.raise_failures();
                return Err(Poisoned);
            }
        };
        self.raise_failures();
        if phase == Lifecycle::Settle {
            self.busy = !ready;
        }
        Ok(ready)
    }

    /// [`Task::poll_work`] through `Settle`.
    fn settle(&mut self, segment: &mut dyn Segment) -> Result<bool, Poisoned> {
        self.poll_work(segment, Lifecycle::Settle)
    }

    /// Rejected envelopes go to this task's dead letters, not counted
    /// under a stage: the ledger counts them under the boundary.
    fn collect_turned_away(&mut self, outlet: &dyn Outlet) {
        let mut letters = Vec::new();
        outlet.take_turned_away(&mut letters);
        for letter in letters {
            self.collected.turned_away(letter);
        }
    }

    fn fail(&mut self, error: StageError) {
        flux_core::Diversions::fail(&mut self.collected, error);
    }

    /// Tells the observer, if any, what the segment's stages counted and
    /// where its boundaries stand; a batch taken off the input since the
    /// last look is reported as one.
    pub(crate) fn observe(&self, segment: &dyn Segment, now: Instant) {
        let Some(observer) = &self.observer else { return };
        segment.visit(&mut |stage: &StageId, counted: &StageLedger| observer.on_counts(stage, counted, now));
        if let Some(inlet) = &self.inlet {
            observer.on_edge(&inlet.stats().flow(), now);
        }
        if let Some(outlet) = &self.outlet {
            observer.on_edge(&outlet.stats().flow(), now);
        }
    }

    /// [`Task::observe`] after a step: a batch taken off the input is
    /// reported first.
    fn observe_step(&mut self, segment: &dyn Segment, now: Instant) {
        let (Some(observer), Some(inlet)) = (&self.observer, &self.inlet) else {
            return self.observe(segment, now);
        };
        let received = inlet.stats().envelopes_received;
        if received > self.received {
            let junction = inlet.stats().junction;
            observer.on_batch(junction, usize::try_from(received - self.received).unwrap_or(usize::MAX), now);
            self.received = received;
        }
        self.observe(segment, now);
    }

    /// A failure anywhere stops the whole run, at once.
    fn raise_failures(&self) {
        if !self.collected.failures.is_empty() || self.stopped_for.is_some() {
            raise(&self.stop, Stop::Now);
        }
    }

    fn stop_for(&mut self, why: RunErrorKind) {
        if self.stopped_for.is_none() {
            self.stopped_for = Some((self.collected.stamp(), why));
        }
        self.raise_failures();
    }
}

/// Real time, for the observer's step times only: it never steers the run.
#[allow(clippy::disallowed_methods, reason = "the observer's step times, not a stage's time")]
fn wall_clock() -> std::time::Instant {
    std::time::Instant::now()
}

/// Sleeps until `deadline`, or for ever when there is none.
async fn sleep_until_some(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}
