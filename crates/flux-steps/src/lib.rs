//! The builder's stateless steps: `map`, `filter`, `flat_map`, `try_map`,
//! `inspect`, `key_by`, `split_key`, `event_time`, and the metadata-reading `map` and
//! `filter`, one per file, added to a [`Pipeline`](flux_core::Pipeline) by the [`Steps`] trait;
//! and `cpu_hint_ns` ([`HintSteps`]), which tells the planner what the step before it costs.
//!
//! They live outside the kernel: each is an ordinary [`Layer`](flux_core::Layer)
//! whose node is inlined into the segment it is fused in, so a user's own
//! step is written the same way. The `flux` facade's prelude brings
//! `Steps` into scope.
//!
//! ```
//! use flux_core::{Pipeline, Runnable};
//! use flux_steps::Steps;
//! use flux_test::{IterSource, VecSink};
//!
//! let out = VecSink::new();
//! let pipeline = Pipeline::from_source(IterSource::new(1..=10u32))
//!     .map(|n| n * 3)
//!     .named("triple")
//!     .filter(|n| n % 2 == 0)
//!     .sink(out.clone());
//! let ids: Vec<_> = pipeline.describe().into_iter().map(|d| d.id.to_string()).collect();
//! assert_eq!(ids, ["source", "triple", "filter-2", "sink"]);
//! ```

#![forbid(unsafe_code)]
#![doc(test(attr(deny(warnings))))]

/// The `Push` methods a node forwards unchanged to the node after it
/// (`self.next`): every builder stage is stateless, so timers and end of
/// input only pass through.
macro_rules! forward_to_next {
    () => {
        fn on_time(&mut self, cx: &mut flux_core::Context<'_>) {
            self.next.on_time(cx);
        }

        fn next_deadline(&self, at_end: bool) -> Option<flux_core::Instant> {
            self.next.next_deadline(at_end)
        }

        fn finish(&mut self, cx: &mut flux_core::Context<'_>) {
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
debug_by_id!(SetMeta, SetMetaNode, SplitKey, SplitKeyNode);

mod filter;
mod flat_map;
mod hint;
mod inspect;
mod key_text;
mod map;
mod meta;
mod split_key;
mod stage;
mod steps;
mod try_map;
mod with_meta;

pub use filter::{Filter, FilterNode};
pub use flat_map::{FlatMap, FlatMapNode};
pub use hint::{HintSteps, Hinted};
pub use inspect::{Inspect, InspectNode};
pub use key_text::KeyText;
pub use map::{Map, MapNode};
pub use meta::{EventTimeFrom, IntoKey, KeyFrom, MetaFrom, SetMeta, SetMetaNode};
pub use split_key::{SplitKey, SplitKeyNode};
pub use stage::{StageLayer, StageNode};
pub use steps::Steps;
pub use try_map::{TryMap, TryMapNode};
pub use with_meta::{OnPayload, Predicate, Transform, WithMeta};
