//! An example of a user's crate: Flux extended from the outside.
//!
//! Everything here is written against `flux-core`'s public API and nothing
//! else (this crate's `[dependencies]` are `flux-core` and `bytes`), and
//! runs on an engine with no change to Flux. It answers the kernel's third
//! question, "does user code live outside?", with one small file per
//! extension point:
//!
//! | Kernel trait | Here | What it shows |
//! |---|---|---|
//! | [`Source`](flux_core::Source) | [`LineSource`] | sequence numbers and byte costs; bad input as a dead letter at a byte offset; `pull_into` emitting a block at a time |
//! | [`Stage`](flux_core::Stage) | [`SplitActions`], [`Lowercase`] | one input to many outputs through `Emit`, no `Vec` per input; zero-copy `Bytes` slices |
//! | [`Sink`](flux_core::Sink) | [`CountingSink`] | a refused write as a `WriteError` carrying the envelope's metadata |
//! | [`Accumulator`](flux_core::Accumulator) | [`Sessions`] | completeness from a bitmask, a merge error as a dead letter |
//! | [`BufferPool`](flux_core::BufferPool) | [`VecPool`] | buffers that return on drop, stats, and a leak that fails the run |
//! | [`BackpressurePolicy`](flux_core::BackpressurePolicy) | [`CappedQueue`] | a channel shape and an admission rule |
//! | [`PlannerPass`](flux_core::PlannerPass) | [`ApplyPolicy`], [`Isolate`] | a policy on every boundary; a stage cut into its own segment |
//!
//! The crate's tests (`examples/user-extension/tests`) run each of them on
//! the sync engine end to end; the engine, the planner and
//! `flux-accumulate` are only dev-dependencies.
//!
//! # Example
//!
//! Sessions from a log of user actions, with a stage isolated by a pass of
//! our own and every boundary shaped by our own policy:
//!
//! ```
//! use flux_accumulate::{AccumulateExt, Policy};
//! use flux_steps::Steps;
//! use flux_core::{EdgeSpec, EmitReason, Pipeline, Runnable};
//! use flux_engine_sync::SyncEngine;
//! use flux_plan::Planner;
//! use flux_user_extension::{ApplyPolicy, CappedQueue, CountingSink, Isolate, LineSource, Sessions, SplitActions};
//!
//! let log = "ada login view\nbob login\nada logout\nthis line is far too long to be an entry\n";
//! let sink = CountingSink::new();
//! let pipeline = Pipeline::from_source(LineSource::new(log, 20))
//!     .stage(SplitActions)
//!     .named("split")
//!     .accumulate(Sessions, Policy::default())
//!     .sink(sink.clone());
//!
//! let plan = Planner::new()
//!     .with_pass(Isolate::stage("split", EdgeSpec::default()))
//!     .with_pass(ApplyPolicy::new(CappedQueue::new(4, 2)))
//!     .plan(pipeline.describe())
//!     .unwrap();
//! let report = SyncEngine::new().run(&plan, pipeline).unwrap();
//!
//! let sessions = sink.payloads();
//! assert_eq!((&sessions[0].user[..], sessions[0].reason), (&b"ada"[..], EmitReason::Complete));
//! assert_eq!((&sessions[1].user[..], sessions[1].reason), (&b"bob"[..], EmitReason::EndOfStream));
//! assert_eq!(report.dead_letters.len(), 1, "the long line, named by the source");
//! assert!(report.edges.iter().all(|edge| edge.capacity == 4));
//! ```

#![forbid(unsafe_code)]
#![doc(test(attr(deny(warnings))))]

mod apply_policy;
mod capped_queue;
mod counting_sink;
mod isolate;
mod line_source;
mod lowercase;
mod sessions;
mod split_actions;
mod vec_pool;

pub use apply_policy::ApplyPolicy;
pub use capped_queue::CappedQueue;
pub use counting_sink::{CountingSink, SinkFull};
pub use isolate::{Isolate, UnknownStage};
pub use line_source::{LineSource, LineTooLong};
pub use lowercase::Lowercase;
pub use sessions::{Session, SessionState, Sessions, UnknownAction};
pub use split_actions::SplitActions;
pub use vec_pool::{PooledBuf, VecPool};
