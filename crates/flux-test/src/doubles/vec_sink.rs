//! A sink for tests and examples that keeps what it is given.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use flux_core::{Context, Envelope, Sink, WriteError};

/// A sink that collects envelopes into a shared `Vec`, for tests and examples.
///
/// Clones share the same storage, so keep one clone to read the results
/// after the pipeline (which owns the other) has run.
///
/// # Examples
///
/// ```
/// use flux_core::{Context, Envelope, Sink};
/// use flux_test::VecSink;
/// # let mut outputs = flux_test::Diverted::default();
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
