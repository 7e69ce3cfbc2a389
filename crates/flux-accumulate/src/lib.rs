//! Keyed accumulation for Flux: fragments in, complete records out.
//!
//! TODO docs

#![forbid(unsafe_code)]
#![doc(test(attr(deny(warnings))))]

mod closed;
mod error;
mod group;
mod layer;
mod node;
mod order;
mod policy;
mod spill;
mod stats;

pub use error::FragmentError;
pub use layer::{Accumulate, AccumulateExt};
pub use node::AccumulateNode;
pub use node::{COMPLETENESS_HEADER, FRAGMENTS_HEADER, REASON_HEADER};
pub use policy::{
    AtEnd, ClosedKeys, Eviction, Expiry, KeyLimit, NoKey, OnMergeError, Policy, PolicyBuilder, PolicyError, SpillAt,
    TimerStart, Ttl, Watermark,
};
pub use spill::{Lz4Spill, NoEncryption, SpillCipher, SpillError, SpillStrategy};
pub use stats::{AccumulatorStats, StatsSnapshot};
