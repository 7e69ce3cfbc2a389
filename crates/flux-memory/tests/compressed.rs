//! A file read decompressed, chosen by its magic bytes: the same lines,
//! the same dead letter at the same byte offset (of the decompressed
//! input), and the same bytes counted, whether the file is plain, an LZ4
//! frame, one gzip member or two.

use std::io::Write;
use std::path::PathBuf;

use flux_core::{Pipeline, Position, Runnable};
use flux_engine_sync::SyncEngine;
use flux_memory::{Compression, FramedSource, NewlineDelimited, PoolConfig, SlabPool};
use flux_plan::Planner;
use flux_test::VecSink;

/// 20,000 lines of 11 bytes, but line 12,345 is 300 bytes: too long for a
/// 64-byte frame limit, so it is a dead letter at its byte offset.
fn text() -> Vec<u8> {
    let mut text = Vec::new();
    for n in 0..20_000u32 {
        if n == 12_345 {
            text.extend(std::iter::repeat_n(b'x', 300));
            text.push(b'\n');
        } else {
            writeln!(text, "line {n:05}").unwrap();
        }
    }
    text
}

fn path(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("flux-compressed-{name}-{}", std::process::id()))
}

fn gzip(parts: &[&[u8]]) -> Vec<u8> {
    let mut out = Vec::new();
    for part in parts {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        encoder.write_all(part).unwrap();
        out.extend(encoder.finish().unwrap());
    }
    out
}

fn lz4(text: &[u8]) -> Vec<u8> {
    let mut encoder = lz4_flex::frame::FrameEncoder::new(Vec::new());
    encoder.write_all(text).unwrap();
    encoder.finish().unwrap()
}

/// What reading the file at `path` gives: what it found, the lines, the
/// dead letters' byte offsets, and the bytes the source counted.
fn read(path: &PathBuf) -> (Compression, Vec<bytes::Bytes>, Vec<Position>, u64) {
    let pool = SlabPool::new("compressed", PoolConfig::default().slab_size(4 * 1024).max_slabs(128));
    let (source, found) = FramedSource::file_decompressed(path, pool, NewlineDelimited::new(64)).unwrap();
    let framing = source.stats();
    let out = VecSink::new();
    let pipeline = Pipeline::from_source(source).sink(out.clone());
    let plan = Planner::new().plan(pipeline.describe()).unwrap();
    let report = SyncEngine::new().run(&plan, pipeline).unwrap();
    let offsets = report.dead_letters.iter().map(|letter| letter.error.position()).collect();
    (found, out.payloads(), offsets, framing.get().bytes_read)
}

#[test]
fn plain_lz4_and_gzip_files_give_the_same_lines_offsets_and_counts() {
    let text = text();
    let (half, rest) = text.split_at(100_003);
    let files = [
        ("plain", text.clone(), Compression::None),
        ("lz4", lz4(&text), Compression::Lz4),
        ("gzip", gzip(&[&text]), Compression::Gzip),
        ("gzip-two-members", gzip(&[half, rest]), Compression::Gzip),
    ];
    let bad_at = 12_345 * 11;
    for (name, bytes, compression) in files {
        let path = path(name);
        std::fs::write(&path, &bytes).unwrap();
        let (found, lines, offsets, counted) = read(&path);
        std::fs::remove_file(&path).unwrap();
        assert_eq!(found, compression, "{name}");
        assert_eq!(lines.len(), 19_999, "{name}");
        assert_eq!(&lines[12_345][..], b"line 12346", "{name}: the line after the bad one");
        assert_eq!(offsets, [Position::ByteOffset(bad_at)], "{name}: the offset counts decompressed bytes");
        assert_eq!(counted, text.len() as u64, "{name}");
    }
}

#[test]
fn a_file_shorter_than_any_magic_is_read_as_it_is() {
    let path = path("short");
    std::fs::write(&path, b"a\n").unwrap();
    let (found, lines, offsets, _) = read(&path);
    std::fs::remove_file(&path).unwrap();
    assert_eq!((found, lines.len(), offsets.len()), (Compression::None, 1, 0));
    assert_eq!(&lines[0][..], b"a");
}

#[test]
fn a_corrupt_gzip_file_fails_the_run_at_the_byte_it_reached() {
    let path = path("corrupt");
    let mut bytes = gzip(&[&text()]);
    let middle = bytes.len() / 2;
    bytes[middle..middle + 64].fill(0xAA);
    std::fs::write(&path, &bytes).unwrap();
    let pool = SlabPool::new("corrupt", PoolConfig::default().slab_size(4 * 1024).max_slabs(128));
    let (source, _) = FramedSource::file_decompressed(&path, pool, NewlineDelimited::new(64)).unwrap();
    let pipeline = Pipeline::from_source(source).sink(VecSink::<bytes::Bytes>::new());
    let plan = Planner::new().plan(pipeline.describe()).unwrap();
    let error = SyncEngine::new().run(&plan, pipeline).unwrap_err();
    std::fs::remove_file(&path).unwrap();
    assert_eq!(error.stage().map(|s| s.as_str()), Some("source"), "{error}");
    assert!(error.to_string().contains("at byte"), "{error}");
}
