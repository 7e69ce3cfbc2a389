//! Framers over pooled slabs: frames across slab edges, every kind of bad
//! input with its offset, and the stream going on after a bad frame.

use flux_core::BufferPool;
use flux_memory::{
    Event, FrameErrorKind, FrameReader, Framer, FramingStats, LengthPrefixed, NewlineDelimited, PoolConfig, ReadMode,
    Scanned, SlabPool, Unterminated, assert_no_leaks,
};

/// What a reader produced: frames as text, bad frames as (offset, kind).
#[derive(Debug, Default, PartialEq)]
struct Seen {
    frames: Vec<(u64, String)>,
    bad: Vec<(u64, FrameErrorKind)>,
}

fn read_all<F: Framer>(input: &[u8], slab_size: usize, framer: F) -> (Seen, FramingStats) {
    read_with(input, slab_size, framer, ReadMode::Fill)
}

fn read_with<F: Framer>(input: &[u8], slab_size: usize, framer: F, mode: ReadMode) -> (Seen, FramingStats) {
    let pool = SlabPool::new("framing", PoolConfig::default().slab_size(slab_size).max_slabs(1));
    let mut reader = FrameReader::new(input, pool.clone(), framer).unwrap().read_mode(mode);
    let mut seen = Seen::default();
    while let Some(event) = reader.next_event().unwrap() {
        match event {
            Event::Frame(frame) => {
                seen.frames.push((frame.offset(), String::from_utf8(frame.as_slice().to_vec()).unwrap()))
            }
            Event::Bad(error) => seen.bad.push((error.offset(), error.kind().clone())),
            Event::WouldBlock => unreachable!("an in-memory input never blocks"),
            Event::Refill => {}
        }
    }
    let stats = reader.stats();
    drop(reader);
    assert_no_leaks(&pool);
    (seen, stats)
}

fn frames(list: &[(u64, &str)]) -> Vec<(u64, String)> {
    list.iter().map(|(o, s)| (*o, (*s).to_owned())).collect()
}

#[test]
fn newline_frames_strip_lf_and_crlf() {
    let (seen, stats) = read_all(b"a\r\nbb\n\nccc\r\n", 64, NewlineDelimited::new(16));
    assert_eq!(seen.frames, frames(&[(0, "a"), (3, "bb"), (6, ""), (7, "ccc")]));
    assert_eq!(stats.spanning_copies, 0);
}

#[test]
fn lines_across_slab_edges_are_whole_and_each_edge_copies_once() {
    // 16-byte slabs: most lines are cut by a slab's end.
    let input: String = (0..40).map(|i| format!("line-{i}\n")).collect();
    let (seen, stats) = read_all(input.as_bytes(), 16, NewlineDelimited::new(12));
    let expected: Vec<_> = input.lines().map(str::to_owned).collect();
    assert_eq!(seen.frames.iter().map(|(_, s)| s.clone()).collect::<Vec<_>>(), expected);
    let offsets: Vec<u64> = seen.frames.iter().map(|(o, _)| *o).collect();
    let mut at = 0;
    for (line, offset) in expected.iter().zip(offsets) {
        assert_eq!(offset, at, "offset of {line}");
        at += line.len() as u64 + 1;
    }
    assert!(stats.spanning_copies > 0);
    assert!(stats.copied_bytes < input.len() as u64, "only the cut frames are copied");
    assert_eq!(stats.bytes_read, input.len() as u64);
}

#[test]
fn a_long_line_in_a_long_input_spans_many_eager_reads() {
    // One byte per read: the partial line is carried over slab after slab.
    struct Trickle<'a>(&'a [u8]);
    impl std::io::Read for Trickle<'_> {
        fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
            let Some((&first, rest)) = self.0.split_first() else { return Ok(0) };
            buf[0] = first;
            self.0 = rest;
            Ok(1)
        }
    }
    let pool = SlabPool::new("trickle", PoolConfig::default().slab_size(32).max_slabs(3));
    let input = b"hello world\r\nbye\n";
    let mut reader =
        FrameReader::new(Trickle(input), pool.clone(), NewlineDelimited::new(20)).unwrap().read_mode(ReadMode::Eager);
    let mut lines = Vec::new();
    while let Some(event) = reader.next_event().unwrap() {
        match event {
            Event::Frame(frame) => lines.push(frame.to_bytes()),
            Event::Refill => {}
            other => panic!("no bad frames here: {other:?}"),
        }
    }
    assert_eq!(lines, [&b"hello world"[..], b"bye"]);
    drop((lines, reader));
    assert_no_leaks(&pool);
}

