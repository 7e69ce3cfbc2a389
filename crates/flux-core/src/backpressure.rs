//! The contract for flow control at boundaries; implementations live in `flux-backpressure`.

use core::fmt;
use std::collections::BTreeMap;

use crate::{
    EdgeSpec, Envelope, ErrorEnvelope, ExecutionPlan, Instant, Junction, PlanError, Position, StageError, StageId,
};

/// What a boundary and the stages behind it are holding right now.
///
/// An accumulator's pending keys and bytes count here: a downstream that
/// holds many open groups is as full as one with a long queue.
///
/// An engine fills the queue figures from its channel; an accumulating
/// stage publishes its share (`flux-accumulate`'s `AccumulatorStats::pressure`
/// fills `pending_keys` and `pending_bytes`). Figures that do not apply
/// stay zero.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Pressure {
    /// Batches waiting in the channel.
    pub queued_batches: usize,
    /// Envelopes waiting in the channel.
    pub queued_envelopes: usize,
    /// Bytes waiting in the channel (from envelope costs).
    pub queued_bytes: u64,
    /// Open keys held by accumulators downstream.
    pub pending_keys: u64,
    /// Bytes of state held by accumulators downstream.
    pub pending_bytes: u64,
    /// Mean bytes per envelope of the last batch sent (0 before the first):
    /// what a byte limit expects the next envelopes to weigh.
    pub envelope_bytes: u64,
}

/// What a policy decides about the next batch: the answer of
/// [`BackpressurePolicy::admit`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Admission {
    /// Send it now.
    Now,
    /// Hold it until this engine time (rate shaping, credits).
    At(Instant),
    /// Hold it until the receiver frees room. With nothing queued there is
    /// room: an engine sends into an empty channel whatever the answer, so
    /// a policy cannot stall a boundary for ever.
    WhenRoom,
    /// Drop this batch, counted in the ledger as the policy's drops.
    DropNewest,
    /// Drop the oldest batch queued to make room, counted in the ledger as
    /// the policy's drops, and send this one.
    DropOldest,
    /// Send this batch's envelopes to the dead-letter output, naming the
    /// boundary.
    Reject,
}

/// Decides how a boundary channel behaves: capacity, batch size, admission.
///
/// It is meant to be consulted at each boundary before every send, with
/// the pressure downstream and the engine's time, so that on the sync
/// engine's virtual clock a rate limit is tested in no real time.
///
/// Both engines ask [`admit`](BackpressurePolicy::admit) before every
/// batch crosses the boundary the policy governs (a [`ChoosePolicy`] given
/// to the engine says which), and [`batch_size`](BackpressurePolicy::batch_size)
/// after it; the channel's shape is the plan's, which a
/// [`PlannerPass`](crate::PlannerPass) can copy from [`edge`](BackpressurePolicy::edge).
///
/// # Examples
///
/// ```
/// use flux_core::{Admission, BackpressurePolicy, EdgeSpec, Instant, Pressure};
///
/// /// At most four batches queued, and at most a million bytes held downstream.
/// struct Bounded;
///
/// impl BackpressurePolicy for Bounded {
///     fn name(&self) -> &'static str {
///         "bounded"
///     }
///     fn edge(&self) -> EdgeSpec {
///         EdgeSpec { capacity: 4, batch_size: 256 }
///     }
///     fn admit(&mut self, _batch: usize, pressure: &Pressure, _now: Instant) -> Admission {
///         let full = pressure.queued_batches >= self.edge().capacity || pressure.pending_bytes > 1_000_000;
///         if full { Admission::WhenRoom } else { Admission::Now }
///     }
/// }
///
/// let mut policy = Bounded;
/// assert_eq!(policy.admit(256, &Pressure::default(), Instant::ZERO), Admission::Now);
/// let busy = Pressure { pending_keys: 40_000, pending_bytes: 3_000_000, ..Pressure::default() };
/// assert_eq!(policy.admit(256, &busy, Instant::ZERO), Admission::WhenRoom, "open groups count as fullness");
/// assert_eq!(policy.batch_size(&busy, Instant::ZERO), 256, "the default keeps the edge's batch size");
/// ```
pub trait BackpressurePolicy: Send {
    /// A short name: reports count the boundary's drops under it.
    fn name(&self) -> &'static str;

    /// The channel's shape when the run starts: capacity in batches, and
    /// envelopes per batch.
    fn edge(&self) -> EdgeSpec;

