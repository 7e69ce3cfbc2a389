//! What an envelope or a stage costs, for the planner's decisions.

/// The cost carried by an envelope: its size and a hint of the CPU it needs.
///
/// Sources fill `bytes` so that pools, accumulators and backpressure can
/// account for memory; `cpu_hint_ns` lets a stage say an item is unusually
/// expensive. Both are hints: nothing in the kernel trusts them for safety.
///
/// A cost travels with its envelope: [`Envelope::map`](crate::Envelope::map)
/// and [`Envelope::replace`](crate::Envelope::replace) keep it, so a parsed
/// record still weighs what its raw frame weighed. The accumulating stage
/// in `flux-accumulate` sums its fragments' bytes for its byte limit, and
/// gives the record it emits their sum.
///
/// The per-stage estimate the planner reads is a different thing: see
/// [`StageDescriptor::cpu_hint_ns`](crate::StageDescriptor::cpu_hint_ns).
///
/// # Examples
///
/// ```
/// use flux_core::{Cost, Envelope};
///
/// let frame = Envelope::new("42,ada").with_cost(Cost::bytes(6));
/// let parsed = frame.map(|line| line.split(',').count());
/// assert_eq!(parsed.cost(), Cost { bytes: 6, cpu_hint_ns: 0 }, "a transform keeps the cost");
/// assert_eq!(Envelope::new(()).cost(), Cost::ZERO);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Cost {
    /// Payload size in bytes, as counted by whoever produced it.
    pub bytes: u32,
    /// Estimated CPU time to process this item, in nanoseconds.
    pub cpu_hint_ns: u32,
}

impl Cost {
    /// No cost.
    pub const ZERO: Cost = Cost { bytes: 0, cpu_hint_ns: 0 };

    /// A cost of `bytes` bytes and no CPU hint.
    pub const fn bytes(bytes: u32) -> Self {
        Cost { bytes, cpu_hint_ns: 0 }
    }
}
