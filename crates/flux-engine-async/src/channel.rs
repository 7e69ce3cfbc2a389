//! Boundary channels on flume: bounded queues of batches that never block
//! a runtime worker.
//!
//! The kernel's `BatchSender` and `BatchReceiver` are synchronous: a
//! segment's step cannot await. So a send onto a full channel is kept in
//! the edge's `pending` queue (at most what one step makes), and the task
//! that runs the segment awaits [`Outlet::flush`] before it steps again:
//! the segment is suspended, and its worker runs other tasks. On the other
//! side, a segment whose channel is empty reports `Starved`, and its task
//! awaits [`Inlet::wait`], which parks the next batch in `stash` for the
//! segment's next `recv`.

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use async_trait::async_trait;
use flux_core::{BatchReceiver, BatchSender, Channels, EdgeFlow, EdgeSpec, Envelope, Received};

/// What one boundary carried during a run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct EdgeStats {
    /// The junction (the boundary after stage `junction`).
    pub junction: usize,
    /// Capacity in batches, from the plan.
    pub capacity: usize,
    /// Envelopes per full batch, from the plan.
    pub batch_size: usize,
    /// Batches sent.
    pub batches_sent: u64,
    /// Envelopes sent.
    pub envelopes_sent: u64,
    /// Envelopes received.
    pub envelopes_received: u64,
    /// Most batches queued at once.
    pub max_depth: usize,
    /// Batches that found the channel full: each suspended the segment
    /// that sent it until the receiver made room (backpressure).
    pub full_sends: u64,
}

impl EdgeStats {
    /// What the ledger law needs of it.
    pub(crate) fn flow(&self) -> EdgeFlow {
        EdgeFlow { junction: self.junction, sent: self.envelopes_sent, received: self.envelopes_received }
    }
}

/// Locks a mutex that a panic cannot leave inconsistent (every critical
/// section here is a push, a pop or a take).
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// One boundary's counters, shared by its two halves.
#[derive(Debug, Default)]
struct Counters {
    batches_sent: AtomicU64,
    envelopes_sent: AtomicU64,
    envelopes_received: AtomicU64,
    max_depth: AtomicUsize,
    full_sends: AtomicU64,
}

type Batch<T> = Vec<Envelope<T>>;

/// One boundary: the channel, what waits to go into it, and what was taken
/// out of it ahead of the receiving segment's `recv`.
struct Edge<T> {
    /// Dropped (taken) once the sending segment finished and everything
    /// pending went in: that closes the channel.
    tx: Mutex<Option<flume::Sender<Batch<T>>>>,
    pending: Mutex<VecDeque<Batch<T>>>,
    rx: flume::Receiver<Batch<T>>,
    stash: Mutex<Option<Batch<T>>>,
    counters: Counters,
}

impl<T> Edge<T> {
    fn note_depth(&self) {
        self.counters.max_depth.fetch_max(self.rx.len(), Ordering::Relaxed);
    }

    fn received(&self, batch: Batch<T>) -> Received<T> {
        self.counters.envelopes_received.fetch_add(batch.len() as u64, Ordering::Relaxed);
        Received::Batch(batch)
    }
}

/// The sending half a segment's last node holds.
struct SendHalf<T>(Arc<Edge<T>>);

impl<T: Send> BatchSender<T> for SendHalf<T> {
    fn send(&mut self, batch: Batch<T>) {
        let edge = &self.0;
        edge.counters.batches_sent.fetch_add(1, Ordering::Relaxed);
        edge.counters.envelopes_sent.fetch_add(batch.len() as u64, Ordering::Relaxed);
        let mut pending = lock(&edge.pending);
        // Behind a batch already waiting, to keep the order.
        if !pending.is_empty() {
            return pending.push_back(batch);
        }
        let sent = match &*lock(&edge.tx) {
            Some(tx) => tx.try_send(batch),
            None => Err(flume::TrySendError::Disconnected(batch)),
        };
        match sent {
            Ok(()) => edge.note_depth(),
            Err(flume::TrySendError::Full(batch)) => pending.push_back(batch),
            // The receiving segment is gone (it panicked): the batch is
            // lost, and the ledger reports it as a channel loss.
            Err(flume::TrySendError::Disconnected(_)) => {}
        }
    }

    fn close(&mut self) {
        // The task closes the channel once what is pending went in.
    }
}

/// The receiving half the first node of a segment reads.
struct RecvHalf<T>(Arc<Edge<T>>);

impl<T: Send> BatchReceiver<T> for RecvHalf<T> {
    fn recv(&mut self) -> Received<T> {
        let edge = &self.0;
        if let Some(batch) = lock(&edge.stash).take() {
            return edge.received(batch);
        }
        match edge.rx.try_recv() {
            Ok(batch) => edge.received(batch),
            Err(flume::TryRecvError::Empty) => Received::Empty,
            Err(flume::TryRecvError::Disconnected) => Received::Closed,
        }
    }
}

