//! Boundary channels inside one thread: queues with simulated backpressure.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use flux_core::{
    Admission, BackpressurePolicy, BatchReceiver, BatchSender, Channels, EdgeSpec, Envelope, ErrorEnvelope, Instant,
    Pressure, Received, StageId, TurnedAway,
};

use crate::Decision;

/// What one boundary carried during a run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
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
    /// The boundary's backpressure policy, by name, if it has one.
    pub policy: Option<&'static str>,
    /// Envelopes the policy dropped (its `DropNewest` and `DropOldest`).
    pub dropped: u64,
    /// Envelopes the policy sent to the dead-letter output (its `Reject`).
    pub rejected: u64,
    /// Most envelopes queued at once.
    pub max_queued_envelopes: usize,
    /// Most bytes queued at once, from envelope costs (counted only at a
    /// boundary with a policy; zero elsewhere).
    pub max_queued_bytes: u64,
}

impl EdgeStats {
    /// What the ledger law needs of it.
    pub(crate) fn flow(&self) -> flux_core::EdgeFlow {
        let (junction, sent, received) = (self.junction, self.envelopes_sent, self.envelopes_received);
        flux_core::EdgeFlow { junction, sent, received, dropped: self.dropped + self.rejected }
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
    /// Batches, each with the instant it may be received (a policy's
    /// `Admission::At` holds a batch, and every batch behind it, until
    /// then) and its bytes (weighed once, when it was sent).
    batches: VecDeque<(Instant, u64, Vec<Envelope<T>>)>,
    closed: bool,
    stats: EdgeStats,
    /// Emptied batch buffers the receiving segment gave back, for the
    /// sending one to fill again: no allocation per batch.
    spares: Vec<Vec<Envelope<T>>>,
    /// The stage before the boundary, which a rejected envelope names.
    stage: StageId,
    policy: Option<Box<dyn BackpressurePolicy>>,
    /// The policy answered `WhenRoom`: the sending segment waits until the
    /// receiver takes a batch.
    waiting_for_room: bool,
    queued_envelopes: usize,
    /// Bytes queued, from envelope costs (counted only for a policy).
    queued_bytes: u64,
    /// Mean bytes per envelope of the last batch offered.
    envelope_bytes: u64,
    /// The batch size the policy asked for after the last send.
    next_batch_size: Option<usize>,
    /// Dead letters of rejected envelopes, until the run collects them.
    turned_away: Vec<ErrorEnvelope>,
}

impl<T> Queue<T> {
    fn pressure(&self) -> Pressure {
        Pressure {
            queued_batches: self.batches.len(),
            queued_envelopes: self.queued_envelopes,
            queued_bytes: self.queued_bytes,
            envelope_bytes: self.envelope_bytes,
            ..Pressure::default()
        }
    }

    /// Bytes in a batch, when a policy may look at them.
    fn bytes(&self, batch: &[Envelope<T>]) -> u64 {
        match self.policy {
            Some(_) => batch.iter().map(|envelope| u64::from(envelope.cost().bytes)).sum(),
            None => 0,
        }
    }

    /// Queues a batch to be received no earlier than `due` (nor before
    /// the batch ahead of it).
    fn enqueue(&mut self, batch: Vec<Envelope<T>>, bytes: u64, due: Instant) {
        let due = self.batches.back().map_or(due, |(ahead, _, _)| due.max(*ahead));
        self.queued_envelopes += batch.len();
        self.queued_bytes += bytes;
        self.batches.push_back((due, bytes, batch));
        self.stats.max_depth = self.stats.max_depth.max(self.batches.len());
        self.stats.max_queued_envelopes = self.stats.max_queued_envelopes.max(self.queued_envelopes);
        self.stats.max_queued_bytes = self.stats.max_queued_bytes.max(self.queued_bytes);
    }

    /// Takes the front batch, due or not.
    fn dequeue(&mut self) -> Option<Vec<Envelope<T>>> {
        let (_, bytes, batch) = self.batches.pop_front()?;
        self.queued_envelopes -= batch.len();
        self.queued_bytes -= bytes;
        Some(batch)
    }

    /// Keeps an emptied buffer for the sender to fill again.
    fn give_back(&mut self, mut buffer: Vec<Envelope<T>>) {
        buffer.clear();
        if self.spares.len() < spares_kept(self.stats.capacity, self.stats.batch_size) {
            self.spares.push(buffer);
        }
    }

