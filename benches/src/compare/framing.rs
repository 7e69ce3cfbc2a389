//! The newline framer over pooled slabs against a plain memchr line count.
//!
//! Both sides read the same file of at least 200 MB (generated once under
//! `target/flux-bench-data/`, then reused from the page cache) in 256 KiB
//! reads and count its lines. The baseline reads into one reused buffer and
//! counts newlines with `memchr`; Flux reads straight into pooled slabs,
//! finds every line with `NewlineDelimited` and hands each to a closure as
//! a borrowed frame (`FrameReader::scan`: bytes and offset, no reference
//! count), carrying lines cut by a slab's end into the next slab. The
//! checksum is the number of lines.
//!
//! An extra figure, `source_pipeline`, is the same file through a whole
//! pipeline on the sync engine (`FramedSource` -> `map` -> sink), where
//! each line is an envelope holding a zero-copy `Bytes` slice. Another,
//! `newline_masks`, says which vector unit the framer chose at run time
//! (AVX2 when the CPU has it, as memchr does; SSE2 otherwise), since the
//! ratio depends on it. And `long_lines`: a 64 MB file of 60-90 KB lines
//! (package-index-like) framed through 16 KiB slabs, so every line
//! outgrows its slab and goes on in the reader's grown buffer.

use std::fs::File;
use std::hint::black_box;
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use bytes::Bytes;
use flux_core::{Context, Envelope, Pipeline, Runnable, Sink, WriteError};
use flux_engine_sync::SyncEngine;
use flux_memory::{FrameReader, FramedSource, NewlineDelimited, PoolConfig, Scanned, SlabPool};
use flux_plan::Planner;

use crate::{Comparison, Variant};
use flux_steps::Steps;

const FILE_BYTES: u64 = 200 * 1024 * 1024;
const READ_SIZE: usize = 256 * 1024;
const MAX_LINE: usize = 16 * 1024;

/// The comparison, after making sure the data file exists.
///
/// # Panics
///
/// If the data file cannot be written or read.
pub fn comparison() -> Comparison {
    let path = data_file();
    let bytes = std::fs::metadata(&path).expect("the data file exists").len();
    let flux_path = path.clone();
    let base_path = path.clone();
    let source_pipeline = source_pipeline_bytes_per_sec(&path);
    // The hand loop the issue sets the pipeline beside, timed in the same run.
    let memchr = best_bytes_per_sec(&path, || {
        black_box(count_lines(&path));
    });
    let long_lines = long_lines_bytes_per_sec();
    Comparison {
        name: "framing",
        work: bytes,
        unit: "bytes",
        flux: Variant { label: "flux-newline-framer", run: Box::new(move || frame_lines(&flux_path)) },
        baselines: vec![Variant { label: "memchr-line-count", run: Box::new(move || count_lines(&base_path)) }],
        extra: vec![
            ("file_bytes".to_owned(), bytes.to_string()),
            ("source_pipeline".to_owned(), format!("{source_pipeline:.3e} bytes/s")),
            ("source_pipeline_vs_memchr".to_owned(), format!("{:.3}", source_pipeline / memchr)),
            ("newline_masks".to_owned(), newline_masks().to_owned()),
            ("long_lines".to_owned(), format!("{long_lines:.3e} bytes/s (60-90 KB lines, 16 KiB slabs)")),
        ],
    }
}

/// The vector unit `NewlineDelimited` picks on this CPU, by the same test
/// it makes (`flux-memory/src/frame/mask.rs`, `Avx2::detect`).
fn newline_masks() -> &'static str {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2")
        && std::arch::is_x86_feature_detected!("popcnt")
        && std::arch::is_x86_feature_detected!("bmi1")
    {
        return "avx2";
    }
    if cfg!(all(target_arch = "x86_64", target_feature = "sse2")) { "sse2" } else { "portable" }
}

