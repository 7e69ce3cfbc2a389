//! A framed source resumes from a checkpoint: the next frame handed out
//! is the one after it, with the sequence and the byte offset it had.

use bytes::Bytes;
use flux_core::{CheckpointToken, Context, Instant, Pull, RecoverableSource, Source};
use flux_memory::{FramedSource, NewlineDelimited, PoolConfig, ResumeError, SlabPool};
use flux_test::Diverted;

/// Lines `line 0` .. `line {n-1}`, with a line too long for the framer at
/// every index in `too_long`.
fn text(n: usize, too_long: &[usize]) -> Vec<u8> {
    let mut text = Vec::new();
    for i in 0..n {
        if too_long.contains(&i) {
            text.extend_from_slice(&[b'x'; 40]);
        } else {
            text.extend_from_slice(format!("line {i}").as_bytes());
        }
        text.push(b'\n');
    }
    text
}

/// A source over `input` in slabs of 64 bytes (lines span slabs), lines of
/// at most 32 bytes.
fn source(input: &[u8]) -> FramedSource<&[u8], NewlineDelimited> {
    let pool = SlabPool::new("resume", PoolConfig::default().slab_size(64).max_slabs(64));
    FramedSource::new(input, pool, NewlineDelimited::new(32)).unwrap()
}

/// Pulls until `count` envelopes or rejections have come out, or the end:
/// each one's sequence and, for a frame, its text.
fn pull(source: &mut FramedSource<&[u8], NewlineDelimited>, count: usize) -> Vec<(u64, Option<Bytes>)> {
    let mut diverted = Diverted::default();
    let mut cx = Context::new(Instant::ZERO, &mut diverted);
    let mut out = Vec::new();
    while out.len() < count {
        match source.pull(&mut cx).unwrap() {
            Pull::Item(line) => out.push((line.meta().sequence, Some(line.into_payload()))),
            Pull::Rejected(rejected) => out.push((rejected.meta.sequence, None)),
            Pull::End => break,
            // Asked to send on what was made: these frames stay in `out`,
            // and the pool has room for all of them.
            Pull::Flush => {}
            other => panic!("a slice never waits: {other:?}"),
        }
    }
    out
}

#[test]
fn a_source_restored_from_a_checkpoint_goes_on_where_the_first_stopped() {
    let input = text(50, &[7, 23]);
    let mut whole = source(&input);
    let all = pull(&mut whole, usize::MAX);
    assert_eq!(all.len(), 50);

    for stop in [0, 1, 7, 8, 23, 24, 49] {
        let mut first = source(&input);
        let head = pull(&mut first, stop);
        let token = first.checkpoint();
        let mut resumed = source(&input);
        resumed.restore(&token).unwrap();
        assert_eq!(resumed.offset(), first.offset(), "the same byte offset after {stop}");
        let tail = pull(&mut resumed, usize::MAX);
        assert_eq!([head, tail].concat(), all, "stopped after {stop} and resumed");
    }
}

#[test]
fn a_sinks_token_names_the_last_sequence_it_covered() {
    let input = text(10, &[3]);
    let mut resumed = source(&input);
    resumed.restore(&CheckpointToken { sequence: 4, state: Bytes::new() }).unwrap();
    assert_eq!(resumed.frames_handed_out(), 5, "sequences 0..=4 passed over, the bad one among them");
    let next = pull(&mut resumed, 1);
    assert_eq!(next, [(5, Some(Bytes::from("line 5")))]);
    assert_eq!(resumed.offset(), input.iter().position(|&b| b == b'6').unwrap() as u64 - 5);
}

#[test]
fn a_checkpoint_past_the_end_of_the_input_is_refused() {
    let input = text(3, &[]);
    let mut resumed = source(&input);
    let error = resumed.restore(&CheckpointToken { sequence: 9, state: Bytes::new() }).unwrap_err();
    let error = error.downcast_ref::<ResumeError>().expect("a resume error");
    assert!(matches!(error, ResumeError::InputTooShort { wanted: 10, found: 3 }), "{error}");
    assert_eq!(error.to_string(), "the checkpoint covers 10 frames but the input has only 3");
}

#[test]
fn only_a_source_that_has_not_started_resumes() {
    let input = text(3, &[]);
    let mut started = source(&input);
    pull(&mut started, 1);
    let error = started.restore(&CheckpointToken { sequence: 1, state: Bytes::new() }).unwrap_err();
    assert!(matches!(error.downcast_ref::<ResumeError>(), Some(ResumeError::AlreadyStarted)));
    assert_eq!(error.to_string(), "only a source that has not started can resume");
}
