//! Reading input straight into pooled slabs and cutting it into frames.

mod buffer;
mod error;
mod fill;
mod grown;
mod run;

use core::fmt;
use std::io::{self, Read};

use bytes::Bytes;

use crate::{FrameError, Framed, Framer, FramingStats, FramingStatsHandle, SlabPool};
use buffer::Buffer;
pub use error::{CarryTooLarge, ReadError};
use fill::Refilled;
use grown::Spare;
use run::{FRAMES_PER_RUN, Run};

/// How a reader fills each slab.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ReadMode {
    /// Read until the slab is full or the input ends (files; default).
    #[default]
    Fill,
    /// Frame as soon as the bytes read may hold a frame (pipes and
    /// terminals, where waiting for a full slab would hold back lines that
    /// have already arrived). Reads that cannot complete a frame (a long
    /// line trickling in) go on into the same slab, so each byte is copied
    /// at most once per slab, however small the reads.
    Eager,
}

/// What stopped [`FrameReader::scan`].
#[derive(Debug)]
pub enum Scanned {
    /// It handed out as many frames as it was allowed.
    Limit,
    /// A bad frame; the reader has moved past it.
    Bad(FrameError),
    /// The input has nothing more right now (a read returned
    /// `WouldBlock`); scan again later. Nothing is lost: the bytes read so
    /// far wait in the reader.
    WouldBlock,
    /// The input ended; every slab the reader held is back in its pool.
    End,
    /// Every frame of the window is handed out and the next needs more
    /// input, most often in a fresh slab: scan again to read it. The frames
    /// hold their slab, and the pool may have no other, so a caller that
    /// keeps them back (a batch being filled) hands them on first. Said
    /// once per window that gave a frame, by `scan` or
    /// [`FrameReader::next_event`] (as [`Event::Refill`]), also when the
    /// next read finds the end of input or goes on in a grown buffer.
    Refill,
}

/// One thing a [`FrameReader`] found.
#[derive(Debug)]
pub enum Event<'a> {
    /// A frame, borrowed from its slab.
    Frame(Frame<'a>),
    /// A bad frame; the reader has moved past it.
    Bad(FrameError),
    /// The input has nothing more right now (a read returned
    /// `WouldBlock`); ask again later.
    WouldBlock,
    /// Every frame of the window is handed out and the next needs more
    /// input, as [`Scanned::Refill`]: ask again to read it.
    Refill,
}

/// A frame borrowed from the slab it was read into.
///
/// Reading it costs nothing; [`Frame::to_bytes`] makes an owned,
/// zero-copy `Bytes` slice for a frame that must outlive the next call to
/// the reader (one reference count, no copy).
#[derive(Clone, Copy, Debug)]
pub struct Frame<'a> {
    bytes: &'a [u8],
    offset: u64,
    slab: &'a Bytes,
}

impl<'a> Frame<'a> {
    /// The frame's payload.
    #[inline]
    pub fn as_slice(&self) -> &'a [u8] {
        self.bytes
    }

    /// Byte offset of the frame in the input (after any length prefix).
    #[inline]
    pub fn offset(&self) -> u64 {
        self.offset
    }

    /// An owned slice of the slab holding the frame; no bytes are copied.
    #[inline]
    pub fn to_bytes(&self) -> Bytes {
        self.slab.slice_ref(self.bytes)
    }
}

