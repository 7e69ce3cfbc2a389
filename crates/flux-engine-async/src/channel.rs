//! Boundary channels on flume: bounded queues of batches that never block
//! a runtime worker.
//!
//! The kernel's `BatchSender` and `BatchReceiver` are synchronous: a
//! segment's step cannot await. So a send onto a full channel is kept in
//! the edge's `pending` queue (at most what one step makes), and the task
//! that runs the segment moves it in ([`Outlet::push_pending`]) before it
//! steps again, waiting on the edge's `room` notification while the
//! channel is full: the segment is suspended, and its worker runs other
//! tasks. On the other side, a segment whose channel is empty reports
//! `Starved`, and its task waits on the edge's `arrived` notification.
//!
//! Only flume's non-blocking `try_send` and `try_recv` are used, with
//! tokio's `Notify` for the waiting: flume's async send and receive
//! allocate a waiter each time they wait, which on a busy boundary is about
//! once a batch, and `Notify`'s waiters live in the waiting future.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use flux_core::{
    Admission, BackpressurePolicy, BatchReceiver, BatchSender, Channels, Clock, EdgeFlow, EdgeSpec, Envelope,
    ErrorEnvelope, Instant, Pressure, Received, StageId, TurnedAway,
};
use tokio::sync::Notify;

use crate::clock::RunClock;

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
    /// Batches that found the channel full (or a batch already waiting):
    /// each waited in the edge, its segment suspended, until the receiver
    /// made room (backpressure), or for the instant its policy set.
    pub full_sends: u64,
    /// The boundary's backpressure policy, by name, if it has one.
    pub policy: Option<&'static str>,
    /// Envelopes the policy dropped (its `DropNewest` and `DropOldest`).
    pub dropped: u64,
    /// Envelopes the policy sent to the dead-letter output (its `Reject`).
    pub rejected: u64,
    /// Most envelopes in the channel at once.
    pub max_queued_envelopes: usize,
    /// Most bytes in the channel at once, from envelope costs (counted only
    /// at a boundary with a policy; zero elsewhere).
    pub max_queued_bytes: u64,
}

impl EdgeStats {
    /// What the ledger law needs of it.
    pub(crate) fn flow(&self) -> EdgeFlow {
        let (junction, sent, received) = (self.junction, self.envelopes_sent, self.envelopes_received);
        EdgeFlow { junction, sent, received, dropped: self.dropped + self.rejected }
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
    dropped: AtomicU64,
    rejected: AtomicU64,
    /// Envelopes and bytes in the channel, for the policy's `Pressure`
    /// (bytes only counted when there is a policy).
    queued_envelopes: AtomicUsize,
    queued_bytes: AtomicU64,
    max_queued_envelopes: AtomicUsize,
    max_queued_bytes: AtomicU64,
    /// Batches the receiver has taken: a batch told to wait for room goes
    /// once this has moved on. Raised under the edge's `taking` lock.
    taken: AtomicU64,
    /// Mean bytes per envelope of the last batch offered to the policy.
    envelope_bytes: AtomicU64,
}

type Batch<T> = Vec<Envelope<T>>;

/// How long a sender on a thread of its own watches for room before it
/// parks: spins of [`core::hint::spin_loop`], some microseconds, about the
/// time a busy receiver takes for a batch. Parked, the sender must be
/// woken by the receiver's take, a futex wake that took 4–8% of the
/// receiving worker's time in the LZ4 job of `cargo xtask bench async`;
/// watching first, the LZ4 job ran 2–5% faster on tokio (256 spins gained
/// less, 4,096 no more: docs/BENCHMARKS.md).
pub(crate) const ROOM_SPINS: u32 = 1024;

/// A batch waiting in the edge: what it waits for, its bytes (weighed
/// when the policy was asked; 0 before that, or with no policy), and the
/// batch.
type Held<T> = (Gate, u64, Batch<T>);

/// What a batch waiting in the edge waits for.
#[derive(Clone, Copy, Debug)]
enum Gate {
    /// Not offered to the policy yet (a batch behind others is offered
    /// when it reaches the front).
    Unasked,
    /// Room in the channel.
    Room,
    /// The receiver to take a batch past this count (the policy's
    /// `WhenRoom`), or the channel to empty.
    Taken(u64),
    /// The policy's instant (`Admission::At`).
    At(Instant),
}

/// Why the batches waiting in an edge cannot move in yet.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Blocked {
    /// Until the receiver takes a batch.
    Room,
    /// Until this engine instant.
    Until(Instant),
}

