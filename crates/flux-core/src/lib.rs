//! The Flux kernel: the types and traits that every other Flux crate implements.
//!
//! Flux builds typed, back-pressured, zero-copy streaming pipelines. This
//! crate holds only what all of Flux agrees on — [`Envelope`], the typed
//! [`Pipeline`] builder, the [`Push`] nodes it assembles into, and the
//! traits that pools, policies, accumulators, planners and engines
//! implement. It pulls in no async runtime and holds no implementation that
//! could be swapped: planners live in `flux-plan`, engines in
//! `flux-engine-*`, pools in `flux-memory`, accumulators in
//! `flux-accumulate`.
//!
//! **Depend on it** to write your own stage, source, sink, accumulator,
//! pool, policy or planner pass; it is the only Flux crate you need for that.
//!
//! # How a pipeline runs
//!
//! 1. The builder records a typed chain of layers:
//!    `Pipeline::from_source(..).map(..).filter(..).sink(..)`. The compiler
//!    checks that each stage accepts what the previous one emits.
//! 2. A planner turns [`Runnable::describe`] into an [`ExecutionPlan`]:
//!    which junctions are fused (direct calls) and which are boundaries
//!    (bounded channels of batches).
//! 3. An [`Engine`] asks the pipeline to [`assemble`](Runnable::assemble)
//!    itself against that plan: each run of fused stages becomes one nest of
//!    monomorphized [`Push`] nodes with no per-envelope branch on the plan,
//!    erased once behind `Box<dyn Segment>`.
//! 4. The engine drives the segments, fires timers on its [`Clock`], and at
//!    stop checks the [`StageLedger`]s: every envelope that came in is
//!    accounted for.
//!
//! # Example
//!
//! Assembling by hand shows what an engine does (engines add scheduling,
//! timers, ledger checks and reports; see `flux-engine-sync`):
//!
//! ```
//! use flux_core::*;
//! use flux_steps::Steps;
//! use flux_test::{Diverted, IterSource, VecSink};
//!
//! struct NoChannels;
//! impl Channels for NoChannels {
//!     fn open<T: Send + 'static>(&mut self, _: usize, _: &EdgeSpec)
//!         -> (Box<dyn BatchSender<T>>, Box<dyn BatchReceiver<T>>) { unreachable!("all fused") }
//! }
//!
//! let out = VecSink::new();
//! let pipeline = Pipeline::from_source(IterSource::new(["1", "2", "x", "4"]))
//!     .try_map(|s: &str| s.parse::<u32>())
//!     .named("parse")
//!     .map(|n| n * 10)
//!     .sink(out.clone());
//!
//! let plan = ExecutionPlan::draft(pipeline.describe()); // all fused
//! let mut segments = pipeline.assemble(&plan, &mut NoChannels).unwrap();
//! let mut dead = Diverted::default();
//! let mut cx = Context::new(Instant::ZERO, &mut dead);
//! while !matches!(segments[0].step(&mut cx), Step::Exhausted) {}
//! segments[0].finish(&mut cx);
//!
//! assert_eq!(out.payloads(), vec![10, 20, 40]);
//! assert_eq!(dead.dead_letters.len(), 1);
//! assert_eq!(dead.dead_letters[0].meta.sequence, 2);
//! assert_eq!(dead.dead_letters[0].error.stage().as_str(), "parse");
//! assert!(dead.failures.is_empty());
//! ```
//!
//! # What comes next
//!
//! The `Flow` effect type (async stage logic with the engine's clock,
//! cancellation and observer; `map`, `and_then`, `retry`, `timeout`) and the
//! async engine build on these traits: a `Flow` runs inside a [`Stage`] and
//! reads time from the [`Context`], so the sync engine evaluates its
//! timeouts on virtual time.

#![forbid(unsafe_code)]
#![doc(test(attr(deny(warnings))))]

mod accumulate;
mod backpressure;
mod balance;
mod batched;
mod boundary;
mod chain;
mod context;
mod cost;
mod descriptor;
mod engine;
mod envelope;
mod error;
mod headers;
mod layer;
mod ledger;
mod observe;
mod panic;
mod pipeline;
mod plan;
mod pool;
mod push;
mod replay;
mod runnable;
mod seams;
mod segment;
#[cfg(feature = "serde")]
mod serialized;
mod sink;
mod sink_node;
mod source;
mod stage;
mod time;

/// Sealing for the assembly machinery (`Chain`, `Continuation`, `Segment`):
/// engines use it, nothing outside the kernel implements it.
mod sealed {
    pub trait Sealed {}
    impl<T> Sealed for crate::Identity<T> {}
    impl<Inner, L> Sealed for crate::Stack<Inner, L> {}
    impl<S: crate::Source> Sealed for crate::runnable::StartAtSource<S> {}
    impl<S: crate::Source, D> Sealed for crate::segment::SourceSegment<S, D> {}
    impl<T, D> Sealed for crate::segment::ChannelSegment<T, D> {}
}

pub use accumulate::{Accumulator, CompleteAll, Completeness, EmitReason};
pub use backpressure::{Admission, BackpressurePolicy, ChoosePolicy, Pressure, TurnedAway};
pub use balance::{EdgeFlow, Imbalance, LedgerReport, LedgerRow, LedgerTable, balance};
pub use boundary::{BatchReceiver, BatchSender, BatchingSender, Channels, Received};
pub use chain::{Assembler, Chain, Continuation, Identity, Stack};
pub use context::{Context, Diversions};
pub use cost::Cost;
pub use descriptor::{EngineHint, Purity, StageDescriptor, StageId, StageKind};
pub use engine::Engine;
pub use envelope::{Envelope, Meta, TraceContext};
pub use error::{ErrorEnvelope, Position, SideEnvelope, SideReason, StageError};
pub use headers::Headers;
pub use layer::Layer;
pub use ledger::{LedgerVisitor, StageLedger};
pub use observe::{Observer, StageDecorator};
pub use panic::{PanicGuard, Panicked, catch_panic, catch_step, push_isolated};
pub use pipeline::{CompletePipeline, Pipeline};
pub use plan::{EdgeSpec, ExecutionPlan, Junction, PlanDiagnostics, PlanError, PlannerPass};
pub use pool::{BufferPool, LeakCheck, LeakError, PoolExhausted, PoolStats};
pub use push::{BatchRest, Lifecycle, Push, earliest, poll_once};
pub use runnable::Runnable;
pub use seams::{CheckpointToken, ConnectorDescriptor, ConnectorDirection, RecoverableSource, TransactionalSink};
pub use segment::{STEP_BUDGET, Segment, Step};
pub use sink::{Sink, Undelivered, WriteError};
pub use source::{Pull, Pulled, Rejected, Source, SourceError, SourceOutput};
pub use stage::{Emit, Stage};
pub use time::{Clock, Instant};
