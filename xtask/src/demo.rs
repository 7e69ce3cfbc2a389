//! `cargo xtask demo [ARGS]`: the example pipeline, end to end.

use crate::cmd::{Failed, cargo};

/// Runs the `demo` binary of the examples crate, optimised.
pub(crate) fn run(args: &[String]) -> Result<(), Failed> {
    let mut cargo_args = vec!["run", "--quiet", "--profile", "demo", "-p", "flux-examples", "--bin", "demo", "--"];
    cargo_args.extend(args.iter().map(String::as_str));
    cargo(&cargo_args, &[])
}
