//! The builder's own stages, one per file, named after their methods.

mod filter;
mod flat_map;
mod inspect;
mod map;
mod try_map;

pub use filter::{Filter, FilterNode};
pub use flat_map::{FlatMap, FlatMapNode};
pub use inspect::{Inspect, InspectNode};
pub use map::{Map, MapNode};
pub use try_map::{TryMap, TryMapNode};
