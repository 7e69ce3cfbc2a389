//! Counting where every envelope went.

/// What one stage counted about the envelopes that passed through it.
///
/// The ledger is the kernel's conservation law. For every stage,
///
/// ```text
/// in + created == out + dropped + merged + consumed + dead_letters + side_outputs
/// ```
///
/// and for every stage that merges,
///
/// ```text
/// merged == released + discarded + pending
/// ```
///
/// Stages count only the events that are not one-in-one-out (a `map`
/// counts nothing at all, so the fused path pays nothing); the engine counts
/// what enters from the source, derives each stage's `in` and `out` by
/// walking the ledgers in pipeline order, and checks at stop that nothing is
/// left unaccounted for (`pending == 0`, and every envelope reached an end).
///
/// `in` and `out` are not fields: a stage's `in` is what the stage before
/// it put out, and its `out` is what is left of `in + created` once the
/// rest of the law is paid. `dead_letters` and `side_outputs` are not
/// fields either: the engine counts them as they reach its
/// [`Diversions`](crate::Diversions), under the stage they name. A stage
/// that counts wrongly shows up at stop, as a stage that accounted for
/// more than it received, as merged inputs never released, or as
/// envelopes that reached the end and were not consumed.
///
/// A node reports its ledger through [`Push::visit`](crate::Push::visit).
///
/// # Examples
///
/// ```
/// use flux_core::StageLedger;
///
/// // A filter's counts from two workers, added up as an engine does.
/// let mut filter = StageLedger { dropped: 3, ..StageLedger::default() };
/// filter.absorb(&StageLedger { dropped: 1, ..StageLedger::default() });
/// assert_eq!(filter.dropped, 4);
///
/// // Ten envelopes reached it: what it put out is what the law leaves.
/// let received = 10;
/// let accounted = filter.dropped + filter.merged + filter.consumed;
/// assert_eq!(received + filter.created - accounted, 6);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct StageLedger {
    /// Envelopes this stage made beyond one per input: extra `flat_map`
    /// outputs, records an accumulator emitted, everything a source produced.
    pub created: u64,
    /// Inputs dropped because a policy asked (a filter's `false`, an empty
    /// `flat_map`, a counted drop of open groups at end of stream).
    pub dropped: u64,
    /// Inputs absorbed into state (accumulator fragments).
    pub merged: u64,
    /// Merged inputs that left inside an emitted record.
    pub released: u64,
    /// Merged inputs whose state was dropped by an explicit policy.
    pub discarded: u64,
    /// Merged inputs still held in state.
    pub pending: u64,
    /// Inputs a sink wrote.
    pub consumed: u64,
    /// Of the envelopes made from state, those that went out incomplete:
    /// an accumulator's group flushed by a timer, a size limit, eviction
    /// or the end of input rather than because it was whole. The law does
    /// not read it; it says how complete a stage's output was.
    pub partial: u64,
}

impl StageLedger {
    /// Adds `other`'s counts to `self` (segments of one stage run on several workers).
    ///
    /// Engines collect each stage's row this way, keyed by its id, so a
    /// stage whose segment runs on several workers adds up to one row.
    pub fn absorb(&mut self, other: &StageLedger) {
        self.created += other.created;
        self.dropped += other.dropped;
        self.merged += other.merged;
        self.released += other.released;
        self.discarded += other.discarded;
        self.pending += other.pending;
        self.consumed += other.consumed;
        self.partial += other.partial;
    }
}

/// Receives the ledgers of a segment's stages, in pipeline order.
///
/// An engine hands one to [`Segment::visit`](crate::Segment::visit) at
/// stop; each node passes it its own row, then on to the node after it
/// ([`Push::visit`](crate::Push::visit)). A node that counts nothing (a
/// boundary's sender) passes nothing. Any `FnMut(&StageId, &StageLedger)`
/// closure is a visitor.
///
/// # Examples
///
/// Reading the ledger of a pipeline assembled and run by hand (an engine
/// does this at stop, adding up rows by id):
///
/// ```
/// use flux_core::*;
/// use flux_steps::Steps;
/// use flux_test::{Diverted, IterSource, VecSink};
///
/// struct NoChannels;
/// impl Channels for NoChannels {
///     fn open<T: Send + 'static>(&mut self, _: usize, _: &EdgeSpec)
///         -> (Box<dyn BatchSender<T>>, Box<dyn BatchReceiver<T>>) { unreachable!("all fused") }
/// }
///
/// let pipeline = Pipeline::from_source(IterSource::new(1..=5u32))
///     .filter(|n| n % 2 == 1)
///     .sink(VecSink::new());
/// let plan = ExecutionPlan::draft(pipeline.describe());
/// let mut segments = pipeline.assemble(&plan, &mut NoChannels).unwrap();
/// let mut diverted = Diverted::default();
/// let mut cx = Context::new(Instant::ZERO, &mut diverted);
/// while !matches!(segments[0].step(&mut cx), Step::Exhausted) {}
/// segments[0].finish(&mut cx);
///
/// let mut rows = Vec::new();
/// segments[0].visit(&mut |id: &StageId, ledger: &StageLedger| rows.push((id.to_string(), *ledger)));
/// assert_eq!(rows[0], ("source".to_owned(), StageLedger { created: 5, ..StageLedger::default() }));
/// assert_eq!(rows[1], ("filter-1".to_owned(), StageLedger { dropped: 2, ..StageLedger::default() }));
/// assert_eq!(rows[2], ("sink".to_owned(), StageLedger { consumed: 3, ..StageLedger::default() }));
/// ```
pub trait LedgerVisitor {
    /// One stage's ledger, as the stage counted it so far.
    fn stage(&mut self, stage: &crate::StageId, ledger: &StageLedger);
}

impl<F: FnMut(&crate::StageId, &StageLedger)> LedgerVisitor for F {
    fn stage(&mut self, stage: &crate::StageId, ledger: &StageLedger) {
        self(stage, ledger);
    }
}