#[test]
fn an_oversize_line_is_reported_at_its_start_and_the_next_line_is_read() {
    let input = b"ok\nthis-line-is-too-long\nfine\n";
    let (seen, stats) = read_all(input, 64, NewlineDelimited::new(8));
    assert_eq!(seen.frames, frames(&[(0, "ok"), (25, "fine")]));
    assert_eq!(seen.bad, [(3, FrameErrorKind::Oversize { limit: 8, length: Some(21) })]);
    assert_eq!(stats.skipped_bytes, 22, "the bad line and its terminator are counted");
}

#[test]
fn an_oversize_line_longer_than_a_slab_is_skipped_across_slabs() {
    let long = "x".repeat(100);
    let input = format!("a\n{long}\nb\n");
    let (seen, stats) = read_all(input.as_bytes(), 16, NewlineDelimited::new(8));
    assert_eq!(seen.frames, frames(&[(0, "a"), (103, "b")]));
    assert_eq!(seen.bad, [(2, FrameErrorKind::Oversize { limit: 8, length: None })]);
    assert_eq!(stats.skipped_bytes, 101);
    assert_eq!(stats.bad_frames, 1);
}

#[test]
fn an_unterminated_last_line_is_emitted_or_rejected_by_policy() {
    let (seen, _) = read_all(b"one\ntwo", 64, NewlineDelimited::new(8));
    assert_eq!(seen.frames, frames(&[(0, "one"), (4, "two")]));

    let framer = NewlineDelimited::new(8).unterminated(Unterminated::Reject);
    let (seen, stats) = read_all(b"one\ntwo", 64, framer);
    assert_eq!(seen.frames, frames(&[(0, "one")]));
    assert_eq!(seen.bad, [(4, FrameErrorKind::TruncatedRecord { expected: None, have: 3 })]);
    assert_eq!(stats.skipped_bytes, 3);
}

fn prefixed(records: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::new();
    for record in records {
        out.extend_from_slice(&u32::try_from(record.len()).unwrap().to_be_bytes());
        out.extend_from_slice(record);
    }
    out
}

#[test]
fn length_prefixed_frames_across_slab_edges() {
    let records: Vec<Vec<u8>> = (0..30).map(|i| vec![b'a' + (i % 26) as u8; i % 9]).collect();
    let refs: Vec<&[u8]> = records.iter().map(Vec::as_slice).collect();
    let input = prefixed(&refs);
    let (seen, stats) = read_all(&input, 16, LengthPrefixed::new(10));
    let got: Vec<Vec<u8>> = seen.frames.iter().map(|(_, s)| s.clone().into_bytes()).collect();
    assert_eq!(got, records);
    assert!(seen.bad.is_empty());
    assert!(stats.spanning_copies > 0);
    assert_eq!(seen.frames[1].0, 4 + 4, "offsets point past the prefix");
}

#[test]
fn an_oversize_prefixed_frame_is_skipped_by_its_length_and_the_stream_resyncs() {
    let input = prefixed(&[b"ok", &[b'z'; 40], b"next"]);
    let (seen, stats) = read_all(&input, 16, LengthPrefixed::new(8));
    assert_eq!(seen.frames, frames(&[(4, "ok"), (54, "next")]));
    assert_eq!(seen.bad, [(6, FrameErrorKind::Oversize { limit: 8, length: Some(40) })]);
    assert_eq!(stats.skipped_bytes, 44);
}

