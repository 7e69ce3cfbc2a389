//! Readers whose input fails, blocks or trickles: nothing read is lost,
//! errors name the first byte not delivered, and the counts stay true.

use std::io::ErrorKind;

use flux_memory::{
    Event, FrameReader, Framer, FramingStats, LengthPrefixed, NewlineDelimited, PoolConfig, ReadError, ReadMode,
    SlabPool, assert_no_leaks,
};
use flux_test::{Fault, FaultyReader};

/// `count` lines of ten bytes: nine digits and a newline.
fn numbered_lines(count: u64) -> Vec<u8> {
    (0..count).flat_map(|i| format!("{i:09}\n").into_bytes()).collect()
}

/// Everything a reader hands out until it fails or ends: (offset, frame),
/// how many times it would block, and how it ended.
struct Outcome {
    frames: Vec<(u64, Vec<u8>)>,
    would_block: u32,
    error: Option<ReadError>,
    stats: FramingStats,
}

fn read<F: Framer>(reader: FaultyReader, slab_size: usize, framer: F, mode: ReadMode) -> Outcome {
    let pool = SlabPool::new("faults", PoolConfig::default().slab_size(slab_size).max_slabs(2));
    let mut frames = FrameReader::new(reader, pool.clone(), framer).unwrap().read_mode(mode);
    let mut outcome = Outcome { frames: Vec::new(), would_block: 0, error: None, stats: FramingStats::default() };
    loop {
        match frames.next_event() {
            Ok(Some(Event::Frame(frame))) => outcome.frames.push((frame.offset(), frame.as_slice().to_vec())),
            Ok(Some(Event::Bad(error))) => panic!("no bad frames in these inputs: {error}"),
            Ok(Some(Event::WouldBlock)) => outcome.would_block += 1,
            Ok(Some(Event::Refill)) => {}
            Ok(None) => break,
            Err(error) => {
                outcome.error = Some(error);
                break;
            }
        }
    }
    outcome.stats = frames.stats();
    drop(frames);
    assert_no_leaks(&pool);
    outcome
}

fn io_error(outcome: &Outcome) -> (u64, ErrorKind) {
    match &outcome.error {
        Some(ReadError::Io { offset, source }) => (*offset, source.kind()),
        other => panic!("expected an I/O error, got {other:?}"),
    }
}

#[test]
fn lines_read_before_a_failing_byte_are_delivered_and_the_error_is_at_the_first_byte_not_delivered() {
    let input = numbered_lines(20_000);
    let reader = FaultyReader::new(input).at(100_005, Fault::Error(ErrorKind::ConnectionReset));
    let outcome = read(reader, 4096, NewlineDelimited::new(64), ReadMode::Fill);
    assert_eq!(outcome.frames.len(), 10_000, "every line that ended before byte 100,005");
    assert_eq!(outcome.frames[9_999], (99_990, b"000009999".to_vec()));
    assert_eq!(io_error(&outcome), (100_000, ErrorKind::ConnectionReset), "the partial line starts at 100,000");
    assert_eq!(outcome.stats.frames, 10_000);
    assert_eq!(outcome.stats.bytes_read, 100_005, "the counts include the bytes read before the failure");
}

#[test]
fn a_failure_at_a_slab_edge_is_raised_at_once_at_the_start_of_the_carried_bytes() {
    // 64-byte slabs hold six whole lines and four bytes of the seventh.
    let reader = FaultyReader::new(numbered_lines(20)).at(64, Fault::Persistent(ErrorKind::BrokenPipe));
    let outcome = read(reader, 64, NewlineDelimited::new(16), ReadMode::Fill);
    assert_eq!(outcome.frames.len(), 6);
    assert_eq!(io_error(&outcome), (60, ErrorKind::BrokenPipe));
    assert_eq!(outcome.stats.bytes_read, 64);
    // The failure came before the second slab read anything: it was not
    // framed, and its carried bytes were copied once.
    assert_eq!((outcome.stats.slabs, outcome.stats.spanning_copies, outcome.stats.copied_bytes), (1, 1, 4));
}

#[test]
fn a_failure_before_the_first_byte_delivers_nothing_and_names_byte_zero() {
    let reader = FaultyReader::new(numbered_lines(3)).at(0, Fault::Persistent(ErrorKind::PermissionDenied));
    let outcome = read(reader, 64, NewlineDelimited::new(16), ReadMode::Fill);
    assert!(outcome.frames.is_empty());
    assert_eq!(io_error(&outcome), (0, ErrorKind::PermissionDenied));
}

#[test]
fn a_length_prefixed_record_cut_by_a_failure_is_not_delivered_and_the_error_is_at_its_prefix() {
    let mut input = Vec::new();
    for record in [&b"first"[..], b"second", b"third"] {
        input.extend_from_slice(&(record.len() as u32).to_be_bytes());
        input.extend_from_slice(record);
    }
    // "third"'s prefix starts at 19; fail in the middle of its body.
    let reader = FaultyReader::new(input).at(25, Fault::Error(ErrorKind::TimedOut));
    let outcome = read(reader, 64, LengthPrefixed::new(16), ReadMode::Fill);
    assert_eq!(outcome.frames, [(4, b"first".to_vec()), (13, b"second".to_vec())]);
    assert_eq!(io_error(&outcome), (19, ErrorKind::TimedOut));
}

#[test]
fn interrupted_reads_are_retried_and_nothing_is_lost() {
    let input = numbered_lines(50);
    let reader =
        FaultyReader::new(input.clone()).max_read(7).at(33, Fault::Interrupted(4)).at(301, Fault::Interrupted(1));
    let outcome = read(reader, 128, NewlineDelimited::new(16), ReadMode::Fill);
    assert!(outcome.error.is_none());
    assert_eq!(outcome.frames.len(), 50);
    assert_eq!(outcome.stats.bytes_read, input.len() as u64);
}

