//! What a stage may ask of the engine while it runs.

use core::task::Waker;

use crate::{ErrorEnvelope, Instant, Meta, Panicked, Position, SideEnvelope, StageError, StageId};

/// The engine's services, passed to every call into a stage.
///
/// A context is cheap to pass (a clock reading and two pointers). It is how a
/// stage reads time (never the wall clock), routes an input to the
/// dead-letter or side output, and reports an error that must stop the run.
///
/// An engine makes one for each call into a segment (a step, a timer, the
/// finish), at the time of its clock, over its own [`Diversions`]; the
/// time does not move during the call. Outside an engine, a test makes
/// one over `flux_test::Diverted`, which keeps everything diverted.
///
/// Every diversion is counted in the ledger under the stage its record
/// names (the error's stage for a dead letter, the side envelope's stage
/// for a side output). A node that diverts an input must name itself, and
/// must not also pass the input on or count it otherwise.
///
/// # Examples
///
/// ```
/// use flux_core::{Context, ErrorEnvelope, Instant, Meta, Position, SideEnvelope, SideReason, StageError, StageId};
/// use flux_test::Diverted;
///
/// let stage = StageId::from_static("window");
/// let mut diverted = Diverted::default();
/// let mut cx = Context::new(Instant::from_secs(90), &mut diverted);
/// assert_eq!(cx.now(), Instant::from_secs(90));
///
/// let late = Meta { sequence: 7, ..Meta::default() };
/// cx.side_output(SideEnvelope { stage: stage.clone(), meta: late, reason: SideReason::Late });
/// let bad = Meta { sequence: 8, ..Meta::default() };
/// let error = StageError::new(stage.clone(), Position::Sequence(8), "no timestamp");
/// cx.dead_letter(ErrorEnvelope { meta: bad, error });
///
/// assert_eq!(diverted.side_outputs[0].reason.as_str(), "late");
/// assert_eq!(diverted.dead_letters[0].error.to_string(), "stage `window` failed at sequence 8");
/// assert!(diverted.failures.is_empty(), "neither stops the run");
/// ```
pub struct Context<'a> {
    now: Instant,
    outputs: &'a mut dyn Diversions,
    waker: &'a Waker,
    budget: usize,
    follows_event_time: bool,
}

/// Where the engine collects what leaves the main output.
///
/// Engines implement it; a stage reaches it through [`Context`]. Every call
/// is counted per stage in the run's ledger.
///
/// An implementation counts each dead letter under
/// [`letter.error.stage()`](StageError::stage) and each side output under
/// [`side.stage`](SideEnvelope::stage): those counts are the
/// `dead_letters` and `side_outputs` of each stage's row, which the
/// engine needs to balance the ledger. What it keeps beyond the counts is
/// its own choice (the sync engine keeps the first ten thousand whole and
/// counts the rest by cause, so memory stays bounded).
///
/// # Examples
///
/// Diversions that count per stage, as an engine does for its ledger:
///
/// ```
/// use std::collections::BTreeMap;
///
/// use flux_core::{Context, Diversions, ErrorEnvelope, Instant, Meta, Position, SideEnvelope, StageError, StageId};
///
/// #[derive(Default)]
/// struct Counted {
///     dead_letters: BTreeMap<StageId, u64>,
///     failure: Option<StageError>,
/// }
///
/// impl Diversions for Counted {
///     fn dead_letter(&mut self, letter: ErrorEnvelope) {
///         *self.dead_letters.entry(letter.error.stage().clone()).or_default() += 1;
///     }
///     fn side_output(&mut self, _side: SideEnvelope) {}
///     fn fail(&mut self, error: StageError) {
///         // The first failure is the run's error; later ones are its consequences.
///         self.failure.get_or_insert(error);
///     }
/// }
///
/// let parse = StageId::from_static("parse");
/// let mut counted = Counted::default();
/// let mut cx = Context::new(Instant::ZERO, &mut counted);
/// for sequence in [3, 9] {
///     let error = StageError::new(parse.clone(), Position::Sequence(sequence), "not a number");
///     cx.dead_letter(ErrorEnvelope { meta: Meta { sequence, ..Meta::default() }, error });
/// }
/// cx.fail(StageError::new(parse.clone(), Position::None, "the parser's table is gone"));
///
/// assert_eq!(counted.dead_letters[&parse], 2);
/// assert_eq!(counted.failure.unwrap().to_string(), "stage `parse` failed");
/// ```
pub trait Diversions {
    /// An input that failed; the pipeline goes on.
    fn dead_letter(&mut self, letter: ErrorEnvelope);
    /// An input routed aside (late data, a closed key).
    fn side_output(&mut self, side: SideEnvelope);
    /// An error after which the run must stop; the engine stops at its next
    /// decision point and returns it.
    ///
    /// It may be called more than once in a run (a stopping run can fail
    /// again as it drains); the first call is the cause.
    fn fail(&mut self, error: StageError);
}

impl<'a> Context<'a> {
    /// A context at time `now` that diverts into `outputs`.
    ///
    /// Engines make one per call into a segment; tests make one to drive a
    /// source, node or sink by hand. `now` is engine time, as the engine's
    /// [`Clock`](crate::Clock) gives it.
    ///
    /// Its [`waker`](Context::waker) wakes nothing: a source that returns
    /// [`Pull::Pending`](crate::Pull::Pending) needs an engine that gives
    /// one ([`Context::with_waker`]).
    pub fn new(now: Instant, outputs: &'a mut dyn Diversions) -> Self {
        Context { now, outputs, waker: Waker::noop(), budget: crate::STEP_BUDGET, follows_event_time: false }
    }

