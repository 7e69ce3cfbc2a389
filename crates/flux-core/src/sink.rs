//! Where envelopes end.

use std::error::Error;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use crate::{Context, Envelope, Meta};

/// A failed write: the envelope's metadata, so the dead letter keeps its
/// correlation, and the cause.
#[derive(Debug)]
pub struct WriteError {
    /// The metadata of the envelope that could not be written.
    pub meta: Meta,
    /// Why it could not be written.
    pub cause: Box<dyn Error + Send + Sync>,
}

/// Consumes the envelopes that leave a pipeline.
///
/// # Contract
///
/// - A `write` error fails only that envelope: the engine sends it to the
///   dead-letter output, naming the sink and the envelope's sequence.
/// - `close` is called once at end of input; its error stops the run.
///
/// # Examples
///
/// ```
/// use flux_core::{Context, Envelope, Sink, WriteError};
///
/// #[derive(Default)]
/// struct Sum(u64);
///
/// impl Sink<u64> for Sum {
///     fn write(&mut self, item: Envelope<u64>, _cx: &mut Context<'_>) -> Result<(), WriteError> {
///         self.0 += item.payload();
///         Ok(())
///     }
/// }
///
/// let pipeline = flux_core::Pipeline::from_source(flux_core::IterSource::new(1..=4u64)).sink(Sum::default());
/// # let _ = pipeline;
/// ```
pub trait Sink<T>: Send {
    /// Writes one envelope.
    ///
    /// # Errors
    ///
    /// The envelope could not be written; it becomes a dead letter.
    fn write(&mut self, item: Envelope<T>, cx: &mut Context<'_>) -> Result<(), WriteError>;

    /// Flushes and releases resources at end of input.
    ///
    /// # Errors
    ///
    /// The sink could not finish; the run fails with this error.
    fn close(&mut self, cx: &mut Context<'_>) -> Result<(), Box<dyn Error + Send + Sync>> {
        let _ = cx;
        Ok(())
    }
}

/// A sink that collects envelopes into a shared `Vec`, for tests and examples.
///
/// Clones share the same storage, so keep one clone to read the results
/// after the pipeline (which owns the other) has run.
///
/// # Examples
///
/// ```
/// use flux_core::{Context, Envelope, Sink, VecSink};
/// # let mut outputs = flux_core::Diverted::default();
/// # let mut cx = Context::new(flux_core::Instant::ZERO, &mut outputs);
///
/// let sink = VecSink::new();
/// let mut writer = sink.clone();
/// writer.write(Envelope::new(5), &mut cx).unwrap();
/// assert_eq!(sink.payloads(), vec![5]);
/// ```
#[derive(Debug)]
pub struct VecSink<T> {
    items: Arc<Mutex<Vec<Envelope<T>>>>,
}

impl<T> Clone for VecSink<T> {
    fn clone(&self) -> Self {
        VecSink { items: Arc::clone(&self.items) }
    }
}

impl<T> Default for VecSink<T> {
    fn default() -> Self {
        VecSink { items: Arc::new(Mutex::new(Vec::new())) }
    }
}

impl<T> VecSink<T> {
    /// An empty sink.
    pub fn new() -> Self {
        Self::default()
    }

    /// The collected envelopes.
    pub fn envelopes(&self) -> MutexGuard<'_, Vec<Envelope<T>>> {
        // A panic while holding the lock cannot leave a Vec half-pushed.
        self.items.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Takes the collected envelopes out, leaving the sink empty.
    pub fn take(&self) -> Vec<Envelope<T>> {
        std::mem::take(&mut *self.envelopes())
    }
}

impl<T: Clone> VecSink<T> {
    /// Clones of the collected payloads, in arrival order.
    pub fn payloads(&self) -> Vec<T> {
        self.envelopes().iter().map(|e| e.payload().clone()).collect()
    }
}

impl<T: Send> Sink<T> for VecSink<T> {
    fn write(&mut self, item: Envelope<T>, _cx: &mut Context<'_>) -> Result<(), WriteError> {
        self.envelopes().push(item);
        Ok(())
    }
}
