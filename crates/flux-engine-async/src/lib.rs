//! The production Flux engine, on tokio.
//!
//! [`AsyncEngine`] runs the segments of an
//! [`ExecutionPlan`](flux_core::ExecutionPlan) as tokio tasks joined by
//! bounded flume channels of batches. It runs the same pipeline value as
//! `flux-engine-sync`, with no change to user code, and checks the same
//! ledger law at stop ([`flux_core::balance`]).
//!
//! Nothing blocks a runtime worker: a segment whose output channel is full
//! is suspended until the next segment makes room (the batch waits in the
//! edge, counted in [`EdgeStats::full_sends`]); a segment whose input is
//! empty waits for the next batch or its next timer; a source that asks
//! to wait ([`Pull::Wait`](flux_core::Pull::Wait)) sleeps on tokio's
//! clock. A failure stops the run as on the sync engine: the source is not
//! pulled again, what is inside the pipeline drains, every segment
//! finishes (accumulators flush, sinks close), and the error carries the
//! report.
//!
//! A segment holding a stage hinted
//! [`EngineHint::Blocking`](flux_core::EngineHint::Blocking) or `Isolate`
//! runs on a thread of its own, and is finished and closed there too (a
//! sink's commit blocks as its writes do). [`AsyncEngine::own_threads`]
//! says how many threads a plan starts, to size the runtime beside them.
//!
//! From code generic over engines, the engine is also a blocking
//! [`Engine`](flux_core::Engine): its `run` drives the same run to its end
//! on a runtime the engine owns (see [`AsyncEngine::with_runtime`]), and
//! refuses, with [`RunErrorKind::InsideRuntime`], on a thread inside a
//! tokio runtime.
//!
//! It is a crate of its own so that nothing else in Flux depends on an
//! async runtime.
//!
//! # Example
//!
//! ```
//! use flux_core::{EdgeSpec, Junction, Runnable};
//! use flux_engine_async::AsyncEngine;
//! use flux_plan::Planner;
//! use flux_steps::Steps;
//! use flux_test::{IterSource, VecSink};
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let out = VecSink::new();
//! let pipeline = flux_core::Pipeline::from_source(IterSource::new(0..1_000u64))
//!     .map(|n| n * 2)
//!     .named("double")
//!     .sink(out.clone());
//! let mut plan = Planner::new().plan(pipeline.describe())?;
//! // Cut after `double`: two segments, two tasks, one channel between them.
//! plan.junctions[1] = Junction::Boundary(EdgeSpec { capacity: 2, batch_size: 64 });
//! let report = AsyncEngine::new().run(&plan, pipeline).await?;
//! assert_eq!(out.payloads().len(), 1_000);
//! assert_eq!(report.edges[0].envelopes_received, 1_000);
//! # Ok(())
//! # }
//! ```

#![forbid(unsafe_code)]
#![doc(test(attr(deny(warnings))))]

mod blocking_run;
mod channel;
mod clock;
mod collect;
mod engine;
mod report;
mod stop;
mod task;
mod threads;
mod yielding;

pub use channel::EdgeStats;
pub use clock::RunClock;
pub use engine::{AsyncEngine, DEFAULT_KEPT};
pub use report::{RunError, RunErrorKind, RunReport};
pub use stop::{Stop, StopHandle};
