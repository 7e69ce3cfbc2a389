//! The batching sender at a boundary: what it hands the channel.

use std::sync::{Arc, Mutex};

use flux_core::{
    BatchSender, BatchingSender, Context, Envelope, Instant, Pull, Pulled, Push, Source, SourceOutput, StageId,
};
use flux_test::{Diverted, ScriptedSource};

/// Records the sequences of every batch it is sent; gives back spare
/// buffers with room for one envelope and asks for batches of three, as an
/// adaptive policy that grew the batch size would.
#[derive(Clone, Default)]
struct SmallSpares(Arc<Mutex<Vec<Vec<u64>>>>);

impl BatchSender<u32> for SmallSpares {
    fn send(&mut self, batch: Vec<Envelope<u32>>) {
        self.0.lock().unwrap().push(batch.iter().map(|e| e.meta().sequence).collect());
    }
    fn close(&mut self) {}
    fn spare(&mut self) -> Option<Vec<Envelope<u32>>> {
        Some(Vec::with_capacity(1))
    }
    fn batch_size(&self) -> Option<usize> {
        Some(3)
    }
}

#[test]
fn a_batch_larger_than_its_recycled_buffer_keeps_every_envelope_in_order() {
    let sent = SmallSpares::default();
    let mut sender = BatchingSender::new(Box::new(sent.clone()), 2);
    let mut diverted = Diverted::default();
    let mut cx = Context::new(Instant::ZERO, &mut diverted);
    for n in 0..10u32 {
        sender.push(Envelope::new(n).with_sequence(u64::from(n)), &mut cx);
    }
    sender.finish(&mut cx);
    let batches = sent.0.lock().unwrap().clone();
    assert_eq!(batches, vec![vec![0, 1], vec![2, 3, 4], vec![5, 6, 7], vec![8, 9]]);
}

/// `Pull::Flush` through the default `pull_into`: the boundary after the
/// source sends its half-full batch, and the step ends there; without a
/// flush, the rest waits for a full batch (three, once the sender has
/// asked for that size) or the end.
#[test]
fn a_flush_sends_the_half_full_batch_on_and_ends_the_step() {
    let item = |n: u32| Pull::Item(Envelope::new(n).with_sequence(u64::from(n)));
    let mut source = ScriptedSource::new([item(0), Pull::Flush, item(1), item(2)]);
    let sent = SmallSpares::default();
    let mut sender = BatchingSender::new(Box::new(sent.clone()), 512);
    let mut diverted = Diverted::default();
    let mut cx = Context::new(Instant::ZERO, &mut diverted);
    let id = StageId::from_static("source");

    let mut out = SourceOutput::new(&mut sender, &mut cx, &id);
    assert_eq!(source.pull_into(100, &mut out).unwrap(), Pulled::More, "a flush ends the step");
    assert_eq!(out.created(), 1);
    drop(out);
    assert_eq!(*sent.0.lock().unwrap(), [vec![0]], "the half-full batch went on");

    let mut out = SourceOutput::new(&mut sender, &mut cx, &id);
    assert_eq!(source.pull_into(100, &mut out).unwrap(), Pulled::End);
    drop(out);
    assert_eq!(*sent.0.lock().unwrap(), [vec![0]], "no flush: the rest waits for a full batch");
    sender.finish(&mut cx);
    assert_eq!(*sent.0.lock().unwrap(), [vec![0], vec![1, 2]]);
}
