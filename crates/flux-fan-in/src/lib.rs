//! Fan-in: several sources into one pipeline.
//!
//! [`FanIn`] is a [`Source`](flux_core::Source) made of other sources of
//! one item type. Each item comes out as a [`Sourced`]: the item and the
//! index of the source it came from, in the order the sources were added.
//! Sequences are renumbered so they stay unique across the merged stream.
//! Two orders are offered:
//!
//! - [`FanIn::as_ready`]: take from each source in turn, skipping one that
//!   waits; the order follows readiness.
//! - [`FanIn::by_event_time`]: always take the item with the earliest
//!   event time among the sources' next items, so that a join downstream
//!   sees the sources' rows in one time order whatever their files'
//!   interleaving. A source that waits holds the merge until it has its
//!   next item or ends: order before throughput.
//!
//! A source that waits to be woken ([`Pull::Pending`](flux_core::Pull::Pending):
//! a stream, an async reader) is asked again on the next pull; when nothing
//! else is ready and no source waits on the clock, the fan-in is pending
//! too. A source's [`Pull::Flush`](flux_core::Pull::Flush) (a framed
//! source about to rent its next slab) is passed on, so that what the
//! fan-in made is sent on first.
//!
//! A rejected piece of input or an error names its source (see
//! [`FromSource`]).
//!
//! # Examples
//!
//! ```
//! use flux_core::{Envelope, Instant, Pipeline, Runnable};
//! use flux_test::{TimedSource, VecSink};
//! use flux_fan_in::{FanIn, Sourced};
//! # use flux_engine_sync::SyncEngine;
//! # use flux_plan::Planner;
//!
//! let at = |s, item| (Instant::ZERO, Envelope::new(item).with_event_time(Instant::from_secs(s)));
//! let orders = TimedSource::new(vec![at(1, "order 1"), at(5, "order 2")]);
//! let payments = TimedSource::new(vec![at(2, "payment 1"), at(6, "payment 2")]);
//! let out = VecSink::new();
//! let pipeline = Pipeline::from_source(FanIn::by_event_time().source(orders).source(payments)).sink(out.clone());
//! # let plan = Planner::new().plan(pipeline.describe())?;
//! # let _report = SyncEngine::new().run(&plan, pipeline)?;
//! let merged: Vec<(usize, &str)> = out.payloads().into_iter().map(|s: Sourced<&str>| (s.source, s.item)).collect();
//! assert_eq!(merged, [(0, "order 1"), (1, "payment 1"), (0, "order 2"), (1, "payment 2")]);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![forbid(unsafe_code)]
#![doc(test(attr(deny(warnings))))]

mod error;
mod fan_in;

pub use error::FromSource;
pub use fan_in::{FanIn, Order, Sourced};
