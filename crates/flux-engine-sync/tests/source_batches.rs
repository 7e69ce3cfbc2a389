//! A stage that takes its source's steps as batches
//! (`Push::takes_source_batches`), fused with the source: a flush the
//! source asks for mid-step (`Pull::Flush`) hands on what the step made so
//! far before the stage hears the flush, as `SourceOutput::flush` promises.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::task::Poll;

use flux_core::{
    Context, Envelope, Instant, Junction, Layer, LedgerVisitor, Lifecycle, Pipeline, Pull, Purity, Push, Runnable,
    StageDescriptor, StageError, StageId, StageKind,
};
use flux_engine_sync::SyncEngine;
use flux_plan::Planner;
use flux_test::{ScriptedSource, VecSink};

/// What the recording stage was told, in order.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Heard {
    /// A batch that held envelopes, by their payloads.
    Batch(Vec<u32>),
    /// One envelope, by its payload.
    One(u32),
    /// A call to `on_time` (a flush, or the engine's timers).
    OnTime,
}

type Log = Arc<Mutex<Vec<Heard>>>;

/// A stage that takes its source's steps as batches, records what it is
/// told, and hands every envelope on.
struct Recording(Log);

struct RecordingNode<D> {
    log: Log,
    next: D,
}

impl Layer<u32> for Recording {
    type Out = u32;
    type Node<D: Push<u32> + 'static> = RecordingNode<D>;

    fn descriptor(&self) -> StageDescriptor {
        StageDescriptor::new("recording", StageKind::Transform, Purity::Pure).with_types("u32", "u32")
    }

    fn set_id(&mut self, _id: StageId) {}

    fn into_node<D: Push<u32> + 'static>(self, next: D) -> RecordingNode<D> {
        RecordingNode { log: self.0, next }
    }
}

impl<D: Push<u32>> Push<u32> for RecordingNode<D> {
    fn push(&mut self, item: Envelope<u32>, cx: &mut Context<'_>) {
        self.log.lock().unwrap().push(Heard::One(*item.payload()));
        self.next.push(item, cx);
    }

    fn push_batch(&mut self, batch: &mut VecDeque<Envelope<u32>>, cx: &mut Context<'_>) {
        // A step that made nothing pushes an empty batch: nothing to hear.
        if !batch.is_empty() {
            self.log.lock().unwrap().push(Heard::Batch(batch.iter().map(|item| *item.payload()).collect()));
        }
        for item in batch.drain(..) {
            self.next.push(item, cx);
        }
    }

    fn takes_source_batches(&self) -> bool {
        true
    }

    fn on_time(&mut self, cx: &mut Context<'_>) {
        self.log.lock().unwrap().push(Heard::OnTime);
        self.next.on_time(cx);
    }

    fn next_deadline(&self, at_end: bool) -> Option<Instant> {
        self.next.next_deadline(at_end)
    }

    fn finish(&mut self, cx: &mut Context<'_>) {
        self.next.finish(cx);
    }

    fn visit(&self, visitor: &mut dyn LedgerVisitor) {
        self.next.visit(visitor);
    }

    fn poll_lifecycle(&mut self, phase: Lifecycle, cx: &mut Context<'_>) -> Poll<Result<(), StageError>> {
        self.next.poll_lifecycle(phase, cx)
    }
}

#[test]
fn a_flush_mid_step_hands_on_the_batch_gathered_so_far_before_the_stage_hears_it() {
    let item = |n: u32| Pull::Item(Envelope::new(n));
    let script = [item(10), item(11), item(12), Pull::Flush, item(13), item(14)];
    let (log, out) = (Log::default(), VecSink::new());
    let pipeline = Pipeline::from_source(ScriptedSource::new(script)).layer(Recording(log.clone())).sink(out.clone());
    let mut plan = Planner::new().plan(pipeline.describe()).unwrap();
    plan.junctions.iter_mut().for_each(|junction| *junction = Junction::Fused);

    let report = SyncEngine::new().run(&plan, pipeline).unwrap();
    assert!(report.problems.is_empty(), "{:?}", report.problems);
    assert_eq!(out.payloads(), [10, 11, 12, 13, 14]);
    let heard = log.lock().unwrap().clone();
    // The flush ends the first step: its three envelopes, then the flush;
    // the second step's two go on as a batch of their own.
    assert_eq!(heard[..3], [Heard::Batch(vec![10, 11, 12]), Heard::OnTime, Heard::Batch(vec![13, 14])], "{heard:?}");
    assert!(heard[3..].iter().all(|call| *call == Heard::OnTime), "nothing is pushed one by one: {heard:?}");
}
