//! `flux demo`: generate (or take) a feed of orders, load it into SQLite
//! or PostgreSQL restartably, and say what happened.
//!
//! ```text
//! file -> newline frames (pooled, zero-copy, offsets stamped) -> parse
//!      -> accumulate per order (complete, or let go by an event-time TTL)
//!      -> rows of orders / order_items / partial_orders / dead_letters
//! ```

use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use flux_accumulate::{Accumulate, AccumulateExt, Policy, TimerClock, TimerStart};
use flux_core::{BufferPool, ExecutionPlan, Pipeline, Runnable, Sink};
use flux_memory::{FramedSource, NewlineDelimited, PoolConfig, SlabPool};
use flux_observe::{Metrics, Observers, Progress, Report};
use flux_plan::Planner;
use flux_steps::Steps;

use crate::error::{DemoError, OrSay};
use crate::feed::{self, Truth, timing};
use crate::order::{Loaded, Orders};
use crate::parse::ParseLine;
use crate::store::{Store, postgres, sqlite};
use crate::summary::summarize;
use crate::tables::ToTables;

/// Which engine runs the load.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum EngineChoice {
    /// The deterministic engine, in this thread.
    #[default]
    Sync,
    /// The tokio engine, on a runtime of two worker threads.
    Async,
}

/// How to print the run's metrics after the report, if at all.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MetricsFormat {
    /// JSON, as `flux_observe::Snapshot::to_json` writes it.
    Json,
    /// Prometheus text exposition.
    Prometheus,
}

/// What `flux demo` was asked to do.
#[derive(Clone, Debug)]
pub struct DemoOptions {
    /// Where the feed and the SQLite database go.
    pub dir: PathBuf,
    /// Load into the PostgreSQL database at this URL instead of SQLite.
    pub postgres: Option<String>,
    /// The user's own feed, instead of a generated one.
    pub input: Option<PathBuf>,
    /// Orders to generate.
    pub records: u64,
    /// The generator's seed.
    pub seed: u64,
    /// The engine.
    pub engine: EngineChoice,
    /// Metrics to print after the report.
    pub metrics: Option<MetricsFormat>,
    /// Draw a progress bar (on a terminal).
    pub progress: bool,
    /// Start the load over even if an earlier run left a checkpoint.
    pub fresh: bool,
}

/// What a finished load left: the tables' row counts, and the feed's truth
/// when the feed was generated.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Outcome {
    /// The database: `flux.db` in the demo's directory, or PostgreSQL.
    pub database: Store,
    /// Rows of `orders`, `order_items`, `partial_orders`, `dead_letters`.
    pub rows: [u64; 4],
    /// What the generator wrote, if it wrote the feed.
    pub truth: Option<Truth>,
    /// Records an earlier run had committed, passed over by this one.
    pub resumed_after: u64,
    /// The run's ledger, as the report has it.
    pub ledger: Ledger,
}

/// The figures of the run's ledger a user checks first.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Ledger {
    /// Lines read from the feed (the source's output).
    pub lines: u64,
    /// Fragments merged into orders.
    pub merged: u64,
    /// Records the accumulator let go: complete, partial, malformed.
    pub records: u64,
    /// Of them, partial.
    pub partial: u64,
    /// Records the sink took (written, or passed over on a restart).
    pub written: u64,
    /// Dead letters of the engine (a line too long to frame, say); the
    /// feed's garbled lines are rows of `dead_letters` instead.
    pub dead_letters: u64,
}

impl Ledger {
    /// The ledger of a run whose sink is the stage `sink`.
    fn of(snapshot: &flux_observe::Snapshot, sink: &str) -> Ledger {
        let stage = |id: &str| snapshot.stage(id).cloned().unwrap_or_default();
        let (feed, orders, sink) = (stage("feed"), stage("orders"), stage(sink));
        Ledger {
            lines: feed.sent,
            merged: orders.merged,
            records: orders.sent,
            partial: orders.partial,
            written: sink.received,
            dead_letters: snapshot.stages.iter().map(|s| s.dead_letters).sum(),
        }
    }
}

