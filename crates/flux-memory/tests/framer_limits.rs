//! The framers under random input, random reads and extreme limits (0, 1,
//! the slab size and its neighbours, several slabs, `usize::MAX`): no
//! overflow, no hang, the same frames as a byte-by-byte reference (frames
//! longer than a slab included), every byte accounted for.
//!
//! Tests run in a debug build, where arithmetic overflow panics.

use flux_memory::{
    CarryTooLarge, Event, FrameErrorKind, FrameReader, Framer, LengthPrefixed, NewlineDelimited, PoolConfig, ReadMode,
    Scanned, SlabPool, assert_no_leaks,
};
use flux_test::{Fault, FaultyReader};
use proptest::prelude::*;

/// What framing a whole input found: frames by (offset, bytes), bad frames
/// by (offset, kind), and the bytes the framer skipped.
#[derive(Debug, Default, PartialEq)]
struct Framing {
    frames: Vec<(u64, Vec<u8>)>,
    bad: Vec<(u64, FrameErrorKind)>,
    skipped: u64,
}

/// Lines of a newline-delimited input, as a byte-by-byte reader sees them.
fn newline_reference(input: &[u8], limit: usize) -> Framing {
    let mut framing = Framing::default();
    let mut start = 0;
    while start < input.len() {
        let (line, next) = match input[start..].iter().position(|&b| b == b'\n') {
            Some(i) => {
                let line = &input[start..start + i];
                (line.strip_suffix(b"\r").unwrap_or(line), start + i + 1)
            }
            None => (&input[start..], input.len()),
        };
        if line.len() <= limit {
            framing.frames.push((start as u64, line.to_vec()));
        } else {
            framing.bad.push((start as u64, FrameErrorKind::Oversize { limit, length: None }));
            framing.skipped += (next - start) as u64;
        }
        start = next;
    }
    framing
}

/// Records of a length-prefixed input, as a byte-by-byte reader sees them.
fn prefixed_reference(input: &[u8], limit: usize) -> Framing {
    let mut framing = Framing::default();
    let mut at = 0;
    while at < input.len() {
        let rest = input.len() - at;
        if rest < 4 {
            framing.bad.push((at as u64, FrameErrorKind::TruncatedPrefix { have: rest }));
            framing.skipped += rest as u64;
            break;
        }
        let length = u32::from_be_bytes(input[at..at + 4].try_into().unwrap());
        let body = length as usize;
        if body > limit {
            framing.bad.push((at as u64, FrameErrorKind::Oversize { limit, length: Some(u64::from(length)) }));
            let skipped = (4 + body).min(rest);
            framing.skipped += skipped as u64;
            at += skipped;
        } else if body > rest - 4 {
            framing.bad.push((
                at as u64,
                FrameErrorKind::TruncatedRecord { expected: Some(u64::from(length)), have: rest - 4 },
            ));
            framing.skipped += rest as u64;
            break;
        } else {
            framing.frames.push((at as u64 + 4, input[at + 4..at + 4 + body].to_vec()));
            at += 4 + body;
        }
    }
    framing
}

/// How a case reads its input.
#[derive(Clone, Debug)]
struct Reads {
    max_read: usize,
    faults: Vec<(u64, Fault)>,
    eager: bool,
    scan_limit: Option<usize>,
}

/// Frames `input` with `framer`, reading as `reads` says, within a budget
/// of calls that any progress fits in; `None` when the reader refuses the
/// framer's limit.
fn frame<F: Framer>(input: &[u8], slab_size: usize, framer: F, reads: &Reads) -> Option<Framing> {
    let pool = SlabPool::new("limits", PoolConfig::default().slab_size(slab_size).max_slabs(1));
    let mut faulty = FaultyReader::new(input.to_vec()).max_read(reads.max_read);
    let mut would_blocks = 0;
    for &(offset, fault) in &reads.faults {
        if let Fault::WouldBlock(n) = fault {
            would_blocks += u64::from(n);
        }
        faulty = faulty.at(offset, fault);
    }
    let mode = if reads.eager { ReadMode::Eager } else { ReadMode::Fill };
    let mut reader = match FrameReader::new(faulty, pool.clone(), framer) {
        Ok(reader) => reader.read_mode(mode),
        Err(CarryTooLarge { max_carry, .. }) => {
            assert_eq!(max_carry, usize::MAX, "only a framer with no limit is refused");
            return None;
        }
    };
    let mut framing = Framing::default();
    // Every call hands out a frame, a bad frame or a would-block, or ends.
    let budget = input.len() as u64 + would_blocks + 2;
    let mut calls = 0;
    loop {
        calls += 1;
        assert!(calls <= budget, "no progress after {budget} calls");
        match reads.scan_limit {
            Some(limit) => {
                let scanned = reader
                    .scan(limit, |frame| framing.frames.push((frame.offset(), frame.as_slice().to_vec())))
                    .expect("only would-blocks and interruptions are injected");
                match scanned {
                    Scanned::Bad(error) => framing.bad.push((error.offset(), error.kind().clone())),
                    Scanned::Limit | Scanned::Refill | Scanned::WouldBlock => {}
                    Scanned::End => break,
                }
            }
            None => match reader.next_event().expect("only would-blocks and interruptions are injected") {
                Some(Event::Frame(frame)) => framing.frames.push((frame.offset(), frame.as_slice().to_vec())),
                Some(Event::Bad(error)) => framing.bad.push((error.offset(), error.kind().clone())),
                Some(Event::WouldBlock | Event::Refill) => {}
                None => break,
            },
        }
    }
    let stats = reader.stats();
    framing.skipped = stats.skipped_bytes;
    assert_eq!(stats.bytes_read, input.len() as u64);
    assert_eq!(stats.frames, framing.frames.len() as u64);
    assert_eq!(stats.bad_frames, framing.bad.len() as u64);
    drop(reader);
    assert_no_leaks(&pool);
    Some(framing)
}