    /// Does what the policy says with a batch sent at `now`; true when it
    /// went into the queue.
    fn admit(&mut self, mut batch: Vec<Envelope<T>>, now: Instant) -> bool {
        // Weighed once, here: the queue keeps the figure with the batch.
        let bytes = self.bytes(&batch);
        if let Some(each) = bytes.checked_div(batch.len() as u64) {
            self.envelope_bytes = each;
        }
        let pressure = self.pressure();
        let envelopes = batch.len() as u64;
        let admission = match &mut self.policy {
            Some(policy) => policy.admit(batch.len(), &pressure, now),
            None => Admission::Now,
        };
        let queued = match admission {
            Admission::Now => {
                self.enqueue(batch, bytes, now);
                true
            }
            // An empty channel has room, whatever the answer.
            Admission::WhenRoom => {
                self.waiting_for_room = !self.batches.is_empty();
                self.enqueue(batch, bytes, now);
                true
            }
            Admission::At(due) => {
                self.enqueue(batch, bytes, due.max(now));
                true
            }
            Admission::DropNewest => {
                self.stats.dropped += envelopes;
                self.give_back(batch);
                false
            }
            Admission::DropOldest => {
                if let Some(oldest) = self.dequeue() {
                    self.stats.dropped += oldest.len() as u64;
                    self.give_back(oldest);
                }
                self.enqueue(batch, bytes, now);
                true
            }
            Admission::Reject => {
                self.stats.rejected += envelopes;
                let why = TurnedAway { junction: self.stats.junction, policy: self.stats.policy.unwrap_or("policy") };
                let stage = &self.stage;
                self.turned_away.extend(batch.drain(..).map(|envelope| why.letter(stage, envelope)));
                self.give_back(batch);
                false
            }
        };
        let pressure = self.pressure();
        if let Some(policy) = &mut self.policy {
            self.next_batch_size = Some(policy.batch_size(&pressure, now));
        }
        queued
    }
}

/// Spare buffers a queue keeps: as many as it can hold at its fullest (its
/// capacity, and the batches of the one step that may go past it) and the
/// one being filled; more would only hold memory a run no longer needs.
fn spares_kept(capacity: usize, batch_size: usize) -> usize {
    capacity.max(1) + flux_core::STEP_BUDGET.div_ceil(batch_size.max(1)) + 1
}

/// The engine's untyped view of a queue.
pub(crate) trait Probe: Send + Sync {
    /// True when a receive at `now` would find a batch or the close.
    fn ready(&self, now: Instant) -> bool;
    /// True when the segment that sends into the queue must wait: the
    /// queue holds as many batches as its capacity, its policy has no room
    /// left or asked the sender to wait for room, or it holds a batch not
    /// due yet. Counts the wait.
    fn hold_back(&self, now: Instant) -> bool;
    /// Envelopes the segment before the boundary may make in its next
    /// step: the room left, in batches of the current size.
    fn room(&self) -> usize;
    /// When the next held batch falls due, if one is held past `now`.
    fn next_due(&self, now: Instant) -> Option<Instant>;
    /// Moves the dead letters of rejected envelopes into `out`.
    fn take_turned_away(&self, out: &mut Vec<ErrorEnvelope>);
    /// What the queue carried.
    fn stats(&self) -> EdgeStats;
}

impl<T: Send> Probe for Mutex<Queue<T>> {
    fn ready(&self, now: Instant) -> bool {
        let q = lock(self);
        match q.batches.front() {
            Some((due, _, _)) => *due <= now,
            None => q.closed,
        }
    }

    fn hold_back(&self, now: Instant) -> bool {
        let mut q = lock(self);
        // A capacity of zero would hold back forever: it means one.
        let waits = q.policy.as_ref().is_none_or(|policy| policy.waits());
        // A policy with no room left holds the sender too, unless the
        // channel is empty: an empty channel always has room.
        let no_room = !q.batches.is_empty() && q.policy.as_ref().is_some_and(|p| p.room(&q.pressure()) == Some(0));
        let full = (waits && q.batches.len() >= q.stats.capacity.max(1))
            || no_room
            || q.waiting_for_room
            || q.batches.back().is_some_and(|(due, _, _)| *due > now);
        q.stats.held_back += u64::from(full);
        full
    }

