//! Flux's automation, in Rust: `cargo xtask <command>`.
//!
//! - `ci`: everything CI checks (format, lints, tests, doc tests, docs,
//!   loom models, house rules). `.ci/run` calls it.
//! - `bench [NAME] [--rounds N] [--instructions]`: side-by-side comparisons
//!   against hand-written baselines, one line each, JSON under
//!   `target/flux-bench/`; `--instructions` adds each side's instructions
//!   per item, counted by callgrind, for comparisons that have them.
//! - `demo [ARGS]`: runs the example pipeline end to end.

#![forbid(unsafe_code)]

mod bench;
mod ci;
mod cmd;
mod demo;
mod instructions;
mod lines;
#[cfg(test)]
mod tidy;

use std::process::ExitCode;

const USAGE: &str = "usage: cargo xtask <ci | bench [NAME] [--rounds N] [--instructions] | demo [ARGS]>";

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let command = args.next();
    let rest: Vec<String> = args.collect();
    let result = match command.as_deref() {
        Some("ci") if rest.is_empty() => ci::run(),
        Some("bench") => bench::run(&rest),
        Some("demo") => demo::run(&rest),
        Some("help" | "--help" | "-h") => {
            eprintln!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        _ => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e}");
            ExitCode::FAILURE
        }
    }
}
