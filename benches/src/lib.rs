//! Side-by-side comparisons of Flux against hand-written baselines.
//!
//! `cargo xtask bench [NAME]` runs the `compare` binary of this crate. Each
//! comparison measures a Flux pipeline and a hand-written baseline doing the
//! same work on the same data, alternating runs of the two in one process so
//! that both see the same machine state, and prints one line a script can
//! read:
//!
//! ```text
//! NAME ratio=R flux=F UNIT/s baseline=B UNIT/s baseline_kind=LABEL [KEY=VALUE ...]
//! ```
//!
//! `R` is Flux's throughput divided by the baseline's (higher is better;
//! "within 1.5x" means `R >= 0.67`). Results are also written as JSON to
//! `target/flux-bench/NAME.json`.
//!
//! Criterion benches (`cargo bench -p flux-benches`) cover the same
//! workloads for statistical detail.

#![allow(clippy::disallowed_methods, reason = "benchmarks measure wall time, the one thing Flux stages never read")]

pub mod compare;
pub mod data;
mod harness;

pub use harness::{Comparison, Outcome, Variant, run_comparison};
