//! The LZ4 job by hand on two threads, split where the Flux plan cuts: one
//! thread decompresses into 256 KiB buffers, the other finds the lines,
//! parses them and counts, and the buffers go back to be filled again. It
//! is the best a pipeline of two stages can do on this machine without
//! any engine, and so what the async engine's plan could reach at most:
//! printed beside the LZ4 comparisons against the one-thread hand loop as
//! `two_thread_hand_loop_vs_hand_loop`.

use std::io::Read;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};

use lz4_flex::frame::FrameDecoder;
use rustc_hash::FxHashMap;

use super::{LZ4_READ_SIZE, group_term, lz4_input, parse_record};

/// Buffers in flight: as many as the Flux plan's boundary holds batches.
pub(super) const BUFFERS: usize = 8;

/// The LZ4 job by hand on two threads; the same checksum as the one-thread
/// loop.
pub(super) fn two_thread_hand_loop() -> u64 {
    let (filled_tx, filled_rx) = sync_channel::<Vec<u8>>(BUFFERS);
    let (empty_tx, empty_rx) = sync_channel::<Vec<u8>>(BUFFERS);
    for _ in 0..BUFFERS {
        empty_tx.send(Vec::with_capacity(LZ4_READ_SIZE)).expect("the receiver is alive");
    }
    std::thread::scope(|scope| {
        scope.spawn(move || decompress(&filled_tx, &empty_rx));
        count(&filled_rx, &empty_tx)
    })
}

/// Fills each empty buffer with decompressed text and sends it on, until
/// the frame ends.
fn decompress(filled: &SyncSender<Vec<u8>>, empty: &Receiver<Vec<u8>>) {
    let mut decoder = FrameDecoder::new(&lz4_input().frame[..]);
    while let Ok(mut buffer) = empty.recv() {
        buffer.resize(LZ4_READ_SIZE, 0);
        let mut len = 0;
        while len < buffer.len() {
            match decoder.read(&mut buffer[len..]).expect("the frame decodes") {
                0 => break,
                read => len += read,
            }
        }
        buffer.truncate(len);
        if len == 0 || filled.send(buffer).is_err() {
            return;
        }
    }
}

/// Counts every line of the buffers as they come, carrying a line cut by a
/// buffer's end over to the next, and gives each buffer back.
fn count(filled: &Receiver<Vec<u8>>, empty: &SyncSender<Vec<u8>>) -> u64 {
    let mut groups: FxHashMap<Vec<u8>, (u64, u64)> = FxHashMap::default();
    let mut carry = Vec::new();
    for buffer in filled {
        let mut text = &buffer[..];
        if !carry.is_empty() {
            match memchr::memchr(b'\n', text) {
                Some(end) => {
                    carry.extend_from_slice(&text[..end]);
                    add(&mut groups, &carry);
                    carry.clear();
                    text = &text[end + 1..];
                }
                None => {
                    carry.extend_from_slice(text);
                    text = &[];
                }
            }
        }
        while let Some(end) = memchr::memchr(b'\n', text) {
            add(&mut groups, &text[..end]);
            text = &text[end + 1..];
        }
        carry.extend_from_slice(text);
        // The decompressing thread ends first when this one stops early.
        let _ = empty.send(buffer);
    }
    if !carry.is_empty() {
        add(&mut groups, &carry);
    }
    groups.iter().fold(0u64, |sum, (user, &(count, total))| sum.wrapping_add(group_term(user, count, total)))
}

/// Merges one record into its user's count and sum, as the one-thread
/// loop does (and the envelope split, `envelope_two_threads`, which is no
/// baseline). Written out again rather than shared with that loop: a
/// function of both (inlined or not) changed the one-thread loop's code,
/// 19 to 23 instructions a record more under callgrind, and the baseline
/// must stay the loop a user writes.
#[inline]
pub(super) fn add(groups: &mut FxHashMap<Vec<u8>, (u64, u64)>, record: &[u8]) {
    let (comma, amount) = parse_record(record).expect("the generated records parse");
    let user = &record[..comma];
    match groups.get_mut(user) {
        Some(state) => {
            state.0 += 1;
            state.1 += amount;
        }
        None => {
            groups.insert(user.to_vec(), (1, amount));
        }
    }
}