/// The boundary's policy and what it needs besides the channel.
struct Policy {
    policy: Box<dyn BackpressurePolicy>,
    clock: RunClock,
    /// The stage before the boundary, which a rejected envelope names.
    stage: StageId,
    junction: usize,
}

/// One boundary: the channel, what waits to go into it, and what was taken
/// out of it ahead of the receiving segment's `recv`.
struct Edge<T> {
    /// Dropped (taken) once the sending segment finished and everything
    /// pending went in: that closes the channel.
    tx: Mutex<Option<flume::Sender<Batch<T>>>>,
    pending: Mutex<VecDeque<Held<T>>>,
    policy: Mutex<Option<Policy>>,
    /// The batch size the policy asked for after the last send (0: none).
    next_batch_size: AtomicUsize,
    /// Whether queued bytes are counted (only a policy looks at them).
    counts_bytes: bool,
    /// Whether the sender waits while the channel is full (the policy's
    /// `waits`; true without a policy).
    waits: bool,
    /// Dead letters of rejected envelopes, until the sending task collects them.
    turned_away: Mutex<Vec<ErrorEnvelope>>,
    rx: flume::Receiver<Batch<T>>,
    /// Held across a take and the count it raises, and by a sender reading
    /// the count for a batch told to wait for room: without it, a batch
    /// could be offered after a take emptied the channel but before its
    /// count rose, and then go in on that earlier take, behind another.
    taking: Mutex<()>,
    stash: Mutex<Option<Batch<T>>>,
    /// Notified when a batch goes into the channel, or it closes.
    arrived: Notify,
    /// Notified when a batch is taken out of the channel.
    room: Notify,
    /// Emptied batch buffers the receiving segment gave back, for the
    /// sending one to fill again: no allocation per batch, and no buffer
    /// allocated on one worker and freed on another.
    spares: Mutex<Vec<Batch<T>>>,
    /// How many spares to keep: as many as the edge holds at its fullest
    /// (the channel's capacity and one step's batches pending) and the one
    /// being filled.
    spares_kept: usize,
    /// The receiving segment's task is gone (it ended without finishing):
    /// what is sent from now on is dropped, counted as sent and never
    /// received, so the ledger reports the loss and the sender never waits
    /// for room that will not come. (The edge holds its receiver itself,
    /// so flume would never say it is disconnected.)
    receiver_gone: AtomicBool,
    counters: Counters,
}

impl<T> Edge<T> {
    fn receiver_gone(&self) -> bool {
        self.receiver_gone.load(Ordering::Acquire)
    }

    fn note_depth(&self) {
        self.counters.max_depth.fetch_max(self.rx.len(), Ordering::Relaxed);
    }

    fn received(&self, batch: Batch<T>) -> Received<T> {
        self.counters.envelopes_received.fetch_add(batch.len() as u64, Ordering::Relaxed);
        Received::Batch(batch)
    }

    /// Bytes in a batch, when a policy may look at them.
    fn bytes(&self, batch: &[Envelope<T>], policy: bool) -> u64 {
        match policy {
            true => batch.iter().map(|envelope| u64::from(envelope.cost().bytes)).sum(),
            false => 0,
        }
    }

    /// The next batch off the channel, telling the sender there is room.
    fn take(&self) -> Result<Batch<T>, flume::TryRecvError> {
        let taking = lock(&self.taking);
        let taken = self.rx.try_recv();
        if let Ok(batch) = &taken {
            self.counters.taken.fetch_add(1, Ordering::Release);
            drop(taking);
            self.unqueue(batch);
            self.room.notify_one();
        }
        taken
    }

