//! Runs the Flux side of one comparison once, for an instruction count:
//!
//! ```text
//! cargo build --profile bench -p flux-benches --bin instructions
//! valgrind --tool=callgrind target/release/instructions accumulate
//! ```
//!
//! `cargo xtask bench accumulate --instructions` does this for Flux, the
//! hand loop (`accumulate_hand`) and the data generation alone
//! (`accumulate_data`), and prints both sides' instructions per fragment.
//! `accumulate_fused` runs Flux with every junction fused, and
//! `accumulate_floor` the hand loop fed envelope batches (the bench's
//! `floor_envelope_batches`). The `accumulate` modes print `items N`
//! after the checksum. `lz4_hand_two_threads` runs the LZ4 job's hand loop
//! split over two threads (callgrind counts both), `lz4_hand_envelopes`
//! the same split handing lines across as envelopes. `lz4_async` is not
//! counted: it runs the LZ4 job ten times on the tokio engine and prints
//! its rate, for `perf record` to show where each segment's thread waits.
//!
//! Instruction counts repeat exactly for the same binary and input, however
//! loaded the machine is, so they tell a change's cost apart from noise
//! where a ratio cannot (`docs/BENCHMARKS.md` lists them).

#![allow(clippy::print_stdout, reason = "the checksum is this program's output")]

use std::process::ExitCode;

use flux_benches::compare::{accumulate, async_engine, framing, fused_chain};

/// The file the line-reading workloads read (their second argument).
fn path_argument() -> std::path::PathBuf {
    std::env::args().nth(2).expect("a file to read").into()
}

fn main() -> ExitCode {
    let mode = std::env::args().nth(1).unwrap_or_default();
    let checksum = match mode.as_str() {
        "accumulate" => accumulate::flux_once(),
        "accumulate_fold" => accumulate::flux_fold_once(),
        "accumulate_hand" => accumulate::hand_once(),
        "accumulate_data" => accumulate::data_once(),
        "accumulate_floor" => accumulate::floor_once(),
        "accumulate_fused" => accumulate::fused_once(),
        "fused_chain" => fused_chain::flux_once(),
        "lz4_sync" => async_engine::lz4_sync_once(),
        "lz4_hand" => async_engine::lz4_hand_once(),
        "lz4_async" => async_engine::lz4_async_runs(10),
        "lz4_hand_two_threads" => async_engine::lz4_two_thread_hand_once(),
        "lz4_hand_envelopes" => async_engine::lz4_envelope_two_thread_hand_once(),
        "lz4_data" => async_engine::lz4_data_once(),
        "source_pipeline" => framing::source_pipeline_once(&path_argument()),
        "memchr_lines" => framing::count_lines(&path_argument()),
        other => match other.split_once('/') {
            Some(("fused_chain", name)) => fused_chain::workload_once(name, false),
            Some(("fused_chain_hand", name)) => fused_chain::workload_once(name, true),
            _ => None,
        }
        .unwrap_or_else(|| {
            eprintln!(
                "usage: instructions <accumulate | accumulate_fold | accumulate_fused | accumulate_floor \
                 | accumulate_hand | accumulate_data | fused_chain \
                 | lz4_sync | lz4_hand | lz4_hand_two_threads | lz4_hand_envelopes | lz4_data | lz4_async \
                 | source_pipeline FILE | memchr_lines FILE | fused_chain/WORKLOAD | fused_chain_hand/WORKLOAD>"
            );
            std::process::exit(2)
        }),
    };
    println!("checksum {checksum}");
    if mode.starts_with("accumulate") {
        println!("items {}", accumulate::FRAGMENTS);
    }
    if mode.starts_with("lz4") {
        println!("items {}", async_engine::lz4_records());
    }
    ExitCode::SUCCESS
}
