//! The tokio `AsyncWrite` sink on the sync engine: writers that are pending
//! before they accept, a pipe drained by another thread, flush thresholds
//! in bytes and engine time, and a failing writer's dead letters.
//!
//! Run with `cargo test -p flux-memory --features tokio`.
#![cfg(feature = "tokio")]

use core::pin::Pin;
use core::task::{Context as TaskContext, Poll, Waker};
use core::time::Duration;
use std::io;
use std::sync::{Arc, Mutex, PoisonError};

use bytes::Bytes;
use flux_core::{Context, Envelope, Instant, Pipeline, Runnable, Sink, WriteError};
use flux_engine_sync::{RunError, RunErrorKind, RunReport, SyncEngine};
use flux_memory::assert_no_leaks;
use flux_memory::{
    AsyncWriteSink, Delimit, FlushPolicy, FramedSource, NewlineDelimited, OnWriteError, PoolConfig, SlabPool,
};
use flux_steps::Steps;
use flux_test::Conservation;
use flux_test::Diverted;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// What a [`Stubborn`] writer saw, readable after the sink is gone.
#[derive(Debug, Default)]
struct Log {
    /// The bytes of each flush, in order.
    flushed: Vec<Vec<u8>>,
    /// Bytes written since the last flush.
    pending: Vec<u8>,
    /// Polls answered `Pending`.
    pendings: usize,
    /// Writes accepted before the writer starts failing; `None` never fails.
    accept: Option<usize>,
}

/// An `AsyncWrite` that answers `Pending` to every write once (waking
/// itself, as a socket whose buffer drained would), then accepts at most
/// eight bytes.
#[derive(Clone, Default)]
struct Stubborn {
    log: Arc<Mutex<Log>>,
    refused_last: bool,
}

impl Stubborn {
    fn log(&self) -> std::sync::MutexGuard<'_, Log> {
        self.log.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn failing_after(writes: usize) -> Self {
        let writer = Stubborn::default();
        writer.log().accept = Some(writes);
        writer
    }
}

