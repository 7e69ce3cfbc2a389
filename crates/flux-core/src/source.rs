//! Where envelopes come from.

use core::fmt;
use std::error::Error;

use crate::{Context, Envelope, ErrorEnvelope, Instant, Meta, Position, Push, StageError, StageId};

/// What a source produced when asked for the next envelope: the answer of
/// [`Source::pull`].
///
/// Each answer tells the engine what to do next: an item goes into the
/// segment and the source is asked again; a rejected piece of input
/// becomes a dead letter and the source is asked again; a wait, a flush or
/// the end ends the engine's current step (see [`Pulled`]).
#[derive(Debug)]
#[non_exhaustive]
pub enum Pull<T> {
    /// The next envelope. It is pushed through the fused stages after the
    /// source before the source is asked again, and counts once as
    /// `created` in the source's [`StageLedger`](crate::StageLedger).
    Item(Envelope<T>),
    /// Nothing is ready before the given engine time: the engine fires the
    /// timers due until then and asks again at that time.
    ///
    /// The sync engine moves its virtual clock straight to that time when
    /// nothing else can run, so a source that waits a minute costs no real
    /// time. It stops a run whose source asks twice running to wait until
    /// an instant that has already come, which would otherwise be pulled
    /// again and again at one instant.
    Wait(Instant),
    /// Nothing is ready, and the source has arranged to be woken when
    /// something is: it passed [`Context::waker`](crate::Context::waker)
    /// to whatever it waits on (a stream, a socket, a channel), as a
    /// future does with its waker.
    ///
    /// The engine does not ask again until that waker is woken. The async
    /// engine suspends the source's task meanwhile; the sync engine first
    /// runs everything else it can, then blocks its thread until the wake,
    /// with its virtual clock standing still (an outside event has no
    /// virtual time).
    Pending,
    /// A piece of input that could not be read (a malformed or oversize
    /// frame). The engine sends it to the dead-letter output, naming the
    /// source and the position, and asks again.
    Rejected(Rejected),
    /// Nothing this time, and what the source made so far holds what it
    /// needs next (a framed source's frames hold their slab, and the pool
    /// may have no other): the engine sends on what the nodes after the
    /// source hold back, as [`SourceOutput::flush`] does, and asks again.
    Flush,
    /// The input is exhausted. The engine does not pull again; it lets the
    /// stages after the source finish (see [`Push::finish`]).
    End,
}

