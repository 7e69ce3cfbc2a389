//! The LZ4 job by hand on two threads, handing lines across as Flux does:
//! one thread decompresses, finds the lines and wraps each in an
//! `Envelope<Bytes>` (a zero-copy slice of its buffer, its sequence and
//! cost), in batches of 512 that go round through two channels; the other
//! parses and counts. Beside `two_threads`, which hands raw text across,
//! it tells the cost of moving a 128-byte envelope a line between cores
//! apart from the rest of an engine's work: printed as
//! `envelope_two_thread_hand_loop_vs_hand_loop`.

use std::io::Read;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};

use bytes::Bytes;
use flux_core::{Cost, Envelope, Meta};
use lz4_flex::frame::FrameDecoder;
use rustc_hash::FxHashMap;

use super::two_threads::{BUFFERS, add};
use super::{LZ4_READ_SIZE, group_term, lz4_input};

/// Lines a batch: the Flux plan's boundary batch.
const BATCH: usize = 512;

/// A batch of lines as envelopes.
type Batch = Vec<Envelope<Bytes>>;

/// What the lines of half a batch count their references on, as
/// `flux-memory`'s reader does, so the two threads do not share one count
/// a buffer; a cache line of its own.
#[repr(align(64))]
struct RunOwner(Bytes);

impl AsRef<[u8]> for RunOwner {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

/// The LZ4 job by hand on two threads, lines crossing as envelopes; the
/// same checksum as the one-thread loop.
pub(super) fn envelope_two_thread_hand_loop() -> u64 {
    let (filled_tx, filled_rx) = sync_channel::<Batch>(BUFFERS);
    // Room for every batch: the one being filled, those in flight and the
    // one being counted.
    let (empty_tx, empty_rx) = sync_channel::<Batch>(BUFFERS + 2);
    for _ in 0..BUFFERS + 2 {
        empty_tx.send(Vec::with_capacity(BATCH)).expect("the receiver is alive");
    }
    std::thread::scope(|scope| {
        scope.spawn(move || frame(&filled_tx, &empty_rx));
        count(&filled_rx, &empty_tx)
    })
}

/// Decompresses into buffers, each starting with the line the last one
/// cut, and sends every complete line on as an envelope.
fn frame(filled: &SyncSender<Batch>, empty: &Receiver<Batch>) {
    let mut decoder = FrameDecoder::new(&lz4_input().frame[..]);
    let Ok(mut batch) = empty.recv() else { return };
    let (mut carry, mut sequence) = (Vec::new(), 0u64);
    loop {
        let mut buffer = Vec::with_capacity(LZ4_READ_SIZE);
        buffer.append(&mut carry);
        let carried = buffer.len();
        buffer.resize(LZ4_READ_SIZE, 0);
        let mut len = carried;
        while len < buffer.len() {
            match decoder.read(&mut buffer[len..]).expect("the frame decodes") {
                0 => break,
                read => len += read,
            }
        }
        let ended = len == carried;
        buffer.truncate(len);
        let window = Bytes::from(buffer);
        let (mut run, mut in_run, mut at) = (Bytes::from_owner(RunOwner(window.clone())), 0, 0);
        while let Some(end) = memchr::memchr(b'\n', &window[at..]) {
            if in_run == BATCH / 2 {
                (run, in_run) = (Bytes::from_owner(RunOwner(window.clone())), 0);
            }
            in_run += 1;
            sequence += 1;
            let meta = Meta { sequence, ..Meta::default() };
            batch.push(Envelope::from_parts(run.slice(at..at + end), meta, Cost::bytes(end as u32)));
            at += end + 1;
            if batch.len() == BATCH {
                if filled.send(batch).is_err() {
                    return;
                }
                let Ok(next) = empty.recv() else { return };
                batch = next;
            }
        }
        carry.extend_from_slice(&window[at..]);
        if ended {
            break;
        }
    }
    if !carry.is_empty() {
        let meta = Meta { sequence: sequence + 1, ..Meta::default() };
        batch.push(Envelope::from_parts(Bytes::from(carry), meta, Cost::ZERO));
    }
    let _ = filled.send(batch);
}

/// Parses and counts every envelope's line as the batches come, and gives
/// each batch back.
fn count(filled: &Receiver<Batch>, empty: &SyncSender<Batch>) -> u64 {
    let mut groups: FxHashMap<Vec<u8>, (u64, u64)> = FxHashMap::default();
    for mut batch in filled {
        for envelope in batch.drain(..) {
            add(&mut groups, &envelope.into_payload());
        }
        // The framing thread ends first when this one stops early.
        let _ = empty.send(batch);
    }
    groups.iter().fold(0u64, |sum, (user, &(count, total))| sum.wrapping_add(group_term(user, count, total)))
}
