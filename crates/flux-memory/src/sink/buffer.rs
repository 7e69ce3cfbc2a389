//! The buffering, flush and failure rules every frame sink shares,
//! whatever drives its writer.

use std::collections::VecDeque;
use std::io;
use std::sync::Arc;

use flux_core::{Envelope, Instant, Meta, Undelivered, WriteError};

use super::error::{FrameLost, Loss, WriterFailed};
use super::{Delimit, FlushPolicy, OnWriteError, SinkStats};

/// How many `WouldBlock`s in a row a write retries (yielding the thread
/// between them) before it counts as a failure: a blocking sink over a
/// writer that is not ready waits a little, never forever.
const WOULD_BLOCK_RETRIES: u32 = 1024;

/// A writer as a frame buffer sees it.
pub(super) trait Output {
    /// Writes some of `bytes`; returns how many.
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize>;

    /// Flushes the writer.
    fn flush(&mut self) -> io::Result<()>;
}

impl<W: io::Write> Output for W {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        io::Write::write(self, bytes)
    }

    fn flush(&mut self) -> io::Result<()> {
        io::Write::flush(self)
    }
}

/// A frame in the buffer: its envelope's metadata, where its remaining
/// bytes end in the buffer, and its whole length.
#[derive(Debug)]
struct Buffered {
    meta: Meta,
    end: usize,
    len: usize,
}

/// Frames, delimited, in one buffer allocated once, written out when it
/// reaches [`FlushPolicy::bytes`], when [`FlushPolicy::interval`] of
/// engine time has passed since the last flush (checked at each write),
/// and at close; a frame as large as the buffer goes straight through.
///
/// Each buffered frame keeps its envelope's metadata until its last byte
/// is out, so a failed write knows exactly which frames it lost. Frames
/// not begun are handed back as [`Undelivered`]. A frame cut in the middle
/// (a short write, then an error) keeps its remaining bytes at the front of
/// the buffer and is written before anything else, so the output never
/// holds two records fused; if its rest cannot be written by close, it is
/// handed back as torn, with its offset.
#[derive(Debug)]
pub(super) struct FrameBuffer {
    /// Bytes not yet in the output, in order.
    buffer: Vec<u8>,
    frames: VecDeque<Buffered>,
    /// Bytes of the first buffered frame already in the output.
    torn: usize,
    /// Bytes put into the output so far.
    written: u64,
    delimit: Delimit,
    policy: FlushPolicy,
    on_error: OnWriteError,
    last_flush: Option<Instant>,
    stats: SinkStats,
    undelivered: Vec<Undelivered>,
    /// Set once a failure stopped the sink: it writes nothing new.
    stopped: Option<Arc<io::Error>>,
    /// The last failure, for what close cannot write.
    last_failure: Option<Arc<io::Error>>,
    /// The stop, until the engine has taken it.
    stop: Option<WriterFailed>,
}

impl FrameBuffer {
    pub(super) fn new(delimit: Delimit, policy: FlushPolicy, on_error: OnWriteError) -> Self {
        let capacity = policy.bytes.max(1);
        FrameBuffer {
            buffer: Vec::with_capacity(capacity),
            frames: VecDeque::new(),
            torn: 0,
            written: 0,
            delimit,
            policy: FlushPolicy { bytes: capacity, ..policy },
            on_error,
            last_flush: None,
            stats: SinkStats::default(),
            undelivered: Vec::new(),
            stopped: None,
            last_failure: None,
            stop: None,
        }
    }

    pub(super) fn stats(&self) -> SinkStats {
        self.stats
    }

    pub(super) fn set_on_error(&mut self, on_error: OnWriteError) {
        self.on_error = on_error;
    }

    /// A sink dropped without a close (outside an engine): writes what is
    /// held, and names on standard error every frame it could not write
    /// and nobody took back, since nothing else would know of them.
    pub(super) fn drop_loudly(&mut self, out: &mut impl Output, sink: &str) {
        if self.frames.is_empty() && self.undelivered.is_empty() {
            return;
        }
        self.close(out);
        if self.undelivered.is_empty() {
            return;
        }
        let sequences: Vec<String> = self.undelivered.iter().take(10).map(|u| u.meta.sequence.to_string()).collect();
        let more = self.undelivered.len().saturating_sub(10);
        let more = if more > 0 { format!(" and {more} more") } else { String::new() };
        #[allow(clippy::print_stderr, reason = "a drop has no caller to return the loss to; silence would lose it")]
        {
            eprintln!(
                "flux: a {sink} was dropped without being closed, and {} frames it had accepted were not written \
                 (sequences {}{more}): {}",
                self.undelivered.len(),
                sequences.join(", "),
                self.undelivered[0].cause,
            );
        }
        self.undelivered.clear();
    }

