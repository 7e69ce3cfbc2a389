//! Flux: typed, back-pressured, zero-copy streaming pipelines that turn a
//! stream of fragments into complete records, with every envelope
//! accounted for.
//!
//! This is the crate most users add. It gathers the parts of Flux behind
//! one dependency: the kernel's types at its root, each part as a module
//! (one feature per part), a [`prelude`], and [`run`], which plans a
//! pipeline for one thread and runs it on the deterministic engine.
//!
//! ```
//! use flux::prelude::*;
//!
//! let out = VecSink::new();
//! let pipeline = Pipeline::from_source(IterSource::new(["7", "x", "12", "5"]))
//!     .try_map(|s: &str| s.parse::<u32>()) // failures become dead letters
//!     .named("parse")
//!     .filter(|n| n % 2 == 1)
//!     .map(|n| n * 100)
//!     .sink(out.clone());
//! let report = flux::run(pipeline)?;
//!
//! assert_eq!(out.payloads(), [700, 500]);
//! assert_eq!(report.dead_letters[0].error.to_string(), "stage `parse` failed at sequence 1");
//! # Ok::<(), flux::Error>(())
//! ```
//!
//! # Mistakes the compiler catches
//!
//! A key function for another payload type does not compile:
//!
//! ```compile_fail,E0631
//! use flux::prelude::*;
//!
//! let lines = Pipeline::from_source(IterSource::new([1u32, 2]));
//! let keyed = lines.key_by(|line: &String| line.clone()); // the payload is a u32
//! ```
//!
//! Nor does a sink of another type:
//!
//! ```compile_fail,E0277
//! use flux::prelude::*;
//!
//! let names: VecSink<String> = VecSink::new();
//! let pipeline = Pipeline::from_source(IterSource::new([1u32])).sink(names); // u32 into a String sink
//! ```
//!
//! Nor an accumulator whose fragments are another type:
//!
//! ```compile_fail,E0599
//! use flux::prelude::*;
//!
//! let words = fold(String::new(), |text: &mut String, word: &str| text.push_str(word));
//! let pipeline = Pipeline::from_source(IterSource::new([1u32])).key_by(|n| n.to_string()).accumulate(words, Policy::default());
//! ```
//!
//! # Features
//!
//! | feature | module | what it adds |
//! |---|---|---|
//! | `memory` (default) | [`memory`] | pooled slabs, zero-copy framing, framed sources, write sinks |
//! | `accumulate` (default) | [`accumulate`] | keyed accumulation: completeness, size and time limits, spill |
//! | `fields` | `accumulate::fields` | merge strategies per field for JSON-object records (Vector's `reduce` as a table) |
//! | `fan-in` (default) | [`fan_in`] | several sources into one pipeline, as ready or in event-time order |
//! | `backpressure` | `backpressure` | admission policies between stages |
//! | `async` | `engine_async` | the tokio engine, and `run_async` (and `stream`) |
//! | `stream` | `stream` | a source from any futures `Stream`, on either engine |
//! | `observe` | `observe` | live metrics, the readable report, tracing, progress |
//! | `serde` | | plans, run reports, ledgers and dead letters serialize |
//!
//! The planner ([`plan`]) and the deterministic engine ([`engine`]) are
//! always there: [`run`] is `Planner::for_one_thread().plan(..)` then
//! `SyncEngine::new().run(..)`, and `run_async` (feature `async`) plans
//! with `Planner::new()`, whose passes also cut where two cores pay; call
//! them yourself to add planner passes, schedule hooks, a clock that
//! follows the source's event times (to replay a file as it happened:
//! `SyncEngine::clock_follows_event_time`) or a different engine.

#![forbid(unsafe_code)]
#![doc(test(attr(deny(warnings))))]

pub mod prelude;
mod run;
#[cfg(feature = "async")]
mod run_async;

pub use flux_core::*;
pub use run::{Error, run, run_to_vec};
#[cfg(feature = "async")]
pub use run_async::{AsyncError, run_async};

/// The planner: turns a pipeline's description into an execution plan.
pub use flux_plan as plan;

/// The deterministic engine: one thread, a virtual clock, a decision trace.
pub use flux_engine_sync as engine;

/// The builder's stateless steps, and the `Steps` trait that adds them.
pub use flux_steps as steps;

/// The test kit: fault-injecting readers and writers, tripwires,
/// conservation checks, and test doubles.
pub use flux_test as test;

/// Pooled memory: slabs, zero-copy framing, framed sources, write sinks.
#[cfg(feature = "memory")]
pub use flux_memory as memory;

/// Keyed accumulation: completeness, size and time limits, spill.
#[cfg(feature = "accumulate")]
pub use flux_accumulate as accumulate;

/// Several sources into one pipeline.
#[cfg(feature = "fan-in")]
pub use flux_fan_in as fan_in;

/// Admission policies between stages.
#[cfg(feature = "backpressure")]
pub use flux_backpressure as backpressure;

/// The tokio engine: segments as tasks, bounded channels of batches.
#[cfg(feature = "async")]
pub use flux_engine_async as engine_async;

/// Sources from futures streams, a pipeline's output as one, and
/// `map_async`.
#[cfg(feature = "stream")]
pub use flux_stream as stream;

/// Live metrics of a run, as JSON, Prometheus text or a table.
#[cfg(feature = "observe")]
pub use flux_observe as observe;

/// The README's examples, compiled and run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
pub struct ReadmeExamples;

/// The accumulation guide's examples, compiled and run as doc tests.
#[cfg(doctest)]
#[doc = include_str!("../../../docs/accumulate.md")]
pub struct AccumulateGuide;