    /// Batches taken so far, read after any take in progress has counted.
    fn taken(&self) -> u64 {
        let _taking = lock(&self.taking);
        self.counters.taken.load(Ordering::Acquire)
    }

    fn unqueue(&self, batch: &[Envelope<T>]) {
        let c = &self.counters;
        c.queued_envelopes.fetch_sub(batch.len(), Ordering::Relaxed);
        c.queued_bytes.fetch_sub(self.bytes(batch, self.counts_bytes), Ordering::Relaxed);
    }

    fn pressure(&self) -> Pressure {
        let c = &self.counters;
        Pressure {
            queued_batches: self.rx.len(),
            queued_envelopes: c.queued_envelopes.load(Ordering::Relaxed),
            queued_bytes: c.queued_bytes.load(Ordering::Relaxed),
            envelope_bytes: c.envelope_bytes.load(Ordering::Relaxed),
            ..Pressure::default()
        }
    }

    /// Offers a batch to the policy: what it waits for, or `None` when the
    /// policy dropped or rejected it (counted).
    fn offer(&self, mut batch: Batch<T>) -> Option<Held<T>> {
        let mut guard = lock(&self.policy);
        let Some(Policy { policy, clock, stage, junction }) = guard.as_mut() else {
            return Some((Gate::Room, 0, batch));
        };
        let now = clock.now();
        let envelopes = batch.len() as u64;
        // Weighed once, here: the figure travels with the batch.
        let bytes = self.bytes(&batch, true);
        if let Some(each) = bytes.checked_div(envelopes) {
            self.counters.envelope_bytes.store(each, Ordering::Relaxed);
        }
        let gate = match policy.admit(batch.len(), &self.pressure(), now) {
            Admission::Now => Some(Gate::Room),
            Admission::WhenRoom => Some(Gate::Taken(self.taken())),
            Admission::At(at) => Some(Gate::At(at)),
            Admission::DropNewest => {
                self.counters.dropped.fetch_add(envelopes, Ordering::Relaxed);
                None
            }
            Admission::DropOldest => {
                // flume's receivers are many-consumer: the sender can take
                // the oldest batch out of the channel itself.
                if let Ok(oldest) = self.rx.try_recv() {
                    self.unqueue(&oldest);
                    self.counters.dropped.fetch_add(oldest.len() as u64, Ordering::Relaxed);
                }
                Some(Gate::Room)
            }
            Admission::Reject => {
                self.counters.rejected.fetch_add(envelopes, Ordering::Relaxed);
                let why = TurnedAway { junction: *junction, policy: policy.name() };
                let mut letters = lock(&self.turned_away);
                letters.extend(batch.drain(..).map(|envelope| why.letter(stage, envelope)));
                None
            }
        };
        let size = policy.batch_size(&self.pressure(), now).max(1);
        self.next_batch_size.store(size, Ordering::Relaxed);
        gate.map(|gate| (gate, bytes, batch))
    }

