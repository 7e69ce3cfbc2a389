//! Accumulators without a trait impl: `fold`, `count`, `collect`, `reduce`.
//!
//! Each groups by the envelope's key and never judges a group complete on
//! its own: the stage's policy (size, time, watermark, end of input)
//! decides when a group is emitted. A record is the group's key and value.

mod collect;
mod count;
mod fold;
mod reduce;

pub use collect::{Collect, collect};
pub use count::{Count, count};
pub use fold::{Fold, fold};
pub use reduce::{Reduce, reduce};

use bytes::Bytes;

/// What a closure accumulator makes of a group: its key and its value.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Keyed<V> {
    /// The group's key.
    pub key: Bytes,
    /// What the group's fragments folded into.
    pub value: V,
}
