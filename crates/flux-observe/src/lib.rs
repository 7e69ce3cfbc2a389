//! Watching Flux runs: live metrics, as JSON, Prometheus text or a table.
//!
//! [`Metrics`] is a [`flux_core::Observer`]: give it to an engine
//! (`with_observer`, on both engines) and read a [`Snapshot`] whenever you
//! like, while the run goes or after it. A snapshot has each stage's
//! ledger (received, sent, dead letters, side outputs, dropped by policy,
//! and what the stage counted itself), each boundary's flow and what it
//! holds now, and the dead letters by stage and cause; once the run has
//! ended, every figure is the run report's.
//!
//! Engines report after each step (a batch, a source's read of up to a
//! thousand envelopes), never per envelope inside a fused segment, so
//! observing a run does not change its speed class.
//!
//! # Example
//!
//! ```
//! use std::sync::Arc;
//!
//! use flux_core::{Pipeline, Runnable};
//! use flux_engine_sync::SyncEngine;
//! use flux_observe::Metrics;
//! use flux_plan::Planner;
//! use flux_steps::Steps;
//! use flux_test::{IterSource, VecSink};
//!
//! let metrics = Arc::new(Metrics::new());
//! let pipeline = Pipeline::from_source(IterSource::new(0..1_000u32)).filter(|n| n % 4 == 0).sink(VecSink::new());
//! let plan = Planner::new().plan(pipeline.describe())?;
//! let _report = SyncEngine::new().with_observer(metrics.clone()).run(&plan, pipeline)?;
//!
//! let snapshot = metrics.snapshot();
//! assert_eq!(snapshot.stage("filter-1").unwrap().dropped_by_policy, 750);
//! assert!(snapshot.to_prometheus().contains("flux_stage_consumed_total{stage=\"sink\"} 250"));
//! assert!(snapshot.to_json().contains("\"consumed\": 250"));
//! println!("{snapshot}"); // a table: stages, boundaries, dead letters
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! [`Traced`] turns the same reports into `tracing` events (a dead letter
//! is a WARN naming its stage, sequence, key, trace id and cause), and
//! [`envelope_span`] gives a stage's own log lines an envelope's identity.
//!
//! [`Decorated`] calls the observers a `StageDecorator` attaches to chosen
//! stages with what concerns each.
//!
//! [`Progress`] follows what the source read and the sink wrote, with
//! rates, the share done and the time left, for a progress bar to poll;
//! [`Observers`] gives an engine several observers as one.
//!
//! [`Report`] is what an application prints after a run (the final
//! snapshot with a pool's and an accumulator's figures), and its JSON
//! reads back whole. [`SpanSteps::spanned`] runs a stage inside a span of
//! its own, [`TimeSteps::timed`] times its calls into quantiles, and a [`Tap`] between two stages keeps every `n`th envelope
//! for a look at what passes.

#![forbid(unsafe_code)]
#![doc(test(attr(deny(warnings))))]

mod decorated;
mod display;
mod metrics;
mod observers;
mod progress;
mod prometheus;
mod report;
mod snapshot;
mod spanned;
mod tap;
mod timed;
mod traced;

pub use decorated::Decorated;
pub use metrics::Metrics;
pub use observers::Observers;
pub use progress::{Progress, ProgressFigures};
pub use report::{FigureSet, Report};
pub use snapshot::{DeadLetterCause, EdgeFigures, SegmentFigures, Snapshot, StageFigures};
pub use spanned::{SpanSteps, Spanned, SpannedNode};
pub use tap::{Sample, Tap, TapSamples};
pub use timed::{StageTimes, TimeFigures, TimeSteps, Timed, TimedNode};
pub use traced::{Traced, envelope_span};
