//! The contract for flow control at boundaries; implementations live in `flux-backpressure`.

use crate::{EdgeSpec, Instant};

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
}

/// What a policy decides about the next batch: the answer of
/// [`BackpressurePolicy::admit`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Admission {
    /// Send it now.
    Now,
    /// Hold it until this engine time (rate shaping, credits).
    At(Instant),
    /// Hold it until the receiver frees room.
    WhenRoom,
}

/// Decides how a boundary channel behaves: capacity, batch size, admission.
///
/// It is meant to be consulted at each boundary before every send, with
/// the pressure downstream and the engine's time, so that on the sync
/// engine's virtual clock a rate limit is tested in no real time.
///
/// In this release no engine calls [`admit`](BackpressurePolicy::admit) or
/// [`batch_size`](BackpressurePolicy::batch_size) yet (`flux-backpressure`
/// is still to come). What a policy sets today is the channel's shape: a
/// [`PlannerPass`](crate::PlannerPass) can copy [`edge`](BackpressurePolicy::edge)
/// into the boundaries of the plan, and the sync engine holds a segment
/// back while the channel it sends into is at that capacity.
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
///     fn edge(&self) -> EdgeSpec {
///         EdgeSpec { capacity: 4, batch_size: 256 }
///     }
///     fn admit(&mut self, pressure: &Pressure, _now: Instant) -> Admission {
///         let full = pressure.queued_batches >= self.edge().capacity || pressure.pending_bytes > 1_000_000;
///         if full { Admission::WhenRoom } else { Admission::Now }
///     }
/// }
///
/// let mut policy = Bounded;
/// assert_eq!(policy.admit(&Pressure::default(), Instant::ZERO), Admission::Now);
/// let busy = Pressure { pending_keys: 40_000, pending_bytes: 3_000_000, ..Pressure::default() };
/// assert_eq!(policy.admit(&busy, Instant::ZERO), Admission::WhenRoom, "open groups count as fullness");
/// assert_eq!(policy.batch_size(&busy, Instant::ZERO), 256, "the default keeps the edge's batch size");
/// ```
pub trait BackpressurePolicy: Send {
    /// The channel's shape when the run starts: capacity in batches, and
    /// envelopes per batch.
    fn edge(&self) -> EdgeSpec;

    /// Whether the next batch may go now, given the pressure downstream.
    ///
    /// `now` is engine time: an [`Admission::At`] answer is a time on the
    /// same clock.
    fn admit(&mut self, pressure: &Pressure, now: Instant) -> Admission;

    /// The batch size to use next; adaptive policies change it as pressure changes.
    ///
    /// The default keeps [`edge`](BackpressurePolicy::edge)'s batch size.
    fn batch_size(&mut self, pressure: &Pressure, now: Instant) -> usize {
        let _ = (pressure, now);
        self.edge().batch_size
    }
}
