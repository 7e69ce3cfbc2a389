//! The builder's own stages, one per file, named after their methods.

/// The `Push` methods a node forwards unchanged to the node after it
/// (`self.next`): every builder stage is stateless, so timers and end of
/// input only pass through.
macro_rules! forward_to_next {
    () => {
        fn on_time(&mut self, cx: &mut $crate::Context<'_>) {
            self.next.on_time(cx);
        }

        fn next_deadline(&self, at_end: bool) -> Option<$crate::Instant> {
            self.next.next_deadline(at_end)
        }

        fn finish(&mut self, cx: &mut $crate::Context<'_>) {
            self.next.finish(cx);
        }
    };
}

/// `Debug` for builder stages and their nodes: the stage id (a closure has
/// nothing to show).
macro_rules! debug_by_id {
    ($($name:ident),* $(,)?) => {
        $(
            impl<A, B> core::fmt::Debug for $name<A, B> {
                fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                    f.debug_struct(stringify!($name)).field("id", &self.id).finish_non_exhaustive()
                }
            }
        )*
    };
}

debug_by_id!(Map, MapNode, Filter, FilterNode, FlatMap, FlatMapNode, TryMap, TryMapNode, Inspect, InspectNode);
debug_by_id!(SetMeta, SetMetaNode);

mod filter;
mod flat_map;
mod inspect;
mod map;
mod meta;
mod try_map;
mod with_meta;

pub use filter::{Filter, FilterNode};
pub use flat_map::{FlatMap, FlatMapNode};
pub use inspect::{Inspect, InspectNode};
pub use map::{Map, MapNode};
pub use meta::{EventTimeFrom, IntoKey, KeyFrom, MetaFrom, SetMeta, SetMetaNode};
pub use try_map::{TryMap, TryMapNode};
pub use with_meta::{OnPayload, Predicate, Transform, WithMeta};
