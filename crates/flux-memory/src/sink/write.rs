//! A sink that writes frames into any `std::io::Write`.

use std::error::Error;
use std::io::Write;

use flux_core::{Context, Envelope, Sink, Undelivered, WriteError};

use super::buffer::FrameBuffer;
use super::{Delimit, FlushPolicy, OnWriteError, SinkStats};

/// Writes each frame, delimited, into a writer, through one reused buffer.
///
/// Frames are copied once, into the buffer, which is written out when it
/// reaches [`FlushPolicy::bytes`], when [`FlushPolicy::interval`] of engine
/// time has passed since the last flush (checked at each write: the kernel's
/// `Sink` has no timer of its own), and at close. A frame as large as the
/// buffer skips it and is written straight through. The buffer is allocated
/// once, so the steady state allocates nothing.
///
/// # When the writer fails
///
/// A frame counts as written only once all its bytes are out and the
/// writer has flushed them. `Interrupted` is retried, and `WouldBlock`
/// retried a bounded number of times. Then:
///
/// - every frame a failure loses becomes a dead letter with its own
///   sequence and output offset ([`FrameLost`](crate::FrameLost)): never a
///   count inside another's error;
/// - a frame cut by a short write keeps its rest, which is written before
///   anything else, so the output never holds two records fused; if it
///   still cannot be written at close, its dead letter says it is torn and
///   where it starts;
/// - [`OnWriteError`] decides whether the run stops (by default, on a
///   persistent error such as a full disk or a broken pipe) or the sink
///   goes on; a stopped sink refuses every later frame as a dead letter.
///
/// Dropped without being closed (outside an engine, which always closes
/// it), the sink writes what it holds; what it cannot write it names on
/// standard error, since nothing else would know.
///
/// For a tokio `AsyncWrite`, `AsyncWriteSink` (feature `tokio`) does the
/// same with the same code.
///
/// # Examples
///
/// ```
/// use bytes::Bytes;
/// use flux_core::{Context, Envelope, Instant, Sink};
/// use flux_memory::WriteSink;
/// # let mut nothing = flux_test::Diverted::default();
/// # let mut cx = Context::new(Instant::ZERO, &mut nothing);
///
/// let mut sink = WriteSink::new(Vec::new());
/// sink.write(Envelope::new(Bytes::from_static(b"a")), &mut cx).unwrap();
/// sink.write(Envelope::new(Bytes::from_static(b"b")), &mut cx).unwrap();
/// Sink::<Bytes>::close(&mut sink, &mut cx).unwrap();
/// assert_eq!(sink.get_ref(), b"a\nb\n");
/// ```
#[derive(Debug)]
pub struct WriteSink<W: Write> {
    /// Always `Some`, but for `into_inner`, which takes it (a type with a
    /// `Drop` cannot be taken apart otherwise).
    out: Option<W>,
    buffer: FrameBuffer,
}

impl<W: Write> WriteSink<W> {
    /// A sink into `out`, newline-delimited, with the default flush policy.
    pub fn new(out: W) -> Self {
        Self::with_policy(out, Delimit::Newline, FlushPolicy::default())
    }

    /// A sink into `out` with the given delimiting and flush policy.
    pub fn with_policy(out: W, delimit: Delimit, policy: FlushPolicy) -> Self {
        WriteSink { out: Some(out), buffer: FrameBuffer::new(delimit, policy, OnWriteError::default()) }
    }

    /// Sets what a failure of the writer does.
    #[must_use]
    pub fn on_error(mut self, on_error: OnWriteError) -> Self {
        self.buffer.set_on_error(on_error);
        self
    }

    /// What the sink has done so far.
    pub fn stats(&self) -> SinkStats {
        self.buffer.stats()
    }

    /// The writer.
    pub fn get_ref(&self) -> &W {
        self.out.as_ref().expect("only into_inner takes the writer")
    }

    /// The writer, mutably (writing to it directly bypasses the buffer).
    pub fn get_mut(&mut self) -> &mut W {
        self.out.as_mut().expect("only into_inner takes the writer")
    }

    /// The writer, after writing what the sink holds.
    ///
    /// # Errors
    ///
    /// Some frames could not be written: the error hands them back, with
    /// the writer.
    pub fn into_inner(mut self) -> Result<W, (W, Vec<Undelivered>)> {
        let mut out = self.out.take().expect("only into_inner takes the writer");
        self.buffer.close(&mut out);
        let mut lost = Vec::new();
        self.buffer.take_undelivered(&mut lost);
        if lost.is_empty() { Ok(out) } else { Err((out, lost)) }
    }
}

impl<W: Write + Send, T: AsRef<[u8]>> Sink<T> for WriteSink<W> {
    fn write(&mut self, item: Envelope<T>, cx: &mut Context<'_>) -> Result<(), WriteError> {
        let out = self.out.as_mut().expect("only into_inner takes the writer");
        self.buffer.write(out, item, cx.now())
    }

    fn close(&mut self, _cx: &mut Context<'_>) -> Result<(), Box<dyn Error + Send + Sync>> {
        let out = self.out.as_mut().expect("only into_inner takes the writer");
        self.buffer.close(out);
        Ok(())
    }

    fn take_undelivered(&mut self, into: &mut Vec<Undelivered>) {
        self.buffer.take_undelivered(into);
    }

    fn has_news(&self) -> bool {
        self.buffer.has_news()
    }

    fn take_stop(&mut self) -> Option<Box<dyn Error + Send + Sync>> {
        self.buffer.take_stop().map(|stop| Box::new(stop) as _)
    }

    fn held(&self) -> u64 {
        self.buffer.held()
    }
}

impl<W: Write> Drop for WriteSink<W> {
    /// Writes what the sink still holds; names on standard error what it
    /// could not, since nothing else will.
    fn drop(&mut self) {
        if let Some(out) = &mut self.out {
            self.buffer.drop_loudly(out, "WriteSink");
        }
    }
}
