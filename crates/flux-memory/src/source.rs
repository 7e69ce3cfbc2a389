//! File and stdin sources that emit one zero-copy frame per envelope.

use core::time::Duration;
use std::fs::File;
use std::io::{self, Read, Stdin};
use std::path::Path;

use bytes::Bytes;
use flux_core::{
    Context, Cost, EngineHint, Envelope, Headers, Meta, Position, Pull, Pulled, Push, Rejected, Source, SourceError,
    SourceOutput,
};

use crate::{
    CarryTooLarge, Event, Frame, FrameError, FrameReader, Framer, FramingStatsHandle, NewlineDelimited, PoolConfig,
    ReadMode, Scanned, SlabPool,
};

/// The longest line [`FramedSource::lines`] reads: 1 MiB, well past the
/// longest lines of real files (package indexes have lines of 75 KB).
pub const DEFAULT_MAX_LINE: usize = 1 << 20;

/// What a source does with a bad frame.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum OnBadFrame {
    /// Send it to the dead-letter output, naming the source and the byte
    /// offset, and go on with the next frame (default).
    #[default]
    DeadLetter,
    /// Stop the run with the frame's error.
    Stop,
}

/// A source of frames read straight into pooled slabs.
///
/// Each envelope's payload is a [`Bytes`] slice of the slab the frame was
/// read into: no copy, no allocation per frame. Envelopes are numbered from
/// zero in input order; a bad frame takes a number too, so sequence numbers
/// count every piece of input. The cost of an envelope is its frame's length.
///
/// # When the input fails
///
/// - A read that fails mid-slab: every frame completed before the failing
///   byte is delivered first; then the run stops with a
///   [`SourceError`] whose position is the first byte not delivered.
/// - A read that returns `WouldBlock`: the frames already read are
///   delivered, then the source asks the engine to pull again after
///   [`FramedSource::retry_after`] of engine time (1 ms by default).
/// - `Interrupted` is retried at once. A bad frame is a dead letter at its
///   byte offset, or stops the run ([`OnBadFrame`]).
/// - The framing counts ([`FramedSource::stats`]) are true after any of these.
///
/// # Examples
///
/// ```
/// use flux_core::Pipeline;
/// use flux_steps::Steps;
/// use flux_test::VecSink;
/// use flux_memory::{FramedSource, NewlineDelimited, PoolConfig, SlabPool};
///
/// let pool = SlabPool::new("input", PoolConfig::default().slab_size(4096).max_slabs(4));
/// let source = FramedSource::new(&b"3\n1\n2\n"[..], pool.clone(), NewlineDelimited::new(64))?;
/// let out = VecSink::new();
/// let pipeline = Pipeline::from_source(source).map(|line: bytes::Bytes| line.len()).sink(out.clone());
/// # let _ = pipeline;
/// # Ok::<(), flux_memory::CarryTooLarge>(())
/// ```
pub struct FramedSource<R, F> {
    pub(crate) reader: FrameReader<R, F>,
    on_bad: OnBadFrame,
    /// The sequence of the next frame (or bad frame) handed out.
    pub(crate) next_sequence: u64,
    stats: FramingStatsHandle,
    retry_after: Duration,
    /// Whether each envelope carries its frame's byte offset
    /// ([`OFFSET_HEADER`]).
    offsets: bool,
    /// Where the source asks to run ([`FramedSource::with_engine_hint`]).
    hint: EngineHint,
    /// For an async reader: the slot its reads take the step's waker from.
    /// Then `WouldBlock` is `Pull::Pending`, not a retry timer.
    #[cfg(feature = "tokio")]
    waker: Option<crate::async_read::WakerSlot>,
}

impl<R: Read, F: Framer> FramedSource<R, F> {
    /// A source framing `input` with `framer` in slabs from `pool`.
    ///
    /// It asks for a thread of its own ([`EngineHint::Blocking`]): a read
    /// blocks the thread that calls it ([`FramedSource::with_engine_hint`]
    /// says more, and changes it).
    ///
    /// # Errors
    ///
    /// The framer has no limit on its frames ([`CarryTooLarge`]).
    pub fn new(input: R, pool: SlabPool, framer: F) -> Result<Self, CarryTooLarge> {
        let stats = FramingStatsHandle::default();
        let reader = FrameReader::new(input, pool, framer)?.publish_to(stats.clone());
        Ok(FramedSource {
            reader,
            on_bad: OnBadFrame::DeadLetter,
            next_sequence: 0,
            stats,
            retry_after: Duration::from_millis(1),
            offsets: false,
            // A `Read` blocks its thread until it has bytes: off the
            // runtime's workers on the tokio engine.
            hint: EngineHint::Blocking,
            #[cfg(feature = "tokio")]
            waker: None,
        })
    }

