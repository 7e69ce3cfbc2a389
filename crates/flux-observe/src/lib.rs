//! Tracing, metrics and observers for Flux runs.
//!
//! **Status: not yet implemented.** This crate will implement
//! [`flux_core::Observer`] and [`flux_core::StageDecorator`] with `tracing`
//! spans per stage, throughput and queue-depth metrics, latency
//! histograms and accumulator counters. Observers see the engine's cold
//! paths only (batches, timers, diversions), never each envelope inside a
//! fused segment, so observing a run does not change its speed class.
//!
//! Until then, each engine run reports its ledger, dead letters, side
//! outputs and boundary counters directly (see `flux_engine_sync::RunReport`).

#![forbid(unsafe_code)]
