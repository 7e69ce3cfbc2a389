//! Where envelopes end.

use core::fmt;
use std::error::Error;

use crate::{Context, Envelope, Meta, Position};

/// A failed write: the envelope's metadata, so the dead letter keeps its
/// correlation, the cause, and whether the sink can go on.
///
/// [`Sink::write`] returns it for an envelope the sink refused. The engine
/// makes that envelope a dead letter: its error names the sink, at
/// [`WriteError::position`], caused by `cause`. The refusal fails only
/// that envelope, unless it was made with [`WriteError::stop_run`]; then
/// the run stops too.
///
/// # Examples
///
/// ```
/// use flux_core::{Meta, Position, WriteError};
///
/// let meta = Meta { sequence: 7, ..Meta::default() };
/// let refused = WriteError::new(meta.clone(), "payload too large");
/// assert_eq!(refused.position(), Position::Sequence(7));
/// assert!(!refused.stops_run());
///
/// let disk_full = WriteError::new(meta, "no space left").at(Position::ByteOffset(4096)).stop_run("no space left");
/// assert_eq!(disk_full.position(), Position::ByteOffset(4096));
/// assert!(disk_full.stops_run());
/// ```
#[derive(Debug)]
pub struct WriteError {
    /// The metadata of the envelope that could not be written.
    pub meta: Meta,
    /// Why it could not be written.
    pub cause: Box<dyn Error + Send + Sync>,
    /// What few refusals carry: a place other than the sequence, a stop.
    /// Boxed, so that `Result<(), WriteError>` stays small.
    rare: Option<Box<Rare>>,
}

impl fmt::Display for WriteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "write failed {}", self.position())?;
        if self.stops_run() {
            f.write_str(", stopping the run")?;
        }
        Ok(())
    }
}

impl Error for WriteError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        Some(&*self.cause)
    }
}

#[derive(Debug, Default)]
struct Rare {
    position: Option<Position>,
    stop: Option<Box<dyn Error + Send + Sync>>,
}

impl WriteError {
    /// The envelope described by `meta` could not be written, because of
    /// `cause`; the sink goes on.
    ///
    /// Pass the envelope's own metadata (`item.meta().clone()`), so that
    /// the dead letter can be traced back to its input. The failure is
    /// placed at the envelope's sequence until [`WriteError::at`] says
    /// otherwise.
    pub fn new(meta: Meta, cause: impl Into<Box<dyn Error + Send + Sync>>) -> Self {
        WriteError { meta, cause: cause.into(), rare: None }
    }

    /// Places the failure (an offset in the sink's output, say); by
    /// default it is placed at the envelope's sequence.
    #[must_use]
    pub fn at(mut self, position: Position) -> Self {
        self.rare.get_or_insert_default().position = Some(position);
        self
    }

    /// The sink cannot go on (a full disk, a closed pipe): the run stops
    /// with `reason`, after the engine closes every sink.
    ///
    /// The envelope is still a dead letter (with `cause`); the run's error
    /// names the sink at the same position, with `reason` as its cause.
    #[must_use]
    pub fn stop_run(mut self, reason: impl Into<Box<dyn Error + Send + Sync>>) -> Self {
        self.rare.get_or_insert_default().stop = Some(reason.into());
        self
    }

    /// Where the failure was: the place given to [`WriteError::at`], or
    /// else the envelope's sequence.
    pub fn position(&self) -> Position {
        self.rare.as_ref().and_then(|rare| rare.position).unwrap_or(Position::Sequence(self.meta.sequence))
    }

    /// Whether the run must stop: true once [`WriteError::stop_run`] was called.
    pub fn stops_run(&self) -> bool {
        self.rare.as_ref().is_some_and(|rare| rare.stop.is_some())
    }

    /// The parts: metadata, cause, position, and the reason to stop.
    #[allow(clippy::type_complexity, reason = "the parts, named by their types")]
    pub(crate) fn into_parts(
        self,
    ) -> (Meta, Box<dyn Error + Send + Sync>, Position, Option<Box<dyn Error + Send + Sync>>) {
        let position = self.position();
        let stop = self.rare.and_then(|rare| rare.stop);
        (self.meta, self.cause, position, stop)
    }
}

