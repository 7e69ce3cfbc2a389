//! Flow-control policies for the boundaries between Flux segments.
//!
//! **Status: not yet implemented.** This crate will hold implementations of
//! [`flux_core::BackpressurePolicy`]: bounded queues, credit-based flow,
//! adaptive batching, rate shaping and reactive pull (source gating), and
//! the adapter that makes every engine's channels report the same
//! [`flux_core::Pressure`] counters. It depends on `flux-core` only, like
//! every Flux crate, so a user can swap in a policy of their own.
//!
//! Until it lands, a boundary's shape comes from the planner's
//! [`flux_core::EdgeSpec`] (capacity in batches, batch size), and a user's
//! policy can already set it through a [`flux_core::PlannerPass`]; the sync
//! engine counts the sends a bounded channel would have made wait
//! (`flux_engine_sync::EdgeStats::backpressured_sends`).

#![forbid(unsafe_code)]
