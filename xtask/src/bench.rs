//! `cargo xtask bench [NAME] [--rounds N]`: side-by-side comparisons.

use crate::cmd::{Failed, cargo};

/// Builds the comparisons with the bench profile (fat LTO, one codegen
/// unit, as the figures in docs/BENCHMARKS.md were measured) and runs them.
pub(crate) fn run(args: &[String]) -> Result<(), Failed> {
    let mut cargo_args = vec!["run", "--quiet", "--profile", "bench", "-p", "flux-benches", "--bin", "compare", "--"];
    cargo_args.extend(args.iter().map(String::as_str));
    cargo(&cargo_args, &[])
}
