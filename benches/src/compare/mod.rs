//! The registered comparisons, one module each.

pub mod accumulate;
pub mod framing;
pub mod fused_chain;

use crate::Comparison;

/// Comparisons with one workload, by name, built lazily (building one prepares its data).
pub fn all() -> Vec<(&'static str, fn() -> Comparison)> {
    vec![("framing", framing::comparison), ("accumulate", accumulate::comparison)]
}

/// Comparisons over several workloads: each workload prints its own line,
/// and the group prints the geometric mean of their ratios with the spread.
pub fn groups() -> Vec<(&'static str, fn() -> Vec<Comparison>)> {
    vec![("fused_chain", fused_chain::comparisons)]
}