    /// Stamps each envelope with its frame's byte offset in the input, in
    /// the header [`OFFSET_HEADER`] (read it with [`frame_offset`]), so a
    /// stage that finds a record malformed can say where it is in the
    /// file. It costs a small allocation per frame; off by default.
    ///
    /// ```
    /// use flux_core::Pipeline;
    /// use flux_memory::{FramedSource, NewlineDelimited, PoolConfig, SlabPool, frame_offset};
    /// use flux_test::VecSink;
    /// # use flux_core::Runnable;
    ///
    /// let pool = SlabPool::new("input", PoolConfig::default().slab_size(64));
    /// let source = FramedSource::new(&b"one\r\ntwo\nthree\n"[..], pool, NewlineDelimited::new(32))?.with_offsets();
    /// let out = VecSink::new();
    /// let pipeline = Pipeline::from_source(source).sink(out.clone());
    /// # let plan = flux_plan::Planner::for_one_thread().plan(pipeline.describe())?;
    /// # let _report = flux_engine_sync::SyncEngine::new().run(&plan, pipeline)?;
    /// let offsets: Vec<_> = out.take().iter().map(|line| frame_offset(line.meta())).collect();
    /// assert_eq!(offsets, [Some(0), Some(5), Some(9)]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn with_offsets(mut self) -> Self {
        self.offsets = true;
        self
    }

    /// Asks the engine to run the source where `hint` says.
    ///
    /// A source made by [`FramedSource::new`] asks for
    /// [`EngineHint::Blocking`]: its `Read` blocks the thread that calls
    /// it until bytes come, so the default planner cuts after the source
    /// and the tokio engine reads and frames on a thread of its own, off
    /// the runtime's workers, while the rest of the pipeline runs beside
    /// it. Reading as a task on a worker, a decode, frame, parse and count
    /// job also ran slower: both segments moved from worker to worker and
    /// each core's caches kept neither (`cargo xtask bench async`,
    /// `async/lz4_keyed_count`: 12.6 to 13.1 million records a second as
    /// tasks, 16.3 to 17.2 with the source on its thread, interleaved runs
    /// of the two builds, `docs/BENCHMARKS.md`).
    /// [`EngineHint::Isolate`] says the same for a reader that never blocks
    /// but decompresses; [`EngineHint::Any`] lets the planner fuse the
    /// source with what follows, as the one-thread planner
    /// (`Planner::for_one_thread`) always does. A source made by
    /// `from_async` has no preference: it never blocks.
    ///
    /// A cut after the source holds the frames waiting in the boundary's
    /// channel, and their slabs. The source hands each slab's frames on
    /// before it rents the next, so a batch of that boundary holds frames
    /// of one slab however long the lines: the pool needs a slab for each
    /// batch the channel holds (8 by default) and two more, the one being
    /// read and the one being worked on. The default pool has 16. A later
    /// boundary, after a stage that passes the frames' bytes on, gathers
    /// whole batches again.
    ///
    /// ```
    /// use flux_core::{EngineHint, Junction, Pipeline, Runnable, Source};
    /// use flux_memory::{FramedSource, NewlineDelimited, PoolConfig, SlabPool};
    /// use flux_steps::Steps;
    /// use flux_test::VecSink;
    ///
    /// let pool = SlabPool::new("input", PoolConfig::default());
    /// let source = FramedSource::new(&b"a\nb\n"[..], pool, NewlineDelimited::new(64))?
    ///     .with_engine_hint(EngineHint::Isolate);
    /// let pipeline = Pipeline::from_source(source).map(|line| line.len()).sink(VecSink::new());
    /// let plan = flux_plan::Planner::new().plan(pipeline.describe())?;
    /// assert!(matches!(plan.junctions[0], Junction::Boundary(_)), "cut after the source");
    ///
    /// let pool = SlabPool::new("input", PoolConfig::default());
    /// let source = FramedSource::new(&b"a\nb\n"[..], pool, NewlineDelimited::new(64))?;
    /// assert_eq!(source.engine_hint(), EngineHint::Blocking, "a `Read` blocks: by default");
    /// let source = source.with_engine_hint(EngineHint::Any);
    /// let pipeline = Pipeline::from_source(source).map(|line| line.len()).sink(VecSink::new());
    /// let plan = flux_plan::Planner::new().plan(pipeline.describe())?;
    /// assert_eq!(plan.junctions[0], Junction::Fused, "no preference: fused");
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[must_use]
    pub fn with_engine_hint(mut self, hint: EngineHint) -> Self {
        self.hint = hint;
        self
    }

    /// Sets how long, in engine time, the source waits before reading again
    /// after its input returned `WouldBlock` (default 1 ms, at least 1 ns).
    #[must_use]
    pub fn retry_after(mut self, wait: Duration) -> Self {
        self.retry_after = wait.max(Duration::from_nanos(1));
        self
    }

    /// Sets what happens to a bad frame.
    #[must_use]
    pub fn on_bad_frame(mut self, on_bad: OnBadFrame) -> Self {
        self.on_bad = on_bad;
        self
    }

    /// Sets how slabs are filled.
    #[must_use]
    pub fn read_mode(mut self, mode: ReadMode) -> Self {
        self.reader = self.reader.read_mode(mode);
        self
    }

    /// A handle to the framing counts, readable after the run.
    pub fn stats(&self) -> FramingStatsHandle {
        self.stats.clone()
    }
}

