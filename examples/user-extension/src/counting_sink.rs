//! A [`Sink`] that counts and keeps what it wrote, up to an optional limit.

use core::fmt;
use std::error::Error;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use flux_core::{Context, Envelope, Sink, WriteError};

/// Keeps every envelope it accepts, and refuses writes past its limit.
///
/// A refused write returns a [`WriteError`] carrying the envelope's
/// metadata: the engine turns it into a dead letter naming the sink and the
/// envelope's sequence, and the run goes on. Clones share their storage, so
/// keep one to read the results after the pipeline (which owns the other)
/// has run.
///
/// # Examples
///
/// ```
/// use flux_core::{Pipeline, Runnable};
/// use flux_test::IterSource;
/// use flux_engine_sync::SyncEngine;
/// use flux_plan::Planner;
/// use flux_user_extension::CountingSink;
///
/// let sink = CountingSink::with_limit(2);
/// let pipeline = Pipeline::from_source(IterSource::new([1, 2, 3])).sink(sink.clone());
/// let plan = Planner::new().plan(pipeline.describe()).unwrap();
/// let report = SyncEngine::new().run(&plan, pipeline).unwrap();
///
/// assert_eq!(sink.payloads(), vec![1, 2]);
/// assert_eq!((sink.written(), sink.refused(), sink.closed()), (2, 1, true));
/// assert_eq!(report.dead_letters[0].meta.sequence, 2);
/// ```
#[derive(Debug)]
pub struct CountingSink<T> {
    shared: Arc<Mutex<Written<T>>>,
    limit: Option<usize>,
}

/// What the sink holds; shared by its clones.
#[derive(Debug)]
struct Written<T> {
    kept: Vec<Envelope<T>>,
    refused: u64,
    closed: bool,
}

impl<T> Clone for CountingSink<T> {
    fn clone(&self) -> Self {
        CountingSink { shared: Arc::clone(&self.shared), limit: self.limit }
    }
}

impl<T> Default for CountingSink<T> {
    fn default() -> Self {
        CountingSink {
            shared: Arc::new(Mutex::new(Written { kept: Vec::new(), refused: 0, closed: false })),
            limit: None,
        }
    }
}

impl<T> CountingSink<T> {
    /// A sink that accepts everything.
    pub fn new() -> Self {
        Self::default()
    }

    /// A sink that accepts `limit` envelopes and refuses the rest.
    pub fn with_limit(limit: usize) -> Self {
        CountingSink { limit: Some(limit), ..Self::default() }
    }

    /// Envelopes written.
    pub fn written(&self) -> usize {
        self.lock().kept.len()
    }

    /// Writes refused because the sink was full.
    pub fn refused(&self) -> u64 {
        self.lock().refused
    }

    /// Whether the engine closed the sink at end of input.
    pub fn closed(&self) -> bool {
        self.lock().closed
    }

    /// Takes the kept envelopes out, in the order they were written.
    pub fn take(&self) -> Vec<Envelope<T>> {
        std::mem::take(&mut self.lock().kept)
    }

    fn lock(&self) -> MutexGuard<'_, Written<T>> {
        // Every critical section is a push or a counter bump: a panic cannot
        // leave the storage half-updated, so a poisoned lock is still good.
        self.shared.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl<T: Clone> CountingSink<T> {
    /// Clones of the kept payloads, in the order they were written.
    pub fn payloads(&self) -> Vec<T> {
        self.lock().kept.iter().map(|e| e.payload().clone()).collect()
    }
}

impl<T: Send> Sink<T> for CountingSink<T> {
    fn write(&mut self, item: Envelope<T>, _cx: &mut Context<'_>) -> Result<(), WriteError> {
        let mut written = self.lock();
        if let Some(limit) = self.limit.filter(|limit| written.kept.len() >= *limit) {
            written.refused += 1;
            return Err(WriteError::new(item.meta().clone(), SinkFull { limit }));
        }
        written.kept.push(item);
        Ok(())
    }

    fn close(&mut self, _cx: &mut Context<'_>) -> Result<(), Box<dyn Error + Send + Sync>> {
        self.lock().closed = true;
        Ok(())
    }
}

/// A write to a [`CountingSink`] that already holds its limit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SinkFull {
    /// The sink's limit.
    pub limit: usize,
}

impl fmt::Display for SinkFull {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "sink is full ({} envelopes written)", self.limit)
    }
}

impl Error for SinkFull {}