/// A piece of input a source could not turn into an envelope.
///
/// A source returns it as [`Pull::Rejected`] (or hands it to
/// [`SourceOutput::reject`]) when one frame, line or record is bad and
/// the rest of the input can still be read. It becomes a dead letter: an
/// [`ErrorEnvelope`] with this metadata and a [`StageError`] that names
/// the source, at this position, with this cause. The run goes on. An
/// error after which nothing more can be read is a [`SourceError`] instead.
///
/// # Examples
///
/// ```
/// use flux_core::{Meta, Position, Rejected};
///
/// let rejected = Rejected {
///     meta: Meta { sequence: 3, ..Meta::default() },
///     position: Position::ByteOffset(120),
///     cause: "a frame longer than 64 KiB".into(),
/// };
/// assert_eq!(rejected.to_string(), "input rejected at byte 120");
/// let cause = std::error::Error::source(&rejected).unwrap();
/// assert_eq!(cause.to_string(), "a frame longer than 64 KiB");
/// ```
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
///
/// Returned from [`Source::pull`] or [`Source::pull_into`], it stops the
/// run: the source's segment reports [`Step::Failed`](crate::Step::Failed)
/// with a [`StageError`] that names the source, at this position, caused
/// by this cause, and the engine pulls no more. (The sync engine still
/// lets what is already inside the pipeline drain to the sinks.)
///
/// # Examples
///
/// ```
/// use flux_core::{Position, SourceError, StageError, StageId};
///
/// let io = std::io::Error::other("disk read failed");
/// let failed = SourceError { position: Position::ByteOffset(4096), cause: io.into() };
/// assert_eq!(failed.to_string(), "the source failed at byte 4096");
///
/// // What the engine reports: the same place, named after the source.
/// let reported = StageError::new(StageId::from_static("source"), failed.position, failed.cause);
/// assert_eq!(reported.to_string(), "stage `source` failed at byte 4096");
/// assert_eq!(reported.cause().to_string(), "disk read failed");
/// ```
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
/// A pipeline starts at one source ([`Pipeline::from_source`](crate::Pipeline::from_source)).
/// The engine asks it for envelopes in steps, through
/// [`Source::pull_into`], whose default calls `pull` until the step's
/// budget is used up, the source waits, the input ends ([`Pull::End`]) or
/// an error stops the run. Implement `pull`; override `pull_into` only to
/// make a block of envelopes at once.
///
/// A source assigns sequence numbers and, where it knows them, keys, event
/// times and byte costs ([`Cost`](crate::Cost)). Give each envelope its
/// own sequence number, in the order it is read: dead letters and errors
/// name an input by it.
///
/// A source must not block waiting for time to pass: to wait, it returns
/// [`Pull::Wait`] and the engine advances its clock (instantly, on the sync
/// engine's virtual clock). It reads the time from
/// [`Context::now`](crate::Context::now), never from the wall clock.
///
/// Everything the source makes counts as `created` in its row of the
/// ledger ([`StageLedger`](crate::StageLedger)), whether it was emitted or
/// rejected. A panic in `pull` is caught by the engine: the run stops
/// with an error naming the source.
///
/// # Examples
///
/// A source is driven by hand with a [`Context`]; an engine does the same
/// in its steps:
///
/// ```
/// use flux_core::{Context, Envelope, Instant, Pipeline, Pull, Runnable, Source, SourceError};
/// use flux_steps::Steps;
/// use flux_test::{Diverted, VecSink};
///
/// /// Counts down from `left`, numbering the envelopes from zero.
/// struct Countdown {
///     left: u64,
///     next_sequence: u64,
/// }
///
/// impl Source for Countdown {
///     type Item = u64;
///     fn pull(&mut self, _cx: &mut Context<'_>) -> Result<Pull<u64>, SourceError> {
///         if self.left == 0 {
///             return Ok(Pull::End);
///         }
///         self.left -= 1;
///         let sequence = self.next_sequence;
///         self.next_sequence += 1;
///         Ok(Pull::Item(Envelope::new(self.left).with_sequence(sequence)))
///     }
/// }
///
/// let mut source = Countdown { left: 2, next_sequence: 0 };
/// let mut diverted = Diverted::default();
/// let mut cx = Context::new(Instant::ZERO, &mut diverted);
/// let mut seen = Vec::new();
/// while let Pull::Item(envelope) = source.pull(&mut cx)? {
///     seen.push((envelope.meta().sequence, envelope.into_payload()));
/// }
/// assert_eq!(seen, [(0, 1), (1, 0)]);
///
/// // In a pipeline, the source is stage 0, and its item type is recorded for the planner.
/// let pipeline = Pipeline::from_source(Countdown { left: 3, next_sequence: 0 })
///     .map(|n| n + 1)
///     .sink(VecSink::new());
/// assert_eq!(pipeline.describe()[0].output_type, "u64");
/// # Ok::<(), SourceError>(())
/// ```
pub trait Source: Send {
    /// The payload type of the envelopes produced: what the first stage
    /// after the source accepts.
    type Item;