/// An envelope a sink had accepted and then could not write: a buffered
/// frame lost in a failed flush, a row in a rolled-back batch.
///
/// The engine turns each into a dead letter naming the sink, so no
/// envelope is ever counted as written and then lost silently.
///
/// A sink collects them as it finds out, says so with [`Sink::has_news`],
/// and hands them over in [`Sink::take_undelivered`]. Each one it hands
/// back comes off the sink's `consumed` count in the ledger.
///
/// # Examples
///
/// A sink that buffers two envelopes and then fails to flush them:
///
/// ```
/// use flux_core::{Context, Envelope, Instant, Meta, Position, Sink, Undelivered, WriteError};
/// use flux_test::Diverted;
///
/// #[derive(Default)]
/// struct Flaky {
///     buffer: Vec<Meta>,
///     lost: Vec<Undelivered>,
/// }
///
/// impl Sink<u32> for Flaky {
///     fn write(&mut self, item: Envelope<u32>, _cx: &mut Context<'_>) -> Result<(), WriteError> {
///         self.buffer.push(item.meta().clone());
///         if self.buffer.len() == 2 {
///             // The flush fails: both buffered envelopes come back.
///             for meta in self.buffer.drain(..) {
///                 let position = Position::Sequence(meta.sequence);
///                 self.lost.push(Undelivered { meta, position, cause: "no space left".into() });
///             }
///         }
///         Ok(())
///     }
///     fn take_undelivered(&mut self, into: &mut Vec<Undelivered>) {
///         into.append(&mut self.lost);
///     }
///     fn has_news(&self) -> bool {
///         !self.lost.is_empty()
///     }
///     fn held(&self) -> u64 {
///         self.buffer.len() as u64
///     }
/// }
///
/// let mut sink = Flaky::default();
/// let mut diverted = Diverted::default();
/// let mut cx = Context::new(Instant::ZERO, &mut diverted);
/// sink.write(Envelope::new(1).with_sequence(0), &mut cx)?;
/// assert_eq!((sink.held(), sink.has_news()), (1, false), "accepted, not yet written");
/// sink.write(Envelope::new(2).with_sequence(1), &mut cx)?;
/// assert!(sink.has_news());
///
/// let mut lost = Vec::new();
/// sink.take_undelivered(&mut lost);
/// let sequences: Vec<_> = lost.iter().map(|u| u.meta.sequence).collect();
/// assert_eq!(sequences, [0, 1]);
/// assert_eq!((sink.held(), sink.has_news()), (0, false));
/// # Ok::<(), WriteError>(())
/// ```
#[derive(Debug)]
pub struct Undelivered {
    /// The metadata of the envelope.
    pub meta: Meta,
    /// Where it was to be written (an offset in the output, or its sequence).
    pub position: Position,
    /// Why it was not written.
    pub cause: Box<dyn Error + Send + Sync>,
}

