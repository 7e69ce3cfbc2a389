//! A sink that writes frames into any `std::io::Write`.

use core::fmt;
use core::time::Duration;
use std::error::Error;
use std::io::{self, Write};

use flux_core::{Context, Envelope, Instant, Sink, WriteError};

/// How each frame is marked in the output.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Delimit {
    /// Each frame followed by `\n` (default).
    #[default]
    Newline,
    /// Each frame preceded by its length as a `u32`, big-endian.
    LengthPrefix,
    /// Frames written back to back.
    None,
}

/// When a [`WriteSink`] hands its buffer to the writer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FlushPolicy {
    /// Flush once this many bytes are buffered (default 64 KiB).
    pub bytes: usize,
    /// Flush at the first write this long (engine time) after the last
    /// flush; `None` flushes on size and at close only (default).
    pub interval: Option<Duration>,
}

impl Default for FlushPolicy {
    fn default() -> Self {
        FlushPolicy { bytes: 64 * 1024, interval: None }
    }
}

/// What a [`WriteSink`] has done.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SinkStats {
    /// Frames written (into the buffer or straight through).
    pub frames: u64,
    /// Bytes handed to the writer, delimiters included.
    pub bytes: u64,
    /// Flushes of the buffer.
    pub flushes: u64,
}

/// A flush failed; the frames buffered since the last flush are lost.
#[derive(Debug)]
pub struct FlushFailed {
    /// How many frames the failed flush carried.
    pub frames_lost: u64,
    source: io::Error,
}

impl fmt::Display for FlushFailed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "flushing {} buffered frames failed", self.frames_lost)
    }
}

impl Error for FlushFailed {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        Some(&self.source)
    }
}

/// Writes each frame, delimited, into a writer, through one reused buffer.
///
/// Frames are copied once, into the buffer, which is written out when it
/// reaches [`FlushPolicy::bytes`], when [`FlushPolicy::interval`] of engine
/// time has passed since the last flush (checked at each write: the kernel's
/// `Sink` has no timer of its own), and at close. A frame as large as the
/// buffer skips it and is written straight through. The buffer is allocated
/// once, so the steady state allocates nothing.
///
/// If a flush fails, the envelope being written becomes a dead letter whose
/// cause ([`FlushFailed`]) says how many buffered frames were lost with it.
///
/// # Examples
///
/// ```
/// use bytes::Bytes;
/// use flux_core::{Context, Envelope, Instant, Sink};
/// use flux_memory::WriteSink;
/// # struct Nothing;
/// # impl flux_core::Diversions for Nothing {
/// #     fn dead_letter(&mut self, _: flux_core::ErrorEnvelope) {}
/// #     fn side_output(&mut self, _: flux_core::SideEnvelope) {}
/// #     fn fail(&mut self, _: flux_core::StageError) {}
/// # }
/// # let mut nothing = Nothing;
/// # let mut cx = Context::new(Instant::ZERO, &mut nothing);
///
/// let mut sink = WriteSink::new(Vec::new());
/// sink.write(Envelope::new(Bytes::from_static(b"a")), &mut cx).unwrap();
/// sink.write(Envelope::new(Bytes::from_static(b"b")), &mut cx).unwrap();
/// Sink::<Bytes>::close(&mut sink, &mut cx).unwrap();
/// assert_eq!(sink.get_ref(), b"a\nb\n");
/// ```
#[derive(Debug)]
pub struct WriteSink<W> {
    out: W,
    buffer: Vec<u8>,
    buffered_frames: u64,
    delimit: Delimit,
    policy: FlushPolicy,
    last_flush: Option<Instant>,
    stats: SinkStats,
}

impl<W: Write> WriteSink<W> {
    /// A sink into `out`, newline-delimited, with the default flush policy.
    pub fn new(out: W) -> Self {
        Self::with_policy(out, Delimit::Newline, FlushPolicy::default())
    }

