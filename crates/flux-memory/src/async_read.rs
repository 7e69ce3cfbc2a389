//! Framing any `tokio::io::AsyncRead`: the same framers, slabs and
//! offsets as a `Read`, with the engine's waker in place of a retry timer.

use std::io::{self, Read};
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context as TaskContext, Poll, Waker};

use tokio::io::{AsyncRead, ReadBuf};

/// The waker of the step a source is pulled in, shared with its reader.
#[derive(Clone, Debug)]
pub(crate) struct WakerSlot(Arc<Mutex<Waker>>);

impl WakerSlot {
    fn new() -> Self {
        WakerSlot(Arc::new(Mutex::new(Waker::noop().clone())))
    }

    /// Takes the step's waker, unless it is the one already held.
    pub(crate) fn set(&self, waker: &Waker) {
        let mut held = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if !held.will_wake(waker) {
            held.clone_from(waker);
        }
    }

    fn get(&self) -> Waker {
        self.0.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }
}

/// An `AsyncRead` as a `Read`: a read polls it with the step's waker, and
/// `Pending` is `WouldBlock`, which the framed source turns into
/// `Pull::Pending`: the engine asks again once the reader wakes it.
#[derive(Debug)]
pub struct PollRead<R> {
    inner: R,
    waker: WakerSlot,
}

impl<R> PollRead<R> {
    /// Wraps `inner`, with the slot its source fills before each read.
    pub(crate) fn new(inner: R) -> (Self, WakerSlot) {
        let waker = WakerSlot::new();
        (PollRead { inner, waker: waker.clone() }, waker)
    }

    /// The reader inside.
    pub fn get_ref(&self) -> &R {
        &self.inner
    }
}

impl<R: AsyncRead + Unpin> Read for PollRead<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let waker = self.waker.get();
        let mut task = TaskContext::from_waker(&waker);
        let mut filled = ReadBuf::new(buf);
        match Pin::new(&mut self.inner).poll_read(&mut task, &mut filled) {
            Poll::Ready(Ok(())) => Ok(filled.filled().len()),
            Poll::Ready(Err(error)) => Err(error),
            Poll::Pending => Err(io::ErrorKind::WouldBlock.into()),
        }
    }
}