    /// Moves a batch into the channel if what it waits for has come; the
    /// batch back, with why not, otherwise.
    fn try_move(&self, held: Held<T>) -> Result<(), (Blocked, Held<T>)> {
        let (gate, bytes, batch) = held;
        match gate {
            Gate::At(at) => {
                let now = lock(&self.policy).as_ref().map_or(at, |p| p.clock.now());
                if now < at {
                    return Err((Blocked::Until(at), (gate, bytes, batch)));
                }
            }
            Gate::Taken(count) if self.taken() <= count && !self.rx.is_empty() => {
                return Err((Blocked::Room, (gate, bytes, batch)));
            }
            Gate::Unasked | Gate::Room | Gate::Taken(_) => {}
        }
        // Counted as queued before it goes in: the receiver may take it
        // (and count it out) before `try_send` returns.
        let envelopes = batch.len();
        let c = &self.counters;
        let queued = c.queued_envelopes.fetch_add(envelopes, Ordering::Relaxed) + envelopes;
        let queued_bytes = c.queued_bytes.fetch_add(bytes, Ordering::Relaxed) + bytes;
        let sent = match &*lock(&self.tx) {
            Some(tx) => tx.try_send(batch),
            None => Err(flume::TrySendError::Disconnected(batch)),
        };
        if sent.is_err() {
            self.counters.queued_envelopes.fetch_sub(envelopes, Ordering::Relaxed);
            self.counters.queued_bytes.fetch_sub(bytes, Ordering::Relaxed);
        }
        match sent {
            Ok(()) => {
                c.max_queued_envelopes.fetch_max(queued, Ordering::Relaxed);
                c.max_queued_bytes.fetch_max(queued_bytes, Ordering::Relaxed);
                self.note_depth();
                self.arrived.notify_one();
                Ok(())
            }
            Err(flume::TrySendError::Full(batch)) => Err((Blocked::Room, (Gate::Room, bytes, batch))),
            // Closed already: a send after the close is the kernel's bug,
            // and the ledger would report the loss.
            Err(flume::TrySendError::Disconnected(_)) => Ok(()),
        }
    }
}

/// The sending half a segment's last node holds.
struct SendHalf<T>(Arc<Edge<T>>);

impl<T: Send> BatchSender<T> for SendHalf<T> {
    fn send(&mut self, batch: Batch<T>) {
        let edge = &self.0;
        edge.counters.batches_sent.fetch_add(1, Ordering::Relaxed);
        edge.counters.envelopes_sent.fetch_add(batch.len() as u64, Ordering::Relaxed);
        if edge.receiver_gone() {
            return;
        }
        let mut pending = lock(&edge.pending);
        // Behind a batch already waiting, to keep the order; offered to the
        // policy when it reaches the front.
        if !pending.is_empty() {
            edge.counters.full_sends.fetch_add(1, Ordering::Relaxed);
            return pending.push_back((Gate::Unasked, 0, batch));
        }
        let Some(held) = edge.offer(batch) else { return };
        if let Err((_, held)) = edge.try_move(held) {
            edge.counters.full_sends.fetch_add(1, Ordering::Relaxed);
            pending.push_back(held);
        }
    }

    fn close(&mut self) {
        // The task closes the channel once what is pending went in.
    }

    fn spare(&mut self) -> Option<Batch<T>> {
        lock(&self.0.spares).pop()
    }

    fn batch_size(&self) -> Option<usize> {
        Some(self.0.next_batch_size.load(Ordering::Relaxed)).filter(|size| *size != 0)
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
        match edge.take() {
            Ok(batch) => edge.received(batch),
            Err(flume::TryRecvError::Empty) => Received::Empty,
            Err(flume::TryRecvError::Disconnected) => Received::Closed,
        }
    }

    fn recycle(&mut self, buffer: Batch<T>) {
        let mut spares = lock(&self.0.spares);
        if spares.len() < self.0.spares_kept {
            spares.push(buffer);
        }
    }
}

/// The sending side of a boundary, as the task of the segment before it
/// sees it (without its payload type).
pub(crate) trait Outlet: Send + Sync {
    /// Whether a batch waits for room.
    fn has_pending(&self) -> bool;

    /// Whether the receiver takes a batch within `spins` turns of a spin
    /// loop (watching the edge's count of takes, without a lock). A hint
    /// only: the caller still waits on [`Outlet::room`] if it says no,
    /// and a take it misses leaves the notification's permit behind.
    fn room_soon(&self, spins: u32) -> bool;

    /// Moves pending batches into the channel while it has room and their
    /// policy lets them go. `None` when none is left waiting (or the
    /// receiver is gone, and they are lost: counted as sent, never
    /// received); otherwise what the task waits for (on [`Outlet::room`],
    /// or until an instant) before trying again.
    fn push_pending(&self) -> Option<Blocked>;

