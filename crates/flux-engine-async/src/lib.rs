//! The production Flux engine on tokio.
//!
//! **Status: not yet implemented.** This crate will run the segments of an
//! [`ExecutionPlan`](flux_core::ExecutionPlan) as tokio tasks joined by
//! bounded channels of batches, with cancellation and graceful shutdown
//! that drain in-flight work. It will implement [`flux_core::Engine`] and
//! [`flux_core::Channels`], so the same pipeline value that runs on
//! `flux-engine-sync` runs here with no change to user code (kernel
//! question 1; the cut itself is already shown across a std thread in
//! `flux-engine-sync`'s `boundaries` test).
//!
//! It is a crate of its own so that nothing else in Flux depends on an
//! async runtime.

#![forbid(unsafe_code)]
