//! Keyed accumulation for Flux: fragments in, complete records out.
//!
//! An accumulating stage groups keyed fragments, merges each into its
//! group's state with your [`Accumulator`](flux_core::Accumulator), and
//! emits one record per group when the group is complete, hits a limit,
//! times out on the engine's clock, is closed by an event-time watermark,
//! is evicted, or the input ends. Every choice is an explicit [`Policy`]
//! setting with a documented default (see `docs/accumulate.md` for how to
//! express Vector's `reduce`, Camel's aggregator, Pekko's
//! `groupedWeightedWithin` and tokio-stream's `chunks_timeout`).
//!
//! **Depend on it** to add `accumulate` to a pipeline
//! ([`AccumulateExt`]). It is its own crate so that the kernel holds only
//! the [`Accumulator`](flux_core::Accumulator) contract, and a user can
//! write another accumulating stage against that contract without this one.
//!
//! With the `fields` feature, the `fields` module merges records that are
//! JSON objects by a table of strategies per field (`FieldMerge`: Vector's
//! `reduce` and its `merge_strategies`), its one optional dependency being
//! `serde_json`.
//!
//! # What a record carries
//!
//! Each record keeps the key, sequence, event time and trace of its
//! group's first fragment, costs the sum of its fragments' bytes, and
//! carries three headers: [`COMPLETENESS_HEADER`] (`acc.completeness`, the
//! score with three decimals), [`REASON_HEADER`] (`acc.reason`: the rule
//! that ended the group, [`EmitReason::as_str`](flux_core::EmitReason::as_str):
//! `complete`, `end-condition`, `start-condition`, `count`, `weight`,
//! `latency`, `lifetime`, `inactivity`, `interval`, `watermark`,
//! `evicted`, `new-key`, `forced` or `end-of-stream`) and
//! [`FRAGMENTS_HEADER`] (`acc.fragments`).
//!
//! # Nothing is lost
//!
//! Each fragment is merged (and later released in a record or counted as
//! discarded by an explicit policy), sent to the side output (late data, a
//! closed key) or to the dead-letter output (no key, no event time, a
//! failed merge). The stage's [`StageLedger`](flux_core::StageLedger)
//! says which, and holds nothing pending after the input ends.
//!
//! # Example: the customer template
//!
//! Profile, address and orders fragments arrive per customer id; a record
//! is complete once all three parts have arrived (a variable-set bitmask),
//! and a customer still missing a part thirty seconds after its first
//! fragment is flushed partially, with its score; at end of input the
//! stage waits for those timers on the engine's (virtual) clock.
//!
//! ```
//! use std::error::Error;
//! use std::time::Duration;
//!
//! use bytes::Bytes;
//! use flux_accumulate::{AccumulateExt, AtEnd, Policy, TimerStart};
//! use flux_core::*;
//! use flux_test::{TimedSource, VecSink};
//! use flux_engine_sync::SyncEngine;
//! use flux_plan::Planner;
//!
//! enum Part { Profile(String), Address(String), Order(u32) }
//!
//! #[derive(Default)]
//! struct Customer { seen: u64, name: String, address: String, orders: Vec<u32> }
//!
//! struct CustomerTemplate;
//!
//! impl Accumulator for CustomerTemplate {
//!     type Fragment = Part;
//!     type State = Customer;
//!     type Output = (String, String, Vec<u32>);
//!
//!     fn open(&mut self, _customer_id: &Bytes) -> Customer { Customer::default() }
//!
//!     fn merge(&mut self, c: &mut Customer, part: Envelope<Part>) -> Result<(), Box<dyn Error + Send + Sync>> {
//!         match part.into_payload() {
//!             Part::Profile(name) => { c.name = name; c.seen |= 0b001 }
//!             Part::Address(address) => { c.address = address; c.seen |= 0b010 }
//!             Part::Order(order) => { c.orders.push(order); c.seen |= 0b100 }
//!         }
//!         Ok(())
//!     }
//!
//!     fn completeness(&self, c: &Customer) -> Completeness { Completeness::from_mask(c.seen, 0b111) }
//!
//!     fn close(&mut self, _id: Bytes, c: Customer, _why: EmitReason) -> Self::Output {
//!         (c.name, c.address, c.orders)
//!     }
//! }
//!
//! let at = |secs, id: &'static str, part| {
//!     (Instant::from_secs(secs), Envelope::new(part).with_key(Bytes::from_static(id.as_bytes())))
//! };
//! let source = TimedSource::new(vec![
//!     at(0, "c-1", Part::Profile("Ada".into())),
//!     at(1, "c-2", Part::Profile("Bob".into())),
//!     at(2, "c-1", Part::Order(7)),
//!     at(3, "c-1", Part::Address("1 Loop Rd".into())),
//! ]);
//! let policy = Policy::builder()
//!     .ttl(Duration::from_secs(30), TimerStart::FirstFragment)
//!     .at_end(AtEnd::WaitForTimers)
//!     .build()
//!     .unwrap();
//! let out = VecSink::new();
//! let pipeline = Pipeline::from_source(source).accumulate(CustomerTemplate, policy).sink(out.clone());
//!
//! let plan = Planner::new().plan(pipeline.describe()).unwrap();
//! let report = SyncEngine::new().run(&plan, pipeline).unwrap();
//! assert_eq!(report.end_time, Instant::from_secs(31));
//!
//! let records = out.take();
//! assert_eq!(records[0].payload(), &("Ada".to_owned(), "1 Loop Rd".to_owned(), vec![7]));
//! assert_eq!(&records[0].meta().headers.get("acc.reason").unwrap()[..], b"complete");
//! // Bob never sent an address or an order: flushed at thirty seconds, a third complete.
//! assert_eq!(records[1].payload().0, "Bob");
//! assert_eq!(&records[1].meta().headers.get("acc.reason").unwrap()[..], b"lifetime");
//! assert_eq!(&records[1].meta().headers.get("acc.completeness").unwrap()[..], b"0.333");
//! ```
//!
//! # Example: a windowed count
//!
//! Page views counted per page over ten-second event-time windows; a
//! window is emitted when the watermark reaches its end, and a view that
//! arrives after its window was emitted goes to the side output.
//!
//! ```
//! use std::error::Error;
//! use std::time::Duration;
//!
//! use bytes::Bytes;
//! use flux_accumulate::{AccumulateExt, Policy, Watermark};
//! use flux_core::*;
//! use flux_test::{TimedSource, VecSink};
//! use flux_engine_sync::SyncEngine;
//! use flux_plan::Planner;
//!
//! struct Count;
//!
//! impl Accumulator for Count {
//!     type Fragment = ();
//!     type State = u64;
//!     type Output = u64;
//!     fn open(&mut self, _: &Bytes) -> u64 { 0 }
//!     fn merge(&mut self, n: &mut u64, _: Envelope<()>) -> Result<(), Box<dyn Error + Send + Sync>> {
//!         *n += 1;
//!         Ok(())
//!     }
//!     fn completeness(&self, _: &u64) -> Completeness { Completeness::EMPTY } // only the window ends a group
//!     fn close(&mut self, _: Bytes, n: u64, _: EmitReason) -> u64 { n }
//! }
//!
//! let view = |page: &'static str, event_secs| {
//!     Envelope::new(()).with_key(Bytes::from_static(page.as_bytes())).with_event_time(Instant::from_secs(event_secs))
//! };
//! let views = vec![view("/", 1), view("/a", 2), view("/", 8), view("/", 12), view("/a", 4), view("/a", 19)];
//! let window = Watermark {
//!     window: Duration::from_secs(10),
//!     out_of_orderness: Duration::ZERO,
//!     allowed_lateness: Duration::ZERO,
//! };
//! let out = VecSink::new();
//! let pipeline = Pipeline::from_source(TimedSource::new(views.into_iter().map(|v| (Instant::ZERO, v)).collect()))
//!     .accumulate(Count, Policy::builder().watermark(window).build().unwrap())
//!     .sink(out.clone());
//!
//! let plan = Planner::new().plan(pipeline.describe()).unwrap();
//! let report = SyncEngine::new().run(&plan, pipeline).unwrap();
//!
//! let counts: Vec<_> = out.take().into_iter().map(|r| (r.meta().key.clone().unwrap(), *r.payload())).collect();
//! assert_eq!(counts, [("/".into(), 2), ("/a".into(), 1), ("/".into(), 1), ("/a".into(), 1)]);
//! assert_eq!(report.side_outputs.len(), 1, "the view of /a at 4s came after its window closed");
//! ```