    /// Produces the next envelope, or says why there is none.
    ///
    /// The default [`Source::pull_into`] calls it once per envelope, with
    /// the engine's current time in `cx`. Report bad input as
    /// [`Pull::Rejected`] rather than by diverting through `cx`: a
    /// rejection names the source and counts as made, so the source's row
    /// of the ledger balances.
    ///
    /// # Errors
    ///
    /// An error stops the run: the engine reports it as a [`StageError`]
    /// that names the source at the error's position, and pulls no more.
    /// Bad input that can be skipped is [`Pull::Rejected`] instead.
    fn pull(&mut self, cx: &mut Context<'_>) -> Result<Pull<Self::Item>, SourceError>;

    /// Where the source would like to run: a source with heavy work of its
    /// own (decompressing, decoding) says
    /// [`EngineHint::Isolate`](crate::EngineHint::Isolate), and one whose
    /// pulls block the calling thread (a `std::io::Read`) says
    /// [`EngineHint::Blocking`](crate::EngineHint::Blocking); the default
    /// planner cuts after either, so that the tokio engine reads on a
    /// thread of its own while the rest of the pipeline runs beside it. The
    /// default has no preference.
    fn engine_hint(&self) -> crate::EngineHint {
        crate::EngineHint::Any
    }

    /// Gets ready before the first pull (connect to a broker, open a
    /// file): the engine polls until `Ready`, and on `Pending` waits for
    /// `cx.waker()`. The default is ready at once.
    ///
    /// # Errors
    ///
    /// The source cannot start; the run stops, naming it.
    fn poll_open(&mut self, cx: &mut Context<'_>) -> core::task::Poll<Result<(), SourceError>> {
        let _ = cx;
        core::task::Poll::Ready(Ok(()))
    }

    /// Lets go after the last pull (acknowledge what was read, disconnect),
    /// polled like [`Source::poll_open`] once the pipeline has finished.
    /// The default is done at once.
    ///
    /// # Errors
    ///
    /// The source could not close; the run fails, naming it.
    fn poll_close(&mut self, cx: &mut Context<'_>) -> core::task::Poll<Result<(), SourceError>> {
        let _ = cx;
        core::task::Poll::Ready(Ok(()))
    }

    /// Pushes up to `budget` envelopes straight into the segment.
    ///
    /// Engines call this, not [`Source::pull`]: once per step of the
    /// source's segment, with a budget of [`STEP_BUDGET`](crate::STEP_BUDGET).
    /// The default calls `pull` in a loop, [emitting](SourceOutput::emit)
    /// each item and [rejecting](SourceOutput::reject) each rejected piece
    /// of input, until the budget is used up ([`Pulled::More`]), the source
    /// waits ([`Pulled::Wait`], [`Pulled::Pending`]), asks for a flush
    /// ([`Pull::Flush`]: [`SourceOutput::flush`], then [`Pulled::More`]) or
    /// the input ends ([`Pulled::End`]).
    ///
    /// A source that makes many envelopes at once (a framer over a block of
    /// bytes) overrides it to emit them without wrapping each in a
    /// [`Pull`], which lets the compiler keep a fused segment's envelopes
    /// in registers. Walk the block by index, one loop counter: the
    /// compiler then derives the count `out` keeps (and a sequence numbered
    /// alongside) from it, where a slice iterator beside them leaves three
    /// counters to step per envelope. An override should make no more than
    /// about `budget` envelopes (rejected ones included) before it returns
    /// [`Pulled::More`], so that timers and other segments are not kept
    /// waiting.
    ///
    /// Each envelope pushed into `out` has been through every fused stage
    /// after the source by the time `emit` returns, and `out` counts it;
    /// the count reaches the source's ledger at the end of the step, also
    /// when a panic unwinds through it.
    ///
    /// # Errors
    ///
    /// As for [`Source::pull`]: the run stops, naming the source. What was
    /// emitted before the error stays emitted.
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
                Pull::Pending => return Ok(Pulled::Pending),
                Pull::Flush => {
                    out.flush();
                    return Ok(Pulled::More);
                }
                Pull::End => return Ok(Pulled::End),
            }
        }
        Ok(Pulled::More)
    }
}

/// What [`Source::pull_into`] stopped at; the source's segment turns it
/// into the [`Step`](crate::Step) it reports to the engine.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Pulled {
    /// The budget is used up; more may follow. The segment reports
    /// [`Step::Progress`](crate::Step::Progress), and the engine may step
    /// it again at once.
    More,
    /// Nothing before this engine time. The segment reports
    /// [`Step::Wait`](crate::Step::Wait), as for [`Pull::Wait`].
    Wait(Instant),
    /// Nothing ready until the context's waker is woken. The segment
    /// reports [`Step::Pending`](crate::Step::Pending), as for
    /// [`Pull::Pending`].
    Pending,
    /// The input is exhausted. The segment reports
    /// [`Step::Exhausted`](crate::Step::Exhausted), and is not stepped again.
    End,
}

