//! A sink that writes frames into any `std::io::Write`.

use std::error::Error;
use std::io::Write;

use flux_core::{Context, Envelope, Sink, WriteError};

use super::buffer::FrameBuffer;
use super::{Delimit, FlushPolicy, SinkStats};

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
/// cause ([`FlushFailed`](crate::FlushFailed)) says how many buffered
/// frames were lost with it.
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
/// # let mut nothing = flux_core::Diverted::default();
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
    buffer: FrameBuffer,
}

impl<W: Write> WriteSink<W> {
    /// A sink into `out`, newline-delimited, with the default flush policy.
    pub fn new(out: W) -> Self {
        Self::with_policy(out, Delimit::Newline, FlushPolicy::default())
    }

    /// A sink into `out` with the given delimiting and flush policy.
    pub fn with_policy(out: W, delimit: Delimit, policy: FlushPolicy) -> Self {
        WriteSink { out, buffer: FrameBuffer::new(delimit, policy) }
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
}

impl<W: Write + Send, T: AsRef<[u8]>> Sink<T> for WriteSink<W> {
    fn write(&mut self, item: Envelope<T>, cx: &mut Context<'_>) -> Result<(), WriteError> {
        self.buffer.write(&mut self.out, item, cx.now())
    }

    fn close(&mut self, _cx: &mut Context<'_>) -> Result<(), Box<dyn Error + Send + Sync>> {
        Ok(self.buffer.close(&mut self.out)?)
    }
}