/// 0, 1, the slab size and its neighbours, `usize::MAX`, anything below
/// the slab, or a few slabs (frames that go on in a grown buffer).
fn limit(slab_size: usize) -> impl Strategy<Value = usize> {
    prop_oneof![
        slab_size..slab_size * 8,
        Just(0),
        Just(1),
        Just(slab_size - 2),
        Just(slab_size - 1),
        Just(slab_size),
        Just(slab_size + 1),
        Just(usize::MAX),
        0..slab_size,
    ]
}

fn reads(len: usize) -> impl Strategy<Value = Reads> {
    let fault = prop_oneof![(1..4u32).prop_map(Fault::WouldBlock), (1..4u32).prop_map(Fault::Interrupted)];
    (
        prop_oneof![Just(1usize), 1..64usize, Just(usize::MAX)],
        proptest::collection::vec((0..=len as u64, fault), 0..4),
        any::<bool>(),
        prop_oneof![Just(None), (1..50usize).prop_map(Some), Just(Some(usize::MAX))],
    )
        .prop_map(|(max_read, faults, eager, scan_limit)| Reads { max_read, faults, eager, scan_limit })
}

/// Short lines, or long ones (a newline in 60 bytes, longer than most slabs here).
fn lines() -> impl Strategy<Value = Vec<u8>> {
    let short = prop_oneof![4 => Just(b'a'), 1 => Just(b'\n'), 1 => Just(b'\r')];
    let long = prop_oneof![58 => Just(b'a'), 1 => Just(b'\n'), 1 => Just(b'\r')];
    prop_oneof![proptest::collection::vec(short, 0..600), proptest::collection::vec(long, 0..600)]
}

fn records() -> impl Strategy<Value = Vec<u8>> {
    let record = (0..200u32, 0..200usize, any::<bool>()).prop_map(|(declared, actual, honest)| {
        let body = if honest { declared as usize } else { actual };
        let mut bytes = declared.to_be_bytes().to_vec();
        bytes.extend(std::iter::repeat_n(b'r', body));
        bytes
    });
    (proptest::collection::vec(record, 0..20), 0..3usize).prop_map(|(records, cut)| {
        let mut input: Vec<u8> = records.concat();
        input.truncate(input.len().saturating_sub(cut));
        input
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn newline_framing_under_any_limit_and_any_reads(
        (slab_size, limit, input, reads) in (4..96usize).prop_flat_map(|slab| (Just(slab), limit(slab), lines()))
            .prop_flat_map(|(slab, limit, input)| { let len = input.len(); (Just(slab), Just(limit), Just(input), reads(len)) })
    ) {
        let refused = limit.saturating_add(1) == usize::MAX;
        let framing = frame(&input, slab_size, NewlineDelimited::new(limit), &reads);
        prop_assert_eq!(framing.is_none(), refused);
        if let Some(framing) = framing {
            let expected = newline_reference(&input, limit);
            prop_assert_eq!(&framing.frames, &expected.frames);
            let offsets = |f: &Framing| f.bad.iter().map(|(o, _)| *o).collect::<Vec<_>>();
            prop_assert_eq!(offsets(&framing), offsets(&expected));
            prop_assert_eq!(framing.skipped, expected.skipped, "every skipped byte counted");
        }
    }

    #[test]
    fn length_prefixed_framing_under_any_limit_and_any_reads(
        (slab_size, limit, input, reads) in (8..96usize).prop_flat_map(|slab| (Just(slab), limit(slab), records()))
            .prop_flat_map(|(slab, limit, input)| { let len = input.len(); (Just(slab), Just(limit), Just(input), reads(len)) })
    ) {
        let refused = limit.saturating_add(4) == usize::MAX;
        let framing = frame(&input, slab_size, LengthPrefixed::new(limit), &reads);
        prop_assert_eq!(framing.is_none(), refused);
        if let Some(framing) = framing {
            prop_assert_eq!(framing, prefixed_reference(&input, limit));
        }
    }
}

#[test]
fn the_reference_models_agree_with_hand_counted_inputs() {
    let lines = newline_reference(b"ab\r\n\ncdef\ng", 2);
    assert_eq!(lines.frames, [(0, b"ab".to_vec()), (4, Vec::new()), (10, b"g".to_vec())]);
    assert_eq!((lines.bad.len(), lines.skipped), (1, 5));
    let records = prefixed_reference(&[0, 0, 0, 1, b'x', 0, 0, 0, 9, b'y', 0], 4);
    assert_eq!(records.frames, [(4, b"x".to_vec())]);
    assert_eq!(records.skipped, 6);
}