/// The sending side of a boundary, as the task of the segment before it
/// sees it (without its payload type).
#[async_trait]
pub(crate) trait Outlet: Send + Sync {
    /// Whether a batch waits for room.
    fn has_pending(&self) -> bool;

    /// Sends every pending batch, waiting for room: the segment is
    /// suspended meanwhile.
    async fn flush(&self);

    /// Closes the channel (call after a last `flush`).
    fn close(&self);

    /// The boundary's figures so far.
    fn stats(&self) -> (usize, EdgeStats);
}

/// The receiving side of a boundary, as the task of the segment after it
/// sees it.
#[async_trait]
pub(crate) trait Inlet: Send + Sync {
    /// Waits until a batch is ready for the segment's next `recv`, or the
    /// channel is closed.
    async fn wait(&self);

    /// Empties the channel until it closes, without delivering anything:
    /// for a segment that panicked and can take nothing more. What it
    /// empties is not counted as received, so the ledger reports the loss.
    async fn discard_until_closed(&self);
}

#[async_trait]
impl<T: Send + 'static> Outlet for EdgeHandle<T> {
    fn has_pending(&self) -> bool {
        !lock(&self.edge.pending).is_empty()
    }

    async fn flush(&self) {
        let Some(tx) = lock(&self.edge.tx).clone() else { return };
        loop {
            let Some(batch) = lock(&self.edge.pending).pop_front() else { break };
            self.edge.counters.full_sends.fetch_add(1, Ordering::Relaxed);
            if tx.send_async(batch).await.is_err() {
                // The receiver is gone: what is pending is lost, and
                // counted as sent but never received.
                lock(&self.edge.pending).clear();
                break;
            }
            self.edge.note_depth();
        }
    }

    fn close(&self) {
        lock(&self.edge.tx).take();
    }

    fn stats(&self) -> (usize, EdgeStats) {
        let c = &self.edge.counters;
        let stats = EdgeStats {
            junction: self.junction,
            capacity: self.spec.capacity,
            batch_size: self.spec.batch_size,
            batches_sent: c.batches_sent.load(Ordering::Relaxed),
            envelopes_sent: c.envelopes_sent.load(Ordering::Relaxed),
            envelopes_received: c.envelopes_received.load(Ordering::Relaxed),
            max_depth: c.max_depth.load(Ordering::Relaxed),
            full_sends: c.full_sends.load(Ordering::Relaxed),
        };
        (self.junction, stats)
    }
}

#[async_trait]
impl<T: Send + 'static> Inlet for EdgeHandle<T> {
    async fn wait(&self) {
        if lock(&self.edge.stash).is_some() {
            return;
        }
        // Cancel-safe: a `recv_async` dropped before it completes takes
        // nothing off the channel.
        if let Ok(batch) = self.edge.rx.recv_async().await {
            *lock(&self.edge.stash) = Some(batch);
        }
    }

    async fn discard_until_closed(&self) {
        lock(&self.edge.stash).take();
        while self.edge.rx.recv_async().await.is_ok() {}
    }
}

/// A boundary with its place in the plan.
struct EdgeHandle<T> {
    edge: Arc<Edge<T>>,
    junction: usize,
    spec: EdgeSpec,
}

/// Opens flume channels for the plan's boundaries, keeping each one's two
/// sides for the tasks.
#[derive(Default)]
pub(crate) struct FlumeChannels {
    pub(crate) outlets: HashMap<usize, Arc<dyn Outlet>>,
    pub(crate) inlets: HashMap<usize, Arc<dyn Inlet>>,
}

impl Channels for FlumeChannels {
    fn open<T: Send + 'static>(
        &mut self,
        junction: usize,
        spec: &EdgeSpec,
    ) -> (Box<dyn BatchSender<T>>, Box<dyn BatchReceiver<T>>) {
        let (tx, rx) = flume::bounded(spec.capacity.max(1));
        let edge = Arc::new(Edge {
            tx: Mutex::new(Some(tx)),
            pending: Mutex::new(VecDeque::new()),
            rx,
            stash: Mutex::new(None),
            counters: Counters::default(),
        });
        let handle = Arc::new(EdgeHandle { edge: edge.clone(), junction, spec: *spec });
        self.outlets.insert(junction, handle.clone());
        self.inlets.insert(junction, handle);
        (Box::new(SendHalf(edge.clone())), Box::new(RecvHalf(edge)))
    }
}

impl std::fmt::Debug for FlumeChannels {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FlumeChannels").field("boundaries", &self.outlets.len()).finish()
    }
}