/// Reads input straight into pooled slabs and cuts it into frames.
///
/// Each slab is filled by `read` calls into its own memory, frozen into one
/// `Bytes`, and framed in place. A frame cut by the end of a slab is copied
/// (with only the bytes of that frame) to the front of the next slab, and
/// counted in [`FramingStats::spanning_copies`]; no other byte is copied.
/// The reader drops its hold on a slab before renting the next, so even a
/// pool of one slab works when frames do not outlive the next read.
///
/// # Frames larger than a slab
///
/// A partial frame that fills a whole slab goes on in a grown buffer
/// outside the pool, doubled each time the frame fills it, up to the
/// framer's limit ([`Framer::max_carry`]); past the limit the frame is a
/// bad frame at its first byte, as any oversize frame, and reading goes on
/// after it. The reader keeps one grown buffer for the next long frame and
/// lets it go at end of input, so the memory it holds outside the pool is
/// bounded by the limit, not by the input. Such frames are counted in
/// [`FramingStats::outgrown_frames`] and their copies in
/// [`FramingStats::grown_copied_bytes`]; frames within a slab take the
/// usual path, untouched.
///
/// # When the input fails
///
/// - `Interrupted` reads are retried.
/// - `WouldBlock` hands out the frames already read, then
///   [`Event::WouldBlock`] / [`Scanned::WouldBlock`]: nothing is lost, and
///   the next call reads on from where the input stopped.
/// - Any other error hands out every frame completed before the failing
///   byte first; only when the framer needs bytes past them does the call
///   fail, with a [`ReadError::Io`] whose offset is the first byte not
///   delivered (the start of the partial frame, if any). The error is
///   final: the bytes after it were never read.
/// - [`FrameReader::stats`] are true at every point, errors included.
///
/// # Examples
///
/// ```
/// use flux_memory::{Event, FrameReader, NewlineDelimited, PoolConfig, SlabPool};
///
/// let pool = SlabPool::new("lines", PoolConfig::default().slab_size(64).max_slabs(1));
/// let input = &b"alpha\nbeta\r\ngamma\n"[..];
/// let mut reader = FrameReader::new(input, pool, NewlineDelimited::new(32))?;
/// let mut lines = Vec::new();
/// while let Some(event) = reader.next_event()? {
///     if let Event::Frame(frame) = event {
///         lines.push(frame.as_slice().to_vec());
///     }
/// }
/// assert_eq!(lines, [&b"alpha"[..], b"beta", b"gamma"]);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct FrameReader<R, F> {
    input: R,
    pool: SlabPool,
    framer: F,
    mode: ReadMode,
    window: Bytes,
    pos: usize,
    window_offset: u64,
    carry: Vec<u8>,
    /// Whether the window is a grown buffer, not a slab.
    window_grown: bool,
    /// The grown buffer kept for the next frame that outgrows a slab.
    spare: Spare,
    /// A slab being filled when the input would block: the next refill
    /// goes on into it, so the bytes already in it are not copied again.
    filling: Option<Filling>,
    /// An error met after the last slab got some bytes: raised when the
    /// framer needs bytes past them, so every frame before it is delivered.
    deferred: Option<io::Error>,
    /// Whether a frame of the window has been handed out since the last
    /// refill, so that the next refill is announced first (`Refill`).
    window_handed: bool,
    eof: bool,
    finished: bool,
    stats: FramingStats,
    published: Option<FramingStatsHandle>,
}

/// A slab (or grown buffer) that is being filled, where it starts in the
/// input, and how many of its bytes were carried over from the one before.
struct Filling {
    buffer: Buffer,
    offset: u64,
    carried: usize,
    /// Bytes the framer has already been asked about ([`Framer::may_frame`]).
    checked: usize,
}

impl<R: Read, F: Framer> FrameReader<R, F> {
    /// A reader of `input` into slabs from `pool`, framed by `framer`.
    ///
    /// # Errors
    ///
    /// The framer has no limit (its [`Framer::max_carry`] is `usize::MAX`,
    /// as for a limit of `usize::MAX`): a frame could then hold memory
    /// bounded only by the input.
    pub fn new(input: R, pool: SlabPool, framer: F) -> Result<Self, CarryTooLarge> {
        let (max_carry, slab_size) = (framer.max_carry(), pool.slab_size());
        if max_carry == usize::MAX {
            return Err(CarryTooLarge { max_carry, slab_size });
        }
        Ok(FrameReader {
            input,
            pool,
            framer,
            mode: ReadMode::Fill,
            window: Bytes::new(),
            pos: 0,
            window_offset: 0,
            carry: Vec::new(),
            window_grown: false,
            spare: Spare::default(),
            filling: None,
            deferred: None,
            window_handed: false,
            eof: false,
            finished: false,
            stats: FramingStats::default(),
            published: None,
        })
    }