    /// Moves the dead letters of envelopes the policy rejected into `out`.
    fn take_turned_away(&self, out: &mut Vec<ErrorEnvelope>);

    /// Envelopes the segment may make in its next step: the room left in
    /// the channel, in batches of the current size; 0 when it is full.
    fn budget(&self) -> usize;

    /// Notified each time the receiver takes a batch.
    fn room(&self) -> &Notify;

    /// Closes the channel (call after everything pending went in).
    fn close(&self);

    /// The boundary's figures so far.
    fn stats(&self) -> EdgeStats;
}

/// The receiving side of a boundary, as the task of the segment after it
/// sees it.
pub(crate) trait Inlet: Send + Sync {
    /// Whether the segment's next `recv` will find a batch or the close:
    /// takes the next batch off the channel into the stash if there is one.
    fn ready(&self) -> bool;

    /// Notified each time a batch goes in, and when the channel closes.
    fn arrived(&self) -> &Notify;

    /// The receiving task is gone: from now on the sender drops what it
    /// sends (the ledger reports the loss) instead of waiting for room.
    fn abandon(&self);

    /// The boundary's counters, as the sending side keeps them.
    fn stats(&self) -> EdgeStats;
}

impl<T: Send + 'static> Outlet for EdgeHandle<T> {
    fn has_pending(&self) -> bool {
        !lock(&self.edge.pending).is_empty()
    }

    fn room_soon(&self, spins: u32) -> bool {
        let taken = &self.edge.counters.taken;
        let seen = taken.load(Ordering::Acquire);
        for _ in 0..spins {
            if taken.load(Ordering::Acquire) != seen {
                return true;
            }
            core::hint::spin_loop();
        }
        false
    }

    fn push_pending(&self) -> Option<Blocked> {
        let edge = &self.edge;
        // The same order as `send`: pending, then the policy, then the sender.
        let mut pending = lock(&edge.pending);
        while let Some(held) = pending.pop_front() {
            if edge.receiver_gone() {
                pending.clear();
                return None;
            }
            let held = match held {
                (Gate::Unasked, _, batch) => match edge.offer(batch) {
                    Some(offered) => offered,
                    None => continue,
                },
                asked => asked,
            };
            if let Err((blocked, held)) = edge.try_move(held) {
                pending.push_front(held);
                return Some(blocked);
            }
        }
        None
    }

    fn take_turned_away(&self, out: &mut Vec<ErrorEnvelope>) {
        out.append(&mut lock(&self.edge.turned_away));
    }

    fn budget(&self) -> usize {
        if self.edge.receiver_gone() {
            return flux_core::STEP_BUDGET;
        }
        let asked = self.edge.next_batch_size.load(Ordering::Relaxed);
        let batch_size = if asked == 0 { self.spec.batch_size } else { asked }.max(1);
        let queued = self.edge.rx.len();
        let room = self.spec.capacity.max(1).saturating_sub(queued).saturating_mul(batch_size);
        let asked = lock(&self.edge.policy).as_ref().and_then(|p| p.policy.room(&self.edge.pressure()));
        let room = asked.map_or(room, |asked| room.min(asked));
        // A shedding boundary never makes its sender wait, and an empty
        // channel has room whatever a policy says: one batch at least.
        match !self.edge.waits || queued == 0 {
            true => room.max(batch_size),
            false => room,
        }
    }

    fn room(&self) -> &Notify {
        &self.edge.room
    }

    fn close(&self) {
        lock(&self.edge.tx).take();
        self.edge.arrived.notify_one();
    }

    fn stats(&self) -> EdgeStats {
        let c = &self.edge.counters;
        EdgeStats {
            junction: self.junction,
            capacity: self.spec.capacity,
            batch_size: self.spec.batch_size,
            batches_sent: c.batches_sent.load(Ordering::Relaxed),
            envelopes_sent: c.envelopes_sent.load(Ordering::Relaxed),
            envelopes_received: c.envelopes_received.load(Ordering::Relaxed),
            max_depth: c.max_depth.load(Ordering::Relaxed),
            full_sends: c.full_sends.load(Ordering::Relaxed),
            policy: self.policy,
            dropped: c.dropped.load(Ordering::Relaxed),
            rejected: c.rejected.load(Ordering::Relaxed),
            max_queued_envelopes: c.max_queued_envelopes.load(Ordering::Relaxed),
            max_queued_bytes: c.max_queued_bytes.load(Ordering::Relaxed),
        }
    }
}

