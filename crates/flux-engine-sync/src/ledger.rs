//! The run's ledger: every stage's in and out, derived and checked.

use std::collections::HashMap;

use flux_core::{ExecutionPlan, StageId, StageLedger};

use crate::EdgeStats;

/// One stage's line in the run's ledger.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LedgerRow {
    /// The stage.
    pub stage: StageId,
    /// Envelopes that reached the stage.
    pub received: u64,
    /// Envelopes the stage passed downstream.
    pub emitted: u64,
    /// Inputs sent to the dead-letter output.
    pub dead_letters: u64,
    /// Inputs sent to the side output.
    pub side_outputs: u64,
    /// What the stage counted itself.
    pub counts: StageLedger,
}

/// Why a ledger does not balance.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Imbalance {
    /// A stage accounted for more envelopes than reached it.
    Overdrawn {
        /// The stage.
        stage: StageId,
        /// Envelopes that reached it.
        received: u64,
        /// Envelopes it accounted for.
        accounted: u64,
    },
    /// A stage holds or lost merged inputs: `merged != released + discarded`
    /// after stop.
    Unreleased {
        /// The stage.
        stage: StageId,
        /// Inputs merged.
        merged: u64,
        /// Inputs released in records.
        released: u64,
        /// Inputs discarded by policy.
        discarded: u64,
    },
    /// Envelopes reached the end of the pipeline without being consumed.
    Vanished {
        /// The last stage.
        stage: StageId,
        /// How many.
        count: u64,
    },
    /// The stage before a boundary accounted for a different number of
    /// envelopes than the boundary carried: a stage in that segment lost or
    /// made envelopes without counting them.
    Boundary {
        /// The junction (the boundary after stage `junction`).
        junction: usize,
        /// What the ledger says the stage before it emitted.
        derived: u64,
        /// What the channel was sent.
        sent: u64,
    },
    /// A boundary channel delivered a different count than it was sent.
    ChannelLoss {
        /// The junction.
        junction: usize,
        /// Envelopes sent.
        sent: u64,
        /// Envelopes received.
        received: u64,
    },
}

/// Builds every stage's row from what the stages counted and what the
/// engine collected, deriving `received` and `emitted` by walking the
/// pipeline in order, and checks that nothing was lost.
pub(crate) fn balance(
    plan: &ExecutionPlan,
    counted: &HashMap<StageId, StageLedger>,
    diverted: &HashMap<StageId, (u64, u64)>,
    edges: &[EdgeStats],
) -> (Vec<LedgerRow>, Vec<Imbalance>) {
    let mut rows = Vec::with_capacity(plan.stages.len());
    let mut problems = Vec::new();
    for edge in edges {
        if edge.envelopes_sent != edge.envelopes_received {
            problems.push(Imbalance::ChannelLoss {
                junction: edge.junction,
                sent: edge.envelopes_sent,
                received: edge.envelopes_received,
            });
        }
    }
    let mut flow: u64 = 0;
    for stage in &plan.stages {
        let counts = counted.get(&stage.id).copied().unwrap_or_default();
        let (dead_letters, side_outputs) = diverted.get(&stage.id).copied().unwrap_or_default();
        let received = flow;
        let available = received + counts.created;
        let accounted = counts.dropped + counts.merged + counts.consumed + dead_letters + side_outputs;
        let emitted = available.checked_sub(accounted).unwrap_or_else(|| {
            problems.push(Imbalance::Overdrawn { stage: stage.id.clone(), received: available, accounted });
            0
        });
        if counts.merged != counts.released + counts.discarded + counts.pending || counts.pending != 0 {
            problems.push(Imbalance::Unreleased {
                stage: stage.id.clone(),
                merged: counts.merged,
                released: counts.released,
                discarded: counts.discarded,
            });
        }
        rows.push(LedgerRow { stage: stage.id.clone(), received, emitted, dead_letters, side_outputs, counts });
        flow = emitted;
    }
    for edge in edges {
        let derived = rows.get(edge.junction).map_or(0, |row| row.emitted);
        if derived != edge.envelopes_sent {
            problems.push(Imbalance::Boundary { junction: edge.junction, derived, sent: edge.envelopes_sent });
        }
    }
    if flow != 0
        && let Some(last) = plan.stages.last()
    {
        problems.push(Imbalance::Vanished { stage: last.id.clone(), count: flow });
    }
    (rows, problems)
}