// `unsafe` is confined to `prefetch.rs`: one call of the prefetch intrinsic,
// which never faults (see its SAFETY comment).
#![deny(unsafe_code)]
#![doc(test(attr(deny(warnings))))]

mod closed;
mod closures;
mod error;
#[cfg(feature = "fields")]
pub mod fields;
mod force;
mod group;
mod infos;
mod key;
mod layer;
mod node;
mod order;
mod policy;
mod prefetch;
mod release;
mod spill;
mod stats;
mod table;

pub use closures::{
    Assembled, Boundaries, Boundary, Bounded, Collect, Count, Fold, Keyed, Never, Parts, PartsState, Reduce, collect,
    count, fold, parts, reduce,
};
pub use error::FragmentError;
pub use force::ForceComplete;
pub use layer::{Accumulate, AccumulateExt};
pub use node::AccumulateNode;
pub use node::{COMPLETENESS_HEADER, FRAGMENTS_HEADER, REASON_HEADER};
pub use policy::{
    AtEnd, BytesBound, CloseAfter, ClosedKeys, Eviction, Expiry, Forget, KeyLimit, KeyStorage, NoKey, OnExpiry,
    OnMergeError, OnNewKey, Policy, PolicyBuilder, PolicyError, SpillAt, Timer, TimerClock, TimerStart, Ttl, Watermark,
};
pub use release::{Emitted, Fragments, Keep, Records, Release};
pub use spill::{FileSpill, Lz4Spill, NoEncryption, SpillCipher, SpillError, SpillStrategy};
pub use stats::{AccumulatorStats, REASONS, StatsSnapshot};
