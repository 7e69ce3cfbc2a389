//! A complete pipeline as engines see it: described for the planner,
//! assembled into segments against a plan.

use crate::chain::{Assembler, Continuation};
use crate::pipeline::CompletePipeline;
use crate::segment::SourceSegment;
use crate::sink_node::SinkNode;
use crate::{
    Chain, Channels, ExecutionPlan, PlanError, Purity, Push, Segment, Sink, Source, StageDescriptor, StageId,
    StageKind, StageLedger,
};

/// A complete pipeline an engine can run, whatever its types.
///
/// Engines are generic over it; `describe` feeds the planner and
/// `assemble` builds the segments the plan asks for. The two must agree:
/// assembly checks that the plan lists the same stages, by id and in
/// order, as `describe` does now, so a plan made for another pipeline (or
/// for this one before a stage was renamed) is refused before anything
/// runs ([`PlanError`]).
///
/// Users meet it only in signatures: `CompletePipeline` (what
/// `Pipeline::sink` returns) implements it for every chain the builder
/// can make.
pub trait Runnable: Send + 'static {
    /// Every stage, source first, sink last.
    fn describe(&self) -> Vec<StageDescriptor>;

    /// Builds the segments, cutting the typed chain where `plan` has
    /// boundaries; segment 0 starts at the source.
    ///
    /// # Errors
    ///
    /// The plan was made for another pipeline.
    fn assemble<C: Channels>(self, plan: &ExecutionPlan, channels: &mut C) -> Result<Vec<Box<dyn Segment>>, PlanError>;
}

impl<S, C, K> Runnable for CompletePipeline<S, C, K>
where
    S: Source + 'static,
    S::Item: Send + 'static,
    C: Chain<S::Item>,
    C::Out: Send + 'static,
    K: Sink<C::Out> + 'static,
{
    fn describe(&self) -> Vec<StageDescriptor> {
        let item = core::any::type_name::<S::Item>();
        let out = core::any::type_name::<C::Out>();
        let mut stages = Vec::with_capacity(C::LEN + 2);
        stages.push(
            StageDescriptor::new(self.pipeline.source_id.as_str().to_owned(), StageKind::Source, Purity::Stateful)
                .with_types("()", item)
                .with_engine_hint(self.pipeline.source.engine_hint()),
        );
        self.pipeline.chain.describe(&mut stages);
        stages.push(
            StageDescriptor::new(self.sink_id.as_str().to_owned(), StageKind::Sink, Purity::Stateful)
                .with_types(out, "()")
                .with_engine_hint(self.sink.engine_hint()),
        );
        stages
    }

    /// Builds from the sink back: the sink's node first (behind a channel
    /// if the plan cuts before it), then the chain wraps itself around it
    /// layer by layer, cutting a new segment at each boundary, and the
    /// source goes in front of whatever head is left. Segment 0 is the
    /// source's; the others follow in the order their channels were cut.
    fn assemble<Ch: Channels>(
        self,
        plan: &ExecutionPlan,
        channels: &mut Ch,
    ) -> Result<Vec<Box<dyn Segment>>, PlanError> {
        check_plan_matches(plan, &self.describe())?;
        let mut assembler = Assembler::new(plan, channels);
        let sink = SinkNode::new(self.sink, self.sink_id);
        let start = StartAtSource { source: self.pipeline.source, id: self.pipeline.source_id };
        let chain = self.pipeline.chain;
        let source_segment = match assembler.boundary(C::LEN) {
            None => chain.assemble(sink, &mut assembler, start),
            Some(edge) => {
                let sender = assembler.cut(C::LEN, edge, sink);
                chain.assemble(sender, &mut assembler, start)
            }
        };
        Ok(assembler.finish(source_segment))
    }
}

/// Puts the source in front of the assembled head of the first segment.
pub(crate) struct StartAtSource<S> {
    source: S,
    id: StageId,
}

impl<S> Continuation<S::Item> for StartAtSource<S>
where
    S: Source + 'static,
    S::Item: Send,
{
    type Output = Box<dyn Segment>;

    fn resume<H: Push<S::Item> + 'static>(self, head: H) -> Box<dyn Segment> {
        let parked = Some((self.source, head));
        let (id, ledger, held) = (self.id, StageLedger::default(), Default::default());
        Box::new(SourceSegment { parked, id, ledger, opened: false, closed: false, held, ended: false })
    }
}

/// Refuses a plan whose stages are not this pipeline's: a count, an id
/// or a duplicate id that differs. Types are the planner's concern (it
/// compared them when it planned); ids are what ledgers and errors name.
fn check_plan_matches(plan: &ExecutionPlan, stages: &[StageDescriptor]) -> Result<(), PlanError> {
    if plan.stages.len() != stages.len() || plan.junctions.len() + 1 != stages.len() {
        return Err(PlanError::StageCount { planned: plan.stages.len(), actual: stages.len() });
    }
    for (index, (planned, actual)) in plan.stages.iter().zip(stages).enumerate() {
        if planned.id != actual.id {
            return Err(PlanError::StageMismatch { index, planned: planned.id.clone(), actual: actual.id.clone() });
        }
        // Ledgers are kept by id: two stages with one id would share a row.
        if let Some(first) = stages[..index].iter().position(|s| s.id == actual.id) {
            return Err(PlanError::DuplicateId { id: actual.id.clone(), first, second: index });
        }
    }
    Ok(())
}