    /// A context whose [`waker`](Context::waker) is `waker`: engines make
    /// one per step of a source, so that a source with nothing ready can
    /// ask to be woken.
    pub fn with_waker(now: Instant, outputs: &'a mut dyn Diversions, waker: &'a Waker) -> Self {
        Context { now, outputs, waker, budget: crate::STEP_BUDGET, follows_event_time: false }
    }

    /// The same context with a step budget of `envelopes` (at least one,
    /// at most [`STEP_BUDGET`](crate::STEP_BUDGET)): a source segment's step
    /// pulls no more. Engines set it from the room left at the segment's
    /// output boundary, so a source reads nothing a full boundary would
    /// have to hold.
    #[must_use]
    pub fn with_budget(mut self, envelopes: usize) -> Self {
        self.budget = envelopes.clamp(1, crate::STEP_BUDGET);
        self
    }

    /// How many envelopes a source segment's step may pull.
    pub fn budget(&self) -> usize {
        self.budget
    }

    /// The same context for a step of a replay, where the engine's clock
    /// follows the event time of what its source reads: the source's
    /// segment hands on only the envelopes whose
    /// [`event_time`](crate::Meta::event_time) has come (none, or at most
    /// [`now`](Context::now)). It holds the first one still to come, and
    /// every one after it, and ends the step with
    /// [`Step::Wait`](crate::Step::Wait) until that envelope's event time,
    /// as a live source would have waited for it: the engine fires the
    /// timers due until then, moves its clock there, and steps the segment
    /// again. Channel segments ignore it. A sync engine setting
    /// (`clock_follows_event_time`) is what sets it.
    #[must_use]
    pub fn following_event_time(mut self) -> Self {
        self.follows_event_time = true;
        self
    }

    /// Whether a source segment's step holds envelopes until their event
    /// time has come (see [`Context::following_event_time`]).
    pub fn follows_event_time(&self) -> bool {
        self.follows_event_time
    }

    /// What a source that returns [`Pull::Pending`](crate::Pull::Pending)
    /// hands to what it waits on, so that the engine asks it again once
    /// something is ready: the waker of a future's `Context`, for a source
    /// that polls one.
    ///
    /// # Examples
    ///
    /// ```
    /// use std::task::{Context as TaskContext, Poll};
    /// use flux_core::{Context, Instant};
    /// use flux_test::Diverted;
    ///
    /// let mut diverted = Diverted::default();
    /// let cx = Context::new(Instant::ZERO, &mut diverted);
    /// // Polling a future with the engine's waker, as a source would.
    /// let mut ready = std::pin::pin!(async { 7 });
    /// let polled = ready.as_mut().poll(&mut TaskContext::from_waker(cx.waker()));
    /// assert_eq!(polled, Poll::Ready(7));
    /// ```
    pub fn waker(&self) -> &Waker {
        self.waker
    }

    /// The engine's current time: the only clock a stage should read.
    ///
    /// On the sync engine it is virtual time, so a stage that times out
    /// after thirty minutes does so in no real time, and every run replays
    /// exactly.
    #[inline]
    pub fn now(&self) -> Instant {
        self.now
    }

    /// Sends a failed input to the dead-letter output.
    ///
    /// The input is accounted for, under the stage `letter.error` names:
    /// do not also pass it on or count it. The run goes on.
    pub fn dead_letter(&mut self, letter: ErrorEnvelope) {
        self.outputs.dead_letter(letter);
    }

    /// Sends an input to the side output.
    ///
    /// As for [`Context::dead_letter`]: the input is accounted for, under
    /// the stage `side.stage` names, and the run goes on.
    pub fn side_output(&mut self, side: SideEnvelope) {
        self.outputs.side_output(side);
    }

    /// Reports an error that stops the run.
    ///
    /// The call returns: the engine stops at its next decision point, not
    /// in the middle of the caller's work, so the caller still accounts
    /// for the input it is handling (as an output, a dead letter or a
    /// count). The sync engine then pulls no more from the source, lets
    /// what is inside the pipeline drain, finishes every segment and
    /// returns this error with the run's report.
    pub fn fail(&mut self, error: StageError) {
        self.outputs.fail(error);
    }

    /// An input whose processing panicked in `stage`: it goes to the
    /// dead-letter output, and the run stops; both name the stage and the
    /// input's sequence.
    ///
    /// The failure is reported first, then the dead letter, both with
    /// `panic` as their cause. Nodes call it when they catch a panic from
    /// user code for an input nothing else accounts for; see
    /// [`catch_panic`](crate::catch_panic).
    ///
    /// ```
    /// use flux_core::{Context, Instant, Meta, StageId, catch_panic};
    /// use flux_test::Diverted;
    ///
    /// let stage = StageId::from_static("parse");
    /// let panic = catch_panic(|| panic!("bad table")).unwrap_err();
    /// let mut diverted = Diverted::default();
    /// let mut cx = Context::new(Instant::ZERO, &mut diverted);
    /// cx.divert_panic(&stage, Meta { sequence: 5, ..Meta::default() }, panic);
    ///
    /// assert_eq!(diverted.failures[0].to_string(), "stage `parse` failed at sequence 5");
    /// assert_eq!(diverted.dead_letters[0].meta.sequence, 5);
    /// assert_eq!(diverted.dead_letters[0].error.cause().to_string(), "user code panicked: bad table");
    /// ```
    #[cold]
    #[inline(never)]
    pub fn divert_panic(&mut self, stage: &StageId, meta: Meta, panic: Panicked) {
        let position = Position::Sequence(meta.sequence);
        self.outputs.fail(StageError::new(stage.clone(), position, panic.clone()));
        self.outputs.dead_letter(ErrorEnvelope { meta, error: StageError::new(stage.clone(), position, panic) });
    }
}

impl core::fmt::Debug for Context<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Context").field("now", &self.now).finish_non_exhaustive()
    }
}
