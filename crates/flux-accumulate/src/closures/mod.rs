//! Accumulators without a trait impl: `fold`, `count`, `collect`,
//! `reduce`, which never judge a group complete on their own (the stage's
//! policy decides when a group is emitted; a record is the group's key and
//! value), and `parts`, whose completeness comes from named parts. Any of
//! them takes boundaries with `ends_when` and `starts_when`.

mod bounded;
mod collect;
mod count;
mod fold;
mod parts;
mod reduce;

pub use bounded::{Boundaries, Boundary, Bounded, Never};
pub use collect::{Collect, collect};
pub use count::{Count, count};
pub use fold::{Fold, fold};
pub use parts::{Assembled, Parts, PartsState, parts};
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
