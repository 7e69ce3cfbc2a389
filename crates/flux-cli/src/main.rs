//! `flux`: Flux's command line. `flux demo` runs the flagship load.

#![forbid(unsafe_code)]

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use flux_cli::demo::{self, DemoOptions, EngineChoice, MetricsFormat};

/// Flux: typed, back-pressured, zero-copy streaming pipelines.
#[derive(Debug, Parser)]
#[command(name = "flux", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Load a feed of multi-part orders into SQLite (or PostgreSQL): plan,
    /// progress, report.
    ///
    /// Killed at any point and run again, it goes on where the last
    /// committed transaction left it and ends with the same tables.
    Demo {
        /// Load this feed (same format as the generated one) instead of
        /// generating one.
        #[arg(long, value_name = "FILE")]
        input: Option<PathBuf>,
        /// Orders to generate.
        #[arg(long, default_value_t = 200_000)]
        records: u64,
        /// The generator's seed.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Where the feed and the database `flux.db` go.
        #[arg(long, default_value = "target/flux-demo", value_name = "DIR")]
        dir: PathBuf,
        /// Load into this PostgreSQL database instead of `flux.db`
        /// (postgresql://user:password@host:port/database).
        #[arg(long, value_name = "URL")]
        postgres: Option<String>,
        /// The engine that runs the load.
        #[arg(long, value_enum, default_value_t = Engine::Sync)]
        engine: Engine,
        /// Also print the run's metrics in this format.
        #[arg(long, value_enum)]
        metrics: Option<Metrics>,
        /// Start over, even if an earlier run left a load to finish.
        #[arg(long)]
        fresh: bool,
        /// No progress bar.
        #[arg(long)]
        quiet: bool,
    },
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Engine {
    /// Deterministic, in one thread.
    Sync,
    /// tokio, on two worker threads.
    Async,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Metrics {
    /// JSON.
    Json,
    /// Prometheus text.
    Prometheus,
}

fn main() -> ExitCode {
    let Command::Demo { input, records, seed, dir, postgres, engine, metrics, fresh, quiet } = Cli::parse().command;
    let options = DemoOptions {
        dir,
        postgres,
        input,
        records,
        seed,
        engine: match engine {
            Engine::Sync => EngineChoice::Sync,
            Engine::Async => EngineChoice::Async,
        },
        metrics: metrics.map(|m| match m {
            Metrics::Json => MetricsFormat::Json,
            Metrics::Prometheus => MetricsFormat::Prometheus,
        }),
        progress: !quiet,
        fresh,
    };
    match demo::run(&options, &mut std::io::stdout().lock()) {
        Ok(_) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("flux demo: {error}");
            ExitCode::FAILURE
        }
    }
}