    fn room(&self) -> usize {
        let q = lock(self);
        let batch_size = q.next_batch_size.unwrap_or(q.stats.batch_size).max(1);
        let room = q.stats.capacity.max(1).saturating_sub(q.batches.len()).max(1).saturating_mul(batch_size);
        let asked = q.policy.as_ref().and_then(|policy| policy.room(&q.pressure()));
        // The engine steps a segment only when it is not held back: one
        // envelope at least.
        asked.map_or(room, |asked| room.min(asked)).max(1)
    }

    fn next_due(&self, now: Instant) -> Option<Instant> {
        lock(self).batches.front().map(|(due, _, _)| *due).filter(|due| *due > now)
    }

    fn take_turned_away(&self, out: &mut Vec<ErrorEnvelope>) {
        out.append(&mut lock(self).turned_away);
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
        let at = lock(&self.journal).now;
        let mut q = lock(&self.queue);
        if q.batches.len() >= q.stats.capacity {
            q.stats.backpressured_sends += 1;
        }
        let envelopes = batch.len();
        q.stats.batches_sent += 1;
        q.stats.envelopes_sent += envelopes as u64;
        if !q.admit(batch, at) {
            return;
        }
        let (junction, depth) = (q.stats.junction, q.batches.len());
        drop(q);
        lock(&self.journal).decisions.push(Decision::Send { junction, envelopes, depth, at });
    }

    fn close(&mut self) {
        lock(&self.queue).closed = true;
    }

    fn spare(&mut self) -> Option<Vec<Envelope<T>>> {
        lock(&self.queue).spares.pop()
    }

    fn batch_size(&self) -> Option<usize> {
        lock(&self.queue).next_batch_size
    }
}

struct Receiver<T> {
    queue: Arc<Mutex<Queue<T>>>,
    journal: SharedJournal,
}

impl<T: Send> BatchReceiver<T> for Receiver<T> {
    fn recv(&mut self) -> Received<T> {
        let now = lock(&self.journal).now;
        let mut q = lock(&self.queue);
        match q.batches.front() {
            Some((due, _, _)) if *due > now => Received::Empty,
            Some(_) => {
                let batch = q.dequeue().expect("a batch is at the front");
                q.stats.envelopes_received += batch.len() as u64;
                q.waiting_for_room = false;
                Received::Batch(batch)
            }
            None if q.closed => Received::Closed,
            None => Received::Empty,
        }
    }

    fn recycle(&mut self, buffer: Vec<Envelope<T>>) {
        lock(&self.queue).give_back(buffer);
    }
}

/// Makes the in-thread channels of one run and keeps a probe on each.
pub(crate) struct SyncChannels {
    pub(crate) probes: BTreeMap<usize, Arc<dyn Probe>>,
    pub(crate) journal: SharedJournal,
    /// Each boundary's policy, by junction, until its channel is opened.
    policies: BTreeMap<usize, Box<dyn BackpressurePolicy>>,
    /// Every stage's id, to name the stage before a boundary.
    stages: Vec<StageId>,
}

impl SyncChannels {
    pub(crate) fn new(
        journal: SharedJournal,
        policies: BTreeMap<usize, Box<dyn BackpressurePolicy>>,
        stages: Vec<StageId>,
    ) -> Self {
        SyncChannels { probes: BTreeMap::new(), journal, policies, stages }
    }
}

impl Channels for SyncChannels {
    fn open<T: Send + 'static>(
        &mut self,
        junction: usize,
        edge: &EdgeSpec,
    ) -> (Box<dyn BatchSender<T>>, Box<dyn BatchReceiver<T>>) {
        let policy = self.policies.remove(&junction);
        let (capacity, batch_size, name) = (edge.capacity, edge.batch_size, policy.as_ref().map(|p| p.name()));
        let stats = EdgeStats { junction, capacity, batch_size, policy: name, ..EdgeStats::default() };
        let queue = Arc::new(Mutex::new(Queue {
            batches: VecDeque::new(),
            closed: false,
            stats,
            spares: Vec::new(),
            stage: self.stages.get(junction).cloned().unwrap_or_else(|| StageId::from_static("?")),
            policy,
            waiting_for_room: false,
            queued_envelopes: 0,
            queued_bytes: 0,
            envelope_bytes: 0,
            next_batch_size: None,
            turned_away: Vec::new(),
        }));
        self.probes.insert(junction, queue.clone());
        let sender = Sender { queue: queue.clone(), journal: self.journal.clone() };
        (Box::new(sender), Box::new(Receiver { queue, journal: self.journal.clone() }))
    }
}
