//! The buffering and flush rules every frame sink shares, whatever drives
//! its writer.

use std::io;

use flux_core::{Envelope, Instant, WriteError};

use super::{Delimit, FlushFailed, FlushPolicy, SinkStats};

/// A writer as a frame buffer sees it: each call returns when the bytes are
/// written (or have failed), however the writer gets there.
pub(super) trait Output {
    /// Writes all of `bytes`.
    fn write_all(&mut self, bytes: &[u8]) -> io::Result<()>;

    /// Flushes the writer.
    fn flush(&mut self) -> io::Result<()>;
}

impl<W: io::Write> Output for W {
    fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        io::Write::write_all(self, bytes)
    }

    fn flush(&mut self) -> io::Result<()> {
        io::Write::flush(self)
    }
}

/// Frames, delimited, in one buffer allocated once, written out when it
/// reaches [`FlushPolicy::bytes`], when [`FlushPolicy::interval`] of
/// engine time has passed since the last flush (checked at each write),
/// and at close; a frame as large as the buffer goes straight through.
#[derive(Debug)]
pub(super) struct FrameBuffer {
    buffer: Vec<u8>,
    buffered_frames: u64,
    delimit: Delimit,
    policy: FlushPolicy,
    last_flush: Option<Instant>,
    stats: SinkStats,
}

impl FrameBuffer {
    pub(super) fn new(delimit: Delimit, policy: FlushPolicy) -> Self {
        let capacity = policy.bytes.max(1);
        FrameBuffer {
            buffer: Vec::with_capacity(capacity),
            buffered_frames: 0,
            delimit,
            policy: FlushPolicy { bytes: capacity, ..policy },
            last_flush: None,
            stats: SinkStats::default(),
        }
    }

    pub(super) fn stats(&self) -> SinkStats {
        self.stats
    }

    /// Writes one envelope's frame at engine time `now`, flushing by the
    /// policy; a failure hands the envelope back as a dead letter whose
    /// cause says how many buffered frames were lost with it.
    pub(super) fn write<T: AsRef<[u8]>>(
        &mut self,
        out: &mut impl Output,
        item: Envelope<T>,
        now: Instant,
    ) -> Result<(), WriteError> {
        let last = *self.last_flush.get_or_insert(now);
        let lost_before = self.buffered_frames;
        let mut result = self.put(out, item.payload().as_ref());
        let due = self.policy.interval.is_some_and(|every| now.saturating_since(last) >= every);
        if result.is_ok() && (due || self.buffer.len() >= self.policy.bytes) {
            result = self.flush_buffer(out);
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

    /// Flushes what is buffered, then the writer.
    pub(super) fn close(&mut self, out: &mut impl Output) -> Result<(), FlushFailed> {
        let frames_lost = self.buffered_frames;
        self.flush_buffer(out).map_err(|source| FlushFailed { frames_lost, source })?;
        out.flush().map_err(|source| FlushFailed { frames_lost: 0, source })
    }

    fn put(&mut self, out: &mut impl Output, frame: &[u8]) -> io::Result<()> {
        let framed = frame.len() + self.delimiter_len();
        if self.buffer.len() + framed > self.policy.bytes {
            self.flush_buffer(out)?;
        }
        let prefix = u32::try_from(frame.len()).unwrap_or(u32::MAX).to_be_bytes();
        let (before, after): (&[u8], &[u8]) = match self.delimit {
            Delimit::Newline => (&[], b"\n"),
            Delimit::LengthPrefix => (&prefix, &[]),
            Delimit::None => (&[], &[]),
        };
        if framed >= self.policy.bytes {
            // Too large to be worth buffering: straight through, no copy.
            for part in [before, frame, after] {
                if !part.is_empty() {
                    out.write_all(part)?;
                }
            }
        } else {
            self.buffer.extend_from_slice(before);
            self.buffer.extend_from_slice(frame);
            self.buffer.extend_from_slice(after);
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

    fn flush_buffer(&mut self, out: &mut impl Output) -> io::Result<()> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        let result = out.write_all(&self.buffer).and_then(|()| out.flush());
        self.buffer.clear();
        self.buffered_frames = 0;
        self.stats.flushes += 1;
        result
    }
}
