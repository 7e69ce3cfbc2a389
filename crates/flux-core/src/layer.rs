//! How a builder step becomes a node.

use crate::{Push, StageDescriptor, StageId};

/// One step of a pipeline before assembly: a stage waiting for its downstream.
///
/// The builder keeps layers; when an engine assembles the pipeline against
/// its plan, each layer is wrapped around the node after it, from the sink
/// back to the source. Implement `Layer` to add a builder step from your own
/// crate (as `flux-accumulate` does) and pass it to
/// [`Pipeline::layer`](crate::Pipeline::layer).
pub trait Layer<In>: Send + 'static {
    /// The payload type this stage emits.
    type Out;
    /// The node this layer becomes in front of a downstream `D`.
    type Node<D: Push<Self::Out> + 'static>: Push<In> + 'static;

    /// What the planner needs to know about the stage.
    fn descriptor(&self) -> StageDescriptor;

    /// Renames the stage; the builder calls this for
    /// [`Pipeline::named`](crate::Pipeline::named) and to number ids.
    fn set_id(&mut self, id: StageId);

    /// Wraps this stage around `next`.
    fn into_node<D: Push<Self::Out> + 'static>(self, next: D) -> Self::Node<D>;
}
