//! The batching sender at a boundary: what it hands the channel.

use std::sync::{Arc, Mutex};

use flux_core::{BatchSender, BatchingSender, Context, Envelope, Instant, Push};
use flux_test::Diverted;

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