impl<F: Framer> FramedSource<File, F> {
    /// A source over the file at `path`.
    ///
    /// # Errors
    ///
    /// The file cannot be opened, or the framer has no limit on its frames.
    pub fn file(path: impl AsRef<Path>, pool: SlabPool, framer: F) -> io::Result<Self> {
        let file = File::open(path)?;
        FramedSource::new(file, pool, framer).map_err(io::Error::other)
    }
}

impl<F: Framer> FramedSource<Box<dyn Read + Send>, F> {
    /// A source over the file at `path`, decompressed as it is read when
    /// its first bytes say it is an LZ4 frame or gzip, and read as it is
    /// otherwise: the same framers and slabs, and byte offsets in errors
    /// that count the decompressed input. Also returns what it found.
    ///
    /// ```
    /// use std::io::Write;
    ///
    /// use flux_core::{Pipeline, Runnable};
    /// use flux_memory::{Compression, FramedSource, NewlineDelimited, PoolConfig, SlabPool};
    /// use flux_test::VecSink;
    /// # use flux_engine_sync::SyncEngine;
    /// # use flux_plan::Planner;
    ///
    /// let path = std::env::temp_dir().join(format!("flux-lz4-doc-{}.lz4", std::process::id()));
    /// let mut encoder = lz4_flex::frame::FrameEncoder::new(std::fs::File::create(&path)?);
    /// encoder.write_all(b"one\ntwo\n")?;
    /// encoder.finish()?;
    ///
    /// let pool = SlabPool::new("lines", PoolConfig::default());
    /// let (source, found) = FramedSource::file_decompressed(&path, pool, NewlineDelimited::new(1024))?;
    /// assert_eq!(found, Compression::Lz4);
    /// let out = VecSink::new();
    /// let pipeline = Pipeline::from_source(source).sink(out.clone());
    /// # let plan = Planner::for_one_thread().plan(pipeline.describe())?;
    /// # let _report = SyncEngine::new().run(&plan, pipeline)?;
    /// assert_eq!(out.payloads(), ["one", "two"]);
    /// # std::fs::remove_file(&path)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// The file cannot be opened, or the framer has no limit on its frames.
    pub fn file_decompressed(
        path: impl AsRef<Path>,
        pool: SlabPool,
        framer: F,
    ) -> io::Result<(Self, crate::Compression)> {
        let (reader, found) = crate::compressed::open(path.as_ref())?;
        let source = FramedSource::new(reader, pool, framer).map_err(io::Error::other)?;
        Ok((source, found))
    }
}

impl FramedSource<File, NewlineDelimited> {
    /// The lines of the file at `path`, each at most 1 MiB (a longer one
    /// is a dead letter), in slabs of a pool of its own (sixteen 256 KiB
    /// slabs; a line longer than a slab goes on in a grown buffer, see
    /// [`FrameReader`]): the usual way to read a text file.
    ///
    /// ```
    /// use flux_core::{Pipeline, Runnable};
    /// use flux_test::VecSink;
    /// use flux_memory::FramedSource;
    /// # use flux_engine_sync::SyncEngine;
    /// # use flux_plan::Planner;
    ///
    /// let path = std::env::temp_dir().join(format!("flux-lines-doc-{}", std::process::id()));
    /// std::fs::write(&path, "one\ntwo\n")?;
    /// let out = VecSink::new();
    /// let pipeline = Pipeline::from_source(FramedSource::lines(&path)?).sink(out.clone());
    /// # let plan = Planner::for_one_thread().plan(pipeline.describe())?;
    /// # let _report = SyncEngine::new().run(&plan, pipeline)?;
    /// assert_eq!(out.payloads(), ["one", "two"]);
    /// # std::fs::remove_file(&path)?;
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// The file cannot be opened.
    pub fn lines(path: impl AsRef<Path>) -> io::Result<Self> {
        let pool = SlabPool::new("lines", PoolConfig::default());
        FramedSource::file(path, pool, NewlineDelimited::new(DEFAULT_MAX_LINE))
    }
}