/// Runs the demo, printing the plan, progress and the report to `out`.
///
/// # Errors
///
/// The feed cannot be read or written, the database cannot be opened, or
/// the run stopped; each as one line.
pub fn run(options: &DemoOptions, out: &mut impl Write) -> Result<Outcome, DemoError> {
    std::fs::create_dir_all(&options.dir).or_say(format_args!("cannot create {}", options.dir.display()))?;
    let (input, truth) = feed_for(options, out)?;
    let size = std::fs::metadata(&input).or_say(format_args!("cannot read {}", input.display()))?.len();
    let database = match &options.postgres {
        Some(url) => Store::Postgres(url.clone()),
        None => Store::Sqlite(options.dir.join("flux.db")),
    };
    let name = load_name(&input, size);
    let resumed_after = database.prepare(&name, options.fresh)?;
    if resumed_after > 0 {
        say(out, format_args!("resuming: an earlier run committed {resumed_after} records; they are passed over\n"));
    }

    let to_tables = ToTables { file: input.display().to_string() };
    let stage = database.stage();
    let (report, seconds) = match &database {
        Store::Sqlite(path) => {
            let sink = sqlite::sink(path, to_tables, &name);
            let stats = sink.stats();
            let (report, seconds) = load(options, &input, size, sink, stage, out)?;
            (report.with_figures(stage, sqlite::figures(&stats)), seconds)
        }
        Store::Postgres(url) => {
            let sink = postgres::sink(url, to_tables, &name);
            let stats = sink.stats();
            let (report, seconds) = load(options, &input, size, sink, stage, out)?;
            (report.with_figures(stage, postgres::figures(&stats)), seconds)
        }
    };
    let rows = database.count_rows()?;
    say(out, format_args!("{report}\n"));
    say(out, format_args!("ran in {seconds:.2} s: {:.0} MB/s of feed\n", size as f64 / seconds.max(1e-9) / 1e6));
    summarize(out, &database, rows, truth.as_ref())?;
    match options.metrics {
        Some(MetricsFormat::Json) => say(out, format_args!("{}\n", report.metrics.to_json())),
        Some(MetricsFormat::Prometheus) => say(out, format_args!("{}", report.metrics.to_prometheus())),
        None => {}
    }
    let ledger = Ledger::of(&report.metrics, stage);
    Ok(Outcome { database, rows, truth, resumed_after, ledger })
}

/// Frames, parses, accumulates and writes `input` (of `size` bytes) into
/// `sink`, the stage named `stage`: the plan before, the progress bar
/// during, and the report (without the sink's figures) and the seconds it
/// took after.
fn load<S: Sink<Loaded> + 'static>(
    options: &DemoOptions,
    input: &Path,
    size: u64,
    sink: S,
    stage: &'static str,
    out: &mut impl Write,
) -> Result<(Report, f64), DemoError> {
    let pool = SlabPool::new("input", PoolConfig::default());
    let source = FramedSource::file(input, pool.clone(), NewlineDelimited::new(flux_memory::DEFAULT_MAX_LINE))
        .or_say(format_args!("cannot read {}", input.display()))?
        .with_offsets();
    let framing = source.stats();
    let policy = Policy::builder()
        .ttl(timing::TTL, TimerStart::FirstFragment)
        .timer_clock(TimerClock::EventTime { lag: timing::LAG })
        .build()
        .expect("the demo's policy is valid");
    let layer = Accumulate::new(Orders, policy);
    let accumulator = layer.stats();
    let pipeline = Pipeline::from_source(source)
        .named("feed")
        .stage(ParseLine)
        .named("parse")
        .accumulate_with(layer)
        .named("orders")
        .sink(sink)
        .named(stage);

    // The cuts that put the reading and the database on threads of their
    // own pay only on the tokio engine; on one thread they cost a hand-off.
    let planner = match options.engine {
        EngineChoice::Sync => Planner::for_one_thread(),
        EngineChoice::Async => Planner::new(),
    };
    let plan = planner.plan(pipeline.describe()).or_say(format_args!("cannot plan the load"))?;
    say(out, format_args!("plan:\n{plan}\n"));

    let metrics = Arc::new(Metrics::new());
    let bar = progress_bar(options.progress, size);
    let ticker = bar.clone();
    let progress = Progress::new()
        .with_bytes(size, move || framing.get().bytes_read)
        .subscribe(move |now| ticker.set_position(now.bytes_read.unwrap_or(0)));
    let observers = Observers::new().with(metrics.clone()).with(Arc::new(progress));
    #[allow(
        clippy::disallowed_methods,
        reason = "the report gives the load's wall-clock rate; stages read engine time"
    )]
    let started = std::time::Instant::now();
    let ran = run_on(options.engine, &plan, pipeline, Arc::new(observers), &pool);
    bar.finish_and_clear();
    let seconds = started.elapsed().as_secs_f64();
    ran?;
    let report = Report::new(metrics.snapshot())
        .with_pool("pool input", &pool.stats())
        .with_figures("accumulator orders", accumulator.snapshot().figures());
    Ok((report, seconds))
}

