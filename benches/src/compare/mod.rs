//! The registered comparisons, one module each.

pub mod fused_chain;

use crate::Comparison;

/// Every comparison, by name, built lazily (building one prepares its data).
pub fn all() -> Vec<(&'static str, fn() -> Comparison)> {
    vec![("fused_chain", fused_chain::comparison)]
}
