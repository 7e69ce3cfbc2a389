//! Panics in user code, caught where they happen and turned into values.

use core::any::Any;
use core::cell::RefCell;
use core::fmt;
use std::error::Error;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};

use crate::{Context, Envelope, Meta, Position, Push, Segment, StageError, StageId, Step};

/// User code panicked (a closure, a stage, a source, a sink, an
/// accumulator), and the panic was caught at the stage that called it.
///
/// The node that caught it sends the input to the dead-letter output with
/// this as the cause, and stops the run with an error naming the stage and
/// the input's sequence.
///
/// # Examples
///
/// ```
/// use flux_core::catch_panic;
///
/// let caught = catch_panic(|| -> u32 { panic!("no digits in {:?}", "x") }).unwrap_err();
/// assert_eq!(caught.message(), "no digits in \"x\"");
/// assert_eq!(caught.to_string(), "user code panicked: no digits in \"x\"");
/// assert_eq!(catch_panic(|| 7).unwrap(), 7);
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Panicked {
    message: String,
}

impl Panicked {
    /// The panic's message, from the payload `catch_unwind` returned (a
    /// `&str` or a `String`; anything else is described as such).
    pub fn from_payload(payload: &(dyn Any + Send)) -> Self {
        let message = match (payload.downcast_ref::<&str>(), payload.downcast_ref::<String>()) {
            (Some(text), _) => (*text).to_owned(),
            (_, Some(text)) => text.clone(),
            _ => "a panic with a payload that is not text".to_owned(),
        };
        Panicked { message }
    }

    /// What the panic said.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for Panicked {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "user code panicked: {}", self.message)
    }
}

impl Error for Panicked {}

/// Runs `f`, returning its panic as a [`Panicked`] value instead of
/// unwinding.
///
/// Stateful nodes wrap their calls into user code with it (a user stage's
/// `process`, an accumulator's `merge`), so a panic stops at the stage that
/// made the call, with its state still whole. Call only user code inside it:
/// to push downstream, use [`push_isolated`].
///
/// # Errors
///
/// `f` panicked.
#[inline]
pub fn catch_panic<R>(f: impl FnOnce() -> R) -> Result<R, Panicked> {
    // The caller decides what state it trusts after a panic: every node
    // that catches one stops the run and accounts for its input.
    catch_unwind(AssertUnwindSafe(f)).map_err(|payload| {
        // A site left by a guard inside `f` is this panic's; `f` was the
        // caller's user code, so the caller names it.
        let _ = take_site();
        Panicked::from_payload(&*payload)
    })
}

/// Where an unwinding panic left user code: the stage, the input's
/// sequence, and whether the input was already accounted for (a
/// `flat_map` that had emitted its first output).
#[derive(Debug)]
pub(crate) struct Site {
    pub(crate) stage: StageId,
    pub(crate) sequence: u64,
    pub(crate) accounted: bool,
}

thread_local! {
    /// The site of the panic unwinding on this thread, set by the guard it
    /// left and taken by the catch that stops it.
    static SITE: RefCell<Option<Site>> = const { RefCell::new(None) };
}

/// Names the stage and input a call into user code is handling, should the
/// call panic: dropped while unwinding, it records them, and the engine's
/// catch (`catch_step`) settles the panic at that stage: the input becomes
/// a dead letter and the run stops, naming the stage and the sequence.
///
/// A call that returns disarms it, so on the path that does not panic it
/// costs nothing. It is how Flux's own nodes guard their closures; a user's
/// `Push` node can guard its calls the same way (a `catch_unwind` per call
/// would keep the segment's values in memory).
///
/// # Examples
///
/// ```
/// use flux_core::{PanicGuard, StageId};
///
/// let stage = StageId::from_static("parse");
/// let guard = PanicGuard::new(&stage, 41);
/// let parsed = "7".parse::<u32>();
/// guard.disarm();
/// assert_eq!(parsed, Ok(7));
/// ```
#[derive(Debug)]
#[must_use = "a guard records nothing unless it is held across the call"]
pub struct PanicGuard<'a> {
    stage: &'a StageId,
    sequence: u64,
    accounted: bool,
}

