//! The contract for flow control at boundaries; implementations live in `flux-backpressure`.

use crate::{EdgeSpec, Instant};

/// What a boundary and the stages behind it are holding right now.
///
/// An accumulator's pending keys and bytes count here: a downstream that
/// holds many open groups is as full as one with a long queue.
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

/// What a policy decides about the next batch.
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
/// Engines consult the policy of each boundary at every send; the sync
/// engine with its virtual clock, so a rate limit is tested in no real time.
pub trait BackpressurePolicy: Send {
    /// The channel's shape when the run starts.
    fn edge(&self) -> EdgeSpec;

    /// Whether the next batch may go now, given the pressure downstream.
    fn admit(&mut self, pressure: &Pressure, now: Instant) -> Admission;

    /// The batch size to use next; adaptive policies change it as pressure changes.
    fn batch_size(&mut self, pressure: &Pressure, now: Instant) -> usize {
        let _ = (pressure, now);
        self.edge().batch_size
    }
}
