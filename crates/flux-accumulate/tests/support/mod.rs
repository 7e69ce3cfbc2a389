//! Test support: a test accumulator, and a harness that drives an
//! accumulating node directly on a virtual clock and checks its ledger.

#![allow(dead_code, reason = "each test file uses a different part of the support module")]
#![allow(
    unreachable_pub,
    unused_imports,
    reason = "a test-only module shared by test files that each use a part of it"
)]

pub mod parts;

use std::sync::{Arc, Mutex};

use bytes::Bytes;
use flux_accumulate::{Accumulate, AccumulateNode, AccumulatorStats, Policy};
use flux_core::{Accumulator, Context, Envelope, Instant, Layer, LedgerVisitor, Push, StageLedger};
use flux_test::Diverted;

pub use parts::{Parts, Record, State};

/// Records with the engine time they were emitted at, shared with the test.
pub type Emitted<T> = Arc<Mutex<Vec<(Instant, Envelope<T>)>>>;

/// The node after the accumulator: keeps every record, with the time it came.
pub struct Collect<T> {
    pub out: Emitted<T>,
    pub now: Instant,
}

impl<T: Send> Push<T> for Collect<T> {
    fn push(&mut self, item: Envelope<T>, cx: &mut Context<'_>) {
        self.out.lock().unwrap().push((cx.now(), item));
    }
    fn on_time(&mut self, _: &mut Context<'_>) {}
    fn next_deadline(&self, _: bool) -> Option<Instant> {
        None
    }
    fn finish(&mut self, _: &mut Context<'_>) {}
    fn visit(&self, _: &mut dyn LedgerVisitor) {}

    fn poll_lifecycle(
        &mut self,
        _: flux_core::Lifecycle,
        _: &mut flux_core::Context<'_>,
    ) -> std::task::Poll<Result<(), flux_core::StageError>> {
        std::task::Poll::Ready(Ok(()))
    }
}

/// An accumulating node on a virtual clock.
pub struct Harness<A: Accumulator> {
    pub node: AccumulateNode<A, Collect<A::Output>>,
    pub out: Emitted<A::Output>,
    pub diverted: Diverted,
    pub now: Instant,
    pub stats: AccumulatorStats,
    pub pushed: u64,
    /// Records already removed with `take`.
    pub taken: u64,
}

impl<A> Harness<A>
where
    A: Accumulator,
    A::Output: Send,
{
    pub fn new(acc: A, policy: Policy) -> Self {
        Self::with_layer(Accumulate::new(acc, policy))
    }

    pub fn with_layer(layer: Accumulate<A>) -> Self {
        let out = Arc::new(Mutex::new(Vec::new()));
        let stats = layer.stats();
        let node = layer.into_node(Collect { out: out.clone(), now: Instant::ZERO });
        Harness { node, out, diverted: Diverted::default(), now: Instant::ZERO, stats, pushed: 0, taken: 0 }
    }

    /// Pushes a fragment at the current time.
    pub fn push(&mut self, fragment: Envelope<A::Fragment>) {
        self.pushed += 1;
        let mut cx = Context::new(self.now, &mut self.diverted);
        self.node.push(fragment, &mut cx);
    }

    /// Pushes fragments at the current time as one batch, as a boundary
    /// hands them to the stage.
    #[allow(dead_code, reason = "not every test binary pushes batches")]
    pub fn push_batch(&mut self, fragments: Vec<Envelope<A::Fragment>>) {
        self.pushed += fragments.len() as u64;
        let mut batch = fragments.into();
        let mut cx = Context::new(self.now, &mut self.diverted);
        self.node.push_batch(&mut batch, &mut cx);
        assert!(batch.is_empty(), "the stage takes a whole batch");
    }

    /// Moves the clock to `at`, firing every due timer at its exact
    /// deadline on the way (as the sync engine does).
    pub fn advance_to(&mut self, at: Instant) {
        while let Some(deadline) = self.node.next_deadline(false).filter(|d| *d <= at) {
            self.tick(deadline);
        }
        self.now = at;
    }

    /// Sets the clock to `at` and fires timers once.
    pub fn tick(&mut self, at: Instant) {
        self.now = at;
        let mut cx = Context::new(self.now, &mut self.diverted);
        self.node.on_time(&mut cx);
    }

    /// End of input, waiting first for the timers the policy waits for.
    pub fn finish(&mut self) {
        while let Some(deadline) = self.node.next_deadline(true) {
            self.tick(deadline);
        }
        let mut cx = Context::new(self.now, &mut self.diverted);
        self.node.finish(&mut cx);
    }

    pub fn ledger(&self) -> StageLedger {
        let mut ledger = StageLedger::default();
        self.node.visit(&mut |_: &flux_core::StageId, l: &StageLedger| ledger = *l);
        ledger
    }

    /// Records emitted so far, removed from the harness.
    pub fn take(&mut self) -> Vec<(Instant, Envelope<A::Output>)> {
        let out = std::mem::take(&mut *self.out.lock().unwrap());
        self.taken += out.len() as u64;
        out
    }

    pub fn records(&self) -> usize {
        self.out.lock().unwrap().len()
    }

    /// The stage's conservation law, and (after finish) nothing pending.
    pub fn assert_balanced(&self, finished: bool) {
        let l = self.ledger();
        let emitted = self.records() as u64 + self.taken;
        let diverted = (self.diverted.dead_letters.len() + self.diverted.side_outputs.len()) as u64;
        assert_eq!(self.pushed + l.created, emitted + l.dropped + l.merged + diverted, "conservation: {l:?}");
        assert_eq!(l.merged, l.released + l.discarded + l.pending, "merge balance: {l:?}");
        if finished {
            assert_eq!(l.pending, 0, "pending after finish: {l:?}");
        }
    }
}

/// A fragment of `key` carrying `part` (a bit index) and `value`.
pub fn frag(key: &'static str, part: u8, value: u32) -> Envelope<(u8, u32)> {
    Envelope::new((part, value)).with_key(Bytes::from_static(key.as_bytes()))
}

pub fn header(env: &Envelope<impl Sized>, name: &str) -> String {
    String::from_utf8(env.meta().headers.get(name).expect("header present").to_vec()).unwrap()
}

/// Each record of the test accumulator as (key, values, first sequence, reason).
pub fn records(h: &mut Harness<Parts>) -> Vec<(Bytes, Vec<u32>, u64, flux_core::EmitReason)> {
    h.take()
        .into_iter()
        .map(|(_, r)| (r.payload().key.clone(), r.payload().values.clone(), r.meta().sequence, r.payload().reason))
        .collect()
}

/// A key from a static string.
pub fn key(k: &'static str) -> Bytes {
    Bytes::from_static(k.as_bytes())
}

pub fn secs(s: u64) -> Instant {
    Instant::from_secs(s)
}

impl<A> Harness<A>
where
    A: Accumulator,
    A::Output: Send,
{
    /// The node's next deadline while input is still flowing.
    pub fn node_deadline(&self) -> Option<Instant> {
        self.node.next_deadline(false)
    }
}

/// The deadline an engine must wait for after input ends.
pub trait AtEndDeadline {
    fn next_deadline_at_end(&self) -> Option<Instant>;
}

impl<A, D> AtEndDeadline for AccumulateNode<A, D>
where
    A: Accumulator,
    D: Push<A::Output>,
{
    fn next_deadline_at_end(&self) -> Option<Instant> {
        self.next_deadline(true)
    }
}

/// Fuses every junction: the stage runs inside the source's segment.
pub struct FuseAll;

impl flux_core::PlannerPass for FuseAll {
    fn name(&self) -> &'static str {
        "fuse-all"
    }

    fn run(&self, plan: &mut flux_core::ExecutionPlan) -> Result<(), flux_core::PlanError> {
        plan.junctions.iter_mut().for_each(|junction| *junction = flux_core::Junction::Fused);
        Ok(())
    }
}
