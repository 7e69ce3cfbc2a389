//! Where an engine cuts a pipeline: links, batches and channels.

use crate::{Context, EdgeSpec, Envelope, Instant, LedgerVisitor, Push};

/// The sending half of a channel between two segments, provided by an engine.
///
/// Batches, not single envelopes, cross a boundary: the cost of a hand-off
/// is paid once per batch.
pub trait BatchSender<T>: Send {
    /// Sends a full batch. An engine decides what happens when the channel
    /// is at capacity (park the thread, queue and report pressure) and
    /// counts it.
    fn send(&mut self, batch: Vec<Envelope<T>>);
    /// No more batches will be sent.
    fn close(&mut self);
}

/// What a receiver found.
#[derive(Debug)]
pub enum Received<T> {
    /// A batch, in the order it was sent.
    Batch(Vec<Envelope<T>>),
    /// Nothing yet; the sender is still open.
    Empty,
    /// The sender closed and every batch has been received.
    Closed,
}

/// The receiving half of a channel between two segments.
pub trait BatchReceiver<T>: Send {
    /// The next batch, if any.
    fn recv(&mut self) -> Received<T>;
}

/// Makes the channels at a plan's boundaries; implemented by engines.
pub trait Channels {
    /// Opens a channel for junction `junction` (between stage `junction`
    /// and the next, counting the source as stage 0), shaped by `edge`.
    #[allow(clippy::type_complexity, reason = "the two halves are named by their traits; an alias would hide them")]
    fn open<T: Send + 'static>(
        &mut self,
        junction: usize,
        edge: &EdgeSpec,
    ) -> (Box<dyn BatchSender<T>>, Box<dyn BatchReceiver<T>>);
}

/// Collects envelopes into batches and sends each full batch.
pub struct BatchingSender<T> {
    batch: Vec<Envelope<T>>,
    batch_size: usize,
    sender: Box<dyn BatchSender<T>>,
}

impl<T> BatchingSender<T> {
    /// Batches of `batch_size` (at least one) into `sender`.
    pub fn new(sender: Box<dyn BatchSender<T>>, batch_size: usize) -> Self {
        let batch_size = batch_size.max(1);
        BatchingSender { batch: Vec::with_capacity(batch_size), batch_size, sender }
    }

    /// Sends what has been collected, even if the batch is not full.
    ///
    /// Engines call it when a timer fires, so that a quiet stream does not
    /// hold envelopes back in a half-full batch.
    pub fn flush(&mut self) {
        if !self.batch.is_empty() {
            let full = core::mem::replace(&mut self.batch, Vec::with_capacity(self.batch_size));
            self.sender.send(full);
        }
    }
}

/// The last node of a segment that ends at a boundary: batches what
/// reaches it into the channel to the next segment.
impl<T: Send> Push<T> for BatchingSender<T> {
    #[inline]
    fn push(&mut self, item: Envelope<T>, _cx: &mut Context<'_>) {
        self.batch.push(item);
        if self.batch.len() >= self.batch_size {
            self.flush();
        }
    }

    /// The next segment gets its own timer call; what this one produced so
    /// far must not wait for a full batch.
    fn on_time(&mut self, _cx: &mut Context<'_>) {
        self.flush();
    }

    fn next_deadline(&self, _at_end: bool) -> Option<Instant> {
        None
    }

    fn finish(&mut self, _cx: &mut Context<'_>) {
        self.flush();
        self.sender.close();
    }

    fn visit(&self, _visitor: &mut dyn LedgerVisitor) {}
}

impl<T> core::fmt::Debug for BatchingSender<T> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("BatchingSender")
            .field("batched", &self.batch.len())
            .field("batch_size", &self.batch_size)
            .finish_non_exhaustive()
    }
}
