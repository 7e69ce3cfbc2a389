//! `cargo xtask bench [NAME] [--rounds N] [--instructions]`: side-by-side
//! comparisons; with `--instructions`, then each side's instructions per
//! item under callgrind (see `instructions.rs`).

use crate::cmd::{Failed, cargo};

/// Builds the comparisons with the bench profile (fat LTO, one codegen
/// unit, as the figures in docs/BENCHMARKS.md were measured) and runs them.
pub(crate) fn run(args: &[String]) -> Result<(), Failed> {
    let instructions = args.iter().any(|a| a == "--instructions");
    let args: Vec<&str> = args.iter().map(String::as_str).filter(|a| *a != "--instructions").collect();
    let mut cargo_args = vec!["run", "--quiet", "--profile", "bench", "-p", "flux-benches", "--bin", "compare", "--"];
    cargo_args.extend(&args);
    cargo(&cargo_args, &[])?;
    if instructions {
        // The comparison's name: the argument that is neither a flag nor
        // the value of `--rounds`.
        let name = args.iter().enumerate().find(|&(i, a)| !a.starts_with('-') && (i == 0 || args[i - 1] != "--rounds"));
        crate::instructions::run(name.map(|(_, a)| *a))?;
    }
    Ok(())
}
