//! The ledger law every engine checks at stop: every stage's in and out,
//! derived from what the stages counted, and what does not add up.

use core::fmt;
use std::collections::HashMap;
use std::error::Error;

use crate::{ExecutionPlan, StageId, StageLedger};

/// What one boundary channel carried, as the ledger law needs it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct EdgeFlow {
    /// The junction (the boundary after stage `junction`).
    pub junction: usize,
    /// Envelopes sent into the channel.
    pub sent: u64,
    /// Envelopes taken out of it.
    pub received: u64,
    /// Envelopes its backpressure policy dropped or rejected (sent to the
    /// dead-letter output) instead.
    pub dropped: u64,
}

/// One stage's line in the run's ledger.
#[derive(Clone, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
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
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
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
    /// A boundary channel delivered and dropped by policy a different
    /// count than it was sent.
    ChannelLoss {
        /// The junction.
        junction: usize,
        /// Envelopes sent.
        sent: u64,
        /// Envelopes received.
        received: u64,
        /// Envelopes its policy dropped or rejected.
        dropped: u64,
    },
}

/// Builds every stage's row from what the stages counted (`counted`, by
/// id, from [`Segment::visit`](crate::Segment::visit)) and what the engine
/// collected (`diverted`: dead letters and side outputs by stage), deriving
/// `received` and `emitted` by walking the pipeline in order, and checks
/// that nothing was lost: the rows, and every [`Imbalance`] found.
///
/// Every engine calls it at stop, so the law is the same on all of them:
/// a stage accounts for no more than reached it, every merged input is
/// released or discarded, each boundary carried what the stage before it
/// emitted and delivered all of it but what its policy dropped, and the
/// last stage consumed the rest.
///
/// # Examples
///
/// ```
/// use std::collections::HashMap;
/// use flux_core::{EdgeFlow, ExecutionPlan, Imbalance, Purity, StageDescriptor, StageId, StageKind, StageLedger, balance};
///
/// let plan = ExecutionPlan::draft(vec![
///     StageDescriptor::new("source", StageKind::Source, Purity::Stateful),
///     StageDescriptor::new("sink", StageKind::Sink, Purity::Stateful),
/// ]);
/// let mut counted = HashMap::new();
/// counted.insert(StageId::from_static("source"), StageLedger { created: 5, ..StageLedger::default() });
/// counted.insert(StageId::from_static("sink"), StageLedger { consumed: 4, ..StageLedger::default() });
/// let (rows, problems) = balance(&plan, &counted, &HashMap::new(), &[] as &[EdgeFlow]);
/// assert_eq!((rows[1].received, rows[1].emitted), (5, 1));
/// assert_eq!(problems, [Imbalance::Vanished { stage: StageId::from_static("sink"), count: 1 }]);
/// ```
pub fn balance(
    plan: &ExecutionPlan,
    counted: &HashMap<StageId, StageLedger>,
    diverted: &HashMap<StageId, (u64, u64)>,
    edges: &[EdgeFlow],
) -> (Vec<LedgerRow>, Vec<Imbalance>) {
    let mut rows = Vec::with_capacity(plan.stages.len());
    let mut problems = Vec::new();
    for edge in edges {
        if edge.sent != edge.received + edge.dropped {
            let (junction, sent, received, dropped) = (edge.junction, edge.sent, edge.received, edge.dropped);
            problems.push(Imbalance::ChannelLoss { junction, sent, received, dropped });
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
        // What a boundary's policy dropped never reaches the next stage.
        let shed: u64 = edges.iter().filter(|edge| edge.junction + 1 == rows.len()).map(|edge| edge.dropped).sum();
        flow = emitted.saturating_sub(shed);
    }
    for edge in edges {
        let derived = rows.get(edge.junction).map_or(0, |row| row.emitted);
        if derived != edge.sent {
            problems.push(Imbalance::Boundary { junction: edge.junction, derived, sent: edge.sent });
        }
    }
    if flow != 0
        && let Some(last) = plan.stages.last()
    {
        problems.push(Imbalance::Vanished { stage: last.id.clone(), count: flow });
    }
    (rows, problems)
}

/// A run's ledger as a table a person reads: a line per stage with what
/// reached it, what it passed on, and where the rest went.
///
/// ```
/// use flux_core::{LedgerRow, LedgerTable, StageId, StageLedger};
///
/// let rows = [LedgerRow {
///     stage: StageId::from_static("parse"),
///     received: 10,
///     emitted: 8,
///     dead_letters: 2,
///     side_outputs: 0,
///     counts: StageLedger::default(),
/// }];
/// let table = LedgerTable(&rows).to_string();
/// assert_eq!(table.lines().next(), Some("  stage  received      sent      dead      side   dropped    merged  released discarded   written"));
/// assert_eq!(table.lines().nth(1), Some("  parse        10         8         2         0         0         0         0         0         0"));
/// ```
#[derive(Clone, Copy, Debug)]
pub struct LedgerTable<'a>(pub &'a [LedgerRow]);

