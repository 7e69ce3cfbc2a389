//! Where an engine cuts a pipeline: links, batches and channels.

use core::task::Poll;

use crate::{Context, EdgeSpec, Envelope, Instant, LedgerVisitor, Lifecycle, Push, StageError};

/// The sending half of a channel between two segments, provided by an engine.
///
/// Batches, not single envelopes, cross a boundary: the cost of a hand-off
/// is paid once per batch.
///
/// An engine makes it in [`Channels::open`]; the kernel wraps it in a
/// [`BatchingSender`] at the end of the segment before the boundary, which
/// is the only caller. Every envelope sent must come out of the
/// receiving half, in order: the engine's ledger counts what crosses the
/// boundary, and the stages after it rely on the order.
///
/// # Examples
///
/// A sender that records what it is given, fed by the kernel's
/// [`BatchingSender`]:
///
/// ```
/// use std::sync::{Arc, Mutex};
///
/// use flux_core::{BatchSender, BatchingSender, Context, Envelope, Instant, Push};
/// use flux_test::Diverted;
///
/// /// The size of each batch sent, and whether the channel was closed.
/// #[derive(Clone, Default)]
/// struct Recorder(Arc<Mutex<(Vec<usize>, bool)>>);
///
/// impl BatchSender<u32> for Recorder {
///     fn send(&mut self, batch: Vec<Envelope<u32>>) {
///         self.0.lock().unwrap().0.push(batch.len());
///     }
///     fn close(&mut self) {
///         self.0.lock().unwrap().1 = true;
///     }
/// }
///
/// let seen = Recorder::default();
/// let mut sender = BatchingSender::new(Box::new(seen.clone()), 2);
/// let mut diverted = Diverted::default();
/// let mut cx = Context::new(Instant::ZERO, &mut diverted);
/// for n in 0..5 {
///     sender.push(Envelope::new(n), &mut cx);
/// }
/// assert_eq!(*seen.0.lock().unwrap(), (vec![2, 2], false), "full batches only");
/// sender.finish(&mut cx);
/// assert_eq!(*seen.0.lock().unwrap(), (vec![2, 2, 1], true), "the rest, then the close");
/// ```
pub trait BatchSender<T>: Send {
    /// Sends a full batch. An engine decides what happens when the channel
    /// is at capacity (park the thread, queue and report pressure) and
    /// counts it.
    ///
    /// A batch is never empty and holds at most the boundary's
    /// [`batch_size`](EdgeSpec::batch_size) envelopes; it may hold fewer
    /// when a timer or the end of input flushed it early.
    fn send(&mut self, batch: Vec<Envelope<T>>);
    /// No more batches will be sent.
    ///
    /// Called once, after the last batch, when the segment before the
    /// boundary finishes. The receiving half reports [`Received::Closed`]
    /// once it has handed out every batch sent before it.
    fn close(&mut self);

    /// An empty batch buffer to fill next, if the receiving half gave one
    /// back ([`BatchReceiver::recycle`]); `None` (the default) and the
    /// sender allocates one. Recycled buffers keep a running pipeline from
    /// allocating per batch (and, across threads, from freeing on one
    /// thread what another allocated).
    fn spare(&mut self) -> Option<Vec<Envelope<T>>> {
        None
    }

    /// The batch size to collect next, when the boundary's policy changed
    /// it (adaptive batching); `None` (the default) keeps the current one.
    /// Asked after every send.
    fn batch_size(&self) -> Option<usize> {
        None
    }
}

/// What a receiver found; the segment after the boundary turns it into
/// its [`Step`](crate::Step).
#[derive(Debug)]
pub enum Received<T> {
    /// A batch, in the order it was sent. The segment pushes it through
    /// its nodes ([`Push::push_batch`]) and reports progress.
    Batch(Vec<Envelope<T>>),
    /// Nothing yet; the sender is still open. The segment reports
    /// [`Step::Starved`](crate::Step::Starved): step it again once the
    /// segment before it has made progress.
    Empty,
    /// The sender closed and every batch has been received. The segment
    /// reports [`Step::Exhausted`](crate::Step::Exhausted): its input has
    /// ended.
    Closed,
}

