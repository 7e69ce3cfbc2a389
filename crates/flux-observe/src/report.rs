//! The report an application prints after a run: throughput, the ledger
//! per stage, dead letters by stage and cause, completeness, step
//! latency, and the pools' and accumulators' own figures.

use core::fmt;

use flux_core::PoolStats;
use serde::{Deserialize, Serialize};

use crate::Snapshot;

/// What a run did, as a person reads it (`Display`) and as a program
/// stores it (JSON, read back whole with [`Report::from_json`]).
///
/// It is the [`Metrics`](crate::Metrics) snapshot of the run, with the
/// figures the engine's observer does not hear added by name: a pool's
/// ([`Report::with_pool`]), an accumulator's spill and emit reasons
/// ([`Report::with_figures`] with `flux-accumulate`'s
/// `StatsSnapshot::figures`).
///
/// # Examples
///
/// ```
/// use std::sync::Arc;
///
/// use flux_core::{PoolStats, Pipeline, Runnable};
/// use flux_engine_sync::SyncEngine;
/// use flux_observe::{Metrics, Report};
/// use flux_plan::Planner;
/// use flux_steps::Steps;
/// use flux_test::{IterSource, VecSink};
///
/// let metrics = Arc::new(Metrics::new());
/// let pipeline = Pipeline::from_source(IterSource::new(["1", "x", "3"]))
///     .try_map(|s: &str| s.parse::<u32>())
///     .named("parse")
///     .sink(VecSink::new());
/// let plan = Planner::new().plan(pipeline.describe())?;
/// let _ = SyncEngine::new().with_observer(metrics.clone()).run(&plan, pipeline)?;
///
/// let report = Report::new(metrics.snapshot()).with_pool("slabs", &PoolStats { rented: 4, returned: 4, ..PoolStats::default() });
/// assert_eq!((report.records_in(), report.records_out(), report.dead_letters()), (3, 2, 1));
/// let text = report.to_string();
/// assert!(text.contains("3 records in, 2 out, 1 dead letter"), "{text}");
/// assert!(text.contains("1  parse: invalid digit found in string"), "{text}");
/// assert!(text.contains("slabs: rented 4, returned 4"), "{text}");
/// assert_eq!(Report::from_json(&report.to_json())?, report);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    /// The run's figures: the ledger per stage, boundaries, segments'
    /// step-time quantiles and busy share, dead letters by cause.
    pub metrics: Snapshot,
    /// Figures the engine's observer does not hear, by name: a pool's, an
    /// accumulator's.
    pub figures: Vec<FigureSet>,
}

/// A named set of named figures (a pool's, an accumulator's).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FigureSet {
    /// Whose figures: `"pool slabs"`, `"accumulator orders"`.
    pub name: String,
    /// Each figure's name and value, in the order given.
    pub figures: Vec<(String, u64)>,
}

impl Report {
    /// The report of the run `metrics` is a snapshot of.
    pub fn new(metrics: Snapshot) -> Self {
        Report { metrics, figures: Vec::new() }
    }

    /// Adds a set of figures under `name`.
    #[must_use]
    pub fn with_figures<N: Into<String>>(
        mut self,
        name: impl Into<String>,
        figures: impl IntoIterator<Item = (N, u64)>,
    ) -> Self {
        let figures = figures.into_iter().map(|(figure, value)| (figure.into(), value)).collect();
        self.figures.push(FigureSet { name: name.into(), figures });
        self
    }

    /// Adds a pool's figures under `name`.
    #[must_use]
    pub fn with_pool(self, name: &str, pool: &PoolStats) -> Self {
        let figures = [
            ("rented", pool.rented),
            ("returned", pool.returned),
            ("in use", pool.in_use),
            ("high water", pool.high_water),
            ("allocations avoided", pool.allocations_avoided),
            ("capacity", pool.capacity),
        ];
        self.with_figures(name, figures)
    }

    /// Envelopes the source put out.
    pub fn records_in(&self) -> u64 {
        self.metrics.stages.first().map_or(0, |source| source.sent)
    }

    /// Envelopes the sink wrote.
    pub fn records_out(&self) -> u64 {
        self.metrics.stages.last().map_or(0, |sink| sink.consumed)
    }

    /// Dead letters, from every stage and boundary.
    pub fn dead_letters(&self) -> u64 {
        self.metrics.dead_letters.iter().map(|cause| cause.count).sum()
    }

    /// Envelopes the source put out per second of real time.
    pub fn records_in_per_second(&self) -> f64 {
        self.records_in() as f64 / (self.metrics.wall_nanos.max(1) as f64 / 1e9)
    }

    /// The report as pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).expect("plain data serializes")
    }

    /// A report read back from [`Report::to_json`]'s text.
    ///
    /// # Errors
    ///
    /// When `text` is not a report's JSON.
    pub fn from_json(text: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(text)
    }
}

impl fmt::Display for Report {
    /// A headline (records in and out, dead letters, time, rate), the
    /// snapshot's table, each merging stage's completeness, then every
    /// figure set.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (inputs, outputs, dead) = (self.records_in(), self.records_out(), self.dead_letters());
        let plural = if dead == 1 { "" } else { "s" };
        let seconds = self.metrics.wall_nanos as f64 / 1e9;
        let rate = self.records_in_per_second();
        writeln!(
            f,
            "{inputs} records in, {outputs} out, {dead} dead letter{plural}, in {seconds:.3} s ({rate:.0} records/s in)"
        )?;
        write!(f, "{}", self.metrics)?;
        for stage in self.metrics.stages.iter().filter(|stage| stage.merged > 0) {
            let (records, partial) = (stage.created, stage.partial);
            writeln!(
                f,
                "  completeness of {}: {} fragments merged, {} released in {records} records ({partial} partial), {} discarded, {} pending",
                stage.stage, stage.merged, stage.released, stage.discarded, stage.pending
            )?;
        }
        for set in &self.figures {
            let figures: Vec<String> = set.figures.iter().map(|(name, value)| format!("{name} {value}")).collect();
            writeln!(f, "  {}: {}", set.name, figures.join(", "))?;
        }
        Ok(())
    }
}
