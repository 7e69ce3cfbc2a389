//! Frames larger than a slab: read whole up to the framer's limit in a grown
//! buffer outside the pool, bad past it at their first byte, with reading
//! going on after them; offsets, eager reads, would-blocks and failures as
//! for frames within a slab.

use std::io::ErrorKind;

use bytes::Bytes;
use flux_core::{Pipeline, Position, Runnable};
use flux_engine_sync::SyncEngine;
use flux_memory::{
    Event, FrameErrorKind, FrameReader, Framer, FramingStats, LengthPrefixed, NewlineDelimited, PoolConfig, ReadError,
    ReadMode, SlabPool, assert_no_leaks,
};
use flux_plan::Planner;
use flux_test::{Fault, FaultyReader, VecSink};

const SLAB: usize = 4096;
const MIB: usize = 1 << 20;

/// A line of `len` copies of `byte`, with its newline.
fn line(byte: u8, len: usize) -> Vec<u8> {
    let mut line = vec![byte; len];
    line.push(b'\n');
    line
}

/// Everything a reader handed out: frames by (offset, length, first byte),
/// bad frames by (offset, kind), the error it ended with, and its counts.
#[derive(Debug, Default)]
struct Outcome {
    frames: Vec<(u64, usize, u8)>,
    bad: Vec<(u64, FrameErrorKind)>,
    error: Option<ReadError>,
    stats: FramingStats,
}

fn read<F: Framer>(input: FaultyReader, framer: F, mode: ReadMode) -> Outcome {
    let pool = SlabPool::new("large", PoolConfig::default().slab_size(SLAB).max_slabs(1));
    let mut reader = FrameReader::new(input, pool.clone(), framer).unwrap().read_mode(mode);
    let mut outcome = Outcome::default();
    loop {
        match reader.next_event() {
            Ok(Some(Event::Frame(frame))) => {
                let bytes = frame.as_slice();
                outcome.frames.push((frame.offset(), bytes.len(), bytes.first().copied().unwrap_or(0)));
            }
            Ok(Some(Event::Bad(error))) => outcome.bad.push((error.offset(), error.kind().clone())),
            Ok(Some(Event::WouldBlock | Event::Refill)) => {}
            Ok(None) => break,
            Err(error) => {
                outcome.error = Some(error);
                break;
            }
        }
    }
    outcome.stats = reader.stats();
    drop(reader);
    assert_no_leaks(&pool);
    outcome
}

/// "a", a 75 KB line, "b", a 1 MiB line, "c".
fn package_index() -> Vec<u8> {
    [line(b'a', 1), line(b'x', 75_000), line(b'b', 1), line(b'y', MIB), line(b'c', 1)].concat()
}

fn package_index_frames() -> Vec<(u64, usize, u8)> {
    let big = 2 + 75_001 + 2;
    vec![(0, 1, b'a'), (2, 75_000, b'x'), (75_003, 1, b'b'), (big as u64, MIB, b'y'), ((big + MIB + 1) as u64, 1, b'c')]
}

#[test]
fn lines_of_75_kb_and_1_mib_are_read_whole_through_4_kib_slabs() {
    let outcome = read(FaultyReader::new(package_index()), NewlineDelimited::new(MIB), ReadMode::Fill);
    assert_eq!(outcome.frames, package_index_frames());
    assert!(outcome.bad.is_empty() && outcome.error.is_none());
    assert_eq!(outcome.stats.outgrown_frames, 2, "the two long lines, each once");
    let long = (75_000 + MIB) as u64;
    assert!(outcome.stats.grown_copied_bytes <= 2 * long, "copied about twice at most: {:?}", outcome.stats);
    assert_eq!(outcome.stats.frames, 5);
}

#[test]
fn a_line_one_byte_over_the_limit_is_bad_at_its_offset_and_the_next_line_is_read() {
    let limit = 10_000;
    let input = [line(b'a', 3), line(b'x', limit + 1), line(b'y', limit), line(b'b', 2)].concat();
    let outcome = read(FaultyReader::new(input), NewlineDelimited::new(limit), ReadMode::Fill);
    assert_eq!(outcome.bad, [(4, FrameErrorKind::Oversize { limit, length: Some(limit as u64 + 1) })]);
    let after = (4 + limit + 2) as u64;
    assert_eq!(outcome.frames, [(0, 3, b'a'), (after, limit, b'y'), (after + limit as u64 + 1, 2, b'b')]);
    assert_eq!(outcome.stats.skipped_bytes, limit as u64 + 2, "the bad line and its newline");
}