#[test]
fn a_truncated_length_prefix_is_reported_at_its_offset() {
    let mut input = prefixed(&[b"abc"]);
    input.extend_from_slice(&[0, 0]);
    let (seen, _) = read_all(&input, 16, LengthPrefixed::new(8));
    assert_eq!(seen.frames, frames(&[(4, "abc")]));
    assert_eq!(seen.bad, [(7, FrameErrorKind::TruncatedPrefix { have: 2 })]);
}

#[test]
fn a_truncated_last_record_is_reported_at_its_offset() {
    let mut input = prefixed(&[b"abc"]);
    input.extend_from_slice(&[0, 0, 0, 6, b'x', b'y']);
    let (seen, stats) = read_all(&input, 16, LengthPrefixed::new(8));
    assert_eq!(seen.frames, frames(&[(4, "abc")]));
    assert_eq!(seen.bad, [(7, FrameErrorKind::TruncatedRecord { expected: Some(6), have: 2 })]);
    assert_eq!(stats.skipped_bytes, 6);
}

#[test]
fn only_a_framer_with_no_limit_is_refused() {
    let pool = SlabPool::new("small", PoolConfig::default().slab_size(8));
    let error = FrameReader::new(&b""[..], pool.clone(), NewlineDelimited::new(usize::MAX)).unwrap_err();
    assert_eq!((error.max_carry, error.slab_size), (usize::MAX, 8));
    assert_eq!(pool.stats().rented, 0);
    assert!(FrameReader::new(&b""[..], pool, LengthPrefixed::new(8)).is_ok(), "a record larger than a slab is fine");
}

#[test]
fn every_input_byte_is_a_frame_a_delimiter_or_counted_as_skipped() {
    let input = b"a\r\ntoo-long-line\nb\nccc";
    let (seen, stats) = read_all(input, 16, NewlineDelimited::new(4));
    let frame_bytes: usize = seen.frames.iter().map(|(_, s)| s.len()).sum();
    let delimiters = 2 + 1; // "\r\n" after a, "\n" after b
    assert_eq!(frame_bytes as u64 + delimiters + stats.skipped_bytes, input.len() as u64);
}

/// `scan` (the fast path) and `next_event` see the same frames and bad
/// frames, whatever the limit.
#[test]
fn the_scanning_fast_path_agrees_with_event_by_event_reading() {
    let mut input = String::new();
    for i in 0..300 {
        input.push_str(&"y".repeat(i % 23));
        input.push_str(if i % 3 == 0 { "\r\n" } else { "\n" });
    }
    input.push_str("tail");
    let (expected, _) = read_all(input.as_bytes(), 128, NewlineDelimited::new(20));
    for limit in [1, 2, 7, usize::MAX] {
        let pool = SlabPool::new("scan", PoolConfig::default().slab_size(128).max_slabs(1));
        let mut reader = FrameReader::new(input.as_bytes(), pool.clone(), NewlineDelimited::new(20)).unwrap();
        let mut seen = Seen::default();
        loop {
            let scanned = reader
                .scan(limit, |frame| {
                    seen.frames.push((frame.offset(), String::from_utf8(frame.as_slice().to_vec()).unwrap()));
                })
                .unwrap();
            match scanned {
                Scanned::Bad(error) => seen.bad.push((error.offset(), error.kind().clone())),
                Scanned::Limit | Scanned::Refill => {}
                Scanned::End => break,
                Scanned::WouldBlock => unreachable!("an in-memory input never blocks"),
            }
        }
        assert_eq!(seen, expected, "limit {limit}");
        assert_eq!(reader.stats().frames, expected.frames.len() as u64);
        assert_eq!(reader.stats().bad_frames, expected.bad.len() as u64);
        drop(reader);
        assert_no_leaks(&pool);
    }
    assert_eq!(expected.bad.len(), 26, "lines of 21 and 22 bytes are over the limit");
}