impl fmt::Display for LedgerTable<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let width = self.0.iter().map(|row| row.stage.as_str().len()).max().unwrap_or(5).max(5);
        let heads = ["received", "sent", "dead", "side", "dropped", "merged", "released", "discarded", "written"];
        write!(f, "  {:<width$}", "stage")?;
        heads.iter().try_for_each(|head| write!(f, " {head:>9}"))?;
        writeln!(f)?;
        for row in self.0 {
            let c = &row.counts;
            let figures = [row.received, row.emitted, row.dead_letters, row.side_outputs, c.dropped, c.merged];
            write!(f, "  {:<width$}", row.stage.as_str())?;
            figures.iter().chain(&[c.released, c.discarded, c.consumed]).try_for_each(|n| write!(f, " {n:>9}"))?;
            writeln!(f)?;
        }
        Ok(())
    }
}

/// What both engines' reports print after their own headline: inputs read
/// and written, the [`LedgerTable`], the first dead letters (and how many
/// more), and anything that did not balance.
#[derive(Clone, Copy, Debug)]
pub struct LedgerReport<'a> {
    /// The run's ledger, source first.
    pub ledger: &'a [LedgerRow],
    /// The dead letters the run kept whole.
    pub dead_letters: &'a [crate::ErrorEnvelope],
    /// What did not balance.
    pub problems: &'a [Imbalance],
}

impl LedgerReport<'_> {
    /// Dead letters listed whole; the rest are counted.
    const LISTED: usize = 5;
}

impl fmt::Display for LedgerReport<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let read = self.ledger.first().map_or(0, |source| source.emitted);
        let written = self.ledger.last().map_or(0, |sink| sink.counts.consumed);
        let dead: u64 = self.ledger.iter().map(|row| row.dead_letters).sum();
        writeln!(f, "{read} read, {written} written, {dead} dead letters")?;
        write!(f, "{}", LedgerTable(self.ledger))?;
        for letter in self.dead_letters.iter().take(Self::LISTED) {
            writeln!(f, "  dead letter {letter}")?;
        }
        let more = dead.saturating_sub(Self::LISTED.min(self.dead_letters.len()) as u64);
        if more > 0 {
            writeln!(f, "  and {more} more dead letters")?;
        }
        self.problems.iter().try_for_each(|problem| writeln!(f, "  does not balance: {problem}"))
    }
}

impl fmt::Display for Imbalance {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Imbalance::Overdrawn { stage, received, accounted } => {
                write!(f, "stage `{stage}` accounted for {accounted} envelopes but only {received} reached it")
            }
            Imbalance::Unreleased { stage, merged, released, discarded } => {
                write!(f, "stage `{stage}` merged {merged} inputs but released {released} and discarded {discarded}")
            }
            Imbalance::Vanished { stage, count } => {
                write!(f, "{count} envelopes reached `{stage}` and were not consumed")
            }
            Imbalance::Boundary { junction, derived, sent } => write!(
                f,
                "the stages before boundary {junction} accounted for {derived} envelopes but it carried {sent}"
            ),
            Imbalance::ChannelLoss { junction, sent, received, dropped } => write!(
                f,
                "boundary after stage {junction} delivered {received} and its policy dropped {dropped} of {sent} envelopes"
            ),
        }
    }
}

impl Error for Imbalance {}
