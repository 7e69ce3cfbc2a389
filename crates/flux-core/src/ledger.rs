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
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
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
}

impl StageLedger {
    /// Adds `other`'s counts to `self` (segments of one stage run on several workers).
    pub fn absorb(&mut self, other: &StageLedger) {
        self.created += other.created;
        self.dropped += other.dropped;
        self.merged += other.merged;
        self.released += other.released;
        self.discarded += other.discarded;
        self.pending += other.pending;
        self.consumed += other.consumed;
    }
}

/// Receives the ledgers of a segment's stages, in pipeline order.
pub trait LedgerVisitor {
    /// One stage's ledger.
    fn stage(&mut self, stage: &crate::StageId, ledger: &StageLedger);
}

impl<F: FnMut(&crate::StageId, &StageLedger)> LedgerVisitor for F {
    fn stage(&mut self, stage: &crate::StageId, ledger: &StageLedger) {
        self(stage, ledger);
    }
}