    /// Frames accepted and not yet written.
    pub(super) fn held(&self) -> u64 {
        self.frames.len() as u64
    }

    pub(super) fn take_undelivered(&mut self, into: &mut Vec<Undelivered>) {
        into.append(&mut self.undelivered);
    }

    /// Whether frames were handed back or the sink stopped, not yet taken.
    pub(super) fn has_news(&self) -> bool {
        !self.undelivered.is_empty() || self.stop.is_some()
    }

    pub(super) fn take_stop(&mut self) -> Option<WriterFailed> {
        self.stop.take()
    }

    /// Writes one envelope's frame at engine time `now`, flushing by the
    /// policy. Only a stopped sink refuses a frame; every other loss comes
    /// back through [`FrameBuffer::take_undelivered`].
    pub(super) fn write<T: AsRef<[u8]>>(
        &mut self,
        out: &mut impl Output,
        item: Envelope<T>,
        now: Instant,
    ) -> Result<(), WriteError> {
        let (payload, meta, _) = item.into_parts();
        let frame = payload.as_ref();
        let framed = frame.len() + self.delimiter_len();
        if self.stopped.is_none() && self.buffer.len() + framed > self.policy.bytes {
            self.flush(out);
        }
        if let Some(cause) = &self.stopped {
            let refused = WriterFailed { offset: self.written, cause: Arc::clone(cause) };
            return Err(WriteError::new(meta, refused));
        }
        let last = *self.last_flush.get_or_insert(now);
        self.stats.frames += 1;
        self.stats.bytes += framed as u64;
        let prefix = u32::try_from(frame.len()).unwrap_or(u32::MAX).to_be_bytes();
        let parts: [&[u8]; 3] = match self.delimit {
            Delimit::Newline => [&[], frame, b"\n"],
            Delimit::LengthPrefix => [&prefix, frame, &[]],
            Delimit::None => [&[], frame, &[]],
        };
        if framed >= self.policy.bytes && self.frames.is_empty() {
            // Too large to be worth buffering: straight through, no copy.
            self.write_through(out, parts, meta, framed);
        } else {
            for part in parts {
                self.buffer.extend_from_slice(part);
            }
            self.frames.push_back(Buffered { meta, end: self.buffer.len(), len: framed });
            let due = self.policy.interval.is_some_and(|every| now.saturating_since(last) >= every);
            if due || self.buffer.len() >= self.policy.bytes {
                self.flush(out);
            }
        }
        if self.frames.is_empty() {
            self.last_flush = Some(now);
        }
        Ok(())
    }

    /// Writes what is held (a torn frame's rest first); what still cannot
    /// be written is handed back.
    pub(super) fn close(&mut self, out: &mut impl Output) {
        if self.stopped.is_none() {
            self.flush(out);
        } else if !self.frames.is_empty() {
            // Frames not begun were handed back when the sink stopped: only
            // a torn frame is left. One last try, so the output can end on
            // a whole record.
            let (done, _) = write_tracked(out, &self.buffer);
            self.settle(done, None);
        }
        if !self.frames.is_empty() {
            let cause = self.last_failure.clone().unwrap_or_else(|| Arc::new(io::ErrorKind::WriteZero.into()));
            self.lose_all(Loss::NotWritten, &cause);
        }
    }

    fn delimiter_len(&self) -> usize {
        match self.delimit {
            Delimit::Newline => 1,
            Delimit::LengthPrefix => 4,
            Delimit::None => 0,
        }
    }

    /// Writes the buffer and flushes the writer, then settles what got out.
    fn flush(&mut self, out: &mut impl Output) {
        if self.frames.is_empty() || self.stopped.is_some() {
            return;
        }
        self.stats.flushes += 1;
        let (done, failure) = write_tracked(out, &self.buffer);
        if let Some(error) = failure {
            return self.settle(done, Some(Arc::new(error)));
        }
        if let Err(error) = out.flush() {
            // Every byte went to the writer, but it could not flush them:
            // their delivery is unknown, so none counts as written.
            let cause = Arc::new(error);
            self.lose_all(Loss::NotFlushed, &cause);
            self.written += done as u64;
            return self.after_failure(cause);
        }
        self.settle(done, None);
    }