impl AsyncWrite for Stubborn {
    fn poll_write(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>, buf: &[u8]) -> Poll<io::Result<usize>> {
        if !self.refused_last {
            self.refused_last = true;
            self.log().pendings += 1;
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        self.refused_last = false;
        let mut log = self.log();
        if let Some(accept) = &mut log.accept {
            if *accept == 0 {
                return Poll::Ready(Err(io::Error::other("connection reset")));
            }
            *accept -= 1;
        }
        let n = buf.len().min(8);
        log.pending.extend_from_slice(&buf[..n]);
        Poll::Ready(Ok(n))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut TaskContext<'_>) -> Poll<io::Result<()>> {
        let mut log = self.log();
        if !log.pending.is_empty() {
            let chunk = std::mem::take(&mut log.pending);
            log.flushed.push(chunk);
        }
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut TaskContext<'_>) -> Poll<io::Result<()>> {
        self.poll_flush(cx)
    }
}

/// Planned for the one thread the sync engine runs on: the source stays
/// fused with the sink, so a pool of two slabs is enough (a cut after it
/// would hold a step's frames, and their slabs, in the channel).
fn run(pipeline: impl Runnable, pool: &SlabPool) -> Result<RunReport, RunError> {
    let plan = flux_plan::Planner::for_one_thread().plan(pipeline.describe()).expect("the pipeline plans");
    let result = SyncEngine::new().watch_pool(Arc::new(pool.clone())).run(&plan, pipeline);
    assert_no_leaks(pool);
    result
}

fn lines(count: usize) -> String {
    (0..count).map(|i| format!("line {i}\n")).collect()
}

#[test]
fn frames_reach_a_writer_that_is_pending_before_each_write_on_the_sync_engine() {
    let input = lines(300);
    let pool = SlabPool::new("async-sink", PoolConfig::default().slab_size(256).max_slabs(2));
    let writer = Stubborn::default();
    let policy = FlushPolicy { bytes: 100, interval: None };
    let source =
        FramedSource::new(io::Cursor::new(input.clone().into_bytes()), pool.clone(), NewlineDelimited::new(64))
            .unwrap();
    let pipeline = Pipeline::from_source(source).map(|line: Bytes| line.slice(5..)).sink(AsyncWriteSink::with_policy(
        writer.clone(),
        Delimit::Newline,
        policy,
    ));

    let report = run(pipeline, &pool).unwrap();

    assert!(report.dead_letters.is_empty());
    let log = writer.log();
    let expected: String = (0..300).map(|i| format!("{i}\n")).collect();
    assert_eq!(String::from_utf8(log.flushed.concat()).unwrap(), expected);
    assert!(log.flushed.iter().all(|chunk| chunk.len() <= 100), "no flush is larger than the threshold");
    assert!(log.flushed.len() >= expected.len() / 100, "flushed on size: {} flushes", log.flushed.len());
    let writes = expected.len().div_ceil(8);
    assert!(log.pendings >= writes, "every write was refused once and polled again ({} pendings)", log.pendings);
}

/// Reads `reader` to its end on this thread, parking while it is pending.
fn read_to_end_parked(mut reader: impl AsyncRead + Unpin) -> Vec<u8> {
    struct Unpark(std::thread::Thread);
    impl std::task::Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut cx = TaskContext::from_waker(&waker);
    let (mut all, mut chunk) = (Vec::new(), [0u8; 16]);
    loop {
        let mut buf = ReadBuf::new(&mut chunk);
        match Pin::new(&mut reader).poll_read(&mut cx, &mut buf) {
            Poll::Ready(Ok(())) if buf.filled().is_empty() => return all,
            Poll::Ready(Ok(())) => all.extend_from_slice(buf.filled()),
            Poll::Ready(Err(error)) => panic!("{error}"),
            Poll::Pending => std::thread::park(),
        }
    }
}

#[test]
fn a_pipe_smaller_than_a_flush_parks_the_sink_until_another_thread_drains_it() {
    let input = lines(2_000);
    let (writer, reader) = tokio::io::duplex(64);
    let drain = std::thread::spawn(move || read_to_end_parked(reader));
    let pool = SlabPool::new("async-pipe", PoolConfig::default().slab_size(1024).max_slabs(2));
    let source =
        FramedSource::new(io::Cursor::new(input.clone().into_bytes()), pool.clone(), NewlineDelimited::new(64))
            .unwrap();
    let pipeline = Pipeline::from_source(source).sink(AsyncWriteSink::new(writer));

    let report = run(pipeline, &pool).unwrap();
    assert!(report.dead_letters.is_empty());

    // The run dropped the sink and its half of the pipe: the reader sees
    // the end of it.
    assert_eq!(String::from_utf8(drain.join().unwrap()).unwrap(), input);
}

fn write_at(sink: &mut AsyncWriteSink<Stubborn>, at: Instant, frame: &'static [u8]) -> Result<(), WriteError> {
    let mut diverted = Diverted::default();
    let written = sink.write(Envelope::new(Bytes::from_static(frame)), &mut Context::new(at, &mut diverted));
    assert!(diverted.failures.is_empty(), "{:?}", diverted.failures);
    written
}

fn close(sink: &mut AsyncWriteSink<Stubborn>) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let mut diverted = Diverted::default();
    let closed = Sink::<Bytes>::close(sink, &mut Context::new(Instant::ZERO, &mut diverted));
    assert!(diverted.failures.is_empty(), "{:?}", diverted.failures);
    closed
}

#[test]
fn the_buffer_is_flushed_at_the_byte_threshold_and_at_close() {
    let writer = Stubborn::default();
    let policy = FlushPolicy { bytes: 8, interval: None };
    let mut sink = AsyncWriteSink::with_policy(writer.clone(), Delimit::Newline, policy);
    for frame in [&b"abc"[..], b"def", b"ghi"] {
        write_at(&mut sink, Instant::ZERO, frame).unwrap();
    }
    assert_eq!(writer.log().flushed, [b"abc\ndef\n".to_vec()], "the third frame would overflow 8 bytes");
    close(&mut sink).unwrap();
    assert_eq!(writer.log().flushed[1], b"ghi\n");
    assert_eq!((sink.stats().flushes, sink.stats().frames), (2, 3));
}

#[test]
fn the_buffer_is_flushed_after_the_interval_of_engine_time() {
    let writer = Stubborn::default();
    let policy = FlushPolicy { bytes: 1024, interval: Some(Duration::from_secs(5)) };
    let mut sink = AsyncWriteSink::with_policy(writer.clone(), Delimit::LengthPrefix, policy);
    write_at(&mut sink, Instant::from_secs(0), b"a").unwrap();
    write_at(&mut sink, Instant::from_secs(4), b"b").unwrap();
    assert!(writer.log().flushed.is_empty(), "four seconds is before the interval");
    write_at(&mut sink, Instant::from_secs(5), b"c").unwrap();
    assert_eq!(writer.log().flushed, [vec![0, 0, 0, 1, b'a', 0, 0, 0, 1, b'b', 0, 0, 0, 1, b'c']]);
    write_at(&mut sink, Instant::from_secs(9), b"d").unwrap();
    assert_eq!(writer.log().flushed.len(), 1, "the interval restarts at the last flush");
}