/// Consumes the envelopes that leave a pipeline.
///
/// # Contract
///
/// - `Ok` from `write` means the sink accepted the envelope. It counts as
///   written once the sink no longer [holds](Sink::held) it; a sink that
///   buffers and then fails to write an accepted envelope hands it back
///   through [`Sink::take_undelivered`] (saying so with
///   [`Sink::has_news`]), and the engine makes it a dead letter. The
///   ledger's `consumed` is what was accepted, minus what was handed
///   back, minus what is still held.
/// - A `write` error fails only that envelope: the engine sends it to the
///   dead-letter output, naming the sink and the error's position. If the
///   error says [`WriteError::stop_run`], or [`Sink::take_stop`] gives a
///   reason, the run stops (and every sink is still closed).
/// - `close` is called once, at end of input or when the run stops; it
///   writes what is held. Its error stops the run.
/// - A panic in `write` or `close` is caught by the engine: the envelope
///   becomes a dead letter and the run stops, naming the sink.
///
/// A pipeline ends at one sink ([`Pipeline::sink`](crate::Pipeline::sink)).
/// The sink is called on the thread that runs the last segment, and needs
/// only `Send`: nothing else calls it at the same time.
///
/// # Examples
///
/// A sink is driven by hand with a [`Context`]; an engine does the same
/// for every envelope that reaches the end of the pipeline:
///
/// ```
/// use flux_core::{Context, Envelope, Instant, Sink, WriteError};
/// use flux_test::Diverted;
///
/// /// Sums what it is given, and refuses odd numbers.
/// #[derive(Default)]
/// struct EvenSum(u64);
///
/// impl Sink<u64> for EvenSum {
///     fn write(&mut self, item: Envelope<u64>, _cx: &mut Context<'_>) -> Result<(), WriteError> {
///         if item.payload() % 2 == 1 {
///             return Err(WriteError::new(item.meta().clone(), "odd numbers are not taken"));
///         }
///         self.0 += item.payload();
///         Ok(())
///     }
/// }
///
/// let mut sink = EvenSum::default();
/// let mut diverted = Diverted::default();
/// let mut cx = Context::new(Instant::ZERO, &mut diverted);
/// sink.write(Envelope::new(4).with_sequence(0), &mut cx)?;
/// let refused = sink.write(Envelope::new(3).with_sequence(1), &mut cx).unwrap_err();
/// assert_eq!(refused.to_string(), "write failed at sequence 1");
/// assert!(!refused.stops_run(), "only that envelope failed");
/// sink.write(Envelope::new(6).with_sequence(2), &mut cx)?;
/// sink.close(&mut cx)?;
/// assert_eq!(sink.0, 10);
/// # Ok::<(), Box<dyn std::error::Error + Send + Sync>>(())
/// ```
pub trait Sink<T>: Send {
    /// Writes one envelope.
    ///
    /// Called once for each envelope that reaches the end of the pipeline,
    /// in the order they arrive. `Ok` means the sink has accepted it (it
    /// may still hold it in a buffer: see [`Sink::held`]).
    ///
    /// # Errors
    ///
    /// The envelope could not be written; it becomes a dead letter naming
    /// the sink at the error's [position](WriteError::position), and the
    /// run goes on unless the error [stops it](WriteError::stop_run).
    fn write(&mut self, item: Envelope<T>, cx: &mut Context<'_>) -> Result<(), WriteError>;

    /// Gets ready before the first write (connect, create the table): the
    /// engine polls until `Ready`, and on `Pending` waits for
    /// `cx.waker()`. The default is ready at once.
    ///
    /// # Errors
    ///
    /// The sink cannot start; the run stops, naming it. Its
    /// [`close`](Sink::close) is still called, as for any run that stops.
    fn poll_open(&mut self, cx: &mut Context<'_>) -> core::task::Poll<Result<(), Box<dyn Error + Send + Sync>>> {
        let _ = cx;
        core::task::Poll::Ready(Ok(()))
    }

    /// Waits for what [`close`](Sink::close) started (a flush or a commit
    /// still on its way to a server), polled after it until `Ready`, on
    /// `Pending` waiting for `cx.waker()`. The default is done at once.
    ///
    /// # Errors
    ///
    /// The sink could not finish closing; the run fails, naming it.
    fn poll_close(&mut self, cx: &mut Context<'_>) -> core::task::Poll<Result<(), Box<dyn Error + Send + Sync>>> {
        let _ = cx;
        core::task::Poll::Ready(Ok(()))
    }

    /// The instant the sink wants to be called at, if any: a buffered
    /// sink's linger, after which what it holds is written even though
    /// its batch is not full. The engine calls [`Sink::on_time`] then (at
    /// the end of input it closes the sink instead). The default has none.
    fn next_deadline(&self) -> Option<crate::Instant> {
        None
    }

    /// Called at or after [`Sink::next_deadline`], with `cx.now()` the
    /// engine's time: write what is due. What it could not write, it hands
    /// back through [`Sink::take_undelivered`], as after a `write`. The
    /// default does nothing.
    fn on_time(&mut self, cx: &mut Context<'_>) {
        let _ = cx;
    }

    /// Where the sink would like to run: a sink that blocks its thread
    /// (a bounded hand-off to async code, a blocking client) says
    /// [`EngineHint::Blocking`](crate::EngineHint::Blocking), and the
    /// planner gives it a segment the tokio engine runs on a thread of its
    /// own. The default has no preference.
    fn engine_hint(&self) -> crate::EngineHint {
        crate::EngineHint::Any
    }

    /// Flushes and releases resources at end of input.
    ///
    /// Called once, when the sink's segment finishes: at end of input, or
    /// when the run stops for another reason (so a failed run still writes
    /// what it can). Write what is held; hand back through
    /// [`Sink::take_undelivered`] what could not be written, which the
    /// engine asks for after `close` whatever it returned. The default
    /// does nothing.
    ///
    /// # Errors
    ///
    /// The sink could not finish; the run fails with this error, which
    /// names the sink (with no position).
    fn close(&mut self, cx: &mut Context<'_>) -> Result<(), Box<dyn Error + Send + Sync>> {
        let _ = cx;
        Ok(())
    }

    /// Moves into `into` every accepted envelope the sink has since failed
    /// to write, and forgets them. The engine asks after each `write` and
    /// after `close`. The default has none.
    #[inline(always)]
    fn take_undelivered(&mut self, into: &mut Vec<Undelivered>) {
        let _ = into;
    }

    /// Whether [`Sink::take_undelivered`] or [`Sink::take_stop`] would give
    /// anything: the engine asks after each `write`, and takes them only
    /// then (and after `close`, always). A sink that overrides either must
    /// override this too. The default, `false`, costs nothing per write.
    #[inline(always)]
    fn has_news(&self) -> bool {
        false
    }

    /// The reason the sink cannot go on, once, when it has stopped since
    /// the last call (a buffered sink whose flush failed for good). The
    /// engine asks after each `write` and after `close`, and stops the run.
    /// The default never stops.
    #[inline(always)]
    fn take_stop(&mut self) -> Option<Box<dyn Error + Send + Sync>> {
        None
    }

    /// How many accepted envelopes the sink holds, not yet written (a
    /// buffer). Zero after a `close` that returned `Ok`. The default holds
    /// none.
    ///
    /// The engine reads it when it takes the ledger: envelopes still held
    /// are not counted as `consumed`, so a sink that keeps some at the end
    /// shows as an imbalance rather than as a silent loss.
    #[inline(always)]
    fn held(&self) -> u64 {
        0
    }
}