    /// Whether the next batch, of `batch` envelopes, may go now, given the
    /// pressure downstream.
    ///
    /// `now` is engine time: an [`Admission::At`] answer is a time on the
    /// same clock. A held batch is offered again when its wait ends.
    fn admit(&mut self, batch: usize, pressure: &Pressure, now: Instant) -> Admission;

    /// The batch size to use next; adaptive policies change it as pressure changes.
    ///
    /// The default keeps [`edge`](BackpressurePolicy::edge)'s batch size.
    fn batch_size(&mut self, pressure: &Pressure, now: Instant) -> usize {
        let _ = (pressure, now);
        self.edge().batch_size
    }

    /// How many more envelopes the sender may make before this policy
    /// would hold it, given what is queued. Engines cap a source's step at
    /// it, so a limit in envelopes or bytes holds within one step too, to
    /// within a batch: a step cut short leaves part of a batch in the
    /// boundary's sender, which goes on once a later step fills it.
    /// `None` (the default): the channel's room in batches decides.
    fn room(&self, pressure: &Pressure) -> Option<usize> {
        let _ = pressure;
        None
    }

    /// Whether the sender waits while the channel is at its capacity (the
    /// default). A policy that sheds says `false`: the engine never holds
    /// its sender back, and the policy's drops keep the channel within it.
    fn waits(&self) -> bool {
        true
    }
}

/// Chooses the policy of each boundary of a run: engines ask once per
/// junction when a run starts, and an answer for a junction the plan fused
/// is an error (`flux-backpressure`'s `EdgePolicies` cuts those junctions
/// as a planner pass). A fresh policy per run: policies keep state.
pub trait ChoosePolicy: Send + Sync {
    /// The policy for the junction after stage `junction` (named `after`),
    /// or `None` for the plan's bounded channel alone.
    fn policy_for(&self, junction: usize, after: &StageId) -> Option<Box<dyn BackpressurePolicy>>;

    /// Every boundary's policy for a run of `plan`, by junction.
    ///
    /// # Errors
    ///
    /// A policy for a junction the plan fused: it would never be asked.
    fn choose_all(&self, plan: &ExecutionPlan) -> Result<BTreeMap<usize, Box<dyn BackpressurePolicy>>, PlanError> {
        let mut chosen = BTreeMap::new();
        for (junction, joint) in plan.junctions.iter().enumerate() {
            let stage = &plan.stages[junction].id;
            match (self.policy_for(junction, stage), joint) {
                (None, _) => {}
                (Some(policy), Junction::Boundary(_)) => drop(chosen.insert(junction, policy)),
                (Some(_), Junction::Fused) => {
                    let cause =
                        "a policy for a junction the plan fused: give the policies to the planner as a pass too";
                    return Err(PlanError::Pass {
                        pass: "backpressure",
                        stage: Some(stage.clone()),
                        cause: cause.into(),
                    });
                }
            }
        }
        Ok(chosen)
    }
}

/// Why an envelope went to the dead-letter output at a boundary: its
/// policy answered [`Admission::Reject`]. The cause of the envelope's
/// [`ErrorEnvelope`], which names the stage before the boundary.
///
/// # Examples
///
/// ```
/// use flux_core::{Envelope, TurnedAway, StageId};
///
/// let turned_away = TurnedAway { junction: 2, policy: "reject-when-full" };
/// let letter = turned_away.letter(&StageId::from_static("parse"), Envelope::new(5u8).with_sequence(9));
/// assert_eq!(letter.meta.sequence, 9);
/// assert_eq!(letter.error.to_string(), "stage `parse` failed at sequence 9");
/// assert_eq!(letter.error.cause().to_string(), "rejected by the `reject-when-full` policy of the boundary after stage 2");
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TurnedAway {
    /// The junction (the boundary after stage `junction`).
    pub junction: usize,
    /// The policy's [`name`](BackpressurePolicy::name).
    pub policy: &'static str,
}

impl TurnedAway {
    /// The dead letter for `envelope`, turned away after `stage`.
    pub fn letter<T>(self, stage: &StageId, envelope: Envelope<T>) -> ErrorEnvelope {
        let (_, meta, _) = envelope.into_parts();
        let position = Position::Sequence(meta.sequence);
        ErrorEnvelope { meta, error: StageError::new(stage.clone(), position, self) }
    }
}

impl fmt::Display for TurnedAway {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "rejected by the `{}` policy of the boundary after stage {}", self.policy, self.junction)
    }
}

impl std::error::Error for TurnedAway {}
