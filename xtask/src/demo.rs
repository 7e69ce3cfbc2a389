//! `cargo xtask demo [ARGS]`: the flagship load, `flux demo`, end to end.

use crate::cmd::{Failed, cargo};

/// Runs `flux demo` (crate `flux-cli`), optimised, passing `args` on
/// (`cargo xtask demo --records 1000000 --engine async`).
pub(crate) fn run(args: &[String]) -> Result<(), Failed> {
    let mut cargo_args = vec!["run", "--quiet", "--profile", "demo", "-p", "flux-cli", "--bin", "flux", "--", "demo"];
    cargo_args.extend(args.iter().map(String::as_str));
    cargo(&cargo_args, &[])
}