fn frame_lines(path: &Path) -> u64 {
    let pool = SlabPool::new("bench-framing", PoolConfig::default().slab_size(READ_SIZE).max_slabs(2));
    let file = File::open(path).expect("the data file opens");
    let mut reader = FrameReader::new(file, pool, NewlineDelimited::new(MAX_LINE)).expect("lines fit a slab");
    let mut lines = 0u64;
    let mut line_bytes = 0usize;
    loop {
        let scanned = reader.scan(usize::MAX, |frame| {
            line_bytes = line_bytes.wrapping_add(frame.as_slice().len());
            lines += 1;
        });
        match scanned.expect("the data file reads") {
            Scanned::End | Scanned::WouldBlock => break,
            Scanned::Limit | Scanned::Refill => {}
            Scanned::Bad(error) => panic!("the generated file has no bad lines: {error}"),
        }
    }
    black_box(line_bytes);
    lines
}

/// The baseline: the file in 256 KiB reads, its newlines counted with memchr.
pub fn count_lines(path: &Path) -> u64 {
    let mut file = File::open(path).expect("the data file opens");
    let mut buf = vec![0u8; READ_SIZE];
    let mut lines = 0u64;
    loop {
        let n = file.read(&mut buf).expect("the data file reads");
        if n == 0 {
            return lines;
        }
        lines += memchr::memchr_iter(b'\n', &buf[..n]).count() as u64;
    }
}

/// A sink that counts lines and bytes, so the pipeline's work is kept.
struct Count(Arc<AtomicU64>);

impl Sink<Bytes> for Count {
    #[inline]
    fn write(&mut self, item: Envelope<Bytes>, _cx: &mut Context<'_>) -> Result<(), WriteError> {
        self.0.fetch_add(1 + item.payload().len() as u64, Ordering::Relaxed);
        Ok(())
    }
}

/// Bytes per second of `run` over the file at `path`, best of three.
fn best_bytes_per_sec(path: &Path, mut run: impl FnMut()) -> f64 {
    let bytes = std::fs::metadata(path).expect("the data file exists").len() as f64;
    let mut best = f64::INFINITY;
    for _ in 0..3 {
        let start = Instant::now();
        run();
        best = best.min(start.elapsed().as_secs_f64());
    }
    bytes / best
}

/// Bytes per second of file -> `FramedSource` -> `map` -> sink, best of three.
fn source_pipeline_bytes_per_sec(path: &Path) -> f64 {
    best_bytes_per_sec(path, || {
        black_box(source_pipeline_once(path));
    })
}

/// The file through `FramedSource` -> `map` -> sink once; the lines and
/// bytes the sink counted.
pub fn source_pipeline_once(path: &Path) -> u64 {
    let pool = SlabPool::new("bench-source", PoolConfig::default().slab_size(READ_SIZE).max_slabs(4));
    let source = FramedSource::file(path, pool, NewlineDelimited::new(MAX_LINE)).expect("the data file opens");
    let total = Arc::new(AtomicU64::new(0));
    let pipeline = Pipeline::from_source(source)
        .map(|line: Bytes| line.slice(line.len().min(9)..))
        .sink(Count(Arc::clone(&total)));
    // Planned for the sync engine's one thread: the source, which asks for
    // a thread of its own on tokio, stays fused with the map and the sink.
    let plan = Planner::for_one_thread().plan(pipeline.describe()).expect("the pipeline plans");
    let report = SyncEngine::new().with_trace(false).run(&plan, pipeline).expect("the pipeline runs");
    assert!(report.dead_letters.is_empty(), "the bench's data has no bad input");
    total.load(Ordering::Relaxed)
}