impl<F: Framer> FramedSource<Stdin, F> {
    /// A source over standard input, framing each read as it arrives
    /// ([`ReadMode::Eager`]), so lines typed or piped in are not held back.
    ///
    /// # Errors
    ///
    /// The framer has no limit on its frames.
    pub fn stdin(pool: SlabPool, framer: F) -> Result<Self, CarryTooLarge> {
        Ok(FramedSource::new(io::stdin(), pool, framer)?.read_mode(ReadMode::Eager))
    }
}

impl<R: Read + Send, F: Framer> Source for FramedSource<R, F> {
    type Item = Bytes;

    fn engine_hint(&self) -> EngineHint {
        self.hint
    }

    #[inline]
    fn pull(&mut self, cx: &mut Context<'_>) -> Result<Pull<Bytes>, SourceError> {
        self.lend_waker(cx.waker());
        let wakes = self.wakes();
        let sequence = self.next_sequence;
        let event = self
            .reader
            .next_event()
            .map_err(|error| SourceError { position: Position::ByteOffset(error.offset()), cause: Box::new(error) })?;
        let Some(event) = event else {
            return Ok(Pull::End);
        };
        match event {
            Event::Frame(frame) => {
                self.next_sequence += 1;
                Ok(Pull::Item(envelope(frame, sequence, self.offsets)))
            }
            Event::Bad(error) => {
                self.next_sequence += 1;
                self.on_bad.apply(error, sequence).map(Pull::Rejected)
            }
            Event::WouldBlock if wakes => Ok(Pull::Pending),
            Event::WouldBlock => Ok(Pull::Wait(cx.now() + self.retry_after)),
            // The frames made so far hold the slab: sent on first.
            Event::Refill => Ok(Pull::Flush),
        }
    }

    /// Frames a run of lines in one tight loop ([`FrameReader::scan`]) and
    /// pushes each envelope straight into the segment.
    #[inline]
    fn pull_into<D: Push<Bytes>>(
        &mut self,
        budget: usize,
        out: &mut SourceOutput<'_, '_, '_, D>,
    ) -> Result<Pulled, SourceError> {
        self.lend_waker(out.waker());
        let wakes = self.wakes();
        let mut sequence = self.next_sequence;
        let offsets = self.offsets;
        let scanned = self.reader.scan(budget, |frame| {
            out.emit(envelope(frame, sequence, offsets));
            sequence += 1;
        });
        self.next_sequence = sequence;
        let scanned = scanned
            .map_err(|error| SourceError { position: Position::ByteOffset(error.offset()), cause: Box::new(error) })?;
        match scanned {
            Scanned::Limit => Ok(Pulled::More),
            Scanned::Refill => {
                // The frames made so far hold the slab the reader is done
                // with: a boundary's batch hands them on before the reader
                // rents the next, so it never holds the pool's every slab.
                out.flush();
                Ok(Pulled::More)
            }
            Scanned::End => Ok(Pulled::End),
            Scanned::WouldBlock if wakes => Ok(Pulled::Pending),
            Scanned::WouldBlock => Ok(Pulled::Wait(out.now() + self.retry_after)),
            Scanned::Bad(error) => {
                self.next_sequence += 1;
                out.reject(self.on_bad.apply(error, sequence)?);
                Ok(Pulled::More)
            }
        }
    }
}

impl<R, F> FramedSource<R, F> {
    /// Gives an async reader the step's waker before it reads.
    #[inline(always)]
    fn lend_waker(&self, _waker: &core::task::Waker) {
        #[cfg(feature = "tokio")]
        if let Some(slot) = &self.waker {
            slot.set(_waker);
        }
    }

    /// Whether the reader wakes the engine when it has more (an async
    /// reader), rather than being retried after `retry_after`.
    #[inline(always)]
    fn wakes(&self) -> bool {
        #[cfg(feature = "tokio")]
        return self.waker.is_some();
        #[cfg(not(feature = "tokio"))]
        false
    }
}