#[test]
fn a_failed_flush_hands_back_each_frame_it_lost_and_a_lasting_failure_stops_the_sink() {
    let writer = Stubborn::failing_after(0);
    let policy = FlushPolicy { bytes: 8, interval: None };
    let mut sink = AsyncWriteSink::with_policy(writer, Delimit::Newline, policy);
    write_at(&mut sink, Instant::ZERO, b"one").unwrap();
    // "two-two" would overflow the buffer: the flush of "one" fails first.
    let refused = write_at(&mut sink, Instant::ZERO, b"two-two").unwrap_err();
    assert_eq!(refused.cause.to_string(), "the writer failed after 0 bytes of output; the sink stopped");
    let mut lost = Vec::new();
    Sink::<Bytes>::take_undelivered(&mut sink, &mut lost);
    assert_eq!(lost.len(), 1);
    assert_eq!(lost[0].cause.to_string(), "frame at output byte 0 was not written");
    let io = std::error::Error::source(&*lost[0].cause).unwrap().to_string();
    assert_eq!(io, "connection reset");
    assert!(Sink::<Bytes>::take_stop(&mut sink).is_some(), "an error of unknown kind is taken as lasting");
}

#[test]
fn a_writer_that_fails_mid_run_stops_it_and_every_line_is_written_or_a_dead_letter() {
    let input = lines(40);
    let pool = SlabPool::new("async-fail", PoolConfig::default().slab_size(256).max_slabs(2));
    // Two 8-byte writes succeed: the first flush (14 bytes) gets through.
    let writer = Stubborn::failing_after(2);
    let policy = FlushPolicy { bytes: 16, interval: None };
    let source =
        FramedSource::new(io::Cursor::new(input.clone().into_bytes()), pool.clone(), NewlineDelimited::new(64))
            .unwrap();
    let pipeline =
        Pipeline::from_source(source).sink(AsyncWriteSink::with_policy(writer.clone(), Delimit::Newline, policy));

    let error = run(pipeline, &pool).unwrap_err();

    assert_eq!(error.to_string(), "stage `sink` stopped the run");
    assert!(matches!(error.kind(), RunErrorKind::Stage(_)));
    assert_eq!(
        std::error::Error::source(&error).unwrap().to_string(),
        "the writer failed after 14 bytes of output; the sink stopped"
    );
    assert_eq!(writer.log().flushed, [b"line 0\nline 1\n".to_vec()]);
    let report = error.report().unwrap();
    let dead: Vec<u64> = report.dead_letters.iter().map(|l| l.meta.sequence).collect();
    // The run stops after the step that failed: the source's step ends
    // with the first slab (lines 0 to 32), and the rest is never read.
    let read = report.row("source").unwrap().counts.created;
    assert_eq!(read, 33, "the first slab's lines");
    Conservation::of(0..read).output([0, 1]).dead_letters(dead).assert();
    // Lines 2 and 3 were in the failed flush, at their own offsets; the
    // rest were refused by the stopped sink.
    assert_eq!(report.dead_letters[0].error.cause().to_string(), "frame at output byte 14 was not written");
    assert_eq!(report.dead_letters[1].error.cause().to_string(), "frame at output byte 21 was not written");
    assert_eq!(report.dead_letters[1].error.position(), flux_core::Position::ByteOffset(21));
    assert!(report.problems.is_empty());
    assert_eq!(report.row("sink").unwrap().counts.consumed, 2);
}

#[test]
fn with_dead_letter_on_error_each_failed_write_is_a_dead_letter_and_the_run_goes_on() {
    let input = lines(3);
    let pool = SlabPool::new("async-dead", PoolConfig::default().slab_size(256).max_slabs(2));
    let writer = Stubborn::failing_after(0);
    // Every frame is larger than the buffer, so each is written straight
    // through, fails, and is dead-lettered; close has nothing to flush.
    let policy = FlushPolicy { bytes: 4, interval: None };
    let source =
        FramedSource::new(io::Cursor::new(input.clone().into_bytes()), pool.clone(), NewlineDelimited::new(64))
            .unwrap();
    let sink = AsyncWriteSink::with_policy(writer, Delimit::Newline, policy).on_error(OnWriteError::DeadLetter);
    let pipeline = Pipeline::from_source(source).sink(sink);

    let report = run(pipeline, &pool).unwrap();

    assert_eq!(report.dead_letters.len(), 3);
    let letter = &report.dead_letters[1];
    assert_eq!(letter.meta.sequence, 1);
    assert_eq!(letter.error.stage().as_str(), "sink");
    assert_eq!(letter.error.cause().to_string(), "frame at output byte 0 was not written");
    assert_eq!(report.row("sink").unwrap().counts.consumed, 0);
}