#[test]
fn frames_scanned_in_many_runs_are_the_slabs_bytes_and_hold_it_until_the_last_goes() {
    // 1,000 lines in one slab: a scan hands them out in several runs,
    // each counting its references apart from the others.
    let input: Vec<u8> = (0..1000).flat_map(|i| format!("line-{i:04}\n").into_bytes()).collect();
    let pool = SlabPool::new("runs", PoolConfig::default().slab_size(16 * 1024).max_slabs(1));
    let mut reader = FrameReader::new(&input[..], pool.clone(), NewlineDelimited::new(64)).unwrap();
    let mut lines = Vec::new();
    assert!(matches!(
        reader.scan(1000, |frame| lines.push((frame.offset(), frame.to_bytes()))).unwrap(),
        Scanned::Limit
    ));
    assert_eq!(lines.len(), 1000);
    for (i, (offset, line)) in lines.iter().enumerate() {
        assert_eq!((*offset, &line[..]), ((i * 10) as u64, format!("line-{i:04}").as_bytes()));
    }
    // Every frame points into the one slab: nothing was copied.
    let start = lines[0].1.as_ptr();
    assert!(lines.iter().all(|(offset, line)| line.as_ptr() == start.wrapping_add(*offset as usize)));
    assert!(matches!(reader.scan(usize::MAX, |_| {}).unwrap(), Scanned::End));
    drop(reader);
    // The reader let go at end of input; the frames still hold the slab,
    // from whichever run they came, until the last one goes.
    let last = lines.pop().unwrap();
    let first = lines.swap_remove(0);
    drop(lines);
    assert_eq!(pool.stats().in_use, 1, "two frames of different runs still hold the slab");
    drop(first);
    assert_eq!(pool.stats().in_use, 1, "the last frame still holds it");
    drop(last);
    assert_eq!(pool.stats().in_use, 0, "the slab is back in its pool");
    assert_no_leaks(&pool);
}

#[test]
fn scanned_lines_across_many_slab_edges_are_whole_and_the_last_unterminated_one_comes_last() {
    // Lines of 2 to 63 bytes through 128-byte slabs: most slab ends cut a
    // line, which must come out whole, not as the two pieces either side.
    let text: Vec<String> = (0..500).map(|i| "x".repeat(1 + (i * 7) % 60) + &format!("{i}")).collect();
    let mut input = text.join("\n").into_bytes();
    input.extend_from_slice(b"\nlast, unterminated");
    let pool = SlabPool::new("scan-edges", PoolConfig::default().slab_size(128).max_slabs(2));
    let mut reader = FrameReader::new(&input[..], pool.clone(), NewlineDelimited::new(100)).unwrap();
    let mut lines = Vec::new();
    loop {
        match reader.scan(37, |frame| lines.push(String::from_utf8(frame.as_slice().to_vec()).unwrap())).unwrap() {
            Scanned::Limit | Scanned::Refill => {}
            Scanned::End => break,
            other => panic!("{other:?}"),
        }
    }
    let mut expected = text;
    expected.push("last, unterminated".to_owned());
    assert_eq!(lines, expected);
    assert!(reader.stats().spanning_copies > 0, "the input did cross slab edges");
    drop(reader);
    assert_no_leaks(&pool);
}

#[test]
fn a_scan_returns_before_it_rents_the_next_slab_once_it_has_handed_out_frames() {
    // 20 lines of 19 bytes, three to a 64-byte slab, on a pool of one
    // slab: each call's frames are dropped before the next call rents.
    let input: Vec<u8> = (0..20).flat_map(|i| format!("line {i:03} of a file\n").into_bytes()).collect();
    let pool = SlabPool::new("refill", PoolConfig::default().slab_size(64).max_slabs(1));
    let mut reader = FrameReader::new(&input[..], pool.clone(), NewlineDelimited::new(32)).unwrap();
    let mut calls = Vec::new();
    loop {
        let mut frames = Vec::new();
        let scanned = reader.scan(usize::MAX, |frame| frames.push(frame.to_bytes())).unwrap();
        calls.push((frames.len(), format!("{scanned:?}")));
        if matches!(scanned, Scanned::End) {
            break;
        }
    }
    let refill = (3, "Refill".to_owned());
    let mut expected = vec![refill; 6];
    expected.push((2, "End".to_owned()));
    assert_eq!(calls, expected, "a call per slab, each returning with the slab's frames");
    assert_eq!((reader.stats().slabs, reader.stats().frames), (7, 20));
    drop(reader);
    assert_no_leaks(&pool);
}
