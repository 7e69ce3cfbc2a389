//! A source that frames its input and parses each frame where it was read,
//! so a record that does not parse is a dead letter at its byte offset.

use core::fmt;
use core::time::Duration;
use std::error::Error;
use std::io::Read;

use flux_core::{Context, Cost, EngineHint, Envelope, Meta, Position, Pull, Rejected, Source, SourceError};
use flux_memory::{
    CarryTooLarge, Event, Frame, FrameReader, Framer, FramingStatsHandle, OnBadFrame, ReadMode, SlabPool,
};

/// Turns one frame into one item (or none: a header row, a blank line).
///
/// The frame is borrowed from its slab; [`Frame::to_bytes`] keeps a
/// zero-copy slice of it. An error makes the frame a bad record: the
/// source sends it to the dead-letter output at the frame's byte offset,
/// or stops the run ([`OnBadFrame`]). A closure
/// `FnMut(Frame<'_>) -> Result<Option<T>, E>` is a `Parse`.
pub trait Parse: Send {
    /// What a frame becomes.
    type Item;
    /// Why a frame could not become one.
    type Error: Error + Send + Sync + 'static;

    /// Parses `frame`; `Ok(None)` takes it in without making an item.
    ///
    /// # Errors
    ///
    /// The frame is not a valid record.
    fn parse(&mut self, frame: Frame<'_>) -> Result<Option<Self::Item>, Self::Error>;
}

impl<F, T, E> Parse for F
where
    F: FnMut(Frame<'_>) -> Result<Option<T>, E> + Send,
    E: Error + Send + Sync + 'static,
{
    type Item = T;
    type Error = E;

    fn parse(&mut self, frame: Frame<'_>) -> Result<Option<T>, E> {
        self(frame)
    }
}

/// A source that reads its input into pooled slabs, frames it, and parses
/// each frame in place: [`CsvSource`](crate::CsvSource) and
/// [`JsonLines`](crate::JsonLines) are two of them.
///
/// Items are numbered from zero in input order; a bad frame or a record
/// that does not parse takes a number too, so sequences count every record
/// of the input (a frame the parser takes in without an item, such as a
/// header row, takes none). Bad frames and bad records are dead letters
/// with [`Position::ByteOffset`] of their first byte, or stop the run, as
/// [`OnBadFrame`] says. The input's failures are the
/// [`FramedSource`](flux_memory::FramedSource)'s: a read that fails stops
/// the run at the first byte not delivered, after every record before it;
/// `WouldBlock` waits [`ParsedSource::retry_after`] of engine time.
///
/// # Examples
///
/// Numbers, one per line, parsed by a closure:
///
/// ```
/// use flux_core::{Pipeline, Position, Runnable};
/// use flux_formats::ParsedSource;
/// use flux_memory::{Frame, NewlineDelimited, PoolConfig, SlabPool};
/// use flux_test::VecSink;
/// # use flux_engine_sync::SyncEngine;
/// # use flux_plan::Planner;
///
/// let parse = |frame: Frame<'_>| -> Result<Option<u64>, std::num::ParseIntError> {
///     String::from_utf8_lossy(frame.as_slice()).parse().map(Some)
/// };
/// let pool = SlabPool::new("numbers", PoolConfig::default());
/// let source = ParsedSource::new(&b"7\nseven\n9\n"[..], pool, NewlineDelimited::new(64), parse)?;
/// let out = VecSink::new();
/// let pipeline = Pipeline::from_source(source).sink(out.clone());
/// # let plan = Planner::for_one_thread().plan(pipeline.describe())?;
/// let report = SyncEngine::new().run(&plan, pipeline)?;
/// assert_eq!(out.payloads(), [7, 9]);
/// assert_eq!(report.dead_letters[0].error.position(), Position::ByteOffset(2));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct ParsedSource<R, F, P> {
    reader: FrameReader<R, F>,
    parse: P,
    on_bad: OnBadFrame,
    next_sequence: u64,
    stats: FramingStatsHandle,
    retry_after: Duration,
    /// Where the source asks to run ([`ParsedSource::with_engine_hint`]).
    hint: EngineHint,
}

impl<R: Read, F: Framer, P: Parse> ParsedSource<R, F, P> {
    /// A source framing `input` with `framer` in slabs from `pool`, and
    /// parsing each frame with `parse`. It asks for a thread of its own
    /// ([`EngineHint::Blocking`]), as a read blocks the thread that calls
    /// it ([`ParsedSource::with_engine_hint`] changes it).
    ///
    /// # Errors
    ///
    /// The framer has no limit on its frames.
    pub fn new(input: R, pool: SlabPool, framer: F, parse: P) -> Result<Self, CarryTooLarge> {
        let stats = FramingStatsHandle::default();
        let reader = FrameReader::new(input, pool, framer)?.publish_to(stats.clone());
        Ok(ParsedSource {
            reader,
            parse,
            on_bad: OnBadFrame::DeadLetter,
            next_sequence: 0,
            stats,
            retry_after: Duration::from_millis(1),
            // A `Read` blocks its thread until it has bytes: off the
            // runtime's workers on the tokio engine.
            hint: EngineHint::Blocking,
        })
    }

    /// Sets how slabs are filled.
    #[must_use]
    pub fn read_mode(mut self, mode: ReadMode) -> Self {
        self.reader = self.reader.read_mode(mode);
        self
    }
}

impl<R, F, P> ParsedSource<R, F, P> {
    /// Sets what happens to a bad frame or a record that does not parse.
    #[must_use]
    pub fn on_bad_frame(mut self, on_bad: OnBadFrame) -> Self {
        self.on_bad = on_bad;
        self
    }

