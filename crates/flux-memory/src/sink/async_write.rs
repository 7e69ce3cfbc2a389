//! A sink that writes frames into any `tokio::io::AsyncWrite`.

use std::error::Error;
use std::io;

use flux_core::{Context, Envelope, Sink, Undelivered, WriteError};
use tokio::io::{AsyncWrite, AsyncWriteExt};

use super::buffer::{FrameBuffer, Output};
use super::in_place::InPlace;
use super::{Delimit, FlushPolicy, OnWriteError, SinkStats};

/// Writes each frame, delimited, into a tokio [`AsyncWrite`], through one
/// reused buffer. Requires the `tokio` feature.
///
/// It buffers, flushes and fails exactly as [`WriteSink`](crate::WriteSink)
/// does (the two share that code): the buffer is written out when it
/// reaches [`FlushPolicy::bytes`], when [`FlushPolicy::interval`] of engine
/// time has passed since the last flush (checked at each write), and at
/// close; a frame as large as the buffer goes straight through; every frame
/// a failure loses is a dead letter of its own
/// ([`FrameLost`](crate::FrameLost)), and [`OnWriteError`] decides whether
/// the run stops.
///
/// # How the writer is driven
///
/// The kernel's `Sink::write` is synchronous, so a flush drives the
/// writer's futures to completion in place: it polls them on the calling
/// thread and parks the thread while they are pending, until the writer's
/// waker unparks it. No runtime is needed for that, so the sink runs on the
/// sync engine today. Between flushes nothing is polled, and a frame costs
/// what it costs in `WriteSink`: one copy into the buffer.
///
/// The writer must be able to make progress while this thread is parked:
/// an in-memory pipe read by another thread, a writer of your own, or a
/// tokio socket or file whose runtime's reactor runs on other threads (a
/// multi-threaded runtime, entered with `Handle::enter` on this thread). A
/// tokio socket on a current-thread runtime driven by this same thread
/// would wait forever.
///
/// The async engine (the next wave) will flush the same buffer with
/// `.await` instead of parking; that needs an asynchronous sink trait in
/// the kernel, which does not exist yet.
///
/// # Examples
///
/// ```
/// use bytes::Bytes;
/// use flux_core::{Context, Envelope, Instant, Sink};
/// use flux_memory::AsyncWriteSink;
/// # let mut nothing = flux_test::Diverted::default();
/// # let mut cx = Context::new(Instant::ZERO, &mut nothing);
///
/// // `Vec<u8>` is a tokio `AsyncWrite` too.
/// let mut sink = AsyncWriteSink::new(Vec::new());
/// sink.write(Envelope::new(Bytes::from_static(b"a")), &mut cx).unwrap();
/// sink.write(Envelope::new(Bytes::from_static(b"b")), &mut cx).unwrap();
/// Sink::<Bytes>::close(&mut sink, &mut cx).unwrap();
/// assert_eq!(sink.get_ref(), b"a\nb\n");
/// ```
#[derive(Debug)]
pub struct AsyncWriteSink<W: AsyncWrite + Unpin> {
    /// Always `Some`, but for `into_inner`, which takes it.
    out: Option<W>,
    buffer: FrameBuffer,
    in_place: InPlace,
}

impl<W: AsyncWrite + Unpin> AsyncWriteSink<W> {
    /// A sink into `out`, newline-delimited, with the default flush policy.
    pub fn new(out: W) -> Self {
        Self::with_policy(out, Delimit::Newline, FlushPolicy::default())
    }

    /// A sink into `out` with the given delimiting and flush policy.
    pub fn with_policy(out: W, delimit: Delimit, policy: FlushPolicy) -> Self {
        let buffer = FrameBuffer::new(delimit, policy, OnWriteError::default());
        AsyncWriteSink { out: Some(out), buffer, in_place: InPlace::default() }
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
        let (buffer, mut out) = self.output();
        buffer.close(&mut out);
        let mut lost = Vec::new();
        self.buffer.take_undelivered(&mut lost);
        let out = self.out.take().expect("only into_inner takes the writer");
        if lost.is_empty() { Ok(out) } else { Err((out, lost)) }
    }

    /// The writer, as the buffer's output: each write runs to completion
    /// before the call returns.
    fn output(&mut self) -> (&mut FrameBuffer, Driven<'_, W>) {
        let out = self.out.as_mut().expect("only into_inner takes the writer");
        (&mut self.buffer, Driven { out, in_place: &mut self.in_place })
    }
}

/// An `AsyncWrite` driven to completion in place.
struct Driven<'a, W> {
    out: &'a mut W,
    in_place: &'a mut InPlace,
}

impl<W: AsyncWrite + Unpin> Output for Driven<'_, W> {
    fn write(&mut self, bytes: &[u8]) -> io::Result<usize> {
        self.in_place.block_on(self.out.write(bytes))
    }

    fn flush(&mut self) -> io::Result<()> {
        self.in_place.block_on(self.out.flush())
    }
}

impl<W: AsyncWrite + Unpin + Send, T: AsRef<[u8]>> Sink<T> for AsyncWriteSink<W> {
    fn write(&mut self, item: Envelope<T>, cx: &mut Context<'_>) -> Result<(), WriteError> {
        let (buffer, mut out) = self.output();
        buffer.write(&mut out, item, cx.now())
    }

    fn close(&mut self, _cx: &mut Context<'_>) -> Result<(), Box<dyn Error + Send + Sync>> {
        let (buffer, mut out) = self.output();
        buffer.close(&mut out);
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

impl<W: AsyncWrite + Unpin> Drop for AsyncWriteSink<W> {
    /// Writes what the sink still holds; names on standard error what it
    /// could not, since nothing else will.
    fn drop(&mut self) {
        if self.out.is_some() {
            let (buffer, mut out) = self.output();
            buffer.drop_loudly(&mut out, "AsyncWriteSink");
        }
    }
}
