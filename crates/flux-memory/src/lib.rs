//! Pooled, zero-copy buffers for Flux: slab pools, framing, file and stdin
//! sources, write sinks, and leak accounting.
//!
//! **Depend on it** when a pipeline reads bytes: it is where input enters
//! Flux without being copied. It implements the kernel's
//! [`BufferPool`](flux_core::BufferPool) and [`Source`](flux_core::Source)
//! and [`Sink`](flux_core::Sink) traits and depends on `flux-core` only, so
//! another pool or framer can replace any part of it.
//!
//! # The memory model
//!
//! - A [`SlabPool`] lends large slabs (256 KiB by default) up to a bound.
//!   A [`FrameReader`] reads input straight into a slab, freezes it into
//!   one [`Bytes`](bytes::Bytes), and frames it in place.
//! - Frames are borrowed ([`Frame`]) while they are parsed and dropped
//!   inside a fused segment, and become `Bytes` slices (one reference
//!   count, no copy) only where they are kept: [`FramedSource`] emits one
//!   slice per envelope.
//! - A slab returns to its pool when its last slice is dropped, on any
//!   thread; a frame cut by the end of a slab is the one thing copied (to
//!   the front of the next slab), and the copies are counted in
//!   [`FramingStats`].
//! - At engine stop every slab must be back: [`BufferPool::check_leaks`](flux_core::BufferPool::check_leaks)
//!   reports a leak with the pool's name and count, and
//!   [`assert_no_leaks`] / [`LeakGuard`] make a test fail on one.
//!
//! # Sinks, and the `tokio` feature
//!
//! [`WriteSink`] writes frames into any `std::io::Write` with flush
//! thresholds in bytes and engine time. With the `tokio` feature (off by
//! default, so the kernel's dependency graph stays free of a runtime),
//! `AsyncWriteSink` does the same into any `tokio::io::AsyncWrite`, driving
//! each flush to completion in place so that it runs on the sync engine,
//! and `FramedSource::from_async` frames any `tokio::io::AsyncRead` as a
//! `Read` is framed, the engine woken by the reader when it has more.
//!
//! # Example
//!
//! File (here, a byte slice) -> frames -> transform -> writer:
//!
//! ```
//! use std::sync::Arc;
//! use flux_steps::Steps;
//!
//! use bytes::Bytes;
//! use flux_core::{Pipeline, Position, Runnable};
//! use flux_engine_sync::SyncEngine;
//! use flux_memory::{FramedSource, NewlineDelimited, PoolConfig, SlabPool, WriteSink, assert_no_leaks};
//!
//! let pool = SlabPool::new("input", PoolConfig::default().slab_size(4096).max_slabs(2));
//! let input = &b"ok 1\nthis line is far too long for the limit\nok 2\n"[..];
//! let source = FramedSource::new(input, pool.clone(), NewlineDelimited::new(16))?;
//! let pipeline = Pipeline::from_source(source)
//!     .map(|line: Bytes| line.slice(3..))
//!     .sink(WriteSink::new(Vec::new()));
//!
//! // Planned for the sync engine's one thread: the source stays fused.
//! let plan = flux_plan::Planner::for_one_thread().plan(pipeline.describe())?;
//! let report = SyncEngine::new().watch_pool(Arc::new(pool.clone())).run(&plan, pipeline)?;
//!
//! assert_eq!(report.dead_letters.len(), 1);
//! assert_eq!(report.dead_letters[0].error.stage().as_str(), "source");
//! assert_eq!(report.dead_letters[0].error.position(), Position::ByteOffset(5));
//! assert_no_leaks(&pool);
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

// `unsafe` is confined to the newline masks of `frame/mask.rs` (calling the
// SSE2 and AVX2 kernels, and the AVX2 load) and the run-time AVX2 dispatch
// in `frame/lines.rs`; each block carries a SAFETY comment, and the kernels
// are tested against a byte-by-byte scan and against each other.
#![deny(unsafe_code)]
#![doc(test(attr(deny(warnings))))]

#[cfg(feature = "tokio")]
mod async_read;
mod compressed;
mod cow;
mod frame;
mod leak;
mod pool;
mod read_some;
mod reader;
mod resume;
mod sink;
mod source;
mod stats;
mod sync;

#[cfg(feature = "tokio")]
pub use async_read::PollRead;
pub use compressed::{Compression, open_decompressed};
pub use cow::CopyOnWrite;
pub use frame::{FrameError, FrameErrorKind, Framed, Framer, LengthPrefixed, NewlineDelimited, Unterminated};
pub use leak::{LeakGuard, assert_no_leaks};
pub use pool::{Exhaustion, PoolConfig, Slab, SlabPool};
pub use reader::{CarryTooLarge, Event, Frame, FrameReader, ReadError, ReadMode, Scanned};
pub use resume::ResumeError;
#[cfg(feature = "tokio")]
pub use sink::AsyncWriteSink;
pub use sink::{Delimit, FlushPolicy, FrameLost, Loss, OnWriteError, SinkStats, WriteSink, WriterFailed};
pub use source::{DEFAULT_MAX_LINE, FramedSource, OFFSET_HEADER, OnBadFrame, frame_offset};
pub use stats::{FramingStats, FramingStatsHandle};