impl<'a> PanicGuard<'a> {
    /// Guards a call made for input `sequence` of `stage`.
    #[inline(always)]
    pub fn new(stage: &'a StageId, sequence: u64) -> Self {
        PanicGuard { stage, sequence, accounted: false }
    }

    /// The same, saying whether an output already accounts for the input
    /// (a `flat_map` past its first output): then a panic stops the run,
    /// and the input is not also a dead letter.
    #[inline(always)]
    pub fn accounted(stage: &'a StageId, sequence: u64, accounted: bool) -> Self {
        PanicGuard { stage, sequence, accounted }
    }

    /// The call returned.
    #[inline(always)]
    pub fn disarm(self) {
        core::mem::forget(self);
    }
}

impl Drop for PanicGuard<'_> {
    /// Reached only while unwinding: a disarmed guard is forgotten.
    #[cold]
    fn drop(&mut self) {
        let site = Site { stage: self.stage.clone(), sequence: self.sequence, accounted: self.accounted };
        SITE.with(|slot| {
            slot.borrow_mut().get_or_insert(site);
        });
    }
}

/// What unwound out of a call: the payload, and the site a guard recorded.
pub(crate) type Unwound = (Box<dyn Any + Send>, Option<Site>);

/// Runs `f`; a panic that unwinds out of it comes back with its site.
#[inline(always)]
pub(crate) fn catch_unwound<R>(f: impl FnOnce() -> R) -> Result<R, Unwound> {
    catch_unwind(AssertUnwindSafe(f)).map_err(|payload| (payload, take_site()))
}

fn take_site() -> Option<Site> {
    SITE.with(|slot| slot.borrow_mut().take())
}

/// Settles a panic that a guarded node's user code raised: the input is a
/// dead letter (unless an output already accounts for it), and the run
/// stops, naming the stage and the input's sequence.
#[cold]
pub(crate) fn settle(site: Site, payload: &(dyn Any + Send), cx: &mut Context<'_>) {
    let panic = Panicked::from_payload(payload);
    if site.accounted {
        cx.fail(StageError::new(site.stage, Position::Sequence(site.sequence), panic));
    } else {
        cx.divert_panic(&site.stage, Meta { sequence: site.sequence, ..Meta::default() }, panic);
    }
}

/// Steps `segment`, catching a panic that unwinds out of it.
///
/// Engines step every segment through it. A panic in a node's user code
/// is settled at that node (the input a dead letter, the run stopped,
/// naming the stage and the sequence) and the step counts as progress; the
/// segment is whole and can go on draining. A panic no node claims comes
/// back as its payload: in the segment that starts at the source, it is the
/// source's own (the segment is whole); in another, a node that guards
/// nothing lost what it held.
///
/// # Errors
///
/// A panic no node claimed.
pub fn catch_step(segment: &mut dyn Segment, cx: &mut Context<'_>) -> Result<Step, Box<dyn Any + Send>> {
    match catch_unwound(|| segment.step(cx)) {
        Ok(step) => Ok(step),
        Err((payload, Some(site))) => {
            settle(site, &*payload, cx);
            Ok(Step::Progress)
        }
        Err((payload, None)) => Err(payload),
    }
}

/// Pushes `item` into `next`, so that a panic in a node after it cannot
/// unwind into the caller: the panic is settled at the node it came from
/// (that input a dead letter, the run stopped), and the caller's state
/// stays whole. Stateful nodes push their outputs this way.
///
/// A panic from a node that guards nothing (a user's `Push` node that does
/// not catch its own) carries on unwinding, to the engine.
#[inline]
pub fn push_isolated<T, D: Push<T>>(next: &mut D, item: Envelope<T>, cx: &mut Context<'_>) {
    match catch_unwound(|| next.push(item, cx)) {
        Ok(()) => {}
        Err((payload, Some(site))) => settle(site, &*payload, cx),
        Err((payload, None)) => resume_unwind(payload),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn catch_panic_returns_the_message_and_leaves_no_site_behind() {
        let stage = StageId::from_static("inner");
        let caught = catch_panic(|| {
            let _guard = PanicGuard::new(&stage, 3);
            std::panic::panic_any("boom")
        })
        .unwrap_err();
        assert_eq!(caught.message(), "boom");
        assert!(take_site().is_none(), "the caller names the panic, not the guard inside it");
    }
}
