//! Where envelopes come from.

use core::fmt;
use std::error::Error;

use crate::{Context, Envelope, ErrorEnvelope, Instant, Meta, Position, Push, StageError, StageId};

/// What a source produced when asked for the next envelope.
#[derive(Debug)]
#[non_exhaustive]
pub enum Pull<T> {
    /// The next envelope.
    Item(Envelope<T>),
    /// Nothing is ready before the given engine time: the engine fires the
    /// timers due until then and asks again at that time.
    Wait(Instant),
    /// A piece of input that could not be read (a malformed or oversize
    /// frame). The engine sends it to the dead-letter output, naming the
    /// source and the position, and asks again.
    Rejected(Rejected),
    /// The input is exhausted.
    End,
}

/// A piece of input a source could not turn into an envelope.
#[derive(Debug)]
pub struct Rejected {
    /// The metadata known for it (at least its sequence, when it has one).
    pub meta: Meta,
    /// Where in the input it was.
    pub position: Position,
    /// Why it was rejected.
    pub cause: Box<dyn Error + Send + Sync>,
}

/// An error after which a source cannot go on (an I/O failure, for example).
#[derive(Debug)]
pub struct SourceError {
    /// Where in the input it happened.
    pub position: Position,
    /// The underlying error.
    pub cause: Box<dyn Error + Send + Sync>,
}

impl fmt::Display for SourceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "the source failed {}", self.position)
    }
}

impl Error for SourceError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        Some(&*self.cause)
    }
}

impl fmt::Display for Rejected {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "input rejected {}", self.position)
    }
}

impl Error for Rejected {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        Some(&*self.cause)
    }
}

/// Produces the envelopes that enter a pipeline.
///
/// The engine calls `pull` until it returns [`Pull::End`] or an error. A
/// source assigns sequence numbers and, where it knows them, keys, event
/// times and byte costs.
///
/// A source must not block waiting for time to pass: to wait, it returns
/// [`Pull::Wait`] and the engine advances its clock (instantly, on the sync
/// engine's virtual clock).
///
/// # Examples
///
/// ```
/// use flux_core::{Context, Envelope, Pull, Source, SourceError};
/// use flux_steps::Steps;
///
/// struct Countdown(u64);
///
/// impl Source for Countdown {
///     type Item = u64;
///     fn pull(&mut self, _cx: &mut Context<'_>) -> Result<Pull<u64>, SourceError> {
///         if self.0 == 0 {
///             return Ok(Pull::End);
///         }
///         self.0 -= 1;
///         Ok(Pull::Item(Envelope::new(self.0).with_sequence(self.0)))
///     }
/// }
///
/// let pipeline = flux_core::Pipeline::from_source(Countdown(3)).map(|n| n + 1);
/// # let _ = pipeline;
/// ```
pub trait Source: Send {
    /// The payload type of the envelopes produced.
    type Item;

    /// Produces the next envelope, or says why there is none.
    ///
    /// # Errors
    ///
    /// An error stops the run; recoverable bad input is [`Pull::Rejected`] instead.
    fn pull(&mut self, cx: &mut Context<'_>) -> Result<Pull<Self::Item>, SourceError>;

    /// Pushes up to `budget` envelopes straight into the segment.
    ///
    /// Engines call this, not [`Source::pull`]. The default calls `pull`
    /// in a loop; a source that makes many envelopes at once (a framer
    /// over a block of bytes) overrides it to emit them without wrapping
    /// each in a [`Pull`], which lets the compiler keep a fused segment's
    /// envelopes in registers.
    ///
    /// # Errors
    ///
    /// As for [`Source::pull`].
    #[inline(always)]
    fn pull_into<D: Push<Self::Item>>(
        &mut self,
        budget: usize,
        out: &mut SourceOutput<'_, '_, '_, D>,
    ) -> Result<Pulled, SourceError>
    where
        Self: Sized,
    {
        for _ in 0..budget {
            match self.pull(out.cx)? {
                Pull::Item(item) => out.emit(item),
                Pull::Rejected(rejected) => out.reject(rejected),
                Pull::Wait(until) => return Ok(Pulled::Wait(until)),
                Pull::End => return Ok(Pulled::End),
            }
        }
        Ok(Pulled::More)
    }
}

/// What [`Source::pull_into`] stopped at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Pulled {
    /// The budget is used up; more may follow.
    More,
    /// Nothing before this engine time.
    Wait(Instant),
    /// The input is exhausted.
    End,
}

/// Where [`Source::pull_into`] sends what it makes: the head of the segment.
pub struct SourceOutput<'n, 'c, 'a, D> {
    next: &'n mut D,
    cx: &'c mut Context<'a>,
    id: &'n StageId,
    /// Counted here, in what is usually a register, and added to the
    /// source's ledger once per step.
    created: u64,
    /// The source's ledger count, which the output adds to when it is
    /// dropped: at the end of a step, or while a panic unwinds through it.
    tally: Option<&'n mut u64>,
}

impl<'n, 'c, 'a, D> SourceOutput<'n, 'c, 'a, D> {
    /// An output into `next`, for a source named `id`. Engines make one per
    /// step; a test can make one to drive a `pull_into` override directly.
    pub fn new(next: &'n mut D, cx: &'c mut Context<'a>, id: &'n StageId) -> Self {
        SourceOutput { next, cx, id, created: 0, tally: None }
    }

    /// The same, adding what it makes to `tally` when it is dropped.
    pub(crate) fn tallied(next: &'n mut D, cx: &'c mut Context<'a>, id: &'n StageId, tally: &'n mut u64) -> Self {
        SourceOutput { next, cx, id, created: 0, tally: Some(tally) }
    }

    /// Envelopes made so far (emitted or rejected).
    pub fn created(&self) -> u64 {
        self.created
    }

    /// Pushes an envelope into the segment.
    #[inline(always)]
    pub fn emit<T>(&mut self, item: Envelope<T>)
    where
        D: Push<T>,
    {
        self.created += 1;
        self.next.push(item, self.cx);
    }

    /// Sends a piece of input that could not be read to the dead-letter
    /// output, naming this source.
    pub fn reject(&mut self, rejected: Rejected) {
        // A rejected piece of input counts as made, then diverted.
        self.created += 1;
        let error = StageError::new(self.id.clone(), rejected.position, rejected.cause);
        self.cx.dead_letter(ErrorEnvelope { meta: rejected.meta, error });
    }

    /// The engine's current time.
    pub fn now(&self) -> Instant {
        self.cx.now()
    }
}

impl<D> Drop for SourceOutput<'_, '_, '_, D> {
    #[inline(always)]
    fn drop(&mut self) {
        if let Some(tally) = self.tally.take() {
            *tally += self.created;
        }
    }
}

impl<D> fmt::Debug for SourceOutput<'_, '_, '_, D> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SourceOutput").field("id", self.id).field("created", &self.created).finish_non_exhaustive()
    }
}