#[test]
fn a_line_far_past_the_limit_is_given_up_on_at_the_limit_not_buffered_whole() {
    let limit = 10_000;
    let input = [line(b'x', 10 * MIB), line(b'b', 2)].concat();
    let outcome = read(FaultyReader::new(input), NewlineDelimited::new(limit), ReadMode::Fill);
    assert_eq!(outcome.bad, [(0, FrameErrorKind::Oversize { limit, length: None })]);
    assert_eq!(outcome.frames, [((10 * MIB + 1) as u64, 2, b'b')]);
    assert!(outcome.stats.grown_copied_bytes < 3 * limit as u64, "no more than the limit was held");
}

#[test]
fn eager_reads_of_a_few_bytes_read_long_lines_whole_and_copy_them_a_bounded_number_of_times() {
    let input = FaultyReader::new(package_index()).max_read(1000);
    let outcome = read(input, NewlineDelimited::new(MIB), ReadMode::Eager);
    assert_eq!(outcome.frames, package_index_frames());
    let long = (75_000 + MIB) as u64;
    assert!(outcome.stats.grown_copied_bytes <= 2 * long, "not once per read: {:?}", outcome.stats);
}

#[test]
fn would_blocks_inside_a_long_line_lose_nothing() {
    let input = FaultyReader::new(package_index())
        .max_read(3000)
        .at(40_000, Fault::WouldBlock(2))
        .at(500_000, Fault::WouldBlock(1));
    let outcome = read(input, NewlineDelimited::new(MIB), ReadMode::Eager);
    assert_eq!(outcome.frames, package_index_frames());
}

#[test]
fn a_read_failing_inside_a_long_line_names_the_line_start_after_the_lines_before_it() {
    let input = FaultyReader::new(package_index()).at(600_000, Fault::Error(ErrorKind::ConnectionReset));
    let outcome = read(input, NewlineDelimited::new(MIB), ReadMode::Fill);
    assert_eq!(outcome.frames, package_index_frames()[..3]);
    match outcome.error {
        Some(ReadError::Io { offset, source }) => {
            assert_eq!((offset, source.kind()), (75_005, ErrorKind::ConnectionReset), "the 1 MiB line starts there");
        }
        other => panic!("expected an I/O error, got {other:?}"),
    }
    assert_eq!(outcome.stats.bytes_read, 600_000);
}

#[test]
fn length_prefixed_records_larger_than_a_slab_are_read_whole() {
    let mut input = Vec::new();
    for (len, byte) in [(3, b'a'), (50_000, b'x'), (70_000, b'z'), (2, b'b')] {
        input.extend_from_slice(&(len as u32).to_be_bytes());
        input.extend(std::iter::repeat_n(byte, len));
    }
    let outcome = read(FaultyReader::new(input), LengthPrefixed::new(60_000), ReadMode::Fill);
    assert_eq!(outcome.frames, [(4, 3, b'a'), (11, 50_000, b'x'), (120_019, 2, b'b')]);
    assert_eq!(outcome.bad, [(50_011, FrameErrorKind::Oversize { limit: 60_000, length: Some(70_000) })]);
}

#[test]
fn long_frames_kept_downstream_stay_whole_and_the_pool_gets_every_slab_back() {
    let path = std::env::temp_dir().join(format!("flux-large-frames-{}", std::process::id()));
    let input = [package_index(), line(b'z', 2 * MIB), line(b'd', 1)].concat();
    std::fs::write(&path, &input).unwrap();
    let pool = SlabPool::new("large", PoolConfig::default().slab_size(SLAB).max_slabs(8));
    let source = flux_memory::FramedSource::file(&path, pool.clone(), NewlineDelimited::new(MIB)).unwrap();
    let stats = source.stats();
    let out = VecSink::new();
    let pipeline = Pipeline::from_source(source).sink(out.clone());
    let plan = Planner::new().plan(pipeline.describe()).unwrap();
    let report = SyncEngine::new().run(&plan, pipeline).unwrap();
    std::fs::remove_file(&path).unwrap();

    let lines: Vec<Bytes> = out.payloads();
    let shapes: Vec<(usize, u8)> = lines.iter().map(|l| (l.len(), l[0])).collect();
    assert_eq!(shapes, [(1, b'a'), (75_000, b'x'), (1, b'b'), (MIB, b'y'), (1, b'c'), (1, b'd')]);
    assert!(lines[3].iter().all(|&b| b == b'y'), "the 1 MiB line is intact after the reader moved on");
    let dead: Vec<(u64, Position)> =
        report.dead_letters.iter().map(|l| (l.meta.sequence, l.error.position())).collect();
    assert_eq!(dead, [(5, Position::ByteOffset(package_index().len() as u64))]);
    assert_eq!(stats.get().outgrown_frames, 3);
    drop((lines, out));
    assert_no_leaks(&pool);
}