/// Where [`Source::pull_into`] sends what it makes: the head of the segment.
///
/// It holds the first node after the source (and, through it, every node
/// fused after it), the [`Context`] of the step, and the source's id, so
/// that a rejected piece of input is named after the source. It counts
/// every envelope made through it, emitted or rejected: that count is the
/// source's `created` in the ledger.
///
/// # Examples
///
/// Driving a source's `pull_into` by hand, with a node that keeps what
/// reaches it at the head of the segment:
///
/// ```
/// use flux_core::{
///     Context, Envelope, Instant, LedgerVisitor, Meta, Position, Pulled, Push, Rejected, Source, SourceError,
///     SourceOutput, StageId,
/// };
/// use flux_test::{Diverted, IterSource};
///
/// /// The end of the segment: keeps the payloads that reach it.
/// struct Keep(Vec<&'static str>);
///
/// impl Push<&'static str> for Keep {
///     fn push(&mut self, item: Envelope<&'static str>, _cx: &mut Context<'_>) {
///         self.0.push(item.into_payload());
///     }
///     fn on_time(&mut self, _cx: &mut Context<'_>) {}
///     fn next_deadline(&self, _at_end: bool) -> Option<Instant> {
///         None
///     }
///     fn finish(&mut self, _cx: &mut Context<'_>) {}
///     fn visit(&self, _visitor: &mut dyn LedgerVisitor) {}
///    fn poll_lifecycle(&mut self, _: flux_core::Lifecycle, _: &mut Context<'_>) -> std::task::Poll<Result<(), flux_core::StageError>> {
///        std::task::Poll::Ready(Ok(()))
///    }
/// }
///
/// let mut source = IterSource::new(["a", "b", "c"]);
/// let mut head = Keep(Vec::new());
/// let id = StageId::from_static("source");
/// let mut diverted = Diverted::default();
/// let mut cx = Context::new(Instant::ZERO, &mut diverted);
/// let mut out = SourceOutput::new(&mut head, &mut cx, &id);
///
/// assert_eq!(source.pull_into(2, &mut out)?, Pulled::More, "the budget ran out");
/// assert_eq!(source.pull_into(2, &mut out)?, Pulled::End);
/// let meta = Meta { sequence: 3, ..Meta::default() };
/// out.reject(Rejected { meta, position: Position::ByteOffset(12), cause: "not UTF-8".into() });
/// assert_eq!(out.created(), 4, "three emitted, one rejected");
/// drop(out);
///
/// assert_eq!(head.0, ["a", "b", "c"]);
/// let letter = &diverted.dead_letters[0];
/// assert_eq!((letter.meta.sequence, letter.error.to_string()), (3, "stage `source` failed at byte 12".into()));
/// # Ok::<(), SourceError>(())
/// ```
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
    ///
    /// An output made here adds its count to no ledger: read it with
    /// [`SourceOutput::created`]. (The kernel's source segment makes its
    /// own, which adds the count to the source's ledger when dropped.)
    pub fn new(next: &'n mut D, cx: &'c mut Context<'a>, id: &'n StageId) -> Self {
        SourceOutput { next, cx, id, created: 0, tally: None }
    }

    /// The same, adding what it makes to `tally` when it is dropped.
    pub(crate) fn tallied(next: &'n mut D, cx: &'c mut Context<'a>, id: &'n StageId, tally: &'n mut u64) -> Self {
        SourceOutput { next, cx, id, created: 0, tally: Some(tally) }
    }

    /// Envelopes made so far through this output (emitted or rejected):
    /// what the step adds to the source's `created` count.
    pub fn created(&self) -> u64 {
        self.created
    }

    /// Pushes an envelope into the segment.
    ///
    /// The fused nodes after the source handle it (and whatever it
    /// becomes) before `emit` returns. It counts as made.
    #[inline(always)]
    pub fn emit<T>(&mut self, item: Envelope<T>)
    where
        D: Push<T>,
    {
        self.created += 1;
        self.next.push(item, self.cx);
    }

    /// Hands on what the nodes after the source hold back, as a timer
    /// would: a boundary sends its half-full batch.
    ///
    /// Call it before waiting on something the envelopes already made may
    /// hold: a framed source's frames keep their slab rented, so it hands
    /// them on before it rents the next, and a boundary's batch holds
    /// frames of one slab, not as many slabs as the pool has.
    #[inline]
    pub fn flush<T>(&mut self)
    where
        D: Push<T>,
    {
        self.next.on_time(self.cx);
    }

    /// Sends a piece of input that could not be read to the dead-letter
    /// output, naming this source.
    ///
    /// The dead letter keeps `rejected.meta`; its error is a [`StageError`]
    /// for this source's id at `rejected.position`, caused by
    /// `rejected.cause`. It counts as made (and, in the engine's ledger, as
    /// one of the source's dead letters), so the books balance.
    pub fn reject(&mut self, rejected: Rejected) {
        // A rejected piece of input counts as made, then diverted.
        self.created += 1;
        let error = StageError::new(self.id.clone(), rejected.position, rejected.cause);
        self.cx.dead_letter(ErrorEnvelope { meta: rejected.meta, error });
    }

    /// The engine's current time, as [`Context::now`] gives it: what an
    /// override of `pull_into` compares its items' times against before it
    /// returns [`Pulled::Wait`].
    pub fn now(&self) -> Instant {
        self.cx.now()
    }

    /// The step's waker, as [`Context::waker`] gives it: what an override
    /// of `pull_into` hands to what it waits on before it returns
    /// [`Pulled::Pending`].
    pub fn waker(&self) -> &core::task::Waker {
        self.cx.waker()
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
