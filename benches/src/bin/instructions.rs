//! Runs the Flux side of one comparison once, for an instruction count:
//!
//! ```text
//! cargo build --profile bench -p flux-benches --bin instructions
//! valgrind --tool=callgrind target/release/instructions accumulate
//! ```
//!
//! Instruction counts repeat exactly for the same binary and input, however
//! loaded the machine is, so they tell a change's cost apart from noise
//! where a ratio cannot (`docs/BENCHMARKS.md` lists them).

#![allow(clippy::print_stdout, reason = "the checksum is this program's output")]

use std::process::ExitCode;

use flux_benches::compare::{accumulate, framing, fused_chain};

/// The file the line-reading workloads read (their second argument).
fn path_argument() -> std::path::PathBuf {
    std::env::args().nth(2).expect("a file to read").into()
}

fn main() -> ExitCode {
    let checksum = match std::env::args().nth(1).as_deref() {
        Some("accumulate") => accumulate::flux_once(),
        Some("accumulate_fold") => accumulate::flux_fold_once(),
        Some("fused_chain") => fused_chain::flux_once(),
        Some("source_pipeline") => framing::source_pipeline_once(&path_argument()),
        Some("memchr_lines") => framing::count_lines(&path_argument()),
        _ => {
            eprintln!("usage: instructions <accumulate | accumulate_fold | fused_chain>");
            return ExitCode::from(2);
        }
    };
    println!("checksum {checksum}");
    ExitCode::SUCCESS
}
