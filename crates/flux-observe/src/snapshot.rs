//! What [`Metrics`](crate::Metrics) hands out: the figures of a run at one
//! moment, as plain data that serializes.

use flux_core::StageLedger;
use serde::{Deserialize, Serialize};

/// The figures of a run at one moment: every stage's ledger, every
/// boundary's flow, and the dead letters by stage and cause.
///
/// Plain data: it serializes with serde ([`Snapshot::to_json`]), prints as
/// Prometheus text ([`Snapshot::to_prometheus`]) and as a table
/// (`Display`).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshot {
    /// The engine's time when it last reported, in nanoseconds from the
    /// run's start.
    pub at_nanos: u64,
    /// Whether the run had ended: then every figure is final, and each
    /// stage's ledger is the run report's.
    pub finished: bool,
    /// How many times the engine's clock moved to a timer.
    pub timers: u64,
    /// One per stage, source first.
    pub stages: Vec<StageFigures>,
    /// One per boundary, in pipeline order.
    pub edges: Vec<EdgeFigures>,
    /// Dead letters by stage and cause (a cause's first line; past 16
    /// distinct causes a stage's others are counted as `(other causes)`).
    pub dead_letters: Vec<DeadLetterCause>,
    /// One per segment that has stepped: how long its steps take and how
    /// busy it is, in real time.
    #[serde(default)]
    pub segments: Vec<SegmentFigures>,
    /// Real time since the run started, in nanoseconds (to its end, once
    /// it has ended): what throughput is figured over.
    #[serde(default)]
    pub wall_nanos: u64,
}

impl Snapshot {
    /// The figures of the stage named `id`.
    pub fn stage(&self, id: &str) -> Option<&StageFigures> {
        self.stages.iter().find(|stage| stage.stage == id)
    }

    /// The boundary whose queue is fullest, as a share of what it can
    /// hold, if any holds anything: where a run that does not move is
    /// waiting. The stage after it is the slow one.
    pub fn fullest_edge(&self) -> Option<&EdgeFigures> {
        let share = |edge: &EdgeFigures| (edge.queued as f64) / (edge.holds.max(1) as f64);
        self.edges.iter().filter(|edge| edge.queued > 0).max_by(|a, b| share(a).total_cmp(&share(b)))
    }

    /// The segment busiest for the longest share of the run: where the
    /// time goes.
    pub fn busiest_segment(&self) -> Option<&SegmentFigures> {
        self.segments.iter().max_by_key(|segment| segment.busy_nanos)
    }

    /// The snapshot as JSON.
    ///
    /// # Panics
    ///
    /// Never: every field serializes.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("plain data serializes")
    }
}

/// One stage's line: the ledger, derived from what the stages counted as
/// the engine's ledger law derives it.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StageFigures {
    /// The stage's id.
    pub stage: String,
    /// Envelopes that reached it.
    pub received: u64,
    /// Envelopes it passed on.
    pub sent: u64,
    /// Inputs it sent to the dead-letter output.
    pub dead_letters: u64,
    /// Inputs it sent to the side output (late data, closed keys).
    pub side_outputs: u64,
    /// Of those, inputs behind the watermark by more than the allowed
    /// lateness.
    #[serde(default)]
    pub late: u64,
    /// Envelopes it made from state that went out incomplete (an
    /// accumulator's groups flushed by a timer, a size limit, eviction or
    /// the end of input).
    #[serde(default)]
    pub partial: u64,
    /// Inputs it dropped on purpose, counted (a filter's rejects).
    pub dropped_by_policy: u64,
    /// Envelopes it made (a source's reads, a flat map's extra outputs).
    pub created: u64,
    /// Inputs merged into open groups (an accumulator).
    pub merged: u64,
    /// Merged inputs released in emitted records.
    pub released: u64,
    /// Merged inputs discarded by policy (an evicted group).
    pub discarded: u64,
    /// Merged inputs still held in open groups.
    pub pending: u64,
    /// Envelopes written (a sink).
    pub consumed: u64,
}

impl StageFigures {
    pub(crate) fn new(
        stage: &str,
        received: u64,
        sent: u64,
        diverted: crate::metrics::Diverted,
        counted: &StageLedger,
    ) -> Self {
        StageFigures {
            stage: stage.to_owned(),
            received,
            sent,
            dead_letters: diverted.dead_letters,
            side_outputs: diverted.side_outputs,
            late: diverted.late,
            partial: counted.partial,
            dropped_by_policy: counted.dropped,
            created: counted.created,
            merged: counted.merged,
            released: counted.released,
            discarded: counted.discarded,
            pending: counted.pending,
            consumed: counted.consumed,
        }
    }
}

/// One boundary's figures.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EdgeFigures {
    /// The junction: the boundary after stage `junction`.
    pub junction: usize,
    /// The id of the stage before it.
    pub after: String,
    /// Envelopes sent into it.
    pub sent: u64,
    /// Envelopes the segment after it took.
    pub received: u64,
    /// Envelopes its backpressure policy dropped or rejected.
    pub dropped_by_policy: u64,
    /// Of those, the ones rejected to the dead-letter output.
    pub turned_away: u64,
    /// Envelopes in it now: sent, not yet received or dropped.
    pub queued: u64,
    /// Envelopes it can hold: batches times the batch size.
    pub holds: u64,
    /// Batches the segment after it took.
    pub batches: u64,
}

/// One segment's steps: the stages fused into it, timed together, in real
/// time. A step is a source's read of up to 1,024 envelopes, or one batch
/// off a boundary, through every stage of the segment.
///
/// Quantiles come from an HDR histogram at 3 significant figures: each is
/// within 0.1% of the exact step time at its rank.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SegmentFigures {
    /// The id of the segment's first stage.
    pub first_stage: String,
    /// Steps taken.
    pub steps: u64,
    /// Real time spent in steps, in nanoseconds.
    pub busy_nanos: u64,
    /// Real time since the run started (to its end, once ended).
    pub wall_nanos: u64,
    /// The median step time.
    pub step_p50_nanos: u64,
    /// The 90th percentile.
    pub step_p90_nanos: u64,
    /// The 99th percentile.
    pub step_p99_nanos: u64,
    /// The 99.9th percentile.
    pub step_p999_nanos: u64,
    /// The longest step.
    pub step_max_nanos: u64,
}

impl SegmentFigures {
    /// The share of the run's real time the segment spent in steps: near
    /// 1.0 for the segment that holds the pipeline back.
    pub fn busy_share(&self) -> f64 {
        self.busy_nanos as f64 / self.wall_nanos.max(1) as f64
    }
}

/// How many dead letters a stage sent for one cause.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeadLetterCause {
    /// The stage the error names.
    pub stage: String,
    /// The cause's first line.
    pub cause: String,
    /// How many.
    pub count: u64,
}
