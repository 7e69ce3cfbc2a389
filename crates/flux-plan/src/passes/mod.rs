//! The built-in planner passes, one per file.

mod diagnose;
mod fuse_pure;
mod isolate_heavy;
mod split_by_cost;
mod type_continuity;
mod unique_ids;
mod validate_edges;
mod validate_shape;

pub use diagnose::{Diagnose, ENVELOPE_BYTES_ESTIMATE};
pub use fuse_pure::FusePure;
pub use isolate_heavy::IsolateHeavy;
pub use split_by_cost::SplitByCost;
pub use type_continuity::TypeContinuity;
pub use unique_ids::UniqueIds;
pub use validate_edges::{ValidateEdges, ZeroSizedEdge};
pub use validate_shape::ValidateShape;