/// Bytes per second of framing 60-90 KB lines through 16 KiB slabs (every
/// line in a grown buffer), best of three.
fn long_lines_bytes_per_sec() -> f64 {
    let path = data_dir().join("long-lines-64mb.txt");
    if !std::fs::metadata(&path).is_ok_and(|m| m.len() >= LONG_FILE_BYTES) {
        write_long_lines(&path).expect("the long-line file can be written");
    }
    let bytes = std::fs::metadata(&path).expect("the long-line file exists").len() as f64;
    let mut best = f64::INFINITY;
    for _ in 0..3 {
        let pool = SlabPool::new("bench-long-lines", PoolConfig::default().slab_size(16 * 1024).max_slabs(2));
        let file = File::open(&path).expect("the long-line file opens");
        let mut reader = FrameReader::new(file, pool, NewlineDelimited::new(1 << 20)).expect("the limit is finite");
        let mut line_bytes = 0usize;
        let start = Instant::now();
        loop {
            match reader.scan(usize::MAX, |frame| line_bytes = line_bytes.wrapping_add(frame.as_slice().len())) {
                Ok(Scanned::End | Scanned::WouldBlock) => break,
                Ok(Scanned::Limit | Scanned::Refill) => {}
                Ok(Scanned::Bad(error)) => panic!("the long-line file has no bad lines: {error}"),
                Err(error) => panic!("the long-line file reads: {error}"),
            }
        }
        best = best.min(start.elapsed().as_secs_f64());
        assert!(reader.stats().outgrown_frames > 0, "the lines outgrew their slabs");
        black_box(line_bytes);
    }
    bytes / best
}

const LONG_FILE_BYTES: u64 = 64 * 1024 * 1024;

/// Lines of 60 to 90 KB of words, from a fixed-seed generator.
fn write_long_lines(path: &Path) -> std::io::Result<()> {
    let mut out = BufWriter::with_capacity(1 << 20, File::create(path)?);
    let mut states = crate::data::xorshift(0x2545_f491_4f6c_dd1d);
    let mut written = 0u64;
    while written < LONG_FILE_BYTES {
        let state = states.next().expect("the sequence is endless");
        let length = 60_000 + (state % 30_000) as usize;
        let mut line: Vec<u8> = b"package depends ".iter().copied().cycle().take(length).collect();
        line.push(b'\n');
        out.write_all(&line)?;
        written += line.len() as u64;
    }
    out.flush()
}

/// `target/flux-bench-data/`, where generated bench files are kept.
fn data_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"));
    let dir = target.join("flux-bench-data");
    std::fs::create_dir_all(&dir).expect("the data directory can be made");
    dir
}

/// `target/flux-bench-data/lines-200mb.txt`, generated if absent or short.
fn data_file() -> PathBuf {
    let dir = data_dir();
    let path = dir.join("lines-200mb.txt");
    if std::fs::metadata(&path).is_ok_and(|m| m.len() >= FILE_BYTES) {
        return path;
    }
    std::fs::create_dir_all(&dir).expect("the data directory can be made");
    let partial = dir.join("lines-200mb.txt.partial");
    write_log_lines(&partial).expect("the data file can be written");
    std::fs::rename(&partial, &path).expect("the data file can be renamed");
    path
}

/// Log-like lines of 40 to about 200 bytes, from a fixed-seed generator.
fn write_log_lines(path: &Path) -> std::io::Result<()> {
    const LEVELS: [&str; 4] = ["info", "warn", "debug", "error"];
    const WORDS: [&str; 8] = ["request", "served", "cache", "miss", "retry", "upstream", "timeout", "ok"];
    let mut out = BufWriter::with_capacity(1 << 20, File::create(path)?);
    let mut states = crate::data::xorshift(0x9e37_79b9_7f4a_7c15);
    let mut written = 0u64;
    let mut line = String::with_capacity(256);
    while written < FILE_BYTES {
        let state = states.next().expect("the sequence is endless");
        line.clear();
        let level = LEVELS[(state & 3) as usize];
        line.push_str(&format!("ts={} level={level} user={} msg=", written, (state >> 8) % 10_000));
        for i in 0..(state >> 20) % 20 {
            line.push_str(WORDS[((state >> (24 + i)) & 7) as usize]);
            line.push(' ');
        }
        line.push('\n');
        out.write_all(line.as_bytes())?;
        written += line.len() as u64;
    }
    out.flush()
}
