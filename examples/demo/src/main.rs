//! The Flux demo: `cargo xtask demo [--requests N] [--dir PATH]`.
//!
//! Writes a request log of interleaved `start` / `auth` / `end` lines, then
//! runs one pipeline over it on the deterministic engine:
//!
//! ```text
//! file -> newline frames (pooled, zero-copy) -> parse (key = request id)
//!      -> accumulate per request (complete when all three parts arrived)
//!      -> CSV line -> file
//! ```
//!
//! It prints the plan before the run and a report after: throughput,
//! completeness, dead letters, and every stage's ledger.

#![forbid(unsafe_code)]
#![allow(clippy::print_stdout, reason = "a command-line demo reports on stdout")]
#![allow(clippy::disallowed_methods, reason = "the demo reports wall-clock throughput; stages still read engine time")]

mod generate;
mod parse;
mod request;

use std::collections::BTreeMap;
use std::error::Error;
use std::fs::File;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use flux_accumulate::{AccumulateExt, Policy};
use flux_core::{Pipeline, Runnable};
use flux_engine_sync::SyncEngine;
use flux_memory::{FramedSource, NewlineDelimited, PoolConfig, SlabPool, WriteSink};
use flux_plan::Planner;

use crate::parse::ParseLine;
use crate::request::RequestTemplate;
use flux_steps::Steps;

struct Args {
    requests: u64,
    dir: PathBuf,
}

fn args() -> Result<Args, String> {
    let mut args = Args { requests: 200_000, dir: PathBuf::from("target/flux-demo") };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--requests" => {
                args.requests = it.next().and_then(|n| n.parse().ok()).ok_or("--requests needs a number")?;
            }
            "--dir" => args.dir = it.next().ok_or("--dir needs a path")?.into(),
            other => return Err(format!("unknown argument `{other}` (use --requests N, --dir PATH)")),
        }
    }
    Ok(args)
}

fn main() -> Result<(), Box<dyn Error>> {
    let args = args()?;
    std::fs::create_dir_all(&args.dir)?;
    let input = args.dir.join("requests.log");
    let output = args.dir.join("requests.csv");
    let generated = generate::request_log(&input, args.requests)?;
    println!(
        "generated {} ({} requests, {} lines, {:.1} MB, {} garbled lines)\n",
        input.display(),
        generated.requests,
        generated.lines,
        generated.bytes as f64 / 1e6,
        generated.malformed
    );

    let pool = SlabPool::new("input", PoolConfig::default());
    let reasons: Arc<Mutex<BTreeMap<String, u64>>> = Arc::default();
    let counted = Arc::clone(&reasons);
    let pipeline = Pipeline::from_source(FramedSource::file(&input, pool.clone(), NewlineDelimited::new(4096))?)
        .named("log-file")
        .stage(ParseLine)
        .named("parse")
        .accumulate(RequestTemplate, Policy::builder().build()?)
        .named("requests")
        .inspect(move |record| {
            let reason = record.meta().headers.get("acc.reason").map(|r| String::from_utf8_lossy(r).into_owned());
            *counted.lock().unwrap_or_else(|e| e.into_inner()).entry(reason.unwrap_or_default()).or_default() += 1;
        })
        .named("count-reasons")
        .sink(WriteSink::new(File::create(&output)?))
        .named("csv-file");

    let plan = Planner::new().plan(pipeline.describe())?;
    println!("plan:\n{plan}");
    let d = &plan.diagnostics;
    println!(
        "{} segments, {} fused junctions, estimated memory {} KiB\n",
        d.segment_count,
        d.fusion_count,
        d.estimated_memory_bytes / 1024
    );

    let started = std::time::Instant::now();
    let report = SyncEngine::new().with_trace(false).watch_pool(Arc::new(pool.clone())).run(&plan, pipeline)?;
    let elapsed = started.elapsed().as_secs_f64();

    println!(
        "ran in {elapsed:.3} s: {:.2} M lines/s, {:.0} MB/s",
        generated.lines as f64 / elapsed / 1e6,
        generated.bytes as f64 / elapsed / 1e6
    );
    println!("wrote {}", output.display());
    for (reason, count) in reasons.lock().unwrap_or_else(|e| e.into_inner()).iter() {
        println!("  {count:>8} records emitted as `{reason}`");
    }
    println!("  {:>8} dead letters", report.dead_letters.len());
    if let Some(first) = report.dead_letters.first() {
        let cause = first.error.cause();
        println!("           first: {} ({cause})", first.error);
    }
    println!("\nledger (every line accounted for):");
    println!(
        "  {:<14} {:>10} {:>10} {:>8} {:>10} {:>10} {:>8}",
        "stage", "in", "out", "dead", "merged", "released", "written"
    );
    for row in &report.ledger {
        println!(
            "  {:<14} {:>10} {:>10} {:>8} {:>10} {:>10} {:>8}",
            row.stage.as_str(),
            row.received,
            row.emitted,
            row.dead_letters,
            row.counts.merged,
            row.counts.released,
            row.counts.consumed
        );
    }
    let stats = flux_core::BufferPool::stats(&pool);
    println!(
        "\npool `input`: {} slabs rented, {} reused, high water {}, none leaked",
        stats.rented, stats.allocations_avoided, stats.high_water
    );
    Ok(())
}