    /// A sink into `out` with the given delimiting and flush policy.
    pub fn with_policy(out: W, delimit: Delimit, policy: FlushPolicy) -> Self {
        let capacity = policy.bytes.max(1);
        WriteSink {
            out,
            buffer: Vec::with_capacity(capacity),
            buffered_frames: 0,
            delimit,
            policy: FlushPolicy { bytes: capacity, ..policy },
            last_flush: None,
            stats: SinkStats::default(),
        }
    }

    /// What the sink has done so far.
    pub fn stats(&self) -> SinkStats {
        self.stats
    }

    /// The writer.
    pub fn get_ref(&self) -> &W {
        &self.out
    }

    /// The writer, mutably (writing to it directly bypasses the buffer).
    pub fn get_mut(&mut self) -> &mut W {
        &mut self.out
    }

    /// The writer; anything still buffered is dropped, so close first.
    pub fn into_inner(self) -> W {
        self.out
    }

    fn put(&mut self, frame: &[u8]) -> io::Result<()> {
        let framed = frame.len() + self.delimiter_len();
        if self.buffer.len() + framed > self.policy.bytes {
            self.flush_buffer()?;
        }
        if framed >= self.policy.bytes {
            // Too large to be worth buffering: straight through, no copy.
            self.write_delimited(frame, true)?;
        } else {
            self.write_delimited(frame, false)?;
            self.buffered_frames += 1;
        }
        self.stats.frames += 1;
        self.stats.bytes += framed as u64;
        Ok(())
    }

    fn delimiter_len(&self) -> usize {
        match self.delimit {
            Delimit::Newline => 1,
            Delimit::LengthPrefix => 4,
            Delimit::None => 0,
        }
    }

    fn write_delimited(&mut self, frame: &[u8], direct: bool) -> io::Result<()> {
        let prefix = u32::try_from(frame.len()).unwrap_or(u32::MAX).to_be_bytes();
        let (before, after): (&[u8], &[u8]) = match self.delimit {
            Delimit::Newline => (&[], b"\n"),
            Delimit::LengthPrefix => (&prefix, &[]),
            Delimit::None => (&[], &[]),
        };
        if direct {
            self.out.write_all(before)?;
            self.out.write_all(frame)?;
            self.out.write_all(after)
        } else {
            self.buffer.extend_from_slice(before);
            self.buffer.extend_from_slice(frame);
            self.buffer.extend_from_slice(after);
            Ok(())
        }
    }

    fn flush_buffer(&mut self) -> io::Result<()> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        let result = self.out.write_all(&self.buffer).and_then(|()| self.out.flush());
        self.buffer.clear();
        self.buffered_frames = 0;
        self.stats.flushes += 1;
        result
    }

    fn flush_failed(&mut self, source: io::Error) -> FlushFailed {
        FlushFailed { frames_lost: core::mem::take(&mut self.buffered_frames), source }
    }
}

impl<W: Write + Send, T: AsRef<[u8]>> Sink<T> for WriteSink<W> {
    fn write(&mut self, item: Envelope<T>, cx: &mut Context<'_>) -> Result<(), WriteError> {
        let now = cx.now();
        let last = *self.last_flush.get_or_insert(now);
        let lost_before = self.buffered_frames;
        let mut result = self.put(item.payload().as_ref());
        let due = self.policy.interval.is_some_and(|every| now.saturating_since(last) >= every);
        if result.is_ok() && (due || self.buffer.len() >= self.policy.bytes) {
            result = self.flush_buffer();
        }
        if self.buffer.is_empty() {
            self.last_flush = Some(now);
        }
        result.map_err(|source| {
            let failed = FlushFailed { frames_lost: lost_before, source };
            let (_, meta, _) = item.into_parts();
            WriteError { meta, cause: Box::new(failed) }
        })
    }

    fn close(&mut self, _cx: &mut Context<'_>) -> Result<(), Box<dyn Error + Send + Sync>> {
        let buffered = self.buffered_frames;
        self.flush_buffer().map_err(|source| {
            let failed = FlushFailed { frames_lost: buffered, source };
            Box::new(failed) as Box<dyn Error + Send + Sync>
        })?;
        self.out.flush().map_err(|e| Box::new(self.flush_failed(e)) as Box<dyn Error + Send + Sync>)
    }
}
