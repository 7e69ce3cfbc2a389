//! The deterministic Flux engine: one thread, a virtual clock, and every
//! scheduling decision recorded.
//!
//! [`SyncEngine`] runs an [`ExecutionPlan`](flux_core::ExecutionPlan) on the
//! calling thread with no threads or spawned tasks. Segment boundaries are
//! in-thread queues whose counters ([`EdgeStats`]) simulate the
//! backpressure a threaded engine would feel; time is a [`VirtualClock`]
//! the engine advances, so timers, TTLs and timeouts run in no real time;
//! and every decision point (a pull, a send, a receive, a timer) passes
//! through a [`ScheduleHook`] and is recorded as a [`Decision`], so a run
//! replays exactly and a schedule controller can explore other
//! interleavings ([`Seeded`]).
//!
//! A file read at once takes no time on that clock, so its TTLs would
//! all fire at the end; [`SyncEngine::clock_follows_event_time`] makes the
//! clock follow the event time the source sets instead, and a replay then
//! meets its timers where the live feed did.
//!
//! **Depend on it** for tests, debugging, and deterministic batch jobs. It
//! is its own crate so that the kernel stays free of any engine, and so
//! that depending on it pulls in no async runtime.
//!
//! See [`SyncEngine`] for an example.

#![forbid(unsafe_code)]
#![doc(test(attr(deny(warnings))))]

mod channel;
mod clock;
mod collector;
mod engine;
mod report;
mod run;
mod schedule;
mod wake;

pub use channel::EdgeStats;
pub use clock::VirtualClock;
pub use engine::{DEFAULT_KEPT, SyncEngine};
pub use flux_core::{Imbalance, LedgerRow};
pub use report::{PoolFigures, RunError, RunErrorKind, RunReport, Tally};
pub use schedule::{Decision, DownstreamFirst, ScheduleHook, Seeded, UpstreamFirst};
