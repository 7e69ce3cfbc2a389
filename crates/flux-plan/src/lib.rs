//! The Flux planner: turns a pipeline's stage list into the
//! [`ExecutionPlan`](flux_core::ExecutionPlan) an engine executes.
//!
//! Planning is a list of [`PlannerPass`](flux_core::PlannerPass)es run in order over a draft plan.
//! The built-in passes validate the pipeline ([`passes::ValidateShape`],
//! [`passes::UniqueIds`], [`passes::TypeContinuity`]), decide which
//! junctions are fused and which are segment boundaries
//! ([`passes::FusePure`], [`passes::IsolateHeavy`],
//! [`passes::SplitByCost`]), and fill in
//! [`PlanDiagnostics`](flux_core::PlanDiagnostics) last. A user's own passes
//! run after the built-in ones and before diagnostics, so what they change
//! is what the engine runs and what the diagnostics report.
//!
//! **Depend on it** in an application to plan pipelines before running
//! them; write passes of your own against `flux-core` alone.
//!
//! # Examples
//!
//! ```
//! use flux_core::{Junction, Pipeline, Runnable};
//! use flux_steps::Steps;
//! use flux_test::{IterSource, VecSink};
//! use flux_plan::Planner;
//!
//! let pipeline = Pipeline::from_source(IterSource::new(0..100u32))
//!     .map(|n| n + 1)
//!     .filter(|n| n % 3 == 0)
//!     .map(|n| n * 2)
//!     .sink(VecSink::new());
//! let plan = Planner::new().plan(pipeline.describe()).unwrap();
//!
//! assert!(plan.junctions.iter().all(|j| *j == Junction::Fused));
//! assert_eq!(plan.diagnostics.fused_runs, vec![(1, 3)]);
//! assert_eq!(plan.diagnostics.fusion_count, 2);
//! assert_eq!(plan.diagnostics.segment_count, 1);
//! ```

#![forbid(unsafe_code)]
#![doc(test(attr(deny(warnings))))]

pub mod passes;
mod planner;

pub use planner::Planner;
