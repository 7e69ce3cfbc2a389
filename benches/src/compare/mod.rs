//! The registered comparisons, one module each.

pub mod accumulate;
pub mod async_engine;
pub mod engines;
pub mod framing;
pub mod fused_chain;
pub mod observe;
pub mod sinks;
pub mod sinks_postgres;

use crate::Comparison;

/// A named comparison with one workload, built on demand (building prepares its data).
pub type Single = (&'static str, fn() -> Comparison);

/// A named comparison over several workloads.
pub type Group = (&'static str, fn() -> Vec<Comparison>);

/// Comparisons with one workload, by name, built lazily (building one prepares its data).
pub fn all() -> Vec<Single> {
    vec![("framing", framing::comparison), ("accumulate", accumulate::comparison)]
}

/// Comparisons over several workloads: each workload prints its own line,
/// and the group prints the geometric mean of their ratios with the spread.
pub fn groups() -> Vec<Group> {
    vec![
        ("fused_chain", fused_chain::comparisons),
        ("engines", engines::comparisons),
        ("async", async_engine::comparisons),
        ("observe", observe::comparisons),
        ("sinks", sinks::comparisons),
    ]
}
