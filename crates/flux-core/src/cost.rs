//! What an envelope or a stage costs, for the planner's decisions.

/// The cost carried by an envelope: its size and a hint of the CPU it needs.
///
/// Sources fill `bytes` so that pools, accumulators and backpressure can
/// account for memory; `cpu_hint_ns` lets a stage say an item is unusually
/// expensive. Both are hints: nothing in the kernel trusts them for safety.
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