impl<T: Send + 'static> Inlet for EdgeHandle<T> {
    fn ready(&self) -> bool {
        let mut stash = lock(&self.edge.stash);
        if stash.is_some() {
            return true;
        }
        match self.edge.take() {
            Ok(batch) => {
                *stash = Some(batch);
                true
            }
            Err(flume::TryRecvError::Empty) => false,
            Err(flume::TryRecvError::Disconnected) => true,
        }
    }

    fn arrived(&self) -> &Notify {
        &self.edge.arrived
    }

    fn abandon(&self) {
        self.edge.receiver_gone.store(true, Ordering::Release);
        while self.edge.take().is_ok() {}
        lock(&self.edge.stash).take();
        self.edge.room.notify_one();
    }

    fn stats(&self) -> EdgeStats {
        Outlet::stats(self)
    }
}

/// A boundary with its place in the plan.
struct EdgeHandle<T> {
    edge: Arc<Edge<T>>,
    junction: usize,
    spec: EdgeSpec,
    policy: Option<&'static str>,
}

/// Opens flume channels for the plan's boundaries, keeping each one's two
/// sides for the tasks.
pub(crate) struct FlumeChannels {
    pub(crate) outlets: HashMap<usize, Arc<dyn Outlet>>,
    pub(crate) inlets: HashMap<usize, Arc<dyn Inlet>>,
    /// Each boundary's policy, by junction, until its channel is opened.
    policies: BTreeMap<usize, Box<dyn BackpressurePolicy>>,
    /// Every stage's id, to name the stage before a boundary.
    stages: Vec<StageId>,
    clock: RunClock,
}

impl FlumeChannels {
    pub(crate) fn new(
        clock: RunClock,
        policies: BTreeMap<usize, Box<dyn BackpressurePolicy>>,
        stages: Vec<StageId>,
    ) -> Self {
        FlumeChannels { outlets: HashMap::new(), inlets: HashMap::new(), policies, stages, clock }
    }
}

impl Channels for FlumeChannels {
    fn open<T: Send + 'static>(
        &mut self,
        junction: usize,
        spec: &EdgeSpec,
    ) -> (Box<dyn BatchSender<T>>, Box<dyn BatchReceiver<T>>) {
        let (tx, rx) = flume::bounded(spec.capacity.max(1));
        let policy = self.policies.remove(&junction);
        let name = policy.as_ref().map(|policy| policy.name());
        let stage = self.stages.get(junction).cloned().unwrap_or_else(|| StageId::from_static("?"));
        let policy = policy.map(|policy| Policy { policy, clock: self.clock, stage, junction });
        let edge = Arc::new(Edge {
            tx: Mutex::new(Some(tx)),
            pending: Mutex::new(VecDeque::new()),
            next_batch_size: AtomicUsize::new(0),
            counts_bytes: policy.is_some(),
            waits: policy.as_ref().is_none_or(|p| p.policy.waits()),
            policy: Mutex::new(policy),
            turned_away: Mutex::new(Vec::new()),
            rx,
            taking: Mutex::new(()),
            stash: Mutex::new(None),
            arrived: Notify::new(),
            room: Notify::new(),
            spares: Mutex::new(Vec::new()),
            spares_kept: spec.capacity.max(1) + flux_core::STEP_BUDGET.div_ceil(spec.batch_size.max(1)) + 1,
            receiver_gone: AtomicBool::new(false),
            counters: Counters::default(),
        });
        let handle = Arc::new(EdgeHandle { edge: edge.clone(), junction, spec: *spec, policy: name });
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

#[cfg(test)]
mod tests;
