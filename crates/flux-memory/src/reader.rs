//! Reading input straight into pooled slabs and cutting it into frames.

use core::fmt;
use std::error::Error;
use std::io::{self, Read};

use bytes::Bytes;
use flux_core::{BufferPool, PoolExhausted};

use crate::{FrameError, Framed, Framer, FramingStats, FramingStatsHandle, SlabPool};

/// How a reader fills each slab.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ReadMode {
    /// Read until the slab is full or the input ends (files; default).
    #[default]
    Fill,
    /// Frame whatever one read returned (pipes and terminals, where waiting
    /// for a full slab would hold back lines that have already arrived).
    Eager,
}

/// What stopped [`FrameReader::scan`].
#[derive(Debug)]
pub enum Scanned {
    /// It handed out as many frames as it was allowed.
    Limit,
    /// A bad frame; the reader has moved past it.
    Bad(FrameError),
    /// The input ended; every slab the reader held is back in its pool.
    End,
}

/// One thing a [`FrameReader`] found.
#[derive(Debug)]
pub enum Event<'a> {
    /// A frame, borrowed from its slab.
    Frame(Frame<'a>),
    /// A bad frame; the reader has moved past it.
    Bad(FrameError),
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

/// A failure reading input into slabs.
#[derive(Debug)]
pub enum ReadError {
    /// Reading the input failed.
    Io {
        /// Byte offset the read started at.
        offset: u64,
        /// The I/O error.
        source: io::Error,
    },
    /// No slab could be rented.
    Exhausted {
        /// Byte offset the next slab would have started at.
        offset: u64,
        /// The pool's error.
        source: PoolExhausted,
    },
}

impl ReadError {
    /// Where in the input it happened.
    pub fn offset(&self) -> u64 {
        match self {
            ReadError::Io { offset, .. } | ReadError::Exhausted { offset, .. } => *offset,
        }
    }
}

impl fmt::Display for ReadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ReadError::Io { offset, .. } => write!(f, "reading input failed at byte {offset}"),
            ReadError::Exhausted { offset, .. } => write!(f, "no slab to read into at byte {offset}"),
        }
    }
}

impl Error for ReadError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match self {
            ReadError::Io { source, .. } => Some(source),
            ReadError::Exhausted { source, .. } => Some(source),
        }
    }
}

/// A framer's carry is as large as a slab, so a partial frame could never
/// be completed in the next one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CarryTooLarge {
    /// The framer's maximum carry in bytes.
    pub max_carry: usize,
    /// The pool's slab size in bytes.
    pub slab_size: usize,
}

impl fmt::Display for CarryTooLarge {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a framer that may carry {} bytes needs slabs larger than {} bytes", self.max_carry, self.slab_size)
    }
}

impl Error for CarryTooLarge {}

/// Reads input straight into pooled slabs and cuts it into frames.
///
/// Each slab is filled by `read` calls into its own memory, frozen into one
/// `Bytes`, and framed in place. A frame cut by the end of a slab is copied
/// (with only the bytes of that frame) to the front of the next slab, and
/// counted in [`FramingStats::spanning_copies`]; no other byte is copied.
/// The reader drops its hold on a slab before renting the next, so even a
/// pool of one slab works when frames do not outlive the next read.
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
    eof: bool,
    finished: bool,
    stats: FramingStats,
    published: Option<FramingStatsHandle>,
}

impl<R: Read, F: Framer> FrameReader<R, F> {
    /// A reader of `input` into slabs from `pool`, framed by `framer`.
    ///
    /// # Errors
    ///
    /// The framer may carry a partial frame as large as a slab.
    pub fn new(input: R, pool: SlabPool, framer: F) -> Result<Self, CarryTooLarge> {
        let (max_carry, slab_size) = (framer.max_carry(), pool.slab_size());
        if max_carry >= slab_size {
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
            carry: Vec::with_capacity(max_carry),
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

    /// The counts so far.
    pub fn stats(&self) -> FramingStats {
        FramingStats { skipped_bytes: self.framer.skipped_bytes(), ..self.stats }
    }

    /// The next frame or bad frame; `None` at end of input, when every slab
    /// the reader held has gone back to its pool.
    ///
    /// # Errors
    ///
    /// The input could not be read, or no slab could be rented.
    #[inline]
    pub fn next_event(&mut self) -> Result<Option<Event<'_>>, ReadError> {
        loop {
            match self.framer.next_frame(&self.window, &mut self.pos) {
                Framed::NeedMore if !self.eof => self.refill()?,
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
    ///         Scanned::Limit => {}
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
            let mut hand = |range: core::ops::Range<usize>| {
                let start = range.start as u64;
                each(Frame { bytes: &window[range], offset: offset + start, slab: window });
            };
            let mut in_scan = 0usize;
            // The framer hands out `limit - handed - 1` frames at most and
            // returns the one after; that one is handed here.
            let found = self.framer.scan(window, &mut self.pos, limit - handed - 1, &mut |range| {
                in_scan += 1;
                hand(range);
            });
            handed += in_scan;
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
                    self.stats.frames += 1;
                }
                Framed::Bad { at, kind } => return Ok(Scanned::Bad(self.bad_frame(at, kind))),
                Framed::NeedMore if !self.eof => self.refill()?,
                Framed::NeedMore if !self.finished => {}
                Framed::NeedMore => {
                    self.window = Bytes::new();
                    self.publish();
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
                // End of input: let go of the last slab.
                self.window = Bytes::new();
                self.publish();
                None
            }
        }
    }

    #[inline]
    fn frame(&mut self, range: core::ops::Range<usize>) -> Event<'_> {
        self.stats.frames += 1;
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

    /// Moves the unconsumed tail to a fresh slab and fills the rest of it.
    fn refill(&mut self) -> Result<(), ReadError> {
        let tail = &self.window[self.pos..];
        let offset = self.window_offset + self.pos as u64;
        self.carry.clear();
        self.carry.extend_from_slice(tail);
        // Let go of the old slab before renting: it may be the pool's last.
        self.window = Bytes::new();
        self.pos = 0;
        let mut slab = self.pool.rent().map_err(|source| ReadError::Exhausted { offset, source })?;
        if !self.carry.is_empty() {
            slab.extend_from_slice(&self.carry);
            self.stats.spanning_copies += 1;
            self.stats.copied_bytes += self.carry.len() as u64;
        }
        while !slab.is_full() {
            let read_at = offset + slab.len() as u64;
            let n = slab.fill_from(&mut self.input).map_err(|source| ReadError::Io { offset: read_at, source })?;
            self.stats.bytes_read += n as u64;
            if n == 0 {
                self.eof = true;
                break;
            }
            if self.mode == ReadMode::Eager {
                break;
            }
        }
        self.stats.slabs += 1;
        self.window = slab.freeze();
        self.window_offset = offset;
        self.framer.new_window();
        self.publish();
        Ok(())
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