/// The feed to load: the user's, or one generated into `dir` (kept and
/// reused by the next run with the same size and seed).
fn feed_for(options: &DemoOptions, out: &mut impl Write) -> Result<(PathBuf, Option<Truth>), DemoError> {
    if let Some(input) = &options.input {
        std::fs::File::open(input).or_say(format_args!("cannot read input {}", input.display()))?;
        return Ok((input.clone(), None));
    }
    let path = options.dir.join(format!("orders-{}-seed{}.feed", options.records, options.seed));
    if path.exists() && !options.fresh {
        say(out, format_args!("feed: {} (generated earlier)\n", path.display()));
        return Ok((path, None));
    }
    let truth = feed::generate(&path, options.records, options.seed)
        .or_say(format_args!("cannot write the feed {}", path.display()))?;
    say(
        out,
        format_args!(
            "generated {}: {} orders in {} lines, {:.1} MB ({} complete, {} never complete, {} with a late part, {} garbled lines)\n",
            path.display(),
            truth.orders,
            truth.lines,
            truth.bytes as f64 / 1e6,
            truth.complete,
            truth.incomplete,
            truth.late,
            truth.malformed
        ),
    );
    Ok((path, Some(truth)))
}

/// The name a load's checkpoint is kept under: the feed's file name and
/// size, so a different feed starts a new load.
fn load_name(input: &Path, size: u64) -> String {
    let file = input.file_name().map_or_else(|| input.display().to_string(), |f| f.to_string_lossy().into_owned());
    format!("demo:{file}:{size}")
}

fn run_on(
    engine: EngineChoice,
    plan: &ExecutionPlan,
    pipeline: impl Runnable + 'static,
    observer: Arc<Observers>,
    pool: &SlabPool,
) -> Result<(), DemoError> {
    match engine {
        EngineChoice::Sync => flux_engine_sync::SyncEngine::new()
            .with_trace(false)
            .with_observer(observer)
            .watch_pool(Arc::new(pool.clone()))
            .run(plan, pipeline)
            .map(drop)
            .or_say(format_args!("the load stopped")),
        EngineChoice::Async => {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .or_say(format_args!("cannot start the tokio runtime"))?;
            let engine =
                flux_engine_async::AsyncEngine::new().with_observer(observer).watch_pool(Arc::new(pool.clone()));
            runtime.block_on(engine.run(plan, pipeline)).map(drop).or_say(format_args!("the load stopped"))
        }
    }
}

fn progress_bar(shown: bool, bytes: u64) -> indicatif::ProgressBar {
    if !shown {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(bytes);
    let style = indicatif::ProgressStyle::with_template(
        "{spinner} [{bar:40}] {bytes}/{total_bytes} {binary_bytes_per_sec} eta {eta}",
    )
    .expect("the template is valid")
    .progress_chars("=> ");
    bar.set_style(style);
    bar
}

/// Writes to the command's output; a closed pipe (`flux demo | head`)
/// is not worth failing a load over.
pub(crate) fn say(out: &mut impl Write, text: fmt::Arguments<'_>) {
    let _ = out.write_fmt(text);
}
