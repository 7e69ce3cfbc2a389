//! Framing a tokio `AsyncRead`: the same frames, sequences and byte
//! offsets as framing the same bytes from a `Read`, with the engine woken
//! by the reader instead of retrying on a timer; on both engines.
//!
//! Run with `cargo test -p flux-memory --features tokio`.
#![cfg(feature = "tokio")]

use core::pin::Pin;
use core::task::{Context as TaskContext, Poll};
use std::collections::VecDeque;
use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use flux_core::{Instant, Pipeline, Position, Runnable};
use flux_engine_async::AsyncEngine;
use flux_engine_sync::SyncEngine;
use flux_memory::{FramedSource, NewlineDelimited, PoolConfig, SlabPool};
use flux_plan::Planner;
use flux_test::VecSink;
use tokio::io::{AsyncRead, ReadBuf};

/// Hands out its bytes a few at a time, and is pending before every
/// chunk (waking its reader at once, as a socket would once data came).
struct Trickle {
    chunks: VecDeque<Vec<u8>>,
    ready: bool,
    pending: Arc<AtomicU64>,
}

impl Trickle {
    fn new(bytes: &[u8], chunk: usize, pending: &Arc<AtomicU64>) -> Self {
        Trickle { chunks: bytes.chunks(chunk).map(<[u8]>::to_vec).collect(), ready: false, pending: pending.clone() }
    }
}

impl AsyncRead for Trickle {
    fn poll_read(mut self: Pin<&mut Self>, cx: &mut TaskContext<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        if !self.ready {
            self.ready = true;
            self.pending.fetch_add(1, Ordering::Relaxed);
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        self.ready = false;
        if let Some(mut chunk) = self.chunks.pop_front() {
            // A chunk larger than the room left is handed out in parts.
            let rest = chunk.split_off(chunk.len().min(buf.remaining()));
            buf.put_slice(&chunk);
            if !rest.is_empty() {
                self.chunks.push_front(rest);
            }
        }
        Poll::Ready(Ok(()))
    }
}

/// Two short lines, one too long for the 16-byte limit, and one more.
fn input() -> Vec<u8> {
    let mut bytes = b"alpha\nbeta\n".to_vec();
    bytes.extend_from_slice(&[b'x'; 40]);
    bytes.extend_from_slice(b"\ngamma\n");
    bytes
}

fn pool() -> SlabPool {
    SlabPool::new("async-read", PoolConfig { slab_size: 64, max_slabs: 8, ..PoolConfig::default() })
}

/// What a run produced: the frames, and each dead letter's sequence and
/// byte offset.
type Seen = (Vec<Bytes>, Vec<(u64, Position)>);

fn seen(out: &VecSink<Bytes>, dead: &[flux_core::ErrorEnvelope]) -> Seen {
    (out.payloads(), dead.iter().map(|l| (l.meta.sequence, l.error.position())).collect())
}

/// The same bytes from a slice, the reference.
fn from_read() -> Seen {
    let (out, bytes) = (VecSink::new(), input());
    let source = FramedSource::new(std::io::Cursor::new(bytes), pool(), NewlineDelimited::new(16)).unwrap();
    let pipeline = Pipeline::from_source(source).sink(out.clone());
    let plan = Planner::new().plan(pipeline.describe()).unwrap();
    let report = SyncEngine::new().run(&plan, pipeline).unwrap();
    seen(&out, &report.dead_letters)
}

#[test]
fn the_sync_engine_frames_an_async_reader_as_it_frames_a_slice_waiting_on_the_reader_not_on_timers() {
    let (pending, out) = (Arc::new(AtomicU64::new(0)), VecSink::new());
    let source = FramedSource::from_async(Trickle::new(&input(), 5, &pending), pool(), NewlineDelimited::new(16));
    let pipeline = Pipeline::from_source(source.unwrap()).sink(out.clone());
    let plan = Planner::new().plan(pipeline.describe()).unwrap();
    let report = SyncEngine::new().run(&plan, pipeline).unwrap();

    let expected = from_read();
    assert_eq!(seen(&out, &report.dead_letters), expected);
    assert_eq!(expected.0, ["alpha", "beta", "gamma"]);
    assert_eq!(expected.1, [(2, Position::ByteOffset(11))], "the long line, at its own offset");
    assert!(pending.load(Ordering::Relaxed) >= 12, "pending before each of its 12 chunks");
    assert_eq!(report.end_time, Instant::ZERO, "woken by the reader: no retry timer, no virtual time");
}

#[tokio::test(flavor = "current_thread")]
async fn the_tokio_engine_frames_an_async_reader_as_the_sync_engine_frames_a_slice() {
    let (pending, out) = (Arc::new(AtomicU64::new(0)), VecSink::new());
    let source = FramedSource::from_async(Trickle::new(&input(), 3, &pending), pool(), NewlineDelimited::new(16));
    let pipeline = Pipeline::from_source(source.unwrap()).sink(out.clone());
    let plan = Planner::new().plan(pipeline.describe()).unwrap();
    let report = AsyncEngine::new().run(&plan, pipeline).await.unwrap();

    assert_eq!(seen(&out, &report.dead_letters), from_read());
    assert!(pending.load(Ordering::Relaxed) >= 20, "pending before each of its 20 chunks");
    assert!(report.problems.is_empty());
}

#[test]
fn lines_longer_than_a_slab_trickling_from_an_async_reader_are_read_whole_up_to_the_limit() {
    let mut bytes = vec![b'y'; 200];
    bytes.push(b'\n');
    bytes.extend_from_slice(&[b'z'; 300]);
    bytes.extend_from_slice(b"\nend\n");
    let (pending, out) = (Arc::new(AtomicU64::new(0)), VecSink::new());
    let source = FramedSource::from_async(Trickle::new(&bytes, 7, &pending), pool(), NewlineDelimited::new(256));
    let pipeline = Pipeline::from_source(source.unwrap()).sink(out.clone());
    let plan = Planner::new().plan(pipeline.describe()).unwrap();
    let report = SyncEngine::new().run(&plan, pipeline).unwrap();

    let (frames, dead) = seen(&out, &report.dead_letters);
    assert_eq!(frames, [Bytes::from(vec![b'y'; 200]), Bytes::from_static(b"end")], "200 bytes through 64-byte slabs");
    assert_eq!(dead, [(1, Position::ByteOffset(201))], "the 300-byte line, past the limit, at its offset");
}