    /// Sets how each slab is filled.
    #[must_use]
    pub fn read_mode(mut self, mode: ReadMode) -> Self {
        self.mode = mode;
        self
    }

    /// Publishes the counts to `handle` after each slab and at end of input.
    #[must_use]
    pub fn publish_to(mut self, handle: FramingStatsHandle) -> Self {
        self.published = Some(handle);
        self
    }

    /// The byte offset in the input of the first byte not yet handed out
    /// (as a frame or a bad frame): where reading would resume.
    pub fn offset(&self) -> u64 {
        self.window_offset + self.pos as u64
    }

    /// The counts so far.
    pub fn stats(&self) -> FramingStats {
        FramingStats { skipped_bytes: self.framer.skipped_bytes(), ..self.stats }
    }

    /// The next frame or bad frame, [`Event::WouldBlock`], or
    /// [`Event::Refill`] before the reader reads on past a window that gave
    /// frames; `None` at end of input, when every slab the reader held has
    /// gone back to its pool.
    ///
    /// # Errors
    ///
    /// The input could not be read, or no slab could be rented.
    #[inline]
    pub fn next_event(&mut self) -> Result<Option<Event<'_>>, ReadError> {
        loop {
            match self.framer.next_frame(&self.window, &mut self.pos) {
                Framed::NeedMore if !self.eof => {
                    if self.announce_refill() {
                        return Ok(Some(Event::Refill));
                    }
                    if let Refilled::WouldBlock = self.refill()? {
                        return Ok(Some(Event::WouldBlock));
                    }
                }
                found => return Ok(self.settle(found)),
            }
        }
    }

    /// Hands up to `limit` frames to `each` in one tight loop, and says
    /// what stopped it.
    ///
    /// This is the fast path: no event is built per frame, and a framer
    /// that overrides [`Framer::scan`] reads a whole window in one loop.
    /// After [`Scanned::Bad`], call it again to go on with the frames after
    /// the bad one.
    ///
    /// # Errors
    ///
    /// The input could not be read, or no slab could be rented.
    ///
    /// # Examples
    ///
    /// ```
    /// use flux_memory::{FrameReader, NewlineDelimited, PoolConfig, Scanned, SlabPool};
    ///
    /// let pool = SlabPool::new("lines", PoolConfig::default().slab_size(64));
    /// let input = &b"a\nbb\nthis one is too long\nccc\n"[..];
    /// let mut reader = FrameReader::new(input, pool, NewlineDelimited::new(8))?;
    /// let mut lengths = Vec::new();
    /// let mut bad = Vec::new();
    /// loop {
    ///     match reader.scan(usize::MAX, |frame| lengths.push(frame.as_slice().len()))? {
    ///         Scanned::Bad(error) => bad.push(error.offset()),
    ///         Scanned::Limit | Scanned::Refill | Scanned::WouldBlock => {}
    ///         Scanned::End => break,
    ///     }
    /// }
    /// assert_eq!(lengths, [1, 2, 3]);
    /// assert_eq!(bad, [5]);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    #[inline]
    pub fn scan(&mut self, limit: usize, mut each: impl FnMut(Frame<'_>)) -> Result<Scanned, ReadError> {
        let mut handed = 0usize;
        loop {
            if handed >= limit {
                return Ok(Scanned::Limit);
            }
            let window = &self.window;
            let offset = self.window_offset;
            // Frames go out in runs, each counting its references apart
            // from the slab's (see `run`), so that a consumer on another
            // core does not fight the reader over one count per frame.
            let mut run = Run::new(window);
            let mut in_run = 0usize;
            let mut hand = |range: core::ops::Range<usize>| {
                if in_run == FRAMES_PER_RUN {
                    run = Run::new(window);
                    in_run = 0;
                }
                in_run += 1;
                let start = range.start as u64;
                each(Frame { bytes: &window[range], offset: offset + start, slab: &run.0 });
            };
            let mut in_scan = 0usize;
            // The framer hands out `limit - handed - 1` frames at most and
            // returns the one after; that one is handed here.
            let found = self.framer.scan(window, &mut self.pos, limit - handed - 1, &mut |range| {
                in_scan += 1;
                hand(range);
            });
            handed += in_scan;
            self.window_handed |= in_scan > 0;
            self.stats.frames += in_scan as u64;
            let found = match found {
                Framed::NeedMore if self.eof && !self.finished => {
                    self.finished = true;
                    self.framer.finish(window, &mut self.pos).unwrap_or(Framed::NeedMore)
                }
                found => found,
            };
            match found {
                Framed::Frame(range) => {
                    hand(range);
                    handed += 1;
                    self.window_handed = true;
                    self.stats.frames += 1;
                }
                Framed::Bad { at, kind } => return Ok(Scanned::Bad(self.bad_frame(at, kind))),
                Framed::NeedMore if !self.eof => {
                    // The run holds the slab too: it lets go first, so
                    // that a pool of one slab can lend the next.
                    drop(run);
                    if self.announce_refill() {
                        return Ok(Scanned::Refill);
                    }
                    if let Refilled::WouldBlock = self.refill()? {
                        return Ok(Scanned::WouldBlock);
                    }
                }
                Framed::NeedMore if !self.finished => {}
                Framed::NeedMore => {
                    drop(run);
                    self.end();
                    return Ok(Scanned::End);
                }
            }
        }
    }

    /// Turns what the framer found (with no more input to read when it
    /// needs more) into an event; `None` at end of input.
    #[inline]
    fn settle(&mut self, found: Framed) -> Option<Event<'_>> {
        let last = match found {
            Framed::NeedMore if !self.finished => {
                self.finished = true;
                self.framer.finish(&self.window, &mut self.pos)
            }
            Framed::NeedMore => None,
            other => Some(other),
        };
        match last {
            Some(Framed::Frame(range)) => Some(self.frame(range)),
            Some(Framed::Bad { at, kind }) => Some(self.bad(at, kind)),
            Some(Framed::NeedMore) | None => {
                self.end();
                None
            }
        }
    }

    /// Whether the next refill must be announced first: a frame of the
    /// window went out since the last refill. Announced once: a slab the
    /// refill then parks half-filled (the input would block) is rented
    /// after the announcement, and the next refill goes on into it.
    #[inline]
    fn announce_refill(&mut self) -> bool {
        core::mem::take(&mut self.window_handed)
    }

    #[inline]
    fn frame(&mut self, range: core::ops::Range<usize>) -> Event<'_> {
        self.stats.frames += 1;
        self.window_handed = true;
        let offset = self.window_offset + range.start as u64;
        Event::Frame(Frame { bytes: &self.window[range], offset, slab: &self.window })
    }

    fn bad(&mut self, at: usize, kind: crate::FrameErrorKind) -> Event<'_> {
        Event::Bad(self.bad_frame(at, kind))
    }

    fn bad_frame(&mut self, at: usize, kind: crate::FrameErrorKind) -> FrameError {
        self.stats.bad_frames += 1;
        FrameError::new(self.window_offset + at as u64, kind)
    }

    /// End of input: lets go of the last slab and the spare grown buffer.
    fn end(&mut self) {
        self.window = Bytes::new();
        self.spare.release();
        self.publish();
    }

    fn publish(&self) {
        if let Some(handle) = &self.published {
            handle.publish(self.stats());
        }
    }
}

impl<R, F: fmt::Debug> fmt::Debug for FrameReader<R, F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FrameReader")
            .field("framer", &self.framer)
            .field("pool", &self.pool)
            .field("offset", &(self.window_offset + self.pos as u64))
            .field("stats", &self.stats)
            .finish_non_exhaustive()
    }
}
