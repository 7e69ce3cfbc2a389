//! A sink that writes frames into any `tokio::io::AsyncWrite`.

use std::error::Error;
use std::io;

use flux_core::{Context, Envelope, Sink, WriteError};
use tokio::io::{AsyncWrite, AsyncWriteExt};

use super::buffer::{FrameBuffer, Output};
use super::in_place::InPlace;
use super::{Delimit, FlushPolicy, SinkStats};

/// Writes each frame, delimited, into a tokio [`AsyncWrite`], through one
/// reused buffer. Requires the `tokio` feature.
///
/// It buffers and flushes exactly as [`WriteSink`](crate::WriteSink) does
/// (the two share that code): the buffer is written out when it reaches
/// [`FlushPolicy::bytes`], when [`FlushPolicy::interval`] of engine time has
/// passed since the last flush (checked at each write), and at close; a
/// frame as large as the buffer goes straight through; a failed flush makes
/// the frame being written a dead letter whose cause
/// ([`FlushFailed`](crate::FlushFailed)) says how many buffered frames were
/// lost with it.
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
/// # let mut nothing = flux_core::Diverted::default();
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
pub struct AsyncWriteSink<W> {
    out: W,
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
        AsyncWriteSink { out, buffer: FrameBuffer::new(delimit, policy), in_place: InPlace::default() }
    }

    /// What the sink has done so far.
    pub fn stats(&self) -> SinkStats {
        self.buffer.stats()
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

    /// The writer, as the buffer's output: each write runs to completion
    /// before the call returns.
    fn output(&mut self) -> (&mut FrameBuffer, Driven<'_, W>) {
        (&mut self.buffer, Driven { out: &mut self.out, in_place: &mut self.in_place })
    }
}

/// An `AsyncWrite` driven to completion in place.
struct Driven<'a, W> {
    out: &'a mut W,
    in_place: &'a mut InPlace,
}

impl<W: AsyncWrite + Unpin> Output for Driven<'_, W> {
    fn write_all(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.in_place.block_on(self.out.write_all(bytes))
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
        Ok(buffer.close(&mut out)?)
    }
}