/// The receiving half of a channel between two segments.
///
/// An engine makes it in [`Channels::open`]; the kernel puts it at the
/// head of the segment after the boundary, whose every step calls
/// [`recv`](BatchReceiver::recv) once. It must never block: with nothing
/// to hand out it says [`Received::Empty`], and the engine steps another
/// segment.
///
/// # Examples
///
/// A receiver over a queue that the sending half fills:
///
/// ```
/// use std::collections::VecDeque;
/// use std::sync::{Arc, Mutex};
///
/// use flux_core::{BatchReceiver, Envelope, Received};
///
/// /// Batches sent so far, and whether the sender has closed.
/// type Queue = Arc<Mutex<(VecDeque<Vec<Envelope<u32>>>, bool)>>;
///
/// struct Rx(Queue);
///
/// impl BatchReceiver<u32> for Rx {
///     fn recv(&mut self) -> Received<u32> {
///         let mut queue = self.0.lock().unwrap();
///         match queue.0.pop_front() {
///             Some(batch) => Received::Batch(batch),
///             None if queue.1 => Received::Closed,
///             None => Received::Empty,
///         }
///     }
/// }
///
/// let queue = Queue::default();
/// let mut rx = Rx(queue.clone());
/// assert!(matches!(rx.recv(), Received::Empty), "open, and nothing sent yet");
/// *queue.lock().unwrap() = (VecDeque::from([vec![Envelope::new(7)]]), true); // a batch, then the close
/// assert!(matches!(rx.recv(), Received::Batch(batch) if batch.len() == 1));
/// assert!(matches!(rx.recv(), Received::Closed));
/// ```
pub trait BatchReceiver<T>: Send {
    /// The next batch, if any: batches in the order they were sent, then
    /// [`Received::Closed`] once the sender has closed.
    fn recv(&mut self) -> Received<T>;

    /// Takes back the buffer of a batch the segment has pushed through
    /// (empty, its capacity kept), for the sending half to fill again
    /// ([`BatchSender::spare`]). The default drops it.
    fn recycle(&mut self, buffer: Vec<Envelope<T>>) {
        drop(buffer);
    }
}

/// Makes the channels at a plan's boundaries; implemented by engines.
///
/// An engine passes it to [`Runnable::assemble`](crate::Runnable::assemble),
/// which calls [`open`](Channels::open) once for each
/// [`Junction::Boundary`](crate::Junction::Boundary) of the plan, from the
/// sink back, with the payload type that crosses it. The engine keeps
/// whatever it needs to watch each channel (queue depth, pressure); the
/// kernel keeps the two halves, in the segments on either side.
///
/// # Examples
///
/// Channels over `std::sync::mpsc`, and a pipeline cut in two by hand:
///
/// ```
/// use std::sync::mpsc;
///
/// use flux_core::*;
/// use flux_steps::Steps;
/// use flux_test::{Diverted, IterSource, VecSink};
///
/// struct Tx<T>(Option<mpsc::Sender<Vec<Envelope<T>>>>);
/// struct Rx<T>(mpsc::Receiver<Vec<Envelope<T>>>);
///
/// impl<T: Send> BatchSender<T> for Tx<T> {
///     fn send(&mut self, batch: Vec<Envelope<T>>) {
///         self.0.as_ref().expect("sent before the close").send(batch).expect("the receiver is alive");
///     }
///     fn close(&mut self) {
///         self.0 = None; // dropping the last sender closes the channel
///     }
/// }
///
/// impl<T: Send> BatchReceiver<T> for Rx<T> {
///     fn recv(&mut self) -> Received<T> {
///         match self.0.try_recv() {
///             Ok(batch) => Received::Batch(batch),
///             Err(mpsc::TryRecvError::Empty) => Received::Empty,
///             Err(mpsc::TryRecvError::Disconnected) => Received::Closed,
///         }
///     }
/// }
///
/// /// Opens a channel per boundary, and remembers where.
/// #[derive(Default)]
/// struct Mpsc(Vec<usize>);
///
/// impl Channels for Mpsc {
///     fn open<T: Send + 'static>(&mut self, junction: usize, _edge: &EdgeSpec)
///         -> (Box<dyn BatchSender<T>>, Box<dyn BatchReceiver<T>>) {
///         self.0.push(junction);
///         let (tx, rx) = mpsc::channel();
///         (Box::new(Tx(Some(tx))), Box::new(Rx(rx)))
///     }
/// }
///
/// let out = VecSink::new();
/// let pipeline = Pipeline::from_source(IterSource::new(1..=5u32)).map(|n| n * 10).sink(out.clone());
/// let mut plan = ExecutionPlan::draft(pipeline.describe());
/// plan.junctions[1] = Junction::Boundary(EdgeSpec { capacity: 4, batch_size: 2 }); // cut before the sink
///
/// let mut channels = Mpsc::default();
/// let mut segments = pipeline.assemble(&plan, &mut channels).unwrap();
/// assert_eq!(channels.0, [1]);
/// assert_eq!((segments.len(), segments[1].first_stage()), (2, 2));
///
/// let mut diverted = Diverted::default();
/// let mut cx = Context::new(Instant::ZERO, &mut diverted);
/// for segment in &mut segments {
///     while !matches!(segment.step(&mut cx), Step::Exhausted) {}
///     segment.finish(&mut cx); // the first segment's finish closes the channel
/// }
/// assert_eq!(out.payloads(), vec![10, 20, 30, 40, 50]);
/// ```
pub trait Channels {
    /// Opens a channel for junction `junction` (between stage `junction`
    /// and the next, counting the source as stage 0), shaped by `edge`.
    ///
    /// The channel should hold about `edge.capacity` batches before the
    /// sender feels backpressure; batches arrive with at most
    /// `edge.batch_size` envelopes each. Called only during assembly,
    /// before anything runs.
    #[allow(clippy::type_complexity, reason = "the two halves are named by their traits; an alias would hide them")]
    fn open<T: Send + 'static>(
        &mut self,
        junction: usize,
        edge: &EdgeSpec,
    ) -> (Box<dyn BatchSender<T>>, Box<dyn BatchReceiver<T>>);
}

