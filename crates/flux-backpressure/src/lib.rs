//! Flow-control policies for the boundaries between Flux segments.
//!
//! Each type here implements [`flux_core::BackpressurePolicy`]; both
//! engines consult a boundary's policy before every batch crosses it,
//! with what the channel holds ([`flux_core::Pressure`]) and the engine's
//! time, so a policy behaves the same on the tokio engine and, on the sync
//! engine's virtual clock, deterministically:
//!
//! | policy | when the boundary is full | counted |
//! | --- | --- | --- |
//! | [`Block`] | the sender waits for room | held back |
//! | [`Shedding::drop_newest`] | the new batch is dropped | policy drops |
//! | [`Shedding::drop_oldest`] | the oldest queued batch is dropped | policy drops |
//! | [`Shedding::reject`] | the new batch goes to the dead-letter output | dead letters |
//! | [`Credit`] | a batch waits until the credit left covers it | held back |
//! | [`AdaptiveBatch`] | waits; batch size follows depth, open groups, latency | held back |
//! | [`TokenBucket`] | a batch waits for its share of the rate | held back |
//! | [`ReactivePull`] | the source reads nothing past the demand | held back |
//! | [`Circuit`] | waits; counts opening and closing | [`CircuitCounts`] |
//!
//! When a boundary is full comes from a [`Limit`]: batches queued, and
//! optionally envelopes, bytes, and the keys and bytes accumulators
//! downstream hold open ([`PolicyExt::watching`]). [`EdgePolicies`] says
//! which boundary gets which policy. The crate depends on `flux-core`
//! only, like every Flux crate, so a policy of a user's own is a peer of
//! these.
//!
//! # Examples
//!
//! A source faster than its sink, shaped to 1,000 envelopes a second on
//! the sync engine's virtual clock: 5,000 envelopes take five seconds of
//! engine time and no real time.
//!
//! ```
//! use flux_backpressure::{EdgePolicies, TokenBucket};
//! use flux_core::{Pipeline, Runnable};
//! use flux_engine_sync::SyncEngine;
//! use flux_plan::Planner;
//! use flux_steps::Steps;
//! use flux_test::{IterSource, VecSink};
//!
//! let out = VecSink::new();
//! let pipeline = Pipeline::from_source(IterSource::new(0..5_000u32)).map(|n| n + 1).named("shape").sink(out.clone());
//! let policies = EdgePolicies::new().after("shape", || TokenBucket::per_second(1_000, 100));
//! let plan = Planner::new().with_pass(policies.clone()).plan(pipeline.describe()).unwrap();
//! let report = SyncEngine::new().with_backpressure(policies).run(&plan, pipeline).unwrap();
//! assert_eq!(out.payloads().len(), 5_000);
//! assert_eq!(report.end_time, flux_core::Instant::from_millis(4_900), "the last batch of 100 goes at 4.9 s");
//! ```

#![forbid(unsafe_code)]

mod adaptive;
mod block;
mod circuit;
mod credit;
mod limit;
mod policies;
mod pull;
mod shed;
mod token_bucket;
mod watching;

pub use adaptive::AdaptiveBatch;
pub use block::Block;
pub use circuit::{Circuit, CircuitCounts};
pub use credit::Credit;
pub use limit::Limit;
pub use policies::EdgePolicies;
pub use pull::ReactivePull;
pub use shed::Shedding;
pub use token_bucket::TokenBucket;
pub use watching::{PolicyExt, Watching};