    /// A frame as large as the buffer, written from its own bytes; on a
    /// failure it is kept as if it had been buffered.
    fn write_through(&mut self, out: &mut impl Output, parts: [&[u8]; 3], meta: Meta, framed: usize) {
        self.stats.flushes += 1;
        let mut done = 0;
        let mut failure = None;
        for part in parts {
            let (n, error) = write_tracked(out, part);
            done += n;
            if error.is_some() {
                failure = error;
                break;
            }
        }
        if failure.is_none() {
            match out.flush() {
                Ok(()) => {
                    self.written += framed as u64;
                    return;
                }
                Err(error) => {
                    let lost = FrameLost { offset: self.written, kind: Loss::NotFlushed, cause: Arc::new(error) };
                    self.written += framed as u64;
                    let cause = Arc::clone(&lost.cause);
                    self.undelivered.push(lost.into_undelivered(meta));
                    return self.after_failure(cause);
                }
            }
        }
        let mut skip = done;
        for part in parts {
            let from = skip.min(part.len());
            self.buffer.extend_from_slice(&part[from..]);
            skip -= from;
        }
        self.frames.push_back(Buffered { meta, end: self.buffer.len(), len: framed });
        self.written += done as u64;
        self.torn = done;
        self.lose_unbegun(failure.map(Arc::new).expect("the write failed"));
    }

    /// After a write of the buffer that put `done` bytes out, failed or
    /// not: frames wholly out are written; after a failure, a frame partly
    /// out keeps its rest at the front, and the frames not begun are lost.
    fn settle(&mut self, done: usize, failure: Option<Arc<io::Error>>) {
        self.written += done as u64;
        let mut out_of_first = self.torn + done;
        while let Some(first) = self.frames.front() {
            if first.end > done {
                break;
            }
            out_of_first = done - first.end;
            self.frames.pop_front();
        }
        self.buffer.drain(..done);
        for frame in &mut self.frames {
            frame.end -= done;
        }
        self.torn = if self.frames.is_empty() { 0 } else { out_of_first };
        if let Some(cause) = failure {
            self.lose_unbegun(cause);
        }
    }

    /// Hands back every buffered frame not begun, then stops or goes on
    /// by policy.
    fn lose_unbegun(&mut self, cause: Arc<io::Error>) {
        let keep = usize::from(self.torn > 0).min(self.frames.len());
        let mut offset = self.written - self.torn as u64;
        for frame in self.frames.iter().take(keep) {
            offset += frame.len as u64;
        }
        for frame in self.frames.split_off(keep) {
            let lost = FrameLost { offset, kind: Loss::NotWritten, cause: Arc::clone(&cause) };
            offset += frame.len as u64;
            self.undelivered.push(lost.into_undelivered(frame.meta));
        }
        self.buffer.truncate(self.frames.front().map_or(0, |first| first.end));
        self.after_failure(cause);
    }

    /// Hands back every buffered frame (a torn one as torn, unless its
    /// bytes all went out and only the flush failed).
    fn lose_all(&mut self, kind: Loss, cause: &Arc<io::Error>) {
        let mut offset = self.written - self.torn as u64;
        for frame in self.frames.drain(..) {
            let kind = match (self.torn, kind) {
                (0, kind) | (_, kind @ Loss::NotFlushed) => kind,
                (written, _) => Loss::Torn { written, of: frame.len },
            };
            self.torn = 0;
            let lost = FrameLost { offset, kind, cause: Arc::clone(cause) };
            offset += frame.len as u64;
            self.undelivered.push(lost.into_undelivered(frame.meta));
        }
        self.buffer.clear();
    }

    /// A failure: the sink stops, or goes on, as the policy says.
    fn after_failure(&mut self, cause: Arc<io::Error>) {
        self.last_failure = Some(Arc::clone(&cause));
        if self.stopped.is_none() && self.on_error.stops_on(cause.kind()) {
            self.stop = Some(WriterFailed { offset: self.written, cause: Arc::clone(&cause) });
            self.stopped = Some(cause);
        }
    }
}

/// Writes `bytes` with as many calls as it takes; returns how many got out
/// and the error that stopped it. `Interrupted` is retried at once,
/// `WouldBlock` a bounded number of times, and a write of zero bytes is
/// `WriteZero`.
fn write_tracked(out: &mut impl Output, bytes: &[u8]) -> (usize, Option<io::Error>) {
    let mut done = 0;
    let mut blocked = 0;
    while done < bytes.len() {
        match out.write(&bytes[done..]) {
            Ok(0) => return (done, Some(io::ErrorKind::WriteZero.into())),
            Ok(n) => {
                done += n;
                blocked = 0;
            }
            Err(error) if error.kind() == io::ErrorKind::Interrupted => {}
            Err(error) if error.kind() == io::ErrorKind::WouldBlock && blocked < WOULD_BLOCK_RETRIES => {
                blocked += 1;
                std::thread::yield_now();
            }
            Err(error) => return (done, Some(error)),
        }
    }
    (done, None)
}