/// Collects envelopes into batches and sends each full batch.
///
/// The kernel puts one at the end of every segment that ends at a
/// boundary, around the engine's [`BatchSender`]. It is a [`Push`] node
/// with no stage of its own (it reports no ledger row): it sends a batch
/// when it is full, sends a half-full one when a timer fires or the
/// source flushes ([`Push::on_time`]), and at [`Push::finish`] sends what is left and
/// closes the channel. See [`BatchSender`] for an example.
pub struct BatchingSender<T> {
    batch: Vec<Envelope<T>>,
    batch_size: usize,
    sender: Box<dyn BatchSender<T>>,
}

impl<T> BatchingSender<T> {
    /// Batches of `batch_size` (at least one) into `sender`.
    ///
    /// Assembly makes it with the boundary's
    /// [`EdgeSpec::batch_size`](crate::EdgeSpec::batch_size); a batch size
    /// of zero means one.
    pub fn new(sender: Box<dyn BatchSender<T>>, batch_size: usize) -> Self {
        let batch_size = batch_size.max(1);
        BatchingSender { batch: Vec::with_capacity(batch_size), batch_size, sender }
    }

    /// Sends what has been collected, even if the batch is not full.
    ///
    /// Called from [`Push::on_time`], when a timer fires or the source
    /// flushes, so that a quiet stream does not hold envelopes back in a
    /// half-full batch (nor a framed source's slab).
    pub fn flush(&mut self) {
        if !self.batch.is_empty() {
            let spare = self.sender.spare().filter(Vec::is_empty);
            let next = spare.unwrap_or_else(|| Vec::with_capacity(self.batch_size));
            let full = core::mem::replace(&mut self.batch, next);
            self.sender.send(full);
            self.batch_size = self.sender.batch_size().map_or(self.batch_size, |size| size.max(1));
        }
    }

    /// Pushes onto a batch that is full to its capacity: rare, since a
    /// batch starts with room for a whole batch unless an adapted batch
    /// size outgrew a recycled buffer (which then grows once, and is
    /// recycled at its new size).
    #[cold]
    #[inline(never)]
    fn push_growing(&mut self, item: Envelope<T>) {
        self.batch.push(item);
    }
}

/// The last node of a segment that ends at a boundary: batches what
/// reaches it into the channel to the next segment.
impl<T: Send> Push<T> for BatchingSender<T> {
    #[inline]
    fn push(&mut self, item: Envelope<T>, _cx: &mut Context<'_>) {
        // With the growing path out of line, the push is a store into a
        // slot the batch has: the compiler writes the envelope there from
        // registers. With `Vec::push`'s own growth check in line, it built
        // the envelope on the stack first and copied it (docs/BENCHMARKS.md,
        // "An envelope built on the stack").
        if self.batch.len() < self.batch.capacity() {
            self.batch.push(item);
        } else {
            self.push_growing(item);
        }
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

    /// Nothing to open or close: the segment after the boundary has its own.
    fn poll_lifecycle(&mut self, _phase: Lifecycle, _cx: &mut Context<'_>) -> Poll<Result<(), StageError>> {
        Poll::Ready(Ok(()))
    }
}

impl<T> core::fmt::Debug for BatchingSender<T> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("BatchingSender")
            .field("batched", &self.batch.len())
            .field("batch_size", &self.batch_size)
            .finish_non_exhaustive()
    }
}
