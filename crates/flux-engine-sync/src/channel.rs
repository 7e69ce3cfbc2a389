//! Boundary channels inside one thread: queues with simulated backpressure.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use flux_core::{BatchReceiver, BatchSender, Channels, EdgeSpec, Envelope, Instant, Received};

use crate::Decision;

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
    /// Sends made while the queue was already at capacity. The engine does
    /// not step a segment whose output is full, so these are only the
    /// batches one step makes past the capacity (a source step of 1,024
    /// envelopes into batches of 16, a timer's flush).
    pub backpressured_sends: u64,
    /// Times the engine passed over the segment before this boundary,
    /// ready to run, because the boundary was full: the waits a threaded
    /// engine's sender would have had. The same counter the async engine
    /// reports as backpressure.
    pub held_back: u64,
}

impl EdgeStats {
    /// What the ledger law needs of it.
    pub(crate) fn flow(&self) -> flux_core::EdgeFlow {
        flux_core::EdgeFlow { junction: self.junction, sent: self.envelopes_sent, received: self.envelopes_received }
    }
}

/// The decisions made inside channels, and the time to stamp them with.
#[derive(Debug, Default)]
pub(crate) struct Journal {
    pub(crate) now: Instant,
    pub(crate) decisions: Vec<Decision>,
}

pub(crate) type SharedJournal = Arc<Mutex<Journal>>;

/// Locks a mutex that a panic cannot leave inconsistent (every critical
/// section here is a push or a pop).
pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

struct Queue<T> {
    batches: VecDeque<Vec<Envelope<T>>>,
    closed: bool,
    stats: EdgeStats,
    /// Emptied batch buffers the receiving segment gave back, for the
    /// sending one to fill again: no allocation per batch.
    spares: Vec<Vec<Envelope<T>>>,
}

/// Spare buffers a queue keeps: as many as it can hold at its fullest (its
/// capacity, and the batches of the one step that may go past it) and the
/// one being filled; more would only hold memory a run no longer needs.
fn spares_kept(capacity: usize, batch_size: usize) -> usize {
    capacity.max(1) + flux_core::STEP_BUDGET.div_ceil(batch_size.max(1)) + 1
}

/// The engine's untyped view of a queue.
pub(crate) trait Probe: Send + Sync {
    /// True when a receive would find a batch or the close.
    fn ready(&self) -> bool;
    /// True when the queue holds as many batches as its capacity: the
    /// segment that sends into it must wait. Counts the wait.
    fn hold_back(&self) -> bool;
    /// What the queue carried.
    fn stats(&self) -> EdgeStats;
}

impl<T: Send> Probe for Mutex<Queue<T>> {
    fn ready(&self) -> bool {
        let q = lock(self);
        !q.batches.is_empty() || q.closed
    }

    fn hold_back(&self) -> bool {
        let mut q = lock(self);
        // A capacity of zero would hold back forever: it means one.
        let full = q.batches.len() >= q.stats.capacity.max(1);
        q.stats.held_back += u64::from(full);
        full
    }

    fn stats(&self) -> EdgeStats {
        lock(self).stats
    }
}

struct Sender<T> {
    queue: Arc<Mutex<Queue<T>>>,
    journal: SharedJournal,
}

impl<T: Send> BatchSender<T> for Sender<T> {
    fn send(&mut self, batch: Vec<Envelope<T>>) {
        let mut q = lock(&self.queue);
        if q.batches.len() >= q.stats.capacity {
            q.stats.backpressured_sends += 1;
        }
        let envelopes = batch.len();
        q.stats.batches_sent += 1;
        q.stats.envelopes_sent += envelopes as u64;
        q.batches.push_back(batch);
        q.stats.max_depth = q.stats.max_depth.max(q.batches.len());
        let (junction, depth) = (q.stats.junction, q.batches.len());
        drop(q);
        let mut journal = lock(&self.journal);
        let at = journal.now;
        journal.decisions.push(Decision::Send { junction, envelopes, depth, at });
    }

    fn close(&mut self) {
        lock(&self.queue).closed = true;
    }

    fn spare(&mut self) -> Option<Vec<Envelope<T>>> {
        lock(&self.queue).spares.pop()
    }
}

struct Receiver<T> {
    queue: Arc<Mutex<Queue<T>>>,
}

impl<T: Send> BatchReceiver<T> for Receiver<T> {
    fn recv(&mut self) -> Received<T> {
        let mut q = lock(&self.queue);
        match q.batches.pop_front() {
            Some(batch) => {
                q.stats.envelopes_received += batch.len() as u64;
                Received::Batch(batch)
            }
            None if q.closed => Received::Closed,
            None => Received::Empty,
        }
    }

    fn recycle(&mut self, buffer: Vec<Envelope<T>>) {
        let mut q = lock(&self.queue);
        if q.spares.len() < spares_kept(q.stats.capacity, q.stats.batch_size) {
            q.spares.push(buffer);
        }
    }
}

/// Makes the in-thread channels of one run and keeps a probe on each.
pub(crate) struct SyncChannels {
    pub(crate) probes: BTreeMap<usize, Arc<dyn Probe>>,
    pub(crate) journal: SharedJournal,
}

impl SyncChannels {
    pub(crate) fn new(journal: SharedJournal) -> Self {
        SyncChannels { probes: BTreeMap::new(), journal }
    }
}

impl Channels for SyncChannels {
    fn open<T: Send + 'static>(
        &mut self,
        junction: usize,
        edge: &EdgeSpec,
    ) -> (Box<dyn BatchSender<T>>, Box<dyn BatchReceiver<T>>) {
        let stats =
            EdgeStats { junction, capacity: edge.capacity, batch_size: edge.batch_size, ..EdgeStats::default() };
        let queue = Arc::new(Mutex::new(Queue { batches: VecDeque::new(), closed: false, stats, spares: Vec::new() }));
        self.probes.insert(junction, queue.clone());
        let sender = Sender { queue: queue.clone(), journal: self.journal.clone() };
        (Box::new(sender), Box::new(Receiver { queue }))
    }
}