    /// Sets how long, in engine time, the source waits before reading
    /// again after its input returned `WouldBlock` (default 1 ms).
    #[must_use]
    pub fn retry_after(mut self, wait: Duration) -> Self {
        self.retry_after = wait.max(Duration::from_nanos(1));
        self
    }

    /// Asks the engine to run the source where `hint` says, as
    /// [`FramedSource::with_engine_hint`](flux_memory::FramedSource::with_engine_hint)
    /// does for unparsed frames. By default it asks for
    /// [`EngineHint::Blocking`]: its `Read` blocks the calling thread, so
    /// the default planner cuts after the source and the tokio engine
    /// reads, frames and parses on a thread of its own, off the runtime's
    /// workers, while the rest of the pipeline runs beside it.
    /// [`EngineHint::Any`] lets the planner fuse it with what follows.
    ///
    /// ```
    /// use flux_core::{EngineHint, Junction, Pipeline, Runnable, Source};
    /// use flux_formats::ParsedSource;
    /// use flux_memory::{Frame, NewlineDelimited, PoolConfig, SlabPool};
    /// use flux_steps::Steps;
    /// use flux_test::VecSink;
    ///
    /// let parse = |frame: Frame<'_>| -> Result<Option<usize>, std::io::Error> { Ok(Some(frame.as_slice().len())) };
    /// let first_junction = |hint: Option<EngineHint>| -> Result<Junction, Box<dyn std::error::Error>> {
    ///     let pool = SlabPool::new("input", PoolConfig::default());
    ///     let mut source = ParsedSource::new(&b"a\nbb\n"[..], pool, NewlineDelimited::new(64), parse)?;
    ///     if let Some(hint) = hint {
    ///         source = source.with_engine_hint(hint);
    ///     }
    ///     let pipeline = Pipeline::from_source(source).map(|n| n * 2).sink(VecSink::new());
    ///     Ok(flux_plan::Planner::new().plan(pipeline.describe())?.junctions[0].clone())
    /// };
    /// assert!(matches!(first_junction(Some(EngineHint::Isolate))?, Junction::Boundary(_)), "cut after the source");
    /// assert!(matches!(first_junction(None)?, Junction::Boundary(_)), "a `Read` blocks: cut by default");
    /// assert!(matches!(first_junction(Some(EngineHint::Any))?, Junction::Fused), "no preference: fused");
    ///
    /// let pool = SlabPool::new("input", PoolConfig::default());
    /// let source = ParsedSource::new(&b"a\n"[..], pool, NewlineDelimited::new(64), parse)?;
    /// assert_eq!(source.engine_hint(), EngineHint::Blocking);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn with_engine_hint(mut self, hint: EngineHint) -> Self {
        self.hint = hint;
        self
    }

    /// A handle to the framing counts, readable after the run.
    pub fn stats(&self) -> FramingStatsHandle {
        self.stats.clone()
    }

    /// The parser, as it is now (after a run: as the input left it).
    pub fn parser(&self) -> &P {
        &self.parse
    }
}

impl<R, F, P> Source for ParsedSource<R, F, P>
where
    R: Read + Send,
    F: Framer,
    P: Parse,
{
    type Item = P::Item;

    fn engine_hint(&self) -> EngineHint {
        self.hint
    }

    fn pull(&mut self, cx: &mut Context<'_>) -> Result<Pull<P::Item>, SourceError> {
        loop {
            let event = self.reader.next_event().map_err(|error| SourceError {
                position: Position::ByteOffset(error.offset()),
                cause: Box::new(error),
            })?;
            let Some(event) = event else {
                return Ok(Pull::End);
            };
            let (offset, cause): (u64, Box<dyn Error + Send + Sync>) = match event {
                Event::Frame(frame) => {
                    let (offset, length) = (frame.offset(), frame.as_slice().len());
                    match self.parse.parse(frame) {
                        Ok(None) => continue,
                        Ok(Some(item)) => {
                            let sequence = self.take_sequence();
                            let cost = Cost::bytes(u32::try_from(length).unwrap_or(u32::MAX));
                            return Ok(Pull::Item(Envelope::new(item).with_sequence(sequence).with_cost(cost)));
                        }
                        Err(error) => (offset, Box::new(error)),
                    }
                }
                Event::Bad(error) => (error.offset(), Box::new(error)),
                Event::WouldBlock => return Ok(Pull::Wait(cx.now() + self.retry_after)),
                // A record may hold a slice of its slab (a `CsvRow` does):
                // what was made is sent on before the reader rents the next.
                Event::Refill => return Ok(Pull::Flush),
            };
            let sequence = self.take_sequence();
            let position = Position::ByteOffset(offset);
            return match self.on_bad {
                OnBadFrame::Stop => Err(SourceError { position, cause }),
                OnBadFrame::DeadLetter => {
                    Ok(Pull::Rejected(Rejected { meta: Meta { sequence, ..Meta::default() }, position, cause }))
                }
            };
        }
    }
}

impl<R, F, P> ParsedSource<R, F, P> {
    fn take_sequence(&mut self) -> u64 {
        let sequence = self.next_sequence;
        self.next_sequence += 1;
        sequence
    }
}

impl<R, F: fmt::Debug, P: fmt::Debug> fmt::Debug for ParsedSource<R, F, P> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ParsedSource")
            .field("reader", &self.reader)
            .field("parse", &self.parse)
            .field("on_bad", &self.on_bad)
            .field("next_sequence", &self.next_sequence)
            .field("retry_after", &self.retry_after)
            .finish()
    }
}
