//! A source segment's step when its first node takes batches
//! ([`Push::takes_source_batches`]): what the source pulls in one step is
//! gathered into a batch, then pushed whole, as a channel segment pushes
//! what it receives. A plan that fuses the source with the accumulating
//! stage keeps the batch's read-ahead (every key looked up before the
//! first merge) without paying for a channel between them.

use crate::replay::Gate;
use crate::segment::{SourceSegment, step_of};
use crate::{Context, Pulled, Push, Source, SourceOutput, StageError, Step};

impl<S, D> SourceSegment<S, D>
where
    S: Source,
    S::Item: Send,
    D: Push<S::Item>,
{
    /// One step into a node that takes batches. What the source read
    /// before a read error goes on before the error stops the run. A panic
    /// in the node leaves the envelopes it had not taken in the segment
    /// (`held`); the next step, or the segment's finish, pushes them before
    /// anything new is pulled: nothing the source made is lost.
    pub(crate) fn step_in_batches(&mut self, cx: &mut Context<'_>) -> Step {
        let budget = cx.budget();
        let (source, head) = self.parked.as_mut().expect("a segment is not stepped re-entrantly");
        let pulled = if self.held.is_empty() {
            let mut gather = Gate::<_, _, true> { next: head, held: &mut self.held };
            source.pull_into(budget, &mut SourceOutput::tallied(&mut gather, cx, &self.id, &mut self.ledger.created))
        } else {
            // The rest of a batch a panic interrupted; the next step pulls.
            Ok(Pulled::More)
        };
        head.push_batch(&mut self.held, cx);
        match pulled {
            Ok(pulled) => step_of(pulled),
            Err(e) => Step::Failed(StageError::new(self.id.clone(), e.position, e.cause)),
        }
    }
}