#[test]
fn would_block_hands_out_what_was_read_then_waits_and_goes_on_where_it_stopped() {
    let input = numbered_lines(30);
    for mode in [ReadMode::Fill, ReadMode::Eager] {
        let reader = FaultyReader::new(input.clone()).at(45, Fault::WouldBlock(3)).at(200, Fault::WouldBlock(2));
        let outcome = read(reader, 128, NewlineDelimited::new(16), mode);
        assert!(outcome.error.is_none(), "{mode:?}: no would-block is fatal");
        // A would-block met when whole lines are ready is not reported:
        // the lines are handed out first, and the next read meets the rest.
        assert!((2..=5).contains(&outcome.would_block), "{mode:?}: {} would-blocks reported", outcome.would_block);
        let expected: Vec<(u64, Vec<u8>)> = (0..30).map(|i| (i * 10, format!("{i:09}").into_bytes())).collect();
        assert_eq!(outcome.frames, expected, "{mode:?}");
        assert_eq!(outcome.stats.bytes_read, 300);
    }
}

#[test]
fn lines_read_before_a_would_block_are_handed_out_before_it() {
    // 45 bytes arrive, then the input would block twice: four whole lines
    // are ready, so the first would-block only ends the read; the second,
    // with nothing new to frame, is reported.
    let reader = FaultyReader::new(numbered_lines(10)).at(45, Fault::WouldBlock(2));
    let pool = SlabPool::new("faults", PoolConfig::default().slab_size(128).max_slabs(1));
    let mut frames = FrameReader::new(reader, pool, NewlineDelimited::new(16)).unwrap();
    let mut before = Vec::new();
    loop {
        match frames.next_event().unwrap() {
            Some(Event::Frame(_)) => before.push("frame"),
            Some(Event::Refill) => before.push("refill"),
            Some(Event::WouldBlock) => break,
            other => panic!("expected frames, then a would-block: {other:?}"),
        }
    }
    // The slab's frames are all out before the reader rents the next.
    assert_eq!(before, ["frame", "frame", "frame", "frame", "refill"]);
}

#[test]
fn a_line_trickling_in_a_byte_at_a_time_in_eager_mode_is_copied_once_not_once_per_read() {
    // A 3,000-byte line, then short lines, one byte per read, in 4 KiB slabs.
    let mut input = vec![b'x'; 3_000];
    input.push(b'\n');
    input.extend(numbered_lines(200));
    let reader = FaultyReader::new(input.clone()).max_read(1);
    let outcome = read(reader, 4096, NewlineDelimited::new(3_500), ReadMode::Eager);
    assert_eq!(outcome.frames.len(), 201);
    assert_eq!(outcome.frames[0].1.len(), 3_000);
    // Copying the partial line at every read would copy about 4.5 MB.
    assert!(
        outcome.stats.copied_bytes <= input.len() as u64,
        "copied {} bytes for {} bytes of input",
        outcome.stats.copied_bytes,
        input.len()
    );
    assert_eq!(outcome.stats.bytes_read, input.len() as u64);
}

#[test]
fn eager_mode_still_hands_out_each_line_as_soon_as_it_has_arrived() {
    // Reads end at every line end: no line waits for the next one.
    let input = numbered_lines(3);
    let reader = FaultyReader::new(input).at(10, Fault::WouldBlock(1)).at(20, Fault::WouldBlock(1));
    let pool = SlabPool::new("faults", PoolConfig::default().slab_size(128).max_slabs(1));
    let mut frames = FrameReader::new(reader, pool, NewlineDelimited::new(16)).unwrap().read_mode(ReadMode::Eager);
    let mut seen = Vec::new();
    while let Some(event) = frames.next_event().unwrap() {
        seen.push(match event {
            Event::Frame(frame) => String::from_utf8(frame.as_slice().to_vec()).unwrap(),
            Event::WouldBlock => "(would block)".to_owned(),
            Event::Refill => "(refill)".to_owned(),
            Event::Bad(error) => panic!("{error}"),
        });
    }
    // Each slab is announced done before the next is rented, and the rent
    // comes before the read that would block (or find the end).
    let refill = "(refill)";
    let block = "(would block)";
    assert_eq!(seen, ["000000000", refill, block, "000000001", refill, block, "000000002", refill]);
}

#[test]
fn a_would_block_while_an_oversize_line_is_skipped_is_reported_not_spun_on() {
    // A 100-byte line over a limit of 8, skipped slab by slab; the input
    // would block twice at byte 50, in the middle of the skip. The first
    // ends a read that brought bytes to skip; the second, with nothing new,
    // is reported.
    let mut input = vec![b'x'; 100];
    input.extend_from_slice(b"\nok\n");
    let reader = FaultyReader::new(input).at(50, Fault::WouldBlock(2));
    let pool = SlabPool::new("faults", PoolConfig::default().slab_size(32).max_slabs(1));
    let mut frames = FrameReader::new(reader, pool, NewlineDelimited::new(8)).unwrap();
    let mut seen = Vec::new();
    while let Some(event) = frames.next_event().unwrap() {
        seen.push(match event {
            Event::Frame(frame) => String::from_utf8(frame.as_slice().to_vec()).unwrap(),
            Event::Bad(error) => format!("bad at {}", error.offset()),
            Event::WouldBlock => "(would block)".to_owned(),
            Event::Refill => "(refill)".to_owned(),
        });
    }
    assert_eq!(seen, ["bad at 0", "(would block)", "ok"]);
    assert_eq!(frames.stats().skipped_bytes, 101);
}