#[cfg(feature = "tokio")]
impl<R, F> FramedSource<crate::PollRead<R>, F>
where
    R: tokio::io::AsyncRead + Unpin,
    F: Framer,
{
    /// A source framing any `tokio::io::AsyncRead` (a socket, a pipe, a
    /// decompressor): the same framers, slabs, sequences and byte offsets
    /// as [`FramedSource::new`]. When the reader has nothing ready the
    /// source returns `Pull::Pending`, and the engine asks again once the
    /// reader wakes it.
    ///
    /// ```
    /// use flux_core::{EngineHint, Pipeline, Runnable, Source};
    /// use flux_memory::{FramedSource, NewlineDelimited, PoolConfig, SlabPool};
    /// use flux_test::VecSink;
    /// # use flux_engine_sync::SyncEngine;
    /// # use flux_plan::Planner;
    ///
    /// // Any `AsyncRead`; a byte slice is one.
    /// let input: &'static [u8] = b"one\ntwo\n";
    /// let pool = SlabPool::new("doc", PoolConfig::default());
    /// let source = FramedSource::from_async(input, pool, NewlineDelimited::new(64))?;
    /// assert_eq!(source.engine_hint(), EngineHint::Any, "it never blocks: no thread of its own");
    /// let out = VecSink::new();
    /// let pipeline = Pipeline::from_source(source).sink(out.clone());
    /// # let plan = Planner::for_one_thread().plan(pipeline.describe())?;
    /// # let _report = SyncEngine::new().run(&plan, pipeline)?;
    /// assert_eq!(out.payloads(), ["one", "two"]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    ///
    /// # Errors
    ///
    /// The framer has no limit on its frames ([`CarryTooLarge`]).
    pub fn from_async(input: R, pool: SlabPool, framer: F) -> Result<Self, CarryTooLarge> {
        let (reader, slot) = crate::PollRead::new(input);
        let mut source = FramedSource::new(reader, pool, framer)?;
        source.waker = Some(slot);
        // It never blocks: a reader with nothing ready makes the source
        // return `Pull::Pending`.
        source.hint = EngineHint::Any;
        Ok(source)
    }
}

/// A frame as an envelope: a zero-copy slice, its sequence, its length as cost.
///
/// Built once from its parts. Built whole and then handed by value to an
/// out-of-line call that stamps the offset, the envelope lived in memory
/// and was copied out again for every frame, offsets or not (a `memcpy`
/// call, 29 instructions a line in callgrind, `docs/BENCHMARKS.md`); only
/// the headers, one word, cross the cold call now.
#[inline]
fn envelope(frame: Frame<'_>, sequence: u64, offsets: bool) -> Envelope<Bytes> {
    let cost = Cost::bytes(u32::try_from(frame.as_slice().len()).unwrap_or(u32::MAX));
    let headers = if offsets { offset_headers(frame.offset()) } else { Headers::new() };
    Envelope::from_parts(frame.to_bytes(), Meta { sequence, headers, ..Meta::default() }, cost)
}

/// The headers of a frame stamped with its byte offset.
#[cold]
fn offset_headers(offset: u64) -> Headers {
    let mut headers = Headers::new();
    headers.insert(OFFSET_HEADER, Bytes::copy_from_slice(&offset.to_be_bytes()));
    headers
}

/// The header in which [`FramedSource::with_offsets`] puts each frame's
/// byte offset in the input (eight bytes, big-endian).
pub const OFFSET_HEADER: &str = "flux.offset";

/// The byte offset [`FramedSource::with_offsets`] stamped on an envelope,
/// carried through every stage that keeps the envelope's metadata.
pub fn frame_offset(meta: &Meta) -> Option<u64> {
    let bytes = meta.headers.get(OFFSET_HEADER)?;
    Some(u64::from_be_bytes(bytes.as_ref().try_into().ok()?))
}

impl OnBadFrame {
    /// A rejection to dead-letter, or the error that stops the run.
    fn apply(self, error: FrameError, sequence: u64) -> Result<Rejected, SourceError> {
        let position = Position::ByteOffset(error.offset());
        match self {
            OnBadFrame::DeadLetter => {
                let meta = Meta { sequence, ..Meta::default() };
                Ok(Rejected { meta, position, cause: Box::new(error) })
            }
            OnBadFrame::Stop => Err(SourceError { position, cause: Box::new(error) }),
        }
    }
}

impl<R, F: core::fmt::Debug> core::fmt::Debug for FramedSource<R, F> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("FramedSource")
            .field("reader", &self.reader)
            .field("on_bad", &self.on_bad)
            .field("next_sequence", &self.next_sequence)
            .field("retry_after", &self.retry_after)
            .finish()
    }
}
